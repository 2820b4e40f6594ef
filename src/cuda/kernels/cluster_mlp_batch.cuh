// The batch's arrival in the persistent kernel (cluster_mlp.cu): block r copies its owned
// rows of each batch into every block's buffer for it (batch s into buffer s % 2), a step
// ahead, and the softmax warp brings in the owned rows' labels. Every load of the epoch order
// or of a label is issued a step or two before its use, off the critical path. Included by
// cluster_mlp.cu alone.
#pragma once

#include <cooperative_groups.h>

#include <cstdint>

#include "cuda/kernels/cluster_mlp.h"
#include "cuda/kernels/cluster_mlp_layout.cuh"
#include "cuda/kernels/cluster_mlp_ops.cuh"
#include "cuda/kernels/cluster_mlp_phases.cuh"

namespace leap::cuda_detail {
namespace {

// The warps that copy the batches' rows: those that would otherwise wait in the exchanges.
__device__ __forceinline__ bool is_sender_warp(int warp) {
  return warp >= kFirstSenderWarp && warp < kFirstSenderWarp + kSenders;
}

// The four mbarriers (shares in, gradients in, two batches in), ready before other blocks
// copy into this one.
__device__ __forceinline__ void init_barriers(const Block& b, const Arrays& m) {
  if (b.tid == 0) {
    for (int i = 0; i < 4; ++i) init_barrier(m.shares_arrived + i);
    asm volatile("fence.mbarrier_init.release.cluster;" ::: "memory");
  }
}

// What a thread keeps of the batches between steps, and its part in their arrival.
struct BatchFeed {
  const Block b;  // a copy: held by reference, the timed instance spills 124 bytes, not 32
  uint8_t* buffers;          // [2][batch][kMaxIn] bytes, alternating
  uint64_t* batch_arrived;   // [2], one a buffer
  // The softmax warp's lanes hold the samples of a batch's rows lane and lane + 32 (0 past
  // the batch), loaded a step ahead of their use.
  int low = 0, high = 0;
  // Lane j of sender warp i copies owned row i + kSenders j, so that the rows go out in
  // parallel; it loads its row's sample a batch ahead.
  int send_local;
  bool sends;
  int next_sample = 0;
  int next_labels[2] = {0, 0};  // the softmax warp's: of owned rows lane and lane + 32

  __device__ __forceinline__ BatchFeed(const Block& block, float* shared)
      : b(block),
        buffers(reinterpret_cast<uint8_t*>(shared) + layout().x_bytes),
        batch_arrived(reinterpret_cast<uint64_t*>(shared + layout().barriers) + 2) {
    if (b.warp == kSoftmaxWarp) load_samples(b.a.run.first_batch);
    send_local = (b.warp - kFirstSenderWarp) + kSenders * b.lane;
    sends = is_sender_warp(b.warp) && send_local < b.own_rows;
    next_sample = sample_at(b.a.run.first_batch);
    if (b.warp == kSoftmaxWarp) load_owned_labels(next_labels);
  }

  // The samples of rows lane and lane + 32 of a batch into low and high.
  __device__ __forceinline__ void load_samples(int64_t batch_index) {
    const ClusterMlpArgs& a = b.a;
    const int32_t* rows = a.run.order + batch_index * a.batch;
    low = b.lane < a.batch ? __ldg(rows + b.lane) : 0;
    high = b.lane + 32 < a.batch ? __ldg(rows + b.lane + 32) : 0;
  }

  // The sample of batch row `row`, from the lane holding it (a whole warp calls this).
  __device__ __forceinline__ int sample_of(int row) const {
    const int from_low = __shfl_sync(kFull, low, row % 32), from_high = __shfl_sync(kFull, high, row % 32);
    return row < 32 ? from_low : from_high;
  }

  // The sample of this lane's row of a batch, for a sender.
  __device__ __forceinline__ int sample_at(int64_t batch_index) const {
    const ClusterMlpArgs& a = b.a;
    return sends ? __ldg(a.run.order + batch_index * a.batch + b.rank * b.rows_per_owner + send_local) : 0;
  }

  // The labels of owned rows lane and lane + 32.
  __device__ __forceinline__ void load_owned_labels(int (&label)[2]) const {
#pragma unroll
    for (int half = 0; half < 2; ++half) {
      const int local = b.lane + 32 * half, sample = sample_of(b.rank * b.rows_per_owner + local);
      label[half] = local < b.own_rows ? __ldg(b.a.labels + sample) : 0;
    }
  }

  // This sender lane's row of batch `step` into every block's buffer for it.
  __device__ __forceinline__ void send_row(int64_t step, int sample) const {
    if (sends)
      multicast_row(buffers + (step & 1) * kXBufferStride + (b.rank * b.rows_per_owner + send_local) * kMaxIn,
                    b.a.image_bytes + int64_t(sample) * kMaxIn, unsigned(kMaxIn), batch_arrived + (step & 1),
                    b.blocks);
  }

  // The first batch's copies once every block runs with its barriers ready, and the second
  // batch's samples.
  __device__ __forceinline__ void start(const cg::cluster_group& cluster) {
    if (b.tid == 0) expect_bytes(batch_arrived, unsigned(b.B * kMaxIn));
    cluster.sync();  // every block runs, its barriers ready, before any copies into another
    send_row(0, next_sample);
    if (b.a.run.steps > 1) {
      next_sample = sample_at(b.a.run.first_batch + 1);
      if (b.warp == kSoftmaxWarp) load_samples(b.a.run.first_batch + 1);
    }
  }

  // Step s's batch as warp w reads it: columns [w * kSlice, (w + 1) * kSlice), in the
  // stored order of stored_column().
  __device__ __forceinline__ const uint8_t* warp_columns(int64_t s) const {
    return buffers + b.warp * kSlice + (s & 1) * kXBufferStride;
  }

  // Step s's arrivals: the next batch's bytes expected, the owned rows' labels set down and
  // the step's exchanges expected (every block's share of the owned rows, every row's
  // gradient), the next labels loaded, then the wait for this batch's rows.
  __device__ __forceinline__ void arrive(int64_t s, const Arrays& m) {
    const int warp = b.warp, lane = b.lane, own_rows = b.own_rows;
    if (b.tid == 0 && s + 1 < b.a.run.steps) expect_bytes(batch_arrived + ((s + 1) & 1), unsigned(b.B * kMaxIn));
    if (warp == kSoftmaxWarp) {
      int* labels = reinterpret_cast<int*>(m.shared + layout().labels);
      if (lane < own_rows) labels[lane] = next_labels[0];
      if (lane + 32 < own_rows) labels[lane + 32] = next_labels[1];
      if (lane == 0) {
        expect_bytes(m.shares_arrived, unsigned(b.blocks * own_rows * kRowStride * 4));
        expect_bytes(m.grads_arrived, unsigned(b.B * kRowStride * 4));
      }
    }
    if (warp == kSoftmaxWarp && s + 1 < b.a.run.steps) load_owned_labels(next_labels);
    wait_barrier(batch_arrived + (s & 1), unsigned(s >> 1) & 1);
  }

  // Once every block's shares of step s have arrived, each block has finished step s - 1 and
  // its reads of the other buffer: this block's rows of the next batch can go there.
  __device__ __forceinline__ void send_next(int64_t s) {
    send_row(s + 1, next_sample);
    if (s + 2 < b.a.run.steps) next_sample = sample_at(b.a.run.first_batch + s + 2);
  }
};

}  // namespace
}  // namespace leap::cuda_detail
