// Describes a Sequential MLP trained with Adam as a whole-epoch plan for a backend runner.
#pragma once

#include <optional>
#include <string>

#include "leap/backend.h"
#include "leap/data.h"
#include "leap/optimizer.h"
#include "leap/sequential.h"

namespace leap {

// The plan, or nothing with the reason in *why_not when the model or optimizer is outside
// what a plan describes (then the trainer calls the layers one by one).
std::optional<MlpEpochPlan> describe_mlp_epoch(Sequential& network, Optimizer& optimizer,
                                               const Dataset& train, int batch,
                                               std::string* why_not);

}  // namespace leap
