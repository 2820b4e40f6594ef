#include <algorithm>
#include <cstdint>

#include "cuda/cuda_check.h"
#include "cuda/kernels/gather.h"
#include "cuda/kernels/launch_config.h"

namespace leap::cuda_detail {
namespace {

// Blocks stride over rows and threads over a row's columns: no per-element division.
// Vec is float4 when rows are whole, aligned float4s (4x fewer memory instructions) or float.
template <typename Vec>
__global__ void gather_rows_kernel(const Vec* src, const int32_t* index, Vec* dst, int count,
                                   int width) {
  for (int row = blockIdx.x; row < count; row += gridDim.x) {
    const Vec* from = src + size_t(index[row]) * width;
    Vec* to = dst + size_t(row) * width;
    for (int column = threadIdx.x; column < width; column += blockDim.x) to[column] = from[column];
  }
}

// Threads per block: the row's width rounded up to whole warps, at most kThreads.
unsigned threads_for_width(int width) {
  return static_cast<unsigned>(std::min(kThreads, (width + 31) / 32 * 32));
}

__global__ void gather_labels_kernel(const int32_t* src, const int32_t* index, int32_t* dst,
                                     int count) {
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < count; i += gridDim.x * blockDim.x)
    dst[i] = src[index[i]];
}

bool aligned_16(const void* pointer) { return reinterpret_cast<uintptr_t>(pointer) % 16 == 0; }

}  // namespace

void launch_gather_rows(const float* src, const int32_t* index, float* dst, int count, int width,
                        cudaStream_t stream) {
  if (count <= 0 || width <= 0) return;
  const unsigned blocks = static_cast<unsigned>(std::min<size_t>(size_t(count), kMaxBlocks));
  if (width % 4 == 0 && aligned_16(src) && aligned_16(dst)) {
    const int width4 = width / 4;
    gather_rows_kernel<<<blocks, threads_for_width(width4), 0, stream>>>(
        reinterpret_cast<const float4*>(src), index, reinterpret_cast<float4*>(dst), count,
        width4);
  } else {
    gather_rows_kernel<<<blocks, threads_for_width(width), 0, stream>>>(src, index, dst, count,
                                                                         width);
  }
  LEAP_CUDA_CHECK_LAUNCH();
}

void launch_gather_labels(const int32_t* src, const int32_t* index, int32_t* dst, int count,
                          cudaStream_t stream) {
  if (count <= 0) return;
  gather_labels_kernel<<<blocks_for(size_t(count)), kThreads, 0, stream>>>(src, index, dst,
                                                                           count);
  LEAP_CUDA_CHECK_LAUNCH();
}

}  // namespace leap::cuda_detail
