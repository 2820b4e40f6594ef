// Adam's per-element update, shared by every CUDA kernel that applies it (the multi-tensor
// optimizer and the fused MLP step), so that all paths compute the same function.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "cuda/kernels/optimizer.h"

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

// The same update through the hardware's approximate square root and reciprocal (within 2
// ulp each, subnormal moments taken as zero, against the correctly rounded ones above): the
// persistent kernel applies Adam to every weight of the model on a few SMs each step, where
// the exact versions cost a fifth of the step. `inverse_correction2_sqrt` is 1 / sqrt(1 - beta2^step).
__device__ inline void adam_apply_fast(float& value, float& m, float& v, float grad, const AdamScalars& h,
                                       float inverse_correction2_sqrt) {
  const float g = fmaf(h.weight_decay, value, grad);
  m = fmaf(h.beta1, m, (1.0f - h.beta1) * g);
  v = fmaf(h.beta2, v, (1.0f - h.beta2) * g * g);
  float root, inverse;
  asm("sqrt.approx.ftz.f32 %0, %1;" : "=f"(root) : "f"(v));
  asm("rcp.approx.ftz.f32 %0, %1;" : "=f"(inverse) : "f"(fmaf(root, inverse_correction2_sqrt, h.eps)));
  value = fmaf(-h.step_size * m, inverse, value);
}

}  // namespace leap::cuda_detail
