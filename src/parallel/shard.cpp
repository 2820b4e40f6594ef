#include <algorithm>

#include "leap/parallel.h"
#include "leap/error.h"

namespace leap {

Shard shard_of(int64_t count, int rank, int ranks) {
  check(ranks > 0 && rank >= 0 && rank < ranks && count >= 0,
        "shard_of: rank " + std::to_string(rank) + " of " + std::to_string(ranks) + ", " +
            std::to_string(count) + " samples");
  // The first count % ranks ranks take one sample more.
  const int64_t base = count / ranks, extra = count % ranks;
  const int64_t begin = rank * base + std::min<int64_t>(rank, extra);
  return {begin, begin + base + (rank < extra ? 1 : 0)};
}

}  // namespace leap
