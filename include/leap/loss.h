// Losses. CrossEntropyLoss matches torch.nn.CrossEntropyLoss on logits and integer labels
// with mean reduction; calling it returns a LossValue whose backward() runs the model's.
#pragma once

#include <functional>

#include "leap/module.h"
#include "leap/tensor.h"

namespace leap {

class LossValue {
 public:
  LossValue(double value, Tensor grad_logits, Module* producer)
      : value_(value), grad_logits_(std::move(grad_logits)), producer_(producer) {}

  double item() const { return value_; }
  // d(loss)/d(logits).
  const Tensor& grad() const { return grad_logits_; }
  // Back-propagates through the module that produced the logits (loss.backward()).
  void backward();

 private:
  double value_;
  Tensor grad_logits_;
  Module* producer_;
};

class CrossEntropyLoss {
 public:
  // logits[batch, classes] float32, labels[batch] int32 in [0, classes), same device.
  // `model` is the module whose forward made the logits; backward() goes through it.
  LossValue operator()(Module& model, const Tensor& logits, const Tensor& labels) const;
  // Loss value only (no gradient), e.g. for evaluation.
  double value(const Tensor& logits, const Tensor& labels) const;
};

// Knowledge distillation (Hinton et al.): alpha * T^2 * KL(softmax(teacher/T) ||
// softmax(student/T)) + (1 - alpha) * CE(student, labels), mean over the batch, as PyTorch's
// kl_div(log_softmax(s/T), softmax(t/T), reduction='batchmean') * T^2 computes it. The
// teacher's logits are data here: no gradient flows into the teacher.
class DistillationLoss {
 public:
  DistillationLoss(float temperature, float alpha);
  LossValue operator()(Module& student, const Tensor& student_logits,
                       const Tensor& teacher_logits, const Tensor& labels) const;
  float temperature() const { return temperature_; }
  float alpha() const { return alpha_; }

 private:
  float temperature_, alpha_;
};

// Checks logits and labels agree in shape and device; throws leap::Error otherwise.
void check_logits_and_labels(const Tensor& logits, const Tensor& labels);

}  // namespace leap
