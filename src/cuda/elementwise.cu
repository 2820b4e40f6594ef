#include "cuda/cuda_check.h"
#include "cuda/elementwise.h"
#include "cuda/launch_config.h"

namespace leap::cuda_detail {
namespace {

__global__ void fill_kernel(float* target, size_t count, float value) {
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < count;
       i += size_t(gridDim.x) * blockDim.x)
    target[i] = value;
}

__global__ void relu_forward_kernel(const float* x, float* y, size_t count) {
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < count;
       i += size_t(gridDim.x) * blockDim.x)
    y[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

__global__ void relu_backward_kernel(const float* y, float* grad, size_t count) {
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < count;
       i += size_t(gridDim.x) * blockDim.x)
    grad[i] = y[i] > 0.0f ? grad[i] : 0.0f;
}

}  // namespace

void launch_fill(float* target, size_t count, float value, cudaStream_t stream) {
  if (count == 0) return;
  fill_kernel<<<blocks_for(count), kThreads, 0, stream>>>(target, count, value);
  LEAP_CUDA_CHECK_LAUNCH();
}

void launch_relu_forward(const float* x, float* y, size_t count, cudaStream_t stream) {
  if (count == 0) return;
  relu_forward_kernel<<<blocks_for(count), kThreads, 0, stream>>>(x, y, count);
  LEAP_CUDA_CHECK_LAUNCH();
}

void launch_relu_backward(const float* y, float* grad, size_t count, cudaStream_t stream) {
  if (count == 0) return;
  relu_backward_kernel<<<blocks_for(count), kThreads, 0, stream>>>(y, grad, count);
  LEAP_CUDA_CHECK_LAUNCH();
}

}  // namespace leap::cuda_detail
