// Random: a small seeded generator (splitmix64) that gives the same numbers on every
// platform and standard library, so a seed means the same run everywhere.
#pragma once

#include <cstdint>
#include <vector>

namespace leap {

class Random {
 public:
  explicit Random(uint64_t seed = 0) : state_(seed) {}

  uint64_t next_u64();
  // Uniform in [0, 1) with 24 random bits.
  float uniform();
  float uniform(float low, float high) { return low + (high - low) * uniform(); }
  // Uniform integer in [0, bound).
  uint64_t below(uint64_t bound);
  // A uniformly random permutation of 0..count-1 (Fisher-Yates).
  std::vector<int32_t> permutation(int32_t count);

  uint64_t state() const { return state_; }
  void set_state(uint64_t state) { state_ = state; }

 private:
  uint64_t state_;
};

}  // namespace leap
