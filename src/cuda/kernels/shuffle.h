// The epoch's shuffled order made on the device (see src/shuffle_key.h): keys, then a radix
// sort of the sample numbers by key. No host round trip, the same order as the CPU's.
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>

namespace leap::cuda_detail {

// Device scratch bytes launch_shuffled_order needs for `count` samples.
size_t shuffled_order_scratch_bytes(int64_t count);
// order[0..count) = the samples 0..count-1 sorted by shuffle_key(seed, sample).
void launch_shuffled_order(uint64_t seed, int32_t* order, int64_t count, void* scratch,
                           size_t scratch_bytes, cudaStream_t stream);

}  // namespace leap::cuda_detail
