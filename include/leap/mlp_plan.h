// MlpEpochPlan: an MLP's training step described whole (its layers, data, optimizer and loss
// settings), so that a backend can run whole epochs of it faster than layer by layer; and
// MlpEpochRunner, what a backend returns to run them.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "leap/precision.h"

namespace leap {

class Dropout;

// One Linear layer of an MLP with its gradients and optimizer state, for a whole-epoch plan:
// Adam's moments, or with SGD the momentum buffers in exp_avg_* (null without momentum) and
// exp_avg_sq_* null.
struct MlpLayer {
  float *weight, *bias, *grad_weight, *grad_bias;
  float *exp_avg_weight, *exp_avg_sq_weight, *exp_avg_bias, *exp_avg_sq_bias;
  int in, out;
  bool relu;  // ReLU after this layer
  // A Dropout after the ReLU (p > 0), or null: a runner that takes it draws its masks as the
  // layer would (dropout_mask.h), mask calls() + 1 on the run's first step, and the trainer
  // counts the steps run in its calls afterwards.
  const Dropout* dropout = nullptr;
};

// The training step of an MLP (Linear layers, ReLU between them, softmax cross-entropy,
// Adam) over a data set resident on the device, described whole so that a backend can run
// it faster than layer by layer (the CUDA backend captures one step as a graph).
struct MlpEpochPlan {
  std::vector<MlpLayer> layers;
  const float* images;    // [samples, layers.front().in]
  const int32_t* labels;  // [samples]
  int64_t samples;
  int batch;
  float beta1, beta2, eps, weight_decay;
  Precision precision = Precision::fp32;  // of the matrix products
  // SGD in place of Adam (only runners that say so take it): PyTorch's rule with these
  // settings and weight_decay above; the learning rate comes with each run.
  bool sgd = false;
  float momentum = 0.0f, dampening = 0.0f;
  bool nesterov = false;
  // Knowledge distillation: the teacher's logits [samples, classes], or null for plain
  // cross-entropy; the loss is then Backend::distillation_loss with these two settings.
  const float* soft_targets = nullptr;
  float temperature = 1.0f, alpha = 0.0f;
};

// Runners that know Adam only refuse plans whose optimizer is SGD.
inline bool adam_plan(const MlpEpochPlan& plan) { return !plan.sgd; }

// Whether any layer of the plan has a Dropout (runners that cannot draw masks refuse it).
inline bool has_dropout(const MlpEpochPlan& plan) {
  for (const MlpLayer& layer : plan.layers)
    if (layer.dropout) return true;
  return false;
}

class MlpEpochRunner {
 public:
  virtual ~MlpEpochRunner() = default;
  // Runs `steps` full batches: batch k takes the samples order[(first_batch + k) * batch ...];
  // Adam steps are numbered from adam_step + 1. Adds each batch's summed loss and correct
  // count to *loss_sum and *correct. Queued work may still be running when it returns.
  virtual void run(const int32_t* order, int64_t first_batch, int64_t steps, int64_t adam_step,
                   float lr, double* loss_sum, int64_t* correct) = 0;
  virtual std::string describe() const = 0;
  // The most steps one run() takes: between calls the trainer reads the loss (the NaN
  // check), calls the callbacks and sees stop requests.
  virtual int64_t chunk_steps() const { return 64; }
  // Runs the epoch's last, partial batch (`rows` samples, order[first_row ...]) as one step
  // when it can, and says whether it did; else the trainer runs it layer by layer.
  virtual bool run_partial_batch(const int32_t* /*order*/, int64_t /*first_row*/, int64_t /*rows*/,
                                 int64_t /*adam_step*/, float /*lr*/, double* /*loss_sum*/, int64_t* /*correct*/) {
    return false;
  }
};

}  // namespace leap
