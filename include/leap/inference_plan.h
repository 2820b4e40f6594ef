// InferencePlan: an MLP's forward pass at a fixed batch size, for a backend's low-latency
// inference path, and InferenceRunner, what the backend returns to run it.
#pragma once

#include <string>
#include <vector>

#include "leap/mlp_plan.h"

namespace leap {

// An MLP's forward pass at a fixed batch size, for a backend's low-latency inference path.
struct InferencePlan {
  std::vector<MlpLayer> layers;  // weight, bias, in, out, relu used; the rest may be null
  int batch;
};

class InferenceRunner {
 public:
  virtual ~InferenceRunner() = default;
  // logits[batch, classes] for inputs[batch, features], both in host memory; returns when
  // the logits are there.
  virtual void run(const float* inputs, float* logits) = 0;
  virtual std::string describe() const = 0;
};

}  // namespace leap
