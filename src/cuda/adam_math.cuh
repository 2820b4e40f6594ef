// Adam's per-element update, shared by every CUDA kernel that applies it (the multi-tensor
// optimizer and the fused MLP step), so that all paths compute the same function.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "cuda/optimizer.h"

namespace leap::cuda_detail {


// The scalars of step `step` (1-based), computed on the device.
__device__ inline AdamScalars adam_scalars_for_step(AdamScalars h, float lr, int64_t step) {
  h.step_size = lr / (1.0f - powf(h.beta1, float(step)));
  h.correction2_sqrt = sqrtf(1.0f - powf(h.beta2, float(step)));
  return h;
}

// PyTorch's Adam: L2 weight decay added to the gradient (not decoupled as in AdamW).
__device__ inline void adam_apply(float& value, float& m, float& v, float grad,
                                  const AdamScalars& h) {
  const float g = grad + h.weight_decay * value;
  m = h.beta1 * m + (1.0f - h.beta1) * g;
  v = h.beta2 * v + (1.0f - h.beta2) * g * g;
  value -= h.step_size * m / (sqrtf(v) / h.correction2_sqrt + h.eps);
}

}  // namespace leap::cuda_detail
