// The CPU's fused training step for small MLPs: a batch's forward pass, loss, backward pass
// and Adam or SGD update in one pass over the weights, on one team of threads that stays up
// for a chunk of steps (a barrier between the step's phases, no thread start, BLAS call or
// tensor made per step). The weight gradients never reach memory: the optimizer updates each
// tile of them while it is in registers. Every sum is taken by one thread in a fixed order, so training
// gives the same bits on any number of threads.
#pragma once

#include <memory>
#include <string>

#include "leap/backend.h"

namespace leap {

// The runner, or null with *why_not saying why the plan is outside the fused step.
std::unique_ptr<MlpEpochRunner> plan_fused_cpu_step(const MlpEpochPlan& plan, std::string* why_not);

}  // namespace leap
