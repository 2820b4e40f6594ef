#include <climits>

#include "cuda/cross_entropy.h"
#include "cuda/cuda_check.h"

namespace leap::cuda_detail {
namespace {

constexpr int kWarp = 32;
constexpr int kRowsPerBlock = 8;  // one warp per row
constexpr unsigned kAllLanes = 0xffffffffu;

struct ArgMax {
  float value;
  int index;
};

// The larger value wins; on ties the smaller index, as std::max_element.
__device__ ArgMax warp_arg_max(ArgMax mine) {
  for (int offset = kWarp / 2; offset > 0; offset /= 2) {
    const float value = __shfl_xor_sync(kAllLanes, mine.value, offset);
    const int index = __shfl_xor_sync(kAllLanes, mine.index, offset);
    if (value > mine.value || (value == mine.value && index < mine.index)) mine = {value, index};
  }
  return mine;
}

__device__ float warp_sum(float value) {
  for (int offset = kWarp / 2; offset > 0; offset /= 2)
    value += __shfl_xor_sync(kAllLanes, value, offset);
  return value;
}

__global__ void cross_entropy_kernel(const float* logits, const int32_t* labels, float* grad,
                                     double* loss_sum, int64_t* correct, int batch,
                                     int classes) {
  __shared__ double row_loss[kRowsPerBlock];
  __shared__ int row_hit[kRowsPerBlock];
  const int lane = threadIdx.x % kWarp;
  const int warp = threadIdx.x / kWarp;
  const int row = blockIdx.x * kRowsPerBlock + warp;
  double loss = 0.0;
  int hit = 0;
  if (row < batch) {  // whole warps take this branch together
    const float* z = logits + size_t(row) * classes;
    const int label = labels[row];
    const bool label_valid = 0 <= label && label < classes;
    ArgMax best = lane < classes ? ArgMax{z[lane], lane} : ArgMax{-INFINITY, INT_MAX};
    for (int j = lane + kWarp; j < classes; j += kWarp)
      if (z[j] > best.value) best = {z[j], j};
    best = warp_arg_max(best);
    hit = best.index == label;
    if (loss_sum || grad) {
      const float peak = best.value;
      float denominator = 0.0f;
      for (int j = lane; j < classes; j += kWarp) denominator += expf(z[j] - peak);
      const float log_denominator = logf(warp_sum(denominator));
      // A label out of range poisons the loss instead of reading out of bounds.
      loss = label_valid ? double(log_denominator) - double(z[label] - peak) : double(NAN);
      if (grad) {
        float* g = grad + size_t(row) * classes;
        for (int j = lane; j < classes; j += kWarp)
          g[j] = (expf(z[j] - peak - log_denominator) - float(j == label)) / float(batch);
      }
    }
  }
  if (lane == 0) {
    row_loss[warp] = loss;
    row_hit[warp] = hit;
  }
  __syncthreads();
  if (threadIdx.x != 0) return;
  double block_loss = 0.0;
  int block_hits = 0;
  for (int w = 0; w < kRowsPerBlock; ++w) {
    block_loss += row_loss[w];
    block_hits += row_hit[w];
  }
  // One atomic per block; the order of blocks makes the last bits of the loss run-dependent.
  if (loss_sum) atomicAdd(loss_sum, block_loss);
  if (correct && block_hits)
    atomicAdd(reinterpret_cast<unsigned long long*>(correct), (unsigned long long)block_hits);
}

}  // namespace

void launch_cross_entropy(const float* logits, const int32_t* labels, float* grad,
                          double* loss_sum, int64_t* correct, int batch, int classes,
                          cudaStream_t stream) {
  if (batch <= 0) return;
  const unsigned blocks = static_cast<unsigned>((batch + kRowsPerBlock - 1) / kRowsPerBlock);
  cross_entropy_kernel<<<blocks, kRowsPerBlock * kWarp, 0, stream>>>(
      logits, labels, grad, loss_sum, correct, batch, classes);
  LEAP_CUDA_CHECK_LAUNCH();
}

}  // namespace leap::cuda_detail
