// Adam with PyTorch's update rule and defaults (decoupled from L2 only through weight_decay,
// as torch.optim.Adam).
#pragma once

#include "leap/optimizer.h"

namespace leap {

struct AdamOptions {
  float lr = 1e-3f;
  float beta1 = 0.9f;
  float beta2 = 0.999f;
  float eps = 1e-8f;
  float weight_decay = 0.0f;
};

class Adam : public Optimizer {
 public:
  Adam(std::vector<Parameter*> parameters, AdamOptions options = {});
  void step() override;
  std::string describe() const override;
  std::vector<std::pair<std::string, Tensor*>> state() override;
  void prepare_state() override;
  const AdamOptions& options() const { return options_; }
  // The first and second moments of parameter `index` (after prepare_state).
  Tensor& exp_avg(size_t index) { return state_a_.at(index); }
  Tensor& exp_avg_sq(size_t index) { return state_b_.at(index); }

 private:
  AdamOptions options_;
};

// Keras' compile(adam(...)).
OptimizerFactory adam(AdamOptions options = {});

}  // namespace leap
