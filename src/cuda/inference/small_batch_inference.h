// The GPU's serving path for a one-hidden-layer MLP at batch 1 to 4: one kernel reads the
// inputs straight from mapped host memory, computes both layers across a few blocks and
// writes the logits and a completion word straight into host memory, where the caller's
// thread watches for it. No copies, no graph, no stream synchronisation: one launch.
#pragma once

#include <memory>

#include "leap/backend.h"

namespace leap {
class CudaBackend;

namespace cuda_detail {

// A runner for the plan, or null with the reason in *why_not when the plan is outside it.
std::unique_ptr<InferenceRunner> plan_small_batch_inference(CudaBackend& backend, const InferencePlan& plan,
                                                            std::string* why_not);

}  // namespace cuda_detail
}  // namespace leap
