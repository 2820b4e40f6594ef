// The persistent kernel's shapes and its shared-memory layout (cluster_mlp.cu): constants of
// the instructions, the same on host and device. Included by cluster_mlp.cu alone.
#pragma once

#include "cuda/kernels/cluster_mlp.h"

namespace leap::cuda_detail {
namespace {

constexpr int kWarps = 14;
constexpr int kThreads = kWarps * 32;
constexpr int kSlice = 56;               // inputs a warp owns: its columns of x and of w1
constexpr int kChunks = 3;               // chunks of 16 inputs a warp owns, then one of 8
constexpr int kHalfChunk = 16 * kChunks;  // where the chunk of 8 starts in the slice
constexpr int kLaneWeights = kSlice * 8 / 32;  // a lane's share of the warp's w1 (8 units)
constexpr int kMaxIn = kClusterImageBytes;  // 784 = kWarps * kSlice
constexpr int kUnits = 8;                // hidden units a block owns
constexpr int kMaxCluster = 16;
constexpr int kMaxBatch = 64;
constexpr int kRowTiles = kMaxBatch / 16;
constexpr int kMaxClasses = 16;
constexpr int kSegment = 16;          // lanes that hold one row's logits in the softmax
constexpr float kByteScale = 255.0f;  // an input x is the byte u with x = u / 255
constexpr float kInverseByteScale = 1.0f / kByteScale;
constexpr unsigned kFull = 0xffffffffu;
// Warp w runs on sub-partition w % 4 of the SM, so 14 warps fill them 4, 4, 3, 3: the work
// beside the products goes to warps of the last two, whose products end earlier (the phase
// timer's lateness count at the forward's barrier). Warps 10 and 11 sum the owned rows'
// logits and compute their loss; 12 and 13 only make products.
constexpr int kFirstSoftmaxWarp = 10;
constexpr int kSoftmaxWarp = kFirstSoftmaxWarp + 1;
constexpr int kFirstSenderWarp = kRowTiles;  // the warps that copy the batches' rows: neither
constexpr int kSenders = kFirstSoftmaxWarp - kFirstSenderWarp;  // row-sum nor softmax warps
// After the logit gradients arrive: warps 0-3 (a row tile each) make the hidden gradient and
// b1's column sums, while the next four make w2's gradient (a row tile each); after the
// block's barrier those four apply it, and the two softmax warps update b1 and b2.
constexpr int kFirstW2Warp = kRowTiles;
constexpr int kB1Warp = kFirstSoftmaxWarp;
constexpr int kB2Warp = kSoftmaxWarp;
static_assert(kB2Warp < kWarps);
// A named barrier (__syncthreads takes 0): the row tiles' hidden values are in for w2's
// gradient warps.
constexpr int kHiddenReady = 1;
constexpr int kAdamSteps = 64;  // steps whose Adam scalars are computed together
constexpr int kRowStride = kMaxClasses;   // floats a row of logits takes in the exchanges (64 bytes)

// Offsets into the dynamic shared memory (floats, but `x` in bytes), the same on host and
// device, sized for the largest batch and class count so that every offset is a constant of
// the instructions rather than a register. Every offset is a multiple of 4 floats, as the
// batches' bulk copies need 16-byte alignment.
struct Layout {
  int moments, warp_sums, hidden, dh_fragments, shares_in, grad_logits, barriers, adam_step, labels, totals, w2,
      b1, b2, small_moments, b1_partials, w2_partials, dh_unscale, x_bytes, total_bytes;
};

__host__ __device__ constexpr Layout layout() {
  constexpr int batch = kMaxBatch, classes = kMaxClasses;
  Layout l{};
  l.moments = 0;                                           // w1's (m, v): [warps][kLaneWeights][32 lanes][2]
  l.warp_sums = l.moments + 2 * kWarps * kLaneWeights * 32;  // [warps][4 row tiles][32 lanes][4]
  l.hidden = l.warp_sums + kWarps * kRowTiles * 32 * 4;    // [batch][kUnits], after the ReLU
  l.dh_fragments = l.hidden + batch * kUnits;              // [batch / 16][32 lanes][4] pairs of halves
  l.shares_in = l.dh_fragments + batch * kUnits;           // [owned rows][blocks][kRowStride]
  l.grad_logits = l.shares_in + (batch + kMaxCluster) * kRowStride;  // [batch][kRowStride]: d(loss)/d(logits)
  l.barriers = l.grad_logits + batch * kRowStride;         // 4 mbarriers: shares in, gradients in, 2 batches in
  l.adam_step = l.barriers + 8;                            // [kAdamSteps][2]
  l.labels = l.adam_step + 2 * kAdamSteps;                 // [owned rows]
  l.totals = l.labels + batch;                             // [kMaxCluster] doubles, then ints
  l.w2 = l.totals + 3 * kMaxCluster;                       // [2 steps' copies][classes][kUnits]
  l.b1 = l.w2 + 2 * classes * kUnits;                      // [kUnits]
  l.b2 = l.b1 + kUnits;                                    // [classes]
  l.small_moments = l.b2 + classes;                        // (m, v) of w2, b1, b2, in that order
  l.b1_partials = l.small_moments + 2 * (classes * kUnits + kUnits + classes);  // [4 row tiles][kUnits]
  l.w2_partials = l.b1_partials + kRowTiles * kUnits;      // [4 warps][32 lanes][4]
  l.dh_unscale = l.w2_partials + kRowTiles * 32 * 4;       // [4], one used
  l.x_bytes = 4 * (l.dh_unscale + 4);                      // [2 buffers][batch][kMaxIn] bytes
  l.total_bytes = l.x_bytes + 2 * batch * kMaxIn;
  return l;
}

// Lane (g, t) holds w1 for unit g at these inputs of its warp's slice: in chunk j of 16, the
// inputs 2t, 2t+1, 2t+8, 2t+9 (its B fragment of m16n8k16, and its C fragments of the
// weight-gradient product's two 8-input tiles); in the chunk of 8, 2t and 2t+1.
__host__ __device__ constexpr int lane_weight_input(int i, int t) {
  return i < 4 * kChunks ? 16 * (i / 4) + 8 * ((i / 2) % 2) + 2 * t + i % 2 : kHalfChunk + 2 * t + i % 2;
}

// Where input `column` is stored in an image row of the byte copy, so that one word of a row
// holds what a lane takes of a chunk: inputs 2t, 2t+1, 2t+8, 2t+9 of chunk j of a slice at
// bytes 4t to 4t+3 of the chunk. The chunk of 8 keeps its order.
__host__ __device__ constexpr int stored_column(int column) {
  const int slice = column / kSlice * kSlice, q = column % kSlice;
  if (q >= kHalfChunk) return column;
  const int r = q % 16;
  return slice + q / 16 * 16 + 4 * (r % 8 / 2) + r % 2 + 2 * (r / 8);
}

}  // namespace
}  // namespace leap::cuda_detail
