#include "cuda/cuda_check.h"
#include "cuda/kernels/relu_grad_bf16.h"

namespace leap::cuda_detail {
namespace {

constexpr int kVector = 8;                        // bf16 columns a thread takes: 16-byte accesses
constexpr int kColumnGroups = 32;                 // a warp across 256 adjacent columns
constexpr int kRowLanes = 8;                      // warps, each taking every 8th row
constexpr int kBlockColumns = kColumnGroups * kVector;

// Block (column tile, row chunk): masks its rows in place and writes the chunk's column sums.
__global__ void __launch_bounds__(kColumnGroups * kRowLanes)
    relu_grad_kernel(__nv_bfloat16* grad, const __nv_bfloat16* hidden, float* partials, int rows,
                     int columns) {
  __shared__ float sums[kRowLanes][kBlockColumns];
  const int column = blockIdx.x * kBlockColumns + threadIdx.x * kVector;
  const int first = blockIdx.y * kReluGradRowsPerBlock;
  const int last = min(first + kReluGradRowsPerBlock, rows);
  float sum[kVector] = {};
  if (column < columns)
    for (int row = first + threadIdx.y; row < last; row += kRowLanes) {
      const size_t i = (size_t(row) * columns + column) / kVector;
      uint4 g = reinterpret_cast<uint4*>(grad)[i];
      const uint4 h = reinterpret_cast<const uint4*>(hidden)[i];
      __nv_bfloat16* g_values = reinterpret_cast<__nv_bfloat16*>(&g);
      const __nv_bfloat16* h_values = reinterpret_cast<const __nv_bfloat16*>(&h);
#pragma unroll
      for (int v = 0; v < kVector; ++v) {
        const float value = __bfloat162float(h_values[v]) > 0.0f ? __bfloat162float(g_values[v]) : 0.0f;
        g_values[v] = __float2bfloat16_rn(value);
        sum[v] += value;
      }
      reinterpret_cast<uint4*>(grad)[i] = g;
    }
#pragma unroll
  for (int v = 0; v < kVector; ++v) sums[threadIdx.y][threadIdx.x * kVector + v] = sum[v];
  __syncthreads();
  // Each thread of the block finishes one column of the tile, lanes summed in a fixed order.
  const int local = threadIdx.y * kColumnGroups + threadIdx.x;
  const int out_column = blockIdx.x * kBlockColumns + local;
  if (local >= kBlockColumns || out_column >= columns) return;
  float total = 0.0f;
  for (int lane = 0; lane < kRowLanes; ++lane) total += sums[lane][local];
  partials[size_t(blockIdx.y) * columns + out_column] = total;
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
  const dim3 grid((columns + kBlockColumns - 1) / kBlockColumns, chunks);
  relu_grad_kernel<<<grid, dim3(kColumnGroups, kRowLanes), 0, stream>>>(grad, hidden, partials, rows, columns);
  LEAP_CUDA_CHECK_LAUNCH();
  sum_partials_kernel<<<(columns + 255) / 256, 256, 0, stream>>>(partials, grad_bias, chunks, columns);
  LEAP_CUDA_CHECK_LAUNCH();
}

}  // namespace leap::cuda_detail
