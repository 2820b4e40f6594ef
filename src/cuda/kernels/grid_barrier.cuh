// A barrier across every block of a cooperative launch: the blocks' writes before it are
// seen by every block's reads after it. Two words in global memory: an arrival count and a
// generation; the last block to arrive resets the count and moves the generation on, the
// others wait for that. Each block's first thread arrives for its block.
#pragma once

#include <cuda/atomic>

namespace leap::cuda_detail {

__device__ inline void grid_barrier(unsigned* words) {
  __syncthreads();
  if (threadIdx.x == 0) {
    cuda::atomic_ref<unsigned, cuda::thread_scope_device> count(words[0]), generation(words[1]);
    // This block left the last barrier after seeing its generation, and the generation
    // cannot move on until this block arrives: the value read now is this barrier's.
    const unsigned now = generation.load(cuda::memory_order_relaxed);
    __threadfence();  // the block's writes, ordered by __syncthreads, before the arrival
    if (count.fetch_add(1, cuda::memory_order_acq_rel) == gridDim.x - 1) {
      count.store(0, cuda::memory_order_relaxed);
      generation.store(now + 1, cuda::memory_order_release);
    } else {
      while (generation.load(cuda::memory_order_acquire) == now) {
      }
    }
    __threadfence();
  }
  __syncthreads();
}

}  // namespace leap::cuda_detail
