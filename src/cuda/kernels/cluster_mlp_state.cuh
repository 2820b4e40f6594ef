// What the persistent kernel (cluster_mlp.cu) loads from global memory at the start of a
// launch and stores back at its end: the block's parameters and their Adam moments, and the
// launch's loss and correct count. Included by cluster_mlp.cu alone.
#pragma once

#include <cooperative_groups.h>

#include <cstdint>

#include "cuda/kernels/cluster_mlp.h"
#include "cuda/kernels/cluster_mlp_layout.cuh"
#include "cuda/kernels/cluster_mlp_ops.cuh"
#include "cuda/kernels/cluster_mlp_phases.cuh"

namespace leap::cuda_detail {
namespace {

// This lane's share of w1's Adam moments in shared memory: weight i's (m, v) at
// moments[i * 32], one 8-byte access each way a step.
__device__ __forceinline__ float2* w1_moments(const Block& b, float* shared) {
  return reinterpret_cast<float2*>(shared + layout().moments) + b.warp * kLaneWeights * 32 + b.lane;
}

// This lane's share of w1 (lane_weight_input) into `w`, registers for the whole launch, and
// its moments. Past the input width the weights and moments are zeros.
__device__ __forceinline__ void load_w1(const Block& b, float (&w)[kLaneWeights], float2* moments) {
  const ClusterMlpArgs& a = b.a;
#pragma unroll
  for (int i = 0; i < kLaneWeights; ++i) {
    const int column = b.warp * kSlice + lane_weight_input(i, b.t);
    const int64_t at = int64_t(b.unit0 + b.g) * a.in + column;
    const bool valid = column < a.in;
    w[i] = valid ? a.weights.w1[at] : 0.0f;
    moments[i * 32] = valid ? make_float2(a.weights.m_w1[at], a.weights.v_w1[at]) : make_float2(0.0f, 0.0f);
  }
}

// The block's slices of w2 and b1, all of b2, and their moments; zeros past the classes.
__device__ __forceinline__ void load_small_parameters(const Block& b, const Arrays& m) {
  const ClusterMlpArgs& a = b.a;
  const int tid = b.tid, C = b.C, unit0 = b.unit0;
  for (int i = tid; i < kW2Size; i += kThreads) {
    const int c = i / kUnits;
    const int64_t at = int64_t(c) * a.hid + unit0 + i % kUnits;
    const bool real = c < C;
    m.w2_copies[i] = real ? a.weights.w2[at] : 0.0f;
    m.w2_copies[kW2Size + i] = 0.0f;
    m.small_moments[i] = real ? make_float2(a.weights.m_w2[at], a.weights.v_w2[at]) : make_float2(0.0f, 0.0f);
  }
  if (tid < kUnits) {
    m.b1s[tid] = a.weights.b1[unit0 + tid];
    m.small_moments[kB1Moments + tid] = make_float2(a.weights.m_b1[unit0 + tid], a.weights.v_b1[unit0 + tid]);
  }
  if (tid < kMaxClasses) {
    const bool real = tid < C;
    m.b2s[tid] = real ? a.weights.b2[tid] : 0.0f;
    m.small_moments[kB2Moments + tid] =
        real ? make_float2(a.weights.m_b2[tid], a.weights.v_b2[tid]) : make_float2(0.0f, 0.0f);
  }
}

// w1's share and its moments back to global memory, for the next launch and the library.
__device__ __forceinline__ void store_w1(const Block& b, const float (&w)[kLaneWeights], const float2* moments) {
  const ClusterMlpArgs& a = b.a;
#pragma unroll
  for (int i = 0; i < kLaneWeights; ++i) {
    const int column = b.warp * kSlice + lane_weight_input(i, b.t);
    if (column < a.in) {
      const int64_t at = int64_t(b.unit0 + b.g) * a.in + column;
      a.weights.w1[at] = w[i];
      a.weights.m_w1[at] = moments[i * 32].x;
      a.weights.v_w1[at] = moments[i * 32].y;
    }
  }
}

// The small parameters and their moments back to global memory: w2 from the copy that the
// last step wrote, b2 from rank 0 (every block holds the same).
__device__ __forceinline__ void store_small_parameters(const Block& b, const Arrays& m) {
  const ClusterMlpArgs& a = b.a;
  const int tid = b.tid, C = b.C, unit0 = b.unit0;
  const float* w2_final = m.w2_copies + (a.run.steps & 1) * kW2Size;
  for (int i = tid; i < C * kUnits; i += kThreads) {
    const int64_t at = int64_t(i / kUnits) * a.hid + unit0 + i % kUnits;
    a.weights.w2[at] = w2_final[i];
    a.weights.m_w2[at] = m.small_moments[i].x;
    a.weights.v_w2[at] = m.small_moments[i].y;
  }
  if (tid < kUnits) {
    a.weights.b1[unit0 + tid] = m.b1s[tid];
    a.weights.m_b1[unit0 + tid] = m.small_moments[kB1Moments + tid].x;
    a.weights.v_b1[unit0 + tid] = m.small_moments[kB1Moments + tid].y;
  }
  if (b.rank == 0 && tid < C) {
    a.weights.b2[tid] = m.b2s[tid];
    a.weights.m_b2[tid] = m.small_moments[kB2Moments + tid].x;
    a.weights.v_b2[tid] = m.small_moments[kB2Moments + tid].y;
  }
}

// The loss and correct count, held by the softmax lanes of the labels: summed over the
// block's warps, then each block's totals go to rank 0, which adds them in rank order to
// the launch's results.
__device__ __forceinline__ void add_loss_totals(const Block& b, const Arrays& m, const cg::cluster_group& cluster,
                                                double loss_total, int correct_total) {
  constexpr Layout l = layout();
  const int warp = b.warp, lane = b.lane, tid = b.tid, rank = b.rank;
  double* loss_parts = reinterpret_cast<double*>(m.shared + l.totals);
  int* correct_parts = reinterpret_cast<int*>(loss_parts + kMaxCluster);
  for (int offset = 16; offset > 0; offset >>= 1) {
    loss_total += __shfl_xor_sync(kFull, loss_total, offset);
    correct_total += __shfl_xor_sync(kFull, correct_total, offset);
  }
  __syncthreads();
  double* block_loss = reinterpret_cast<double*>(m.warp_sums);  // free again
  int* block_correct = reinterpret_cast<int*>(block_loss + kWarps);
  if (lane == 0) block_loss[warp] = loss_total, block_correct[warp] = correct_total;
  __syncthreads();
  if (tid == 0) {
    double loss = 0;
    int correct = 0;
    for (int i = 0; i < kWarps; ++i) loss += block_loss[i], correct += block_correct[i];
    cluster.map_shared_rank(loss_parts, 0)[rank] = loss;
    cluster.map_shared_rank(correct_parts, 0)[rank] = correct;
  }
  cluster.sync();
  if (rank == 0 && tid == 0) {
    double loss = 0;
    int correct = 0;
    for (int q = 0; q < b.blocks; ++q) loss += loss_parts[q], correct += correct_parts[q];
    *b.a.loss_sum += loss;
    *b.a.correct += correct;
  }
}

}  // namespace
}  // namespace leap::cuda_detail
