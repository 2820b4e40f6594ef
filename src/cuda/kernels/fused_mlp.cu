#include <cfloat>

#include "cuda/kernels/adam_math.cuh"
#include "cuda/cuda_check.h"
#include "cuda/kernels/fused_mlp.h"
#include "cuda/kernels/operand_rounding.cuh"

namespace leap::cuda_detail {
namespace {

constexpr int kTileRows = 4, kTileUnits = 4;  // one block's tile of the hidden forward
constexpr int kForwardWarps = 4;              // they split the inputs of that tile
constexpr int kRowThreads = 128;              // a block of the head, one per sample
constexpr int kUnitsPerBlock = 4;             // hidden units per block of the weight update
constexpr int kInputsPerBlock = 256;
constexpr int kMaxBatch = 256;
constexpr int kMaxStaged = 8192;              // batch x hidden floats staged in shared memory

__device__ inline float warp_sum(float value) {
  for (int offset = 16; offset > 0; offset >>= 1) value += __shfl_xor_sync(0xffffffffu, value, offset);
  return value;
}

__device__ inline const float* sample_row(const FusedMlpArgs& a, int64_t batch_index, int r) {
  return a.images + int64_t(a.state->order[batch_index * a.batch + r]) * a.in;
}

// hidden = relu(x w1^T + b1) for a 4x4 tile of (samples, units) per block. Its warps split
// the inputs and their lanes stride through them, so rows of x and w1 are read coalesced
// with many loads in flight; shared memory joins the warps' partial sums. Every product's
// operands are rounded to the step's precision (kDropped bits, operand_rounding.cuh).
template <int kDropped>
__global__ void __launch_bounds__(kForwardWarps * 32) hidden_forward_kernel(FusedMlpArgs a) {
  __shared__ float partial[kForwardWarps][kTileRows * kTileUnits];
  const int unit_tiles = a.hid / kTileUnits;
  const int row0 = blockIdx.x / unit_tiles * kTileRows, unit0 = blockIdx.x % unit_tiles * kTileUnits;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int64_t batch_index = a.state->batch_index;
  const float* x[kTileRows];
  const float* w[kTileUnits];
  for (int i = 0; i < kTileRows; ++i) x[i] = sample_row(a, batch_index, row0 + i);
  for (int j = 0; j < kTileUnits; ++j) w[j] = a.weights.w1 + int64_t(unit0 + j) * a.in;
  float sum[kTileRows][kTileUnits] = {};
#pragma unroll 4
  for (int k = warp * 32 + lane; k < a.in; k += kForwardWarps * 32) {
    float xv[kTileRows], wv[kTileUnits];
    for (int i = 0; i < kTileRows; ++i) xv[i] = rounded<kDropped>(__ldg(x[i] + k));
    for (int j = 0; j < kTileUnits; ++j) wv[j] = rounded<kDropped>(w[j][k]);
    for (int i = 0; i < kTileRows; ++i)
      for (int j = 0; j < kTileUnits; ++j) sum[i][j] = fmaf(xv[i], wv[j], sum[i][j]);
  }
  for (int i = 0; i < kTileRows; ++i)
    for (int j = 0; j < kTileUnits; ++j) {
      const float total = warp_sum(sum[i][j]);
      if (lane == 0) partial[warp][i * kTileUnits + j] = total;
    }
  __syncthreads();
  if (threadIdx.x < kTileRows * kTileUnits) {
    const int i = threadIdx.x / kTileUnits, j = threadIdx.x % kTileUnits;
    float total = a.weights.b1[unit0 + j];
    for (int v = 0; v < kForwardWarps; ++v) total += partial[v][threadIdx.x];
    a.hidden[(row0 + i) * a.hid + unit0 + j] = fmaxf(total, 0.0f);
  }
}

__device__ inline float warp_max(float value) {
  for (int offset = 16; offset > 0; offset >>= 1)
    value = fmaxf(value, __shfl_xor_sync(0xffffffffu, value, offset));
  return value;
}

// KL(softmax(t/T) || softmax(z/T)) of a row held one class per lane (`valid` lanes), and its
// gradient in z times T: softmax(z/T) - softmax(t/T) at this lane's class.
struct SoftTerm {
  float kl, grad;
};

__device__ inline SoftTerm soft_term(float z, float z_peak, const float* teacher, bool valid,
                                     float temperature) {
  const float inverse_t = 1.0f / temperature;
  const float t = valid ? teacher[threadIdx.x % 32] : -FLT_MAX;
  const float t_peak = warp_max(t);
  const float q_e = valid ? expf((z - z_peak) * inverse_t) : 0.0f;
  const float p_e = valid ? expf((t - t_peak) * inverse_t) : 0.0f;
  const float q_total = warp_sum(q_e), p_total = warp_sum(p_e);
  const float log_q = (z - z_peak) * inverse_t - logf(q_total);
  const float log_p = (t - t_peak) * inverse_t - logf(p_total);
  const float p = p_e / p_total;
  return {warp_sum(valid ? p * (log_p - log_q) : 0.0f), valid ? q_e / q_total - p : 0.0f};
}

// One block per sample: logits, softmax cross-entropy (or the distillation loss),
// d(loss)/d(logits), and the hidden gradient through the old output weights, masked by the
// ReLU. The hidden values are staged rounded (rounding keeps their sign, so the ReLU mask
// reads the same).
template <int kDropped>
__global__ void __launch_bounds__(kRowThreads) head_row_kernel(FusedMlpArgs a) {
  extern __shared__ float s_hidden[];  // [hid], then the logits [classes]
  float* s_z = s_hidden + a.hid;
  const int r = blockIdx.x, H = a.hid, C = a.classes;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, warps = kRowThreads / 32;
  for (int k = threadIdx.x; k < H; k += kRowThreads) s_hidden[k] = rounded<kDropped>(a.hidden[r * H + k]);
  __syncthreads();
  for (int c = warp; c < C; c += warps) {
    float z = 0;
    for (int k = lane; k < H; k += 32) z = fmaf(s_hidden[k], rounded<kDropped>(a.weights.w2[c * H + k]), z);
    z = warp_sum(z);
    if (lane == 0) s_z[c] = z + a.weights.b2[c];
  }
  __syncthreads();
  if (warp == 0) {  // classes <= 32: one per lane
    const float z = lane < C ? s_z[lane] : -FLT_MAX;
    float peak = z;
    for (int o = 16; o > 0; o >>= 1) peak = fmaxf(peak, __shfl_xor_sync(0xffffffffu, peak, o));
    // The first lane holding the maximum is the prediction (std::max_element's choice).
    const unsigned at_peak = __ballot_sync(0xffffffffu, lane < C && z == peak);
    const float e = lane < C ? expf(z - peak) : 0.0f;
    const float total = warp_sum(e);
    const int sample = a.state->order[a.state->batch_index * a.batch + r];
    const int label = a.labels[sample];
    const float z_label = __shfl_sync(0xffffffffu, z, label);
    float loss = logf(total) - (z_label - peak);
    float dz = e / total - (lane == label ? 1.0f : 0.0f);
    if (a.soft_targets) {
      const SoftTerm soft = soft_term(z, peak, a.soft_targets + int64_t(sample) * C, lane < C,
                                      a.temperature);
      loss = a.alpha * a.temperature * a.temperature * soft.kl + (1.0f - a.alpha) * loss;
      dz = a.alpha * a.temperature * soft.grad + (1.0f - a.alpha) * dz;
    }
    if (lane == 0) {
      a.row_loss[r] = loss;
      a.row_correct[r] = (__ffs(at_peak) - 1) == label;
    }
    if (lane < C) {
      dz /= a.batch;
      s_z[lane] = rounded<kDropped>(dz);  // an operand below; the bias gradient sums dz itself
      a.grad_logits[r * C + lane] = dz;
    }
  }
  __syncthreads();
  for (int k = threadIdx.x; k < H; k += kRowThreads) {
    float g = 0;
    for (int c = 0; c < C; ++c) g = fmaf(s_z[c], rounded<kDropped>(a.weights.w2[c * H + k]), g);
    a.grad_hidden[r * H + k] = s_hidden[k] > 0.0f ? g : 0.0f;
  }
}

// Copies `count` floats (a multiple of 4, 16-byte aligned) into shared memory with 16-byte
// loads, unrolled so that a thread's loads are in flight together rather than one by one;
// rounded to kDropped bits (none by default).
template <int kDropped = 0>
__device__ inline void stage(float* target, const float* source, int count) {
  const float4* from = reinterpret_cast<const float4*>(source);
  float4* to = reinterpret_cast<float4*>(target);
#pragma unroll 8
  for (int i = threadIdx.x; i < count / 4; i += blockDim.x) {
    float4 v = __ldg(from + i);
    to[i] = make_float4(rounded<kDropped>(v.x), rounded<kDropped>(v.y), rounded<kDropped>(v.z),
                        rounded<kDropped>(v.w));
  }
}

// Sums one value per lane over a warp in a fixed tree, so the result is reproducible.
template <typename T>
__device__ inline T warp_tree_sum(T value) {
  for (int offset = 16; offset > 0; offset >>= 1) value += __shfl_xor_sync(0xffffffffu, value, offset);
  return value;
}

// Asks L2 for the rows of batch `next`, one 128-byte line per thread of the grid.
__device__ inline void prefetch_next_batch(const FusedMlpArgs& a, int64_t next) {
  const int lines_per_row = (a.in * int(sizeof(float)) + 127) / 128;
  const int line = blockIdx.x * blockDim.x + threadIdx.x;
  const int r = line / lines_per_row;
  if (r >= a.batch || next * a.batch + r >= a.samples) return;
  const float* row = a.images + int64_t(a.state->order[next * a.batch + r]) * a.in;
  asm volatile("prefetch.global.L2 [%0];" ::"l"(row + (line % lines_per_row) * 32));
}

// Every weight gradient with its Adam update. Blocks [0, w1_blocks) take 256 inputs x 4
// hidden units of w1 each (one input position per thread, the batch's rows read coalesced);
// the next `classes` blocks take one row of w2 and its bias each; the last block takes the
// hidden bias and the loss. Sums over the batch read shared memory, never one global value
// after another. The last block to finish moves the state on. Products round their operands;
// bias gradients sum unrounded values.
template <int kDropped>
__global__ void __launch_bounds__(kInputsPerBlock) update_kernel(FusedMlpArgs a, int w1_blocks) {
  __shared__ __align__(16) float s_batch[kMaxStaged];  // the block's batch-sized operand
  __shared__ int64_t s_offset[kMaxBatch];
  const int B = a.batch, H = a.hid, C = a.classes, tid = threadIdx.x;
  const int warp = tid / 32, lane = tid % 32;
  const int64_t batch_index = a.state->batch_index;
  const AdamScalars h = adam_scalars_for_step(a.adam, a.state->lr, a.state->adam_steps + 1);
  const int block = blockIdx.x;
  if (a.prefetch_next) prefetch_next_batch(a, batch_index + 1);
  if (block < w1_blocks) {
    const int input_tiles = (a.in + kInputsPerBlock - 1) / kInputsPerBlock;
    const int unit0 = block / input_tiles * kUnitsPerBlock;
    const int k = block % input_tiles * kInputsPerBlock + tid;
    for (int i = tid; i < B * kUnitsPerBlock; i += blockDim.x)
      s_batch[i] = rounded<kDropped>(a.grad_hidden[(i / kUnitsPerBlock) * H + unit0 + i % kUnitsPerBlock]);
    for (int r = tid; r < B; r += blockDim.x)
      s_offset[r] = int64_t(a.state->order[batch_index * B + r]) * a.in;
    __syncthreads();
    if (k < a.in) {
      float g[kUnitsPerBlock] = {};
#pragma unroll 16
      for (int r = 0; r < B; ++r) {
        const float x = rounded<kDropped>(__ldg(a.images + s_offset[r] + k));
        for (int j = 0; j < kUnitsPerBlock; ++j) g[j] = fmaf(s_batch[r * kUnitsPerBlock + j], x, g[j]);
      }
      for (int j = 0; j < kUnitsPerBlock; ++j) {
        const int64_t i = int64_t(unit0 + j) * a.in + k;
        adam_apply(a.weights.w1[i], a.weights.m_w1[i], a.weights.v_w1[i], g[j], h);
      }
    }
  } else if (block < w1_blocks + C) {
    const int c = block - w1_blocks;
    stage<kDropped>(s_batch, a.hidden, B * H);
    __syncthreads();
    __shared__ float s_dz[kMaxBatch];
    for (int r = tid; r < B; r += blockDim.x) s_dz[r] = a.grad_logits[r * C + c];
    __syncthreads();
    for (int k = tid; k < H; k += blockDim.x) {
      float g = 0;
      for (int r = 0; r < B; ++r) g = fmaf(rounded<kDropped>(s_dz[r]), s_batch[r * H + k], g);
      adam_apply(a.weights.w2[c * H + k], a.weights.m_w2[c * H + k], a.weights.v_w2[c * H + k], g, h);
    }
    if (warp == 0) {
      float g = 0;
      for (int r = lane; r < B; r += 32) g += s_dz[r];
      g = warp_tree_sum(g);
      if (lane == 0) adam_apply(a.weights.b2[c], a.weights.m_b2[c], a.weights.v_b2[c], g, h);
    }
  } else {
    stage(s_batch, a.grad_hidden, B * H);
    __syncthreads();
    for (int k = tid; k < H; k += blockDim.x) {
      float g = 0;
      for (int r = 0; r < B; ++r) g += s_batch[r * H + k];
      adam_apply(a.weights.b1[k], a.weights.m_b1[k], a.weights.v_b1[k], g, h);
    }
    if (warp == 0) {
      double loss = 0;
      int correct = 0;
      for (int r = lane; r < B; r += 32) loss += a.row_loss[r], correct += a.row_correct[r];
      loss = warp_tree_sum(loss);
      correct = warp_tree_sum(correct);
      if (lane == 0) {
        a.state->loss_sum += loss;
        a.state->correct += correct;
      }
    }
  }
  // Every block has read the state above; the last one through moves it on.
  __syncthreads();
  if (tid == 0) {
    __threadfence();
    if (atomicAdd(a.blocks_done, 1u) == gridDim.x - 1) {
      *a.blocks_done = 0;
      ++a.state->batch_index;
      ++a.state->adam_steps;
    }
  }
}

}  // namespace

bool fused_mlp_supports(int batch, int in, int hid, int classes) {
  return batch > 0 && batch % kTileRows == 0 && batch <= kMaxBatch && hid % kUnitsPerBlock == 0 &&
         hid % kTileUnits == 0 && batch * hid <= kMaxStaged && in > 0 && classes >= 1 &&
         classes <= 32;
}

namespace {

template <int kDropped>
void launch_step(const FusedMlpArgs& a, cudaStream_t stream) {
  const int forward_blocks = (a.batch / kTileRows) * (a.hid / kTileUnits);
  hidden_forward_kernel<kDropped><<<forward_blocks, kForwardWarps * 32, 0, stream>>>(a);
  LEAP_CUDA_CHECK_LAUNCH();
  head_row_kernel<kDropped><<<a.batch, kRowThreads, sizeof(float) * (a.hid + a.classes), stream>>>(a);
  LEAP_CUDA_CHECK_LAUNCH();
  const int w1_blocks = (a.in + kInputsPerBlock - 1) / kInputsPerBlock * (a.hid / kUnitsPerBlock);
  update_kernel<kDropped><<<w1_blocks + a.classes + 1, kInputsPerBlock, 0, stream>>>(a, w1_blocks);
  LEAP_CUDA_CHECK_LAUNCH();
}

}  // namespace

void launch_fused_mlp_step(const FusedMlpArgs& a, cudaStream_t stream) {
  switch (a.precision) {
    case Precision::fp32: return launch_step<dropped_bits(Precision::fp32)>(a, stream);
    case Precision::tf32: return launch_step<dropped_bits(Precision::tf32)>(a, stream);
    case Precision::bf16: return launch_step<dropped_bits(Precision::bf16)>(a, stream);
  }
}

}  // namespace leap::cuda_detail
