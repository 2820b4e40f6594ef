// Phases of the persistent kernel's step (cluster_mlp.cu), as device functions forced inline:
// the launch's view of itself (Block, Arrays), the zeros set once a launch, the hidden values
// and the logits' shares, w2's gradient and the small parameters' Adam updates. The other
// phases are named by their part of the step: cluster_mlp_batch.cuh (the batch's arrival),
// cluster_mlp_forward.cuh, cluster_mlp_gradients.cuh, cluster_mlp_state.cuh (what a launch
// loads and stores) and cluster_mlp_timer.cuh. Included by cluster_mlp.cu alone.
#pragma once

#include <cooperative_groups.h>
#include <cuda_fp16.h>

#include <cstdint>

#include "cuda/kernels/adam_math.cuh"
#include "cuda/kernels/cluster_mlp.h"
#include "cuda/kernels/cluster_mlp_layout.cuh"
#include "cuda/kernels/cluster_mlp_ops.cuh"

namespace leap::cuda_detail {
namespace {

namespace cg = cooperative_groups;

// Where b1's and b2's moments follow w2's in the small moments.
constexpr int kW2Size = kMaxClasses * kUnits, kB1Moments = kW2Size, kB2Moments = kW2Size + kUnits;
constexpr int kXBufferStride = kMaxBatch * kMaxIn;  // bytes of a batch buffer

// What a thread knows for the whole launch: who it is and the shapes (numbers only: kept in
// the kernel's registers).
struct Block {
  const ClusterMlpArgs& a;
  int rank, blocks, tid, warp, lane, g, t;
  int B, C, unit0, row_tiles;
  float inverse_batch;
  // Block q owns rows [q * rows_per_owner, ...): it copies them into every block's batch
  // buffer, and it sums their logits and computes their loss.
  int rows_per_owner, own_rows;

  __device__ __forceinline__ Block(const ClusterMlpArgs& args, const cg::cluster_group& cluster) : a(args) {
    rank = int(cluster.block_rank()), blocks = int(cluster.num_blocks());
    tid = threadIdx.x, warp = tid / 32, lane = tid % 32, g = lane / 4, t = lane % 4;
    B = a.batch, C = a.classes, unit0 = rank * kUnits, row_tiles = B / 16;
    inverse_batch = 1.0f / float(B);
    rows_per_owner = (B + blocks - 1) / blocks;
    own_rows = max(0, min(rows_per_owner, B - rank * rows_per_owner));
  }
};

// Where the block's arrays lie in shared memory (layout()), as the kernel computes them.
struct Arrays {
  float* shared;
  float4* warp_sums;
  float* hidden;
  float* grad_logits;
  float* shares_in;
  uint64_t* shares_arrived;
  uint64_t* grads_arrived;
  // The small parameters (w2's slice, b1's slice, a copy of all of b2) and their moments, zeros
  // past the classes. w2 has two copies: step s reads copy s % 2 and writes its update into the
  // other, as its old values are still being read while the update is made.
  float* w2_copies;
  float* b1s;
  float* b2s;
  float2* small_moments;  // w2's, b1's, b2's
};

// The arrays at their places in the block's shared memory.
__device__ __forceinline__ Arrays arrays_in(float* shared) {
  constexpr Layout l = layout();
  uint64_t* barriers = reinterpret_cast<uint64_t*>(shared + l.barriers);
  return Arrays{shared, reinterpret_cast<float4*>(shared + l.warp_sums), shared + l.hidden, shared + l.grad_logits,
                shared + l.shares_in, barriers, barriers + 1, shared + l.w2, shared + l.b1, shared + l.b2,
                reinterpret_cast<float2*>(shared + l.small_moments)};
}

// Zeros where nothing is ever written: the batch buffers' rows past the batch and columns
// past the input width, the activations' and gradients' rows past the batch and columns
// past the classes. The loops then run over the largest shapes without branches, adding
// exact zeros. The proxy fence orders these writes before the copies into the buffers.
__device__ __forceinline__ void zero_unwritten(const Block& b, const Arrays& m) {
  constexpr Layout l = layout();
  const int tid = b.tid;
  float* shared = m.shared;
  uint4* x_words = reinterpret_cast<uint4*>(reinterpret_cast<uint8_t*>(shared) + l.x_bytes);
  for (int i = tid; i < 2 * kXBufferStride / 16; i += kThreads) x_words[i] = make_uint4(0, 0, 0, 0);
  for (int i = tid; i < kMaxBatch * kUnits; i += kThreads) m.hidden[i] = shared[l.dh_fragments + i] = 0.0f;
  for (int i = tid; i < kRowTiles * kUnits; i += kThreads) shared[l.b1_partials + i] = 0.0f;
  for (int i = tid; i < kMaxBatch * kRowStride; i += kThreads) m.grad_logits[i] = 0.0f;
  fence_for_copies();
}

// Warp rt sums row tile rt over the warps (in warp order), adds b1, applies the ReLU and
// sends each row's share of the logits to the row's owner. A lane holds units 2t, 2t+1 of
// rows g and g + 8; its group of four lanes sums a row's share over the 8 units. The lane
// keeps in `relu_mask` which of its four hidden values passed the ReLU, for the hidden
// gradient. `w2s`: the step's copy of w2.
__device__ __forceinline__ void hidden_and_logit_shares(const Block& b, const Arrays& m, const float* w2s,
                                                        unsigned& relu_mask) {
  const int rank = b.rank, blocks = b.blocks, warp = b.warp, lane = b.lane, g = b.g, t = b.t;
  const int rows_per_owner = b.rows_per_owner;
  if (warp < b.row_tiles) {
    const int rt = warp;
    float4 sum = m.warp_sums[rt * 32 + lane];
    for (int w_ = 1; w_ < kWarps; ++w_) {
      const float4 other = m.warp_sums[(w_ * kRowTiles + rt) * 32 + lane];
      sum.x += other.x, sum.y += other.y, sum.z += other.z, sum.w += other.w;
    }
    const float bias0 = m.b1s[2 * t], bias1 = m.b1s[2 * t + 1];
    const float h0 = fmaxf(sum.x * kInverseByteScale + bias0, 0.0f), h1 = fmaxf(sum.y * kInverseByteScale + bias1, 0.0f);
    const float h2 = fmaxf(sum.z * kInverseByteScale + bias0, 0.0f), h3 = fmaxf(sum.w * kInverseByteScale + bias1, 0.0f);
    const int top = rt * 16 + g, bottom = top + 8;
    *reinterpret_cast<float2*>(m.hidden + top * kUnits + 2 * t) = make_float2(h0, h1);
    *reinterpret_cast<float2*>(m.hidden + bottom * kUnits + 2 * t) = make_float2(h2, h3);
    relu_mask = (h0 > 0.0f) | (h1 > 0.0f) << 1 | (h2 > 0.0f) << 2 | (h3 > 0.0f) << 3;
    // The rows' shares of the logits, h w2^T over this block's 8 units, on the tensor cores:
    // the lane's hidden values are its A fragment (units taken in the order 0,2,4,6,1,3,5,7),
    // and each operand is split into two TF32 parts, h w = hh wh + hl wh + hh wl, to fp32
    // accuracy. Classes past C have zero weights, so every column written is defined.
    const uint32_t hh[4] = {to_tf32(h0), to_tf32(h2), to_tf32(h1), to_tf32(h3)};
    const uint32_t hl[4] = {to_tf32(h0 - __uint_as_float(hh[0])), to_tf32(h2 - __uint_as_float(hh[1])),
                            to_tf32(h1 - __uint_as_float(hh[2])), to_tf32(h3 - __uint_as_float(hh[3]))};
#pragma unroll
    for (int tile = 0; tile < kMaxClasses / 8; ++tile) {
      const float2 w2pair = *reinterpret_cast<const float2*>(w2s + (tile * 8 + g) * kUnits + 2 * t);
      const uint32_t wh0 = to_tf32(w2pair.x), wh1 = to_tf32(w2pair.y);
      const uint32_t wl0 = to_tf32(w2pair.x - __uint_as_float(wh0)), wl1 = to_tf32(w2pair.y - __uint_as_float(wh1));
      float z[4] = {};
      mma_tf32(z, hh[0], hh[1], hh[2], hh[3], wh0, wh1);
      mma_tf32(z, hl[0], hl[1], hl[2], hl[3], wh0, wh1);
      mma_tf32(z, hh[0], hh[1], hh[2], hh[3], wl0, wl1);
      // Each lane stores its pairs straight into the owners' shared memory.
#pragma unroll
      for (int half = 0; half < 2; ++half) {
        const int row = half ? bottom : top, owner = row / rows_per_owner;
        store_to_block(m.shares_in + ((row - owner * rows_per_owner) * blocks + rank) * kRowStride + tile * 8 + 2 * t,
                       z[2 * half], z[2 * half + 1], m.shares_arrived, owner);
      }
    }
  }
}

// w2's gradient d(logits)^T h over row tile q = warp - kFirstW2Warp (classes as the tile's 16
// rows, units as its 8 columns), into the tile's partial sums.
__device__ __forceinline__ void w2_gradient(const Block& b, const Arrays& m) {
  constexpr Layout l = layout();
  const int lane = b.lane, g = b.g, t = b.t;
  const int q = b.warp - kFirstW2Warp;
  float high[4] = {}, low[4] = {};
#pragma unroll
  for (int j = 0; j < 2; ++j) {
    const int row = q * 16 + 8 * j + t;  // as k = t, and row + 4 as k = t + 4
    const float* d_logits = m.grad_logits + row * kRowStride + g;
    mma_split(high, low, {d_logits[0], d_logits[8], d_logits[4 * kRowStride], d_logits[4 * kRowStride + 8]},
              m.hidden[row * kUnits + g], m.hidden[(row + 4) * kUnits + g]);
  }
  // Lane (g, t) holds classes g and g + 8 at units 2t and 2t + 1.
  reinterpret_cast<float4*>(m.shared + l.w2_partials)[q * 32 + lane] =
      make_float4(high[0] + low[0], high[1] + low[1], high[2] + low[2], high[3] + low[3]);
}

// Adam's scalars as every other path computes them (the same bits however the steps fall
// into launches), for the kAdamSteps steps from s at once, a thread a step; read by all
// after the step's first barrier.
__device__ __forceinline__ void adam_scalars_ahead(const Block& b, const Arrays& m, int64_t s) {
  float* adam_step = m.shared + layout().adam_step;  // [kAdamSteps]: the step size and 1 / sqrt(1 - beta2^t)
  const int tid = b.tid;
  if (s % kAdamSteps == 0 && tid < kAdamSteps && s + tid < b.a.run.steps) {
    const AdamScalars step = adam_scalars_for_step(b.a.adam, b.a.run.lr, b.a.run.adam_steps + s + tid + 1);
    adam_step[tid * 2] = step.step_size;
    adam_step[tid * 2 + 1] = 1.0f / step.correction2_sqrt;
  }
}

// Step s's Adam scalars (adam_scalars_ahead) and its 1 / sqrt(1 - beta2^t).
__device__ __forceinline__ AdamScalars adam_scalars_of(const Block& b, const Arrays& m, int64_t s,
                                                       float& inverse_correction2_sqrt) {
  const float* adam_step = m.shared + layout().adam_step;
  AdamScalars h = b.a.adam;
  h.step_size = adam_step[(s % kAdamSteps) * 2];
  inverse_correction2_sqrt = adam_step[(s % kAdamSteps) * 2 + 1];
  return h;
}

// w2's update on the four w2 warps, a weight a lane: the row tiles' partial gradients summed
// in order, then Adam, into the copy that step s + 1 reads (`w2s` is step s's). Made after
// the block's barrier rather than before, where the block waited for it; the new w2 is first
// read by the next step's row sums. Classes past C: zero gradient, weight and moments, which
// stay zero.
__device__ __forceinline__ void adam_w2(const Block& b, const Arrays& m, int64_t s, const float* w2s,
                                        const AdamScalars& h, float inverse_correction2_sqrt) {
  constexpr Layout l = layout();
  const int warp = b.warp;
  if (warp >= kFirstW2Warp && warp < kFirstW2Warp + kRowTiles) {
    const int v = (warp - kFirstW2Warp) * 32 + b.lane, from = v / 4, i = v % 4;  // lane `from`'s value i
    float grad = 0.0f;
#pragma unroll
    for (int q = 0; q < kRowTiles; ++q) grad += m.shared[l.w2_partials + (q * 32 + from) * 4 + i];
    const int at = (from / 4 + 8 * (i / 2)) * kUnits + 2 * (from % 4) + i % 2;
    float value = w2s[at];
    float2 moment = m.small_moments[at];
    adam_apply_fast(value, moment.x, moment.y, grad, h, inverse_correction2_sqrt);
    m.w2_copies[((s + 1) & 1) * kW2Size + at] = value;
    m.small_moments[at] = moment;
  }
}

// b1's update on lanes 0-7 of its warp, from the row tiles' column sums (zeros past the
// batch); first needed in the next step's row sums.
__device__ __forceinline__ void adam_b1(const Block& b, const Arrays& m, const AdamScalars& h,
                                        float inverse_correction2_sqrt) {
  constexpr Layout l = layout();
  const int lane = b.lane;
  if (b.warp == kB1Warp && lane < kUnits) {
    float grad = 0.0f;
#pragma unroll
    for (int rt = 0; rt < kRowTiles; ++rt) grad += m.shared[l.b1_partials + rt * kUnits + lane];
    float value = m.b1s[lane];
    float2 moment = m.small_moments[kB1Moments + lane];
    adam_apply_fast(value, moment.x, moment.y, grad, h, inverse_correction2_sqrt);
    m.b1s[lane] = value;
    m.small_moments[kB1Moments + lane] = moment;
  }
}

// b2's update on its warp, once the step's logit gradients are in (`parity`: the step's
// phase of their barrier): lane c sums the even rows of class c, lane c + 16 the odd ones.
// First needed in the next step's softmax.
__device__ __forceinline__ void adam_b2(const Block& b, const Arrays& m, unsigned parity, const AdamScalars& h,
                                        float inverse_correction2_sqrt) {
  const int lane = b.lane;
  if (b.warp == kB2Warp) {
    wait_barrier(m.grads_arrived, parity);  // complete: it orders this warp's reads after the arrival
    const int c = lane % kMaxClasses;
    float grad = 0.0f;
#pragma unroll
    for (int r = lane / kMaxClasses; r < kMaxBatch; r += 2) grad += m.grad_logits[r * kRowStride + c];
    grad += __shfl_xor_sync(kFull, grad, kMaxClasses);
    if (lane < kMaxClasses) {
      float value = m.b2s[c];
      float2 moment = m.small_moments[kB2Moments + c];
      adam_apply_fast(value, moment.x, moment.y, grad, h, inverse_correction2_sqrt);
      m.b2s[c] = value;
      m.small_moments[kB2Moments + c] = moment;
    }
  }
}

}  // namespace
}  // namespace leap::cuda_detail
