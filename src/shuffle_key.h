// The key that orders samples in a shuffled epoch, the same on every backend: the epoch's
// order is the samples sorted by key(seed, i). splitmix64 is a bijection of 64-bit words, so
// the keys of one epoch never tie and the order is a permutation whoever sorts it.
#pragma once

#include <cstdint>

#if defined(__CUDACC__)
#define LEAP_HOST_DEVICE __host__ __device__
#else
#define LEAP_HOST_DEVICE
#endif

namespace leap {

LEAP_HOST_DEVICE inline uint64_t splitmix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

LEAP_HOST_DEVICE inline uint64_t shuffle_key(uint64_t seed, int64_t sample) {
  return splitmix64(splitmix64(seed) + uint64_t(sample));
}

}  // namespace leap
