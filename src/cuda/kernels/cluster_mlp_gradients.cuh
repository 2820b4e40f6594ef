// The gradient phases of the persistent kernel's step (cluster_mlp.cu) beside w2_gradient
// (cluster_mlp_phases.cuh): the hidden gradient with b1's column sums, and w1's gradient with
// its Adam update in the registers that hold w1. Included by cluster_mlp.cu alone.
#pragma once

#include <cuda_fp16.h>

#include <cstdint>

#include "cuda/kernels/adam_math.cuh"
#include "cuda/kernels/cluster_mlp.h"
#include "cuda/kernels/cluster_mlp_layout.cuh"
#include "cuda/kernels/cluster_mlp_ops.cuh"
#include "cuda/kernels/cluster_mlp_phases.cuh"

namespace leap::cuda_detail {
namespace {

// The hidden gradient of row tile rt = warp, dh = d(logits) w2 (`w2s`, the step's old copy)
// masked by the ReLU (`relu_mask`, of the lane's hidden values in hidden_and_logit_shares),
// stored as the fp16 halves of w1's gradient product, and the tile's column sums for b1's
// gradient. The k dimension runs over the classes in the order that lets each row's four
// classes 4t..4t+3 be one load: k-step j takes class 4t + 2j as k = t and 4t + 2j + 1 as
// k = t + 4.
__device__ __forceinline__ void hidden_gradient(const Block& b, const Arrays& m, const float* w2s,
                                                unsigned relu_mask) {
  constexpr Layout l = layout();
  const int lane = b.lane, g = b.g, t = b.t;
  const int rt = b.warp, top = rt * 16 + g;
  const float4 upper = *reinterpret_cast<const float4*>(m.grad_logits + top * kRowStride + 4 * t);
  const float4 lower = *reinterpret_cast<const float4*>(m.grad_logits + (top + 8) * kRowStride + 4 * t);
  const float* w2_unit = w2s + 4 * t * kUnits + g;
  float high[4] = {}, low[4] = {};
  mma_split(high, low, {upper.x, lower.x, upper.y, lower.y}, w2_unit[0], w2_unit[kUnits]);
  mma_split(high, low, {upper.z, lower.z, upper.w, lower.w}, w2_unit[2 * kUnits], w2_unit[3 * kUnits]);
  float dh[4];  // rows top and top + 8, units 2t and 2t + 1
#pragma unroll
  for (int i = 0; i < 4; ++i) dh[i] = relu_mask >> i & 1 ? high[i] + low[i] : 0.0f;
  // The A fragments of the weight-gradient products: dh s in fp16 high + low halves. The
  // scale s comes from a bound every row tile computes alike, |dh| <= (2 / B) max |w2|
  // (a row of the logits' gradients, softmax minus one-hot over B, sums to at most 2 / B
  // in magnitude). Unit u's rows 2p, 2p + 1 of a tile are lane (u, p % 4)'s register 0
  // (high) and 1 (low) for p < 4, 2 and 3 for the rows 8 further.
  const float4 w2_four = reinterpret_cast<const float4*>(w2s)[lane];
  const float w2_peak = warp_max(fmaxf(fmaxf(fabsf(w2_four.x), fabsf(w2_four.y)),
                                       fmaxf(fabsf(w2_four.z), fabsf(w2_four.w))));
  const Scale dh_scale = scale_for(w2_peak * (2.0f * b.inverse_batch));
  if (rt == 0 && lane == 0) m.shared[l.dh_unscale] = dh_scale.inverse;
  uint16_t* dh_halves = reinterpret_cast<uint16_t*>(m.shared + l.dh_fragments);
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    const int unit = 2 * t + i % 2;
    const int at = ((rt * 32 + unit * 4 + g / 2) * 4 + (i / 2) * 2) * 2 + g % 2;
    const float scaled = dh[i] * dh_scale.scale;
    const __half high_half = __float2half_rn(scaled);
    dh_halves[at] = __half_as_ushort(high_half);
    dh_halves[at + 2] = __half_as_ushort(__float2half_rn(scaled - __half2float(high_half)));
  }
  // The tile's share of b1's gradient, its column sums: lanes 0-3 hold units 2t, 2t + 1.
  float sum0 = dh[0] + dh[2], sum1 = dh[1] + dh[3];
#pragma unroll
  for (int offset = 4; offset < 32; offset <<= 1)
    sum0 += __shfl_xor_sync(kFull, sum0, offset), sum1 += __shfl_xor_sync(kFull, sum1, offset);
  if (lane < 4) *reinterpret_cast<float2*>(m.shared + l.b1_partials + rt * kUnits + 2 * t) = make_float2(sum0, sum1);
}

// w1's gradient, dh^T u / 255, on fp16 tensor cores with the batch as the k dimension (`x`
// the warp's columns of the step's batch): the unit tile is 16 rows tall, rows 0-7 the high
// part of dh s (split in hidden_gradient), rows 8-15 its low part, so that their sum is the
// fp32 product. Rows past the batch have a zero gradient, so every product runs over all 64
// rows. Tile k of 8 inputs gives the lane the gradients of its weights 2k and 2k + 1, which
// Adam then updates in `w` and the moments.
__device__ __forceinline__ void w1_gradient_and_adam(const Block& b, const Arrays& m, const uint8_t* x,
                                                     float (&w)[kLaneWeights], float2* moments,
                                                     const AdamScalars& h, float inverse_correction2_sqrt) {
  constexpr Layout l = layout();
  const int lane = b.lane, g = b.g, t = b.t;
  uint32_t high[kMaxBatch / 16][2], low[kMaxBatch / 16][2];  // unit g, rows 16kk + 2t + {0, 1} and {8, 9}
#pragma unroll
  for (int kk = 0; kk < kMaxBatch / 16; ++kk) {
    const uint4 fragment = reinterpret_cast<const uint4*>(m.shared + l.dh_fragments)[kk * 32 + lane];
    high[kk][0] = fragment.x, low[kk][0] = fragment.y, high[kk][1] = fragment.z, low[kk][1] = fragment.w;
  }
  // The B fragments: input g of an 8-input tile in rows 2t, 2t+1, 2t+8, 2t+9 of the 16. In
  // a chunk of 16 the two tiles' bytes are bytes g%2 and 2+g%2 of one word of the row
  // (stored_column()); `merge` interleaves them from two rows' words.
  const uint32_t odd = g & 1, quarter = g & 3;
  const uint32_t merge = odd | (4 + odd) << 4 | (2 + odd) << 8 | (6 + odd) << 12;
  const uint32_t merge_half = quarter | (4 + quarter) << 4;
  float d[2 * kChunks + 1][4] = {};
#pragma unroll
  for (int kk = 0; kk < kMaxBatch / 16; ++kk) {
    const uint8_t* row = x + (16 * kk + 2 * t) * kMaxIn;
#pragma unroll
    for (int j = 0; j < kChunks; ++j) {
      const uint8_t* word = row + 16 * j + 4 * (g / 2);
      const uint32_t pair01 = __byte_perm(*reinterpret_cast<const uint32_t*>(word),
                                          *reinterpret_cast<const uint32_t*>(word + kMaxIn), merge);
      const uint32_t pair89 = __byte_perm(*reinterpret_cast<const uint32_t*>(word + 8 * kMaxIn),
                                          *reinterpret_cast<const uint32_t*>(word + 9 * kMaxIn), merge);
      mma_f16(d[2 * j], high[kk][0], low[kk][0], high[kk][1], low[kk][1], byte_pair(pair01, 0x4140),
              byte_pair(pair89, 0x4140));
      mma_f16(d[2 * j + 1], high[kk][0], low[kk][0], high[kk][1], low[kk][1], byte_pair(pair01, 0x4342),
              byte_pair(pair89, 0x4342));
    }
    const uint8_t* word = row + kHalfChunk + 4 * (g / 4);
    const uint32_t pair01 = __byte_perm(*reinterpret_cast<const uint32_t*>(word),
                                        *reinterpret_cast<const uint32_t*>(word + kMaxIn), merge_half);
    const uint32_t pair89 = __byte_perm(*reinterpret_cast<const uint32_t*>(word + 8 * kMaxIn),
                                        *reinterpret_cast<const uint32_t*>(word + 9 * kMaxIn), merge_half);
    mma_f16(d[2 * kChunks], high[kk][0], low[kk][0], high[kk][1], low[kk][1], byte_pair(pair01, 0x4140),
            byte_pair(pair89, 0x4140));
  }
  // Past the input width the inputs, the weights and their moments are zeros, and so stay;
  // no branch keeps the updates free to overlap.
  const float unscale = m.shared[l.dh_unscale] * kInverseByteScale;
#pragma unroll
  for (int k = 0; k < 2 * kChunks + 1; ++k)
#pragma unroll
    for (int e = 0; e < 2; ++e) {
      const int i = 2 * k + e;
      float2 moment = moments[i * 32];
      adam_apply_fast(w[i], moment.x, moment.y, (d[k][e] + d[k][e + 2]) * unscale, h, inverse_correction2_sqrt);
      moments[i * 32] = moment;
    }
}

}  // namespace
}  // namespace leap::cuda_detail
