// Element-wise kernels, queued on `stream`.
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>

namespace leap::cuda_detail {

void launch_fill(float* target, size_t count, float value, cudaStream_t stream);
// y = max(x, 0); y may alias x.
// Inverted dropout with the mask of leap::dropout_uniform(key, i).
void launch_dropout(const float* x, float* y, size_t count, float p, uint64_t key,
                    cudaStream_t stream);
void launch_relu_forward(const float* x, float* y, size_t count, cudaStream_t stream);
// grad *= (y > 0), in place.
void launch_relu_backward(const float* y, float* grad, size_t count, cudaStream_t stream);

}  // namespace leap::cuda_detail
