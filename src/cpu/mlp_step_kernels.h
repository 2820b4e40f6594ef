// The three products of an MLP training step on the CPU, each over a range of its outputs so
// that threads can share one call: the forward product, the input gradient, and the weight
// gradient with the optimizer (Adam or SGD) applied while it is still in registers. Every
// output element is summed by one call in one fixed order, whatever the range split, so a step
// gives the same bits on any number of threads. Two versions: AVX-512 (masked tails, so any width) and a
// plain loop version, the reference and the fallback where AVX-512 is missing.
#pragma once

#include <cstdint>

#include "leap/backend.h"

namespace leap::cpu_detail {

// Adam's per-step constants, as CpuBackend::adam_update computes them.
struct AdamStep {
  float beta1, beta2, eps, weight_decay;
  float step_size;          // lr / (1 - beta1^t)
  float correction2_sqrt;   // sqrt(1 - beta2^t)
};

AdamStep adam_step(float lr, float beta1, float beta2, float eps, float weight_decay, int64_t step);

// The optimizer's rule for one step: Adam's, or SGD's where `sgd` (its settings as the
// backend's sgd_update takes them). The state is the layer's: Adam's two moments, or SGD's
// momentum buffer in the first (none without momentum).
struct UpdateRule {
  bool sgd = false;
  AdamStep adam{};
  SgdHyper sgd_step{};
};

// The row stride of a hidden layer's activations and gradients: its width rounded up to whole
// 64-byte lines, then to an odd number of them, so that the rows of a tile start in different
// sets of the 8-way L1 cache. At a width of 1024 (rows 4 KB apart) every row of a tile fell in
// one set: a 1024x1024 forward ran at 88 GFLOP/s against 105 with the rows padded.
inline int padded_row_floats(int width) {
  const int lines = (width + 15) / 16;
  return 16 * (lines | 1);
}

// x rows are given as pointers (data set rows are read in place, in shuffled order); the other
// matrices are rows a stride apart (the fused step pads its own buffers' rows).
struct MlpStepKernels {
  const char* name;
  // y[b, j] = relu?(sum_k x[b][k] w[j, k] + bias[j]) for b in [b0, b1), j in [j0, j1).
  void (*forward)(const float* const* x, const float* w, const float* bias, float* y, int y_stride, int in, bool relu,
                  int b0, int b1, int j0, int j1);
  // dx[b, k] = sum_j dy[b, j] w[j, k], times (h[b, k] > 0) when h is not null (the ReLU of the
  // layer below), for b in [b0, b1), k in [k0, k1); h has dx's stride.
  void (*input_gradient)(const float* dy, int dy_stride, const float* w, const float* h, float* dx, int dx_stride,
                         int in, int out, int b0, int b1, int k0, int k1);
  // For rows j in [j0, j1) of the layer: grad_w[j, :] = sum_b dy[b, j] x[b], grad_b[j] =
  // sum_b dy[b, j] (b in order 0..rows-1), then the rule's update of w, bias and their state.
  void (*weight_update)(const float* dy, int dy_stride, const float* const* x, int rows, const MlpLayer& layer,
                        const UpdateRule& rule, int j0, int j1);
};

const MlpStepKernels& plain_step_kernels();
// Null where the CPU lacks AVX-512F (checked at run time).
const MlpStepKernels* avx512_step_kernels();
// The fastest this CPU runs.
const MlpStepKernels& best_step_kernels();

}  // namespace leap::cpu_detail
