#include "cuda/training/prepared_order.h"

#include "cuda/cuda_check.h"
#include "cuda/kernels/shuffle.h"

namespace leap::cuda_detail {

PreparedOrder::PreparedOrder() {
  LEAP_CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
  LEAP_CUDA_CHECK(cudaEventCreateWithFlags(&queued_, cudaEventDisableTiming));
  LEAP_CUDA_CHECK(cudaEventCreateWithFlags(&drawn_, cudaEventDisableTiming));
}

// A destructor must not throw, hence no checks.
PreparedOrder::~PreparedOrder() {
  cudaStreamSynchronize(stream_);
  cudaEventDestroy(drawn_);
  cudaEventDestroy(queued_);
  cudaStreamDestroy(stream_);
}

void PreparedOrder::prepare(uint64_t seed, int64_t count, cudaStream_t stream) {
  if (count <= 0) return;
  const size_t bytes = shuffled_order_scratch_bytes(count);
  if (order_.numel() != count) {
    // The old buffers go back to the allocator only once this stream is done with them.
    LEAP_CUDA_CHECK(cudaStreamSynchronize(stream_));
    order_ = Tensor({count}, DType::int32, Device::cuda);
    scratch_ = Tensor({int64_t((bytes + 3) / 4)}, DType::int32, Device::cuda);
  }
  LEAP_CUDA_CHECK(cudaEventRecord(queued_, stream));
  LEAP_CUDA_CHECK(cudaStreamWaitEvent(stream_, queued_, 0));
  launch_shuffled_order(seed, order_.labels(), count, scratch_.labels(), bytes, stream_);
  LEAP_CUDA_CHECK(cudaEventRecord(drawn_, stream_));
  seed_ = seed, count_ = count, pending_ = true;
}

bool PreparedOrder::take(uint64_t seed, int32_t* order, int64_t count, cudaStream_t stream) {
  if (!pending_ || seed != seed_ || count != count_) return false;
  LEAP_CUDA_CHECK(cudaStreamWaitEvent(stream, drawn_, 0));
  LEAP_CUDA_CHECK(cudaMemcpyAsync(order, order_.labels(), size_t(count) * sizeof(int32_t), cudaMemcpyDeviceToDevice,
                                  stream));
  pending_ = false;
  return true;
}

}  // namespace leap::cuda_detail
