// Grid sizes for the element-wise kernels, which loop with a grid stride over 64-bit counts.
#pragma once

#include <algorithm>
#include <cstddef>

namespace leap::cuda_detail {

constexpr int kThreads = 256;
// Enough blocks to fill an H100 (132 SMs x 8 blocks) several times; the stride loop does the rest.
constexpr size_t kMaxBlocks = 4096;

inline unsigned blocks_for(size_t count, int threads = kThreads) {
  return static_cast<unsigned>(
      std::clamp<size_t>((count + threads - 1) / threads, 1, kMaxBlocks));
}

}  // namespace leap::cuda_detail
