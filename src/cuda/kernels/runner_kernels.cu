#include "cuda/cuda_check.h"
#include "cuda/kernels/runner_kernels.h"

namespace leap::cuda_detail {
namespace {

__device__ inline void store(float* target, float value) { *target = value; }
__device__ inline void store(__nv_bfloat16* target, float value) { *target = __float2bfloat16_rn(value); }

template <typename Input>
__global__ void gather_batch_kernel(const RunnerState* state, const float* images,
                                    const int32_t* labels, Input* inputs, int32_t* batch_labels,
                                    int batch, int width) {
  const int row = blockIdx.x;
  const int32_t sample = state->order[state->batch_index * batch + row];
  const float* source = images + size_t(sample) * width;
  Input* target = inputs + size_t(row) * width;
  for (int i = threadIdx.x; i < width; i += blockDim.x) store(target + i, source[i]);
  if (threadIdx.x == 0) batch_labels[row] = labels[sample];
}

__global__ void gather_rows_kernel(const RunnerState* state, const float* table, float* rows,
                                   int batch, int width) {
  const int row = blockIdx.x;
  const float* source = table + size_t(state->order[state->batch_index * batch + row]) * width;
  for (int i = threadIdx.x; i < width; i += blockDim.x) rows[size_t(row) * width + i] = source[i];
}

__global__ void advance_kernel(RunnerState* state) {
  ++state->batch_index;
  ++state->adam_steps;
}

__global__ void collect_kernel(const RunnerState* state, double* loss_sum, int64_t* correct) {
  *loss_sum += state->loss_sum;
  *correct += state->correct;
}

}  // namespace

template <typename Input>
void launch_gather_batch(const RunnerState* state, const float* images, const int32_t* labels,
                         Input* inputs, int32_t* batch_labels, int batch, int width,
                         cudaStream_t stream) {
  gather_batch_kernel<<<batch, 128, 0, stream>>>(state, images, labels, inputs, batch_labels,
                                                 batch, width);
  LEAP_CUDA_CHECK_LAUNCH();
}
template void launch_gather_batch(const RunnerState*, const float*, const int32_t*, float*, int32_t*,
                                  int, int, cudaStream_t);
template void launch_gather_batch(const RunnerState*, const float*, const int32_t*, __nv_bfloat16*,
                                  int32_t*, int, int, cudaStream_t);

void launch_gather_rows(const RunnerState* state, const float* table, float* rows, int batch,
                        int width, cudaStream_t stream) {
  gather_rows_kernel<<<batch, 32, 0, stream>>>(state, table, rows, batch, width);
  LEAP_CUDA_CHECK_LAUNCH();
}

void launch_advance(RunnerState* state, cudaStream_t stream) {
  advance_kernel<<<1, 1, 0, stream>>>(state);
  LEAP_CUDA_CHECK_LAUNCH();
}

void launch_collect(const RunnerState* state, double* loss_sum, int64_t* correct,
                    cudaStream_t stream) {
  collect_kernel<<<1, 1, 0, stream>>>(state, loss_sum, correct);
  LEAP_CUDA_CHECK_LAUNCH();
}

}  // namespace leap::cuda_detail
