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

// The key of a Dropout's mask number `call` (1-based), from its key base (its seed and
// stream, dropout_key_base): splitmix64 of the pair, so that a kernel drawing the masks of
// many steps computes each step's key itself.
#if defined(__CUDACC__)
__host__ __device__
#endif
inline uint64_t dropout_key(uint64_t base, uint64_t call) {
  uint64_t z = base + 0x632be59bd9b4e019ULL * call + 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

inline uint64_t dropout_key_base(uint64_t seed, uint64_t stream) { return seed + 0x9E3779B97F4A7C15ULL * stream; }

// The scale of the elements Dropout keeps, 1 / (1 - p), which leaves each element's expected
// value unchanged.
#if defined(__CUDACC__)
__host__ __device__
#endif
inline float dropout_scale(float p) { return 1.0f / (1.0f - p); }

// Element `index` of a tensor through Dropout's mask `key`: x * scale where the element is
// kept (its uniform number at least p), else 0. scale is dropout_scale(p), computed once.
#if defined(__CUDACC__)
__host__ __device__
#endif
inline float dropout_apply(float x, uint64_t key, uint64_t index, float p, float scale) {
  return dropout_uniform(key, index) >= p ? x * scale : 0.0f;
}

}  // namespace leap
