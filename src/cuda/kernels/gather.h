// Row gathers for batching: dst[i] = src[index[i]], with the index in device memory.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

namespace leap::cuda_detail {

// dst[i, :] = src[index[i], :] for i < count, rows of `width` floats.
void launch_gather_rows(const float* src, const int32_t* index, float* dst, int count, int width,
                        cudaStream_t stream);
void launch_gather_labels(const int32_t* src, const int32_t* index, int32_t* dst, int count,
                          cudaStream_t stream);

}  // namespace leap::cuda_detail
