// The forward phases of the persistent kernel's step (cluster_mlp.cu) beside
// hidden_and_logit_shares (cluster_mlp_phases.cuh): the first layer's products and the
// softmax cross-entropy with the exchange of its gradient. Included by cluster_mlp.cu alone.
#pragma once

#include <cuda_fp16.h>

#include <cstdint>

#include "cuda/kernels/cluster_mlp.h"
#include "cuda/kernels/cluster_mlp_layout.cuh"
#include "cuda/kernels/cluster_mlp_ops.cuh"
#include "cuda/kernels/cluster_mlp_phases.cuh"

namespace leap::cuda_detail {
namespace {

// Forward: this warp's 56 inputs' share of u w1^T (u the bytes, `x` the warp's columns of the
// step's batch) for every row, on fp16 tensor cores, into the warp's partial sums: w s =
// high + low (s the warp's power-of-two scale), u exact, so u w s = u high + u low to fp32
// accuracy, the two products accumulating apart. All four row tiles are computed whatever
// the batch (rows past it are zeros): with no branch the compiler issues the loads together
// and overlaps the products.
__device__ __forceinline__ void forward_products(const Block& b, const Arrays& m, const uint8_t* x,
                                                 const float (&w)[kLaneWeights]) {
  const int warp = b.warp, lane = b.lane, g = b.g, t = b.t;
  float acc[kRowTiles][4] = {}, acc_low[kRowTiles][4] = {};
  float w_inverse;
  {
    float peak = 0.0f;
#pragma unroll
    for (int i = 0; i < kLaneWeights; ++i) peak = fmaxf(peak, fabsf(w[i]));
    const Scale scale = scale_for(warp_max(peak));
    w_inverse = scale.inverse;
    uint32_t high[kLaneWeights / 2], low[kLaneWeights / 2];
#pragma unroll
    for (int i = 0; i < kLaneWeights / 2; ++i) split_pair(w[2 * i], w[2 * i + 1], scale.scale, high[i], low[i]);
#pragma unroll
    for (int rt = 0; rt < kRowTiles; ++rt) {
      // A chunk's 4 bytes of a row for this lane are one word (stored_column()).
      const uint8_t* top = x + (rt * 16 + g) * kMaxIn + 4 * t;
      const uint8_t* bottom = top + 8 * kMaxIn;
      uint32_t upper[kChunks + 1], lower[kChunks + 1];
#pragma unroll
      for (int j = 0; j < kChunks; ++j) {
        upper[j] = *reinterpret_cast<const uint32_t*>(top + 16 * j);
        lower[j] = *reinterpret_cast<const uint32_t*>(bottom + 16 * j);
      }
      upper[kChunks] = *reinterpret_cast<const uint16_t*>(top - 2 * t + kHalfChunk);
      lower[kChunks] = *reinterpret_cast<const uint16_t*>(bottom - 2 * t + kHalfChunk);
#pragma unroll
      for (int j = 0; j < kChunks; ++j) {
        const uint32_t a0 = byte_pair(upper[j], 0x4140), a1 = byte_pair(lower[j], 0x4140);
        const uint32_t a2 = byte_pair(upper[j], 0x4342), a3 = byte_pair(lower[j], 0x4342);
        mma_f16(acc[rt], a0, a1, a2, a3, high[2 * j], high[2 * j + 1]);
        mma_f16(acc_low[rt], a0, a1, a2, a3, low[2 * j], low[2 * j + 1]);
      }
      const uint32_t a0 = byte_pair(upper[kChunks], 0x4140), a1 = byte_pair(lower[kChunks], 0x4140);
      mma_f16_k8(acc[rt], a0, a1, high[2 * kChunks]);
      mma_f16_k8(acc_low[rt], a0, a1, low[2 * kChunks]);
    }
  }
#pragma unroll
  for (int rt = 0; rt < kRowTiles; ++rt)
    m.warp_sums[(warp * kRowTiles + rt) * 32 + lane] =
        make_float4((acc[rt][0] + acc_low[rt][0]) * w_inverse, (acc[rt][1] + acc_low[rt][1]) * w_inverse,
                    (acc[rt][2] + acc_low[rt][2]) * w_inverse, (acc[rt][3] + acc_low[rt][3]) * w_inverse);
}

// On the two softmax warps, once the blocks' shares of the owned rows' logits are in: each
// row's shares summed in rank order and its softmax cross-entropy, 16 lanes a row (a class
// each); d(loss)/d(logits) goes to every block. The loss and correct count of the lanes of
// the labels add to `loss_total` and `correct_total`.
__device__ __forceinline__ void softmax_and_exchange(const Block& b, const Arrays& m, double& loss_total,
                                                     int& correct_total) {
  const int rank = b.rank, blocks = b.blocks, lane = b.lane, C = b.C;
  const int rows_per_owner = b.rows_per_owner, own_rows = b.own_rows;
  const int* labels = reinterpret_cast<const int*>(m.shared + layout().labels);
  for (int base = (b.warp - kFirstSoftmaxWarp) * 32; base < own_rows * kSegment; base += 64) {
    const int local = (base + lane) / kSegment, c = lane % kSegment;
    const bool real = local < own_rows && c < C;
    // A row's shares lie block after block, so that the 16 loads go out together at
    // constant offsets; they are added in rank order.
    const float* share = m.shares_in + local * blocks * kRowStride + c;
    float parts[kMaxCluster];
#pragma unroll
    for (int q = 0; q < kMaxCluster; ++q) parts[q] = real && q < blocks ? share[q * kRowStride] : 0.0f;
    float z = real ? m.b2s[c] : -INFINITY;
#pragma unroll
    for (int q = 0; q < kMaxCluster; ++q) z += parts[q];
    float peak = z;
    for (int offset = kSegment / 2; offset > 0; offset >>= 1)
      peak = fmaxf(peak, __shfl_xor_sync(kFull, peak, offset, kSegment));
    const float e = real ? __expf(z - peak) : 0.0f;
    float total = e;
    for (int offset = kSegment / 2; offset > 0; offset >>= 1)
      total += __shfl_xor_sync(kFull, total, offset, kSegment);
    const int label = real ? labels[local] : -1;
    // Zero past the classes, so that whole rows travel.
    const float gradient = real ? (__fdividef(e, total) - (c == label ? 1.0f : 0.0f)) * b.inverse_batch : 0.0f;
    // Each even lane stores its class and the next one's into every block.
    const float next = __shfl_down_sync(kFull, gradient, 1);
    if (local < own_rows && c % 2 == 0)
      for (int q = 0; q < blocks; ++q)
        store_to_block(m.grad_logits + (rank * rows_per_owner + local) * kRowStride + c, gradient, next,
                       m.grads_arrived, q);
    // The loss and the prediction (the first of equal maxima) after the stores, off the
    // path to the other blocks.
    const unsigned maxima = __ballot_sync(kFull, real && z == peak) >> (lane & ~(kSegment - 1)) & 0xffffu;
    if (real && c == label) {
      loss_total += double(__logf(total) - (z - peak));
      correct_total += maxima != 0 && __ffs(maxima) - 1 == label;
    }
  }
}

}  // namespace
}  // namespace leap::cuda_detail
