// The fused small-batch training step of an MLP with one hidden layer
// (Linear -> ReLU -> Linear -> softmax cross-entropy or distillation loss, Adam): three kernels a step, read
// straight from the resident data set through the epoch order, no gradient ever stored
// but the hidden layer's.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

#include "cuda/kernels/mlp_weights.h"
#include "cuda/kernels/optimizer.h"
#include "cuda/kernels/runner_kernels.h"
#include "leap/precision.h"

namespace leap::cuda_detail {

struct FusedMlpArgs {
  RunnerState* state;
  const float* images;  // [samples, in]
  const int32_t* labels;
  MlpWeights weights;
  float* hidden;       // [batch, hidden]: ReLU output of the step's batch
  float* grad_hidden;  // [batch, hidden]: d(loss)/d(hidden pre-activation)
  float* grad_logits;  // [batch, classes]
  float* row_loss;     // [batch]
  int* row_correct;    // [batch]
  unsigned* blocks_done;  // the update kernel's finish count (zero between steps)
  int batch, in, hid, classes;
  AdamScalars adam;  // beta1, beta2, eps, weight_decay (step scalars come from the state)
  // Distillation: the teacher's logits [samples, classes], or null for cross-entropy.
  const float* soft_targets;
  float temperature, alpha;
  // Samples in the epoch order; with prefetch_next the update kernel asks L2 for the next
  // batch's rows, so that the next forward finds them there rather than in HBM.
  int64_t samples;
  bool prefetch_next;
  // Operands of every product are rounded to this precision (tensor cores' function,
  // computed with FMA: at this size the matrix units would not be faster).
  Precision precision;
};

// The shapes the fused step handles; others take the layer-by-layer graph.
bool fused_mlp_supports(int batch, int in, int hid, int classes);

// Queues one training step as three kernels: the hidden forward; the output layer, loss and
// hidden gradient, one block a sample; every weight gradient with its Adam update, whose
// last block to finish sums the loss and moves the state to the next batch and step.
void launch_fused_mlp_step(const FusedMlpArgs& args, cudaStream_t stream);

}  // namespace leap::cuda_detail
