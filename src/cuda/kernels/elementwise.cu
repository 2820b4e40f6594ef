#include "cuda/cuda_check.h"
#include "cuda/kernels/elementwise.h"
#include "cuda/kernels/launch_config.h"
#include "leap/dropout_mask.h"

namespace leap::cuda_detail {
namespace {

__global__ void fill_kernel(float* target, size_t count, float value) {
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < count;
       i += size_t(gridDim.x) * blockDim.x)
    target[i] = value;
}

__global__ void dropout_kernel(const float* x, float* y, size_t count, float p, uint64_t key) {
  const float scale = dropout_scale(p);
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < count;
       i += size_t(gridDim.x) * blockDim.x)
    y[i] = dropout_apply(x[i], key, i, p, scale);
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

void launch_dropout(const float* x, float* y, size_t count, float p, uint64_t key,
                    cudaStream_t stream) {
  if (count == 0) return;
  dropout_kernel<<<blocks_for(count), kThreads, 0, stream>>>(x, y, count, p, key);
  LEAP_CUDA_CHECK_LAUNCH();
}

}  // namespace leap::cuda_detail
