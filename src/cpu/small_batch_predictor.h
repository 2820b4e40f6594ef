// The CPU's serving path for small batches: an MLP's forward pass on the calling thread,
// straight from the layers' weights, with no BLAS call, thread wake-up or tensor made per
// call. At batch 1 a BLAS call's set-up and the threads' hand-off cost more than the
// 100k multiply-adds of a 784-128-10 network.
#pragma once

#include <memory>

#include "leap/backend.h"

namespace leap {

// Small batches only (threads pay off above it).
constexpr int kSmallBatchLimit = 16;

// A runner for the plan, or null when the batch is too large for this path.
std::unique_ptr<InferenceRunner> plan_small_batch_inference(const InferencePlan& plan);

}  // namespace leap
