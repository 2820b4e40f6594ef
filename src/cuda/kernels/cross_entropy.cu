#include <climits>

#include "cuda/kernels/cross_entropy.h"
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

__device__ float warp_max(float value) {
  for (int offset = kWarp / 2; offset > 0; offset /= 2)
    value = fmaxf(value, __shfl_xor_sync(kAllLanes, value, offset));
  return value;
}

// log(sum_j exp(z_j * scale)) over a row, computed from its peak; every lane gets it.
__device__ float row_log_normaliser(const float* z, int classes, float scale, int lane) {
  float peak = -INFINITY;
  for (int j = lane; j < classes; j += kWarp) peak = fmaxf(peak, z[j] * scale);
  peak = warp_max(peak);
  float sum = 0.0f;
  for (int j = lane; j < classes; j += kWarp) sum += expf(z[j] * scale - peak);
  return peak + logf(warp_sum(sum));
}

// Gathers the block's per-row losses and hits (lane 0 of each row's warp) and adds them to
// the totals with one atomic each.
__device__ void add_block_totals(double loss, int hit, double* loss_sum, int64_t* correct) {
  __shared__ double row_loss[kRowsPerBlock];
  __shared__ int row_hit[kRowsPerBlock];
  const int lane = threadIdx.x % kWarp, warp = threadIdx.x / kWarp;
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

// The row's arg-max, first index on ties; every lane gets it.
__device__ ArgMax row_arg_max(const float* z, int classes, int lane) {
  ArgMax best = lane < classes ? ArgMax{z[lane], lane} : ArgMax{-INFINITY, INT_MAX};
  for (int j = lane + kWarp; j < classes; j += kWarp)
    if (z[j] > best.value) best = {z[j], j};
  return warp_arg_max(best);
}

// What one row adds to the totals: its loss and whether its arg-max is its label.
struct RowTotals {
  double loss = 0.0;
  int hit = 0;
};

// One warp a row: row_loss(row, lane) gives the row's totals, in lane 0 at least; the block
// adds them up. The two losses below differ only in their row.
template <typename RowLoss>
__global__ void per_row_kernel(RowLoss row_loss, int batch, double* loss_sum, int64_t* correct) {
  const int lane = threadIdx.x % kWarp;
  const int row = blockIdx.x * kRowsPerBlock + threadIdx.x / kWarp;
  RowTotals totals;
  if (row < batch) totals = row_loss(row, lane);  // whole warps take this branch together
  add_block_totals(totals.loss, totals.hit, loss_sum, correct);
}

template <typename RowLoss>
void launch_per_row(const RowLoss& row_loss, int batch, double* loss_sum, int64_t* correct,
                    cudaStream_t stream) {
  if (batch <= 0) return;
  const unsigned blocks = static_cast<unsigned>((batch + kRowsPerBlock - 1) / kRowsPerBlock);
  per_row_kernel<<<blocks, kRowsPerBlock * kWarp, 0, stream>>>(row_loss, batch, loss_sum, correct);
  LEAP_CUDA_CHECK_LAUNCH();
}

struct CrossEntropyRow {
  const float* logits;
  const int32_t* labels;
  float* grad;
  bool sums_loss;  // without the loss or its gradient, the row's hit alone
  int batch, classes;

  __device__ RowTotals operator()(int row, int lane) const {
    RowTotals totals;
    const float* z = logits + size_t(row) * classes;
    const int label = labels[row];
    const bool label_valid = 0 <= label && label < classes;
    const ArgMax best = row_arg_max(z, classes, lane);
    totals.hit = best.index == label;
    if (sums_loss || grad) {
      const float peak = best.value;
      float denominator = 0.0f;
      for (int j = lane; j < classes; j += kWarp) denominator += expf(z[j] - peak);
      const float log_denominator = logf(warp_sum(denominator));
      // A label out of range poisons the loss instead of reading out of bounds.
      totals.loss = label_valid ? double(log_denominator) - double(z[label] - peak) : double(NAN);
      if (grad) {
        float* g = grad + size_t(row) * classes;
        for (int j = lane; j < classes; j += kWarp)
          g[j] = (expf(z[j] - peak - log_denominator) - float(j == label)) / float(batch);
      }
    }
    return totals;
  }
};

struct DistillationRow {
  const float* student;
  const float* teacher;
  const int32_t* labels;
  float* grad;
  int batch, classes;
  float temperature, alpha;

  __device__ RowTotals operator()(int row, int lane) const {
    RowTotals totals;
    const float* s = student + size_t(row) * classes;
    const float* t = teacher + size_t(row) * classes;
    const int label = labels[row];
    totals.hit = row_arg_max(s, classes, lane).index == label;
    const float inverse_t = 1.0f / temperature;
    const float log_z_soft = row_log_normaliser(s, classes, inverse_t, lane);
    const float log_z_teacher = row_log_normaliser(t, classes, inverse_t, lane);
    const float log_z_hard = row_log_normaliser(s, classes, 1.0f, lane);
    float kl = 0.0f;
    for (int j = lane; j < classes; j += kWarp) {
      const float log_p = t[j] * inverse_t - log_z_teacher;  // the teacher's soft target
      const float log_q = s[j] * inverse_t - log_z_soft;
      const float p = expf(log_p);
      kl += p * (log_p - log_q);
      if (grad) {
        const float hard = expf(s[j] - log_z_hard) - float(j == label);
        grad[size_t(row) * classes + j] =
            (alpha * temperature * (expf(log_q) - p) + (1.0f - alpha) * hard) / float(batch);
      }
    }
    kl = warp_sum(kl);
    // A label out of range poisons the loss instead of reading out of bounds.
    const bool label_valid = 0 <= label && label < classes;
    totals.loss = label_valid ? double(alpha) * temperature * temperature * kl +
                                    (1.0 - alpha) * (double(log_z_hard) - s[label])
                              : double(NAN);
    return totals;
  }
};

}  // namespace

void launch_cross_entropy(const float* logits, const int32_t* labels, float* grad,
                          double* loss_sum, int64_t* correct, int batch, int classes,
                          cudaStream_t stream) {
  launch_per_row(CrossEntropyRow{logits, labels, grad, loss_sum != nullptr, batch, classes}, batch,
                 loss_sum, correct, stream);
}

void launch_distillation(const float* student, const float* teacher, const int32_t* labels,
                         float* grad, double* loss_sum, int64_t* correct, int batch, int classes,
                         float temperature, float alpha, cudaStream_t stream) {
  launch_per_row(DistillationRow{student, teacher, labels, grad, batch, classes, temperature, alpha},
                 batch, loss_sum, correct, stream);
}

}  // namespace leap::cuda_detail
