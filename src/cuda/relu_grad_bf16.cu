#include "cuda/cuda_check.h"
#include "cuda/relu_grad_bf16.h"

namespace leap::cuda_detail {
namespace {

constexpr int kColumns = 32;  // a warp across adjacent columns
constexpr int kRowLanes = 8;

// Block (column tile, row chunk): masks its rows in place and writes the chunk's column sums.
__global__ void relu_grad_kernel(__nv_bfloat16* grad, const __nv_bfloat16* hidden,
                                 float* partials, int rows, int columns) {
  __shared__ float sums[kRowLanes][kColumns];
  const int column = blockIdx.x * kColumns + threadIdx.x;
  const int first = blockIdx.y * kReluGradRowsPerBlock;
  const int last = min(first + kReluGradRowsPerBlock, rows);
  float sum = 0.0f;
  if (column < columns)
    for (int row = first + threadIdx.y; row < last; row += kRowLanes) {
      const size_t i = size_t(row) * columns + column;
      const float value = __bfloat162float(hidden[i]) > 0.0f ? __bfloat162float(grad[i]) : 0.0f;
      grad[i] = __float2bfloat16_rn(value);
      sum += value;
    }
  sums[threadIdx.y][threadIdx.x] = sum;
  __syncthreads();
  if (threadIdx.y != 0 || column >= columns) return;
  float total = 0.0f;
  for (int lane = 0; lane < kRowLanes; ++lane) total += sums[lane][threadIdx.x];
  partials[size_t(blockIdx.y) * columns + column] = total;
}

__global__ void sum_partials_kernel(const float* partials, __nv_bfloat16* grad_bias, int chunks,
                                    int columns) {
  const int column = blockIdx.x * blockDim.x + threadIdx.x;
  if (column >= columns) return;
  float total = 0.0f;
  for (int chunk = 0; chunk < chunks; ++chunk) total += partials[size_t(chunk) * columns + column];
  grad_bias[column] = __float2bfloat16_rn(total);
}

}  // namespace

void launch_relu_grad_bf16(__nv_bfloat16* grad, const __nv_bfloat16* hidden,
                           __nv_bfloat16* grad_bias, float* partials, int rows, int columns,
                           cudaStream_t stream) {
  if (rows <= 0 || columns <= 0) return;
  const int chunks = relu_grad_partials(rows);
  const dim3 grid((columns + kColumns - 1) / kColumns, chunks);
  relu_grad_kernel<<<grid, dim3(kColumns, kRowLanes), 0, stream>>>(grad, hidden, partials, rows, columns);
  LEAP_CUDA_CHECK_LAUNCH();
  sum_partials_kernel<<<(columns + 255) / 256, 256, 0, stream>>>(partials, grad_bias, chunks, columns);
  LEAP_CUDA_CHECK_LAUNCH();
}

}  // namespace leap::cuda_detail
