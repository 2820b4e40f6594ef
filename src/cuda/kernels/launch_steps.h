// Where a persistent kernel's launch runs in the epoch: the steps it takes and the numbers
// that place them, as the epoch runner was handed them (MlpEpochRunner::run).
#pragma once

#include <cstdint>

namespace leap::cuda_detail {

struct LaunchSteps {
  const int32_t* order;  // the epoch's sample order
  int64_t first_batch;   // batch k of the launch takes order[(first_batch + k) * batch ...]
  int64_t steps;
  int64_t adam_steps;    // optimizer steps taken before the launch (Adam's bias correction)
  float lr;
};

}  // namespace leap::cuda_detail
