// SGD's per-element update with PyTorch's rule, shared by the multi-tensor kernel and the
// whole-GPU kernel so that both compute the same function.
#pragma once

#include <cuda_runtime.h>

#include "cuda/kernels/optimizer.h"

namespace leap::cuda_detail {

// `buffer` is the momentum buffer (untouched without momentum); PyTorch seeds it with the
// first gradient.
__device__ inline void sgd_apply(float& value, float& buffer, float grad, const SgdScalars& h) {
  float g = grad + h.weight_decay * value;
  if (h.momentum != 0.0f) {
    buffer = h.first_step ? g : h.momentum * buffer + (1.0f - h.dampening) * g;
    g = h.nesterov ? g + h.momentum * buffer : buffer;
  }
  value -= h.lr * g;
}

}  // namespace leap::cuda_detail
