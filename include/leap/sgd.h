// SGD with PyTorch's update rule: momentum, dampening, Nesterov, weight decay.
#pragma once

#include "leap/optimizer.h"

namespace leap {

struct SgdOptions {
  float lr = 1e-2f;
  float momentum = 0.0f;
  float dampening = 0.0f;
  float weight_decay = 0.0f;
  bool nesterov = false;
};

class SGD : public Optimizer {
 public:
  SGD(std::vector<Parameter*> parameters, SgdOptions options = {});
  void step() override;
  std::string describe() const override;
  std::vector<std::pair<std::string, Tensor*>> state() override;
  void prepare_state() override;
  const SgdOptions& options() const { return options_; }
  // Parameter `index`'s momentum buffer (defined after prepare_state() when momentum > 0).
  Tensor& momentum_buffer(size_t index) { return state_a_.at(index); }

 private:
  SgdOptions options_;
};

// Keras' compile(sgd(...)).
OptimizerFactory sgd(SgdOptions options = {});

}  // namespace leap
