// An epoch's shuffled order drawn ahead of time on a stream of its own, so that the sort
// (a radix sort of 64-bit keys: about 0.1 ms for 60,000 samples) runs beside other work,
// such as the last epoch's validation, instead of at the start of the epoch that needs it.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

#include "leap/tensor.h"

namespace leap::cuda_detail {

class PreparedOrder {
 public:
  PreparedOrder();
  ~PreparedOrder();
  PreparedOrder(const PreparedOrder&) = delete;
  PreparedOrder& operator=(const PreparedOrder&) = delete;

  // Starts drawing the order of `seed` once the work queued on `stream` so far is done (the
  // buffers it may still read are then free).
  void prepare(uint64_t seed, int64_t count, cudaStream_t stream);
  // When the order of `seed` and `count` was prepared: queues its copy into `order` on
  // `stream`, after the drawing, and returns true; else false.
  bool take(uint64_t seed, int32_t* order, int64_t count, cudaStream_t stream);

 private:
  cudaStream_t stream_ = nullptr;
  cudaEvent_t queued_ = nullptr, drawn_ = nullptr;
  Tensor order_, scratch_;  // kept, so that no other work is handed this memory meanwhile
  uint64_t seed_ = 0;
  int64_t count_ = 0;
  bool pending_ = false;
};

}  // namespace leap::cuda_detail
