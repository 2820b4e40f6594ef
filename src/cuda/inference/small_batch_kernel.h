// The kernel of the small-batch serving path (small_batch_inference.h), apart from its host
// side so that the runner compiles as ordinary C++.
#pragma once

#include <cuda_runtime_api.h>

namespace leap::cuda_detail {

constexpr int kSmallBatchMaxRows = 4;         // batch sizes the kernel takes
constexpr int kSmallBatchUnitsPerBlock = 16;  // hidden units per block, one per warp
constexpr int kSmallBatchMaxClasses = 32;
constexpr int kSmallBatchMaxInputs = 8192;    // batch x inputs floats staged in shared memory

struct SmallBatchArgs {
  const float* inputs;  // [batch, in], mapped host memory
  const float *w1, *b1, *w2, *b2;
  float* partial_logits;         // [blocks, batch, classes], device memory
  unsigned* blocks_done;         // zero between calls
  float* logits;                 // [batch, classes], mapped host memory
  volatile unsigned* done_call;  // mapped host memory: the number of the last call finished
  unsigned call;
  int batch, in, hid, classes;
};

constexpr int small_batch_blocks(int hid) {
  return (hid + kSmallBatchUnitsPerBlock - 1) / kSmallBatchUnitsPerBlock;
}

// Queues the forward pass; its last block writes the logits, then args.call to done_call.
void launch_small_batch_forward(const SmallBatchArgs& args, cudaStream_t stream);

}  // namespace leap::cuda_detail
