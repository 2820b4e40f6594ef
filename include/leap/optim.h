// Optimizers with PyTorch's update rules and defaults: Adam and SGD (momentum, Nesterov).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "leap/backend.h"
#include "leap/module.h"

namespace leap {

class Optimizer {
 public:
  explicit Optimizer(std::vector<Parameter*> parameters);
  virtual ~Optimizer() = default;

  // Marks every gradient absent (PyTorch's zero_grad(set_to_none=True)).
  void zero_grad();
  // Updates every parameter that has a gradient.
  virtual void step() = 0;
  virtual std::string describe() const = 0;

  float lr() const { return lr_; }
  void set_lr(float lr) { lr_ = lr; }
  int64_t steps() const { return steps_; }
  const std::vector<Parameter*>& parameters() const { return parameters_; }
  // Optimizer state tensors by name ("0.weight.exp_avg"), for checkpoints.
  virtual std::vector<std::pair<std::string, Tensor*>> state() = 0;
  // Allocates every state tensor now (zeros), for runners that update parameters themselves.
  virtual void prepare_state() = 0;
  // Counts steps that a runner took on this optimizer's behalf.
  void advance(int64_t steps) { steps_ += steps; }
  // Sets the step count a checkpoint saved (Adam's bias correction depends on it).
  void restore_steps(int64_t steps) { steps_ = steps; }

 protected:
  // Slots of the parameters that have gradients; allocates state on first use.
  std::vector<ParamSlot> slots(bool two_states);
  void ensure_state(size_t index, bool two_states);

  std::vector<Parameter*> parameters_;
  std::vector<Tensor> state_a_, state_b_;
  float lr_ = 1e-3f;
  int64_t steps_ = 0;
};

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

 private:
  SgdOptions options_;
};

// What Keras' compile takes: a recipe that builds an optimizer for a model's parameters.
using OptimizerFactory = std::function<std::unique_ptr<Optimizer>(std::vector<Parameter*>)>;
OptimizerFactory adam(AdamOptions options = {});
OptimizerFactory sgd(SgdOptions options = {});
// "adam" or "sgd" with a learning rate, for the command line.
OptimizerFactory optimizer_by_name(const std::string& name, float lr, float momentum = 0.9f,
                                   float weight_decay = 0.0f);

}  // namespace leap
