#include "leap/random.h"

#include <numeric>
#include <utility>

namespace leap {

uint64_t Random::next_u64() {
  uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

float Random::uniform() { return float(next_u64() >> 40) * (1.0f / 16777216.0f); }

uint64_t Random::below(uint64_t bound) {
  // Rejection removes the modulo bias.
  uint64_t limit = UINT64_MAX - UINT64_MAX % bound;
  uint64_t value;
  do value = next_u64();
  while (value >= limit);
  return value % bound;
}

std::vector<int32_t> Random::permutation(int32_t count) {
  std::vector<int32_t> order(count);
  std::iota(order.begin(), order.end(), 0);
  for (int32_t i = count - 1; i > 0; --i) std::swap(order[i], order[below(uint64_t(i) + 1)]);
  return order;
}

}  // namespace leap
