#include <cstdint>

#include "cuda/kernels/bf16_convert.h"
#include "cuda/cuda_check.h"
#include "cuda/kernels/launch_config.h"

namespace leap::cuda_detail {
namespace {

__global__ void to_bf16_kernel(const float* x, __nv_bfloat16* y, size_t rows, int columns,
                               int y_stride) {
  const size_t total = rows * size_t(y_stride);
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < total;
       i += size_t(gridDim.x) * blockDim.x) {
    const size_t r = i / y_stride;
    const int c = int(i % y_stride);
    y[i] = __float2bfloat16_rn(c < columns ? x[r * columns + c] : 0.0f);
  }
}

// Rows without padding as one flat run, two elements a thread with 8-byte loads.
__global__ void to_bf16_flat_kernel(const float2* x, __nv_bfloat162* y, size_t pairs) {
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < pairs;
       i += size_t(gridDim.x) * blockDim.x)
    y[i] = __float22bfloat162_rn(x[i]);
}

}  // namespace

void launch_to_bf16(const float* x, __nv_bfloat16* y, size_t rows, int columns, int y_stride,
                    cudaStream_t stream) {
  const size_t total = rows * size_t(y_stride);
  if (total == 0) return;
  const bool flat = columns == y_stride && total % 2 == 0 &&
                    reinterpret_cast<uintptr_t>(x) % 8 == 0 && reinterpret_cast<uintptr_t>(y) % 4 == 0;
  if (flat)
    to_bf16_flat_kernel<<<blocks_for(total / 2), kThreads, 0, stream>>>(
        reinterpret_cast<const float2*>(x), reinterpret_cast<__nv_bfloat162*>(y), total / 2);
  else
    to_bf16_kernel<<<blocks_for(total), kThreads, 0, stream>>>(x, y, rows, columns, y_stride);
  LEAP_CUDA_CHECK_LAUNCH();
}

}  // namespace leap::cuda_detail
