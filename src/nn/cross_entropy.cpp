#include "device_sums.h"
#include "leap/backend.h"
#include "leap/error.h"
#include "leap/loss.h"

namespace leap {

void check_logits_and_labels(const Tensor& logits, const Tensor& labels) {
  check(logits.rank() == 2 && logits.dtype() == DType::float32,
        "cross-entropy: logits must be float32 [batch, classes], got " + to_string(logits.shape()));
  check(labels.rank() == 1 && labels.dtype() == DType::int32 && labels.dim(0) == logits.dim(0),
        "cross-entropy: labels must be int32 [" + std::to_string(logits.dim(0)) + "], got " +
            to_string(labels.shape()));
  check(labels.device() == logits.device(), "cross-entropy: logits on " +
                                                to_string(logits.device()) + ", labels on " +
                                                to_string(labels.device()));
}

// The scalar sums live in backend memory; one small copy brings them back.
static double run(const Tensor& logits, const Tensor& labels, float* grad) {
  check_logits_and_labels(logits, labels);
  Backend& device = backend(logits.device());
  const int batch = int(logits.dim(0));
  DeviceSums sums(device);
  device.cross_entropy(logits.data(), labels.labels(), grad, sums.loss_sum(), sums.correct(),
                       batch, int(logits.dim(1)));
  return sums.read().loss_sum / batch;
}

LossValue CrossEntropyLoss::operator()(Module& model, const Tensor& logits,
                                       const Tensor& labels) const {
  Tensor grad(logits.shape(), DType::float32, logits.device());
  double loss = run(logits, labels, grad.data());
  return LossValue(loss, grad, &model);
}

double CrossEntropyLoss::value(const Tensor& logits, const Tensor& labels) const {
  return run(logits, labels, nullptr);
}

void LossValue::backward() {
  check(producer_ != nullptr, "loss.backward(): no model recorded for these logits");
  producer_->backward(grad_logits_, false);
}

}  // namespace leap

namespace leap {

DistillationLoss::DistillationLoss(float temperature, float alpha)
    : temperature_(temperature), alpha_(alpha) {
  check(temperature > 0, "distillation temperature must be positive, got " + std::to_string(temperature));
  check(alpha >= 0 && alpha <= 1, "distillation alpha must be in [0, 1], got " + std::to_string(alpha));
}

LossValue DistillationLoss::operator()(Module& student, const Tensor& student_logits,
                                       const Tensor& teacher_logits, const Tensor& labels) const {
  check_logits_and_labels(student_logits, labels);
  check(teacher_logits.shape() == student_logits.shape() &&
            teacher_logits.device() == student_logits.device(),
        "distillation: teacher logits " + to_string(teacher_logits.shape()) +
            " do not match the student's " + to_string(student_logits.shape()));
  Backend& device = backend(student_logits.device());
  const int batch = int(student_logits.dim(0));
  Tensor grad(student_logits.shape(), DType::float32, student_logits.device());
  DeviceSums sums(device);
  device.distillation_loss(student_logits.data(), teacher_logits.data(), labels.labels(),
                           grad.data(), sums.loss_sum(), sums.correct(), batch,
                           int(student_logits.dim(1)), temperature_, alpha_);
  return LossValue(sums.read().loss_sum / batch, grad, &student);
}

}  // namespace leap
