#include "cuda/kernels/bias_grad.h"
#include "cuda/cuda_check.h"

namespace leap::cuda_detail {
namespace {

constexpr int kColumns = 32;   // one warp across adjacent columns: coalesced row reads
// Rows summed in parallel, then combined in shared memory: a whole block of them, since a
// narrow layer (10 classes) has one block only and large batches (16384 rows) must still be
// read with many loads in flight (measured on an H100 with 8 lanes: 203 us for 16384 x 10).
constexpr int kRowLanes = 32;

__global__ void bias_grad_kernel(const float* dy, float* grad_b, int batch, int out,
                                 bool accumulate) {
  __shared__ float partial[kRowLanes][kColumns];
  const int column = blockIdx.x * kColumns + threadIdx.x;
  float sum = 0.0f;
  if (column < out)
#pragma unroll 8
    for (int row = threadIdx.y; row < batch; row += kRowLanes)
      sum += dy[size_t(row) * out + column];
  partial[threadIdx.y][threadIdx.x] = sum;
  __syncthreads();
  if (threadIdx.y != 0 || column >= out) return;
  float total = accumulate ? grad_b[column] : 0.0f;
  for (int lane = 0; lane < kRowLanes; ++lane) total += partial[lane][threadIdx.x];
  grad_b[column] = total;
}

}  // namespace

void launch_bias_grad(const float* dy, float* grad_b, int batch, int out, bool accumulate,
                      cudaStream_t stream) {
  if (out <= 0) return;
  const dim3 block(kColumns, kRowLanes);
  const unsigned grid = static_cast<unsigned>((out + kColumns - 1) / kColumns);
  bias_grad_kernel<<<grid, block, 0, stream>>>(dy, grad_b, batch, out, accumulate);
  LEAP_CUDA_CHECK_LAUNCH();
}

}  // namespace leap::cuda_detail
