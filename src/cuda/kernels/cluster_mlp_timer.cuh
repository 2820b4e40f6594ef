// The persistent kernel's optional phase timing (ClusterMlpArgs::phase_cycles,
// LEAP_PHASE_TIMING): the first threads of rank 0's warp 0 (a row-sum warp), of the warp that
// applies w2's gradient and of the softmax warp count the cycles between the marks of a step,
// and every warp of rank 0 its lateness at the block's two barriers. The plain instance
// (kTimed false) keeps none of it. Included by cluster_mlp.cu alone.
#pragma once

#include "cuda/kernels/cluster_mlp.h"
#include "cuda/kernels/cluster_mlp_layout.cuh"
#include "cuda/kernels/cluster_mlp_ops.cuh"
#include "cuda/kernels/cluster_mlp_phases.cuh"

namespace leap::cuda_detail {
namespace {

template <bool kTimed>
struct PhaseTimer {
  static_assert(kWarps <= kMaxTimedWarps);
  const Block b;  // a copy: held by reference, the timed instance spills 124 bytes, not 32
  long long* arrival;  // [kTimedBarriers][kWarps] in shared memory: each warp's arrival
  int timer;
  bool timed;
  long long phase[kPhases] = {}, last;
  long long loop_start_ns, loop_start_cycles;
  long long lateness[kTimedBarriers] = {};  // behind the first warp, summed

  __device__ __forceinline__ PhaseTimer(const Block& block, long long* arrivals) : b(block), arrival(arrivals) {
    const int warp = b.warp;
    timer = warp == 0 ? 0 : warp == kFirstW2Warp ? 1 : 2;
    timed = kTimed && b.rank == 0 && b.lane == 0 && (warp == 0 || warp == kFirstW2Warp || warp == kSoftmaxWarp);
    last = clock64();
    loop_start_ns = timed ? globaltimer_ns() : 0, loop_start_cycles = last;
  }

  // The end of phase i: the cycles since the last mark.
  __device__ __forceinline__ void mark(int i) {
    if (kTimed && timed) {
      const long long now = clock64();
      phase[i] += now - last;
      last = now;
    }
  }

  // The block's barrier i (__syncthreads), with each warp's lateness at it.
  __device__ __forceinline__ void sync_block(int barrier) {
    const bool counts = kTimed && b.rank == 0 && b.lane == 0;
    if (counts) arrival[barrier * kWarps + b.warp] = clock64();
    __syncthreads();
    if (counts) {
      long long first = arrival[barrier * kWarps];
      for (int i = 1; i < kWarps; ++i) first = min(first, arrival[barrier * kWarps + i]);
      lateness[barrier] += arrival[barrier * kWarps + b.warp] - first;
    }
  }

  // The counts added to args.phase_cycles.
  __device__ __forceinline__ void finish() {
    if (kTimed && timed) {
      unsigned long long* sums = reinterpret_cast<unsigned long long*>(b.a.phase_cycles);
      for (int i = 0; i < kPhases; ++i) atomicAdd(sums + timer * kPhases + i, (unsigned long long)phase[i]);
      if (b.tid == 0) {  // the loop's length in ns and in cycles: the SM clock it ran at
        atomicAdd(sums + kTimers * kPhases, (unsigned long long)(globaltimer_ns() - loop_start_ns));
        atomicAdd(sums + kTimers * kPhases + 1, (unsigned long long)(clock64() - loop_start_cycles));
      }
    }
    if (kTimed && b.rank == 0 && b.lane == 0) {
      unsigned long long* late = reinterpret_cast<unsigned long long*>(b.a.phase_cycles) + kTimers * kPhases + 2;
      for (int i = 0; i < kTimedBarriers; ++i)
        atomicAdd(late + i * kMaxTimedWarps + b.warp, (unsigned long long)lateness[i]);
    }
  }
};

}  // namespace
}  // namespace leap::cuda_detail
