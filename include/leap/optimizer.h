// Optimizer: what Adam and SGD share (parameters, state, learning rate, steps), and the
// factories that Keras-style compile takes.
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

// What Keras' compile takes: a recipe that builds an optimizer for a model's parameters.
using OptimizerFactory = std::function<std::unique_ptr<Optimizer>(std::vector<Parameter*>)>;
// "adam" or "sgd" with a learning rate, for the command line.
OptimizerFactory optimizer_by_name(const std::string& name, float lr, float momentum = 0.9f,
                                   float weight_decay = 0.0f);

}  // namespace leap
