#include "cuda/kernels/shuffle.h"

#include <cub/device/device_radix_sort.cuh>

#include "cuda/cuda_check.h"
#include "cuda/kernels/launch_config.h"
#include "shuffle_key.h"

namespace leap::cuda_detail {
namespace {

__global__ void shuffle_keys_kernel(uint64_t seed, uint64_t* keys, int32_t* samples, int64_t count) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < count; i += int64_t(gridDim.x) * blockDim.x) {
    keys[i] = shuffle_key(seed, i);
    samples[i] = int32_t(i);
  }
}

// The scratch holds the keys (in and sorted), the sample numbers before sorting and cub's
// own temporary storage, each 256-byte aligned.
constexpr size_t round_up(size_t bytes) { return (bytes + 255) / 256 * 256; }

size_t sort_bytes(int64_t count) {
  size_t bytes = 0;
  LEAP_CUDA_CHECK(cub::DeviceRadixSort::SortPairs(nullptr, bytes, static_cast<const uint64_t*>(nullptr),
                                                  static_cast<uint64_t*>(nullptr), static_cast<const int32_t*>(nullptr),
                                                  static_cast<int32_t*>(nullptr), count));
  return bytes;
}

}  // namespace

size_t shuffled_order_scratch_bytes(int64_t count) {
  return 2 * round_up(sizeof(uint64_t) * count) + round_up(sizeof(int32_t) * count) + round_up(sort_bytes(count));
}

void launch_shuffled_order(uint64_t seed, int32_t* order, int64_t count, void* scratch,
                           size_t scratch_bytes, cudaStream_t stream) {
  if (count <= 0) return;
  char* base = static_cast<char*>(scratch);
  auto* keys = reinterpret_cast<uint64_t*>(base);
  auto* sorted_keys = reinterpret_cast<uint64_t*>(base + round_up(sizeof(uint64_t) * count));
  auto* samples = reinterpret_cast<int32_t*>(base + 2 * round_up(sizeof(uint64_t) * count));
  char* temporary = base + 2 * round_up(sizeof(uint64_t) * count) + round_up(sizeof(int32_t) * count);
  size_t temporary_bytes = scratch_bytes - size_t(temporary - base);
  shuffle_keys_kernel<<<blocks_for(size_t(count)), kThreads, 0, stream>>>(seed, keys, samples, count);
  LEAP_CUDA_CHECK_LAUNCH();
  LEAP_CUDA_CHECK(cub::DeviceRadixSort::SortPairs(temporary, temporary_bytes, keys, sorted_keys, samples,
                                                  order, count, 0, 64, stream));
}

}  // namespace leap::cuda_detail
