// The dropout mask as a pure function of (key, element), shared by the CPU and the CUDA
// kernels (which compile as C++17, so this header stays plain).
#pragma once

#include <cstdint>

namespace leap {

// The uniform number in [0, 1) that decides whether dropout keeps element `index` under
// `key` (splitmix64 of the pair, 24 bits); the same function on every device.
#if defined(__CUDACC__)
__host__ __device__
#endif
inline float dropout_uniform(uint64_t key, uint64_t index) {
  uint64_t z = key + (index + 1) * 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  z ^= z >> 31;
  return float(z >> 40) * (1.0f / 16777216.0f);
}

}  // namespace leap
