// The persistent training kernel of any MLP of 2 to 5 Linear layers (ReLU between them,
// Dropout after them or not, softmax cross-entropy or the distillation loss, Adam or SGD) over the whole GPU: one thread
// block per SM runs many steps in one cooperative launch. The weights, their moments and the
// step's activations stay in global memory, which on the GPUs it runs on fits in L2 for the
// shapes it takes; grid-wide barriers divide a step into 2L phases (L layers):
//   forward l = 0 .. L-1   A[l+1] = relu(A[l] W[l]^T + b[l]); the last layer's tiles span
//                          whole rows of logits and end in the loss and G[L] = d(loss)/d(logits)
//   backward l = L-1 .. 0  G[l] = (G[l+1] W[l]) masked by A[l] > 0 (for l >= 1), and the
//                          gradient and Adam update of layer l+1 (and of layer 0 when l = 0)
// A layer's weights change one phase after the phase that last reads them, so no phase reads
// a weight that another block of the same phase writes. Each phase's products are cut into
// tiles of 16 x 32 outputs, dealt to the blocks in turn; a block's 8 warps split the
// reduction and add their sums in a fixed order, so a run's bits do not depend on timing.
// Products are fp32 FMAs (tf32 training gets the same).
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>
#include <string>

#include "cuda/kernels/grid_mlp_schedule.h"
#include "cuda/kernels/launch_steps.h"
#include "cuda/kernels/optimizer.h"

namespace leap::cuda_detail {

constexpr int kGridMaxBatch = 1024;
constexpr int kGridMaxClasses = 256;
constexpr int kGridMaxWidth = 4096;

// One Linear layer's parameters and Adam moments, [out, in] and [out]; and the Dropout after
// its ReLU: p (0: none), its key base and the masks it drew before the launch
// (leap/dropout_mask.h: step k of the launch draws mask dropout_calls + k + 1).
struct GridLayer {
  float *weight, *bias, *m_weight, *v_weight, *m_bias, *v_bias;
  int in, out;
  float dropout;
  uint64_t dropout_base, dropout_calls;
};

struct GridMlpArgs {
  const float* images;   // [samples, layers[0].in]
  const int32_t* labels;
  LaunchSteps run;
  AdamScalars adam;      // beta1, beta2, eps, weight_decay
  // SGD in place of Adam: PyTorch's rule with adam.weight_decay; m_* hold the momentum
  // buffers (v_* unused), none without momentum.
  bool sgd, nesterov;
  float momentum, dampening;
  bool async_copies;  // stage the products' operands by cp.async (LEAP_GRID_COPIES=async)
  GridLayer layers[kGridMaxLayers];
  int depth;             // Linear layers
  int batch;
  // activations[l], 1 <= l < depth: [batch, layers[l].in] after the ReLU (activations[0] is
  // the batch's images, read in place); gradients[l], 1 <= l <= depth: d(loss)/d(the
  // pre-activation of layer l-1's output), [batch, width].
  float* activations[kGridMaxLayers];
  float* gradients[kGridMaxLayers + 1];
  float* row_loss;       // [batch]
  int32_t* row_correct;  // [batch]
  unsigned* barrier;     // 1 word, zero before the first launch; left ready for the next
  // Knowledge distillation: the teacher's logits [samples, classes], or null.
  const float* soft_targets;
  float temperature, alpha;
  double* loss_sum;  // the launch adds its summed loss and correct count here (device)
  int64_t* correct;
  // Null, or [2 * kGridMaxLayers] nanoseconds to add to: block 0's time in each phase of the
  // step, its barrier's wait included (forward phases first, then backward from the last layer).
  long long* phase_ns;
};

// Why the kernel cannot take this shape on the current GPU, or "" when it can. `widths` has
// depth + 1 entries: the inputs, each hidden width, the classes.
std::string grid_mlp_rejection(const int* widths, int depth, int batch);

// The blocks a launch uses (one per SM).
int grid_mlp_blocks();

// Runs args.steps training steps as one cooperative launch on the stream.
void launch_grid_mlp(const GridMlpArgs& args, cudaStream_t stream);

}  // namespace leap::cuda_detail
