#include "leap/error.h"
#include "leap/optimizer.h"
#include "leap/adam.h"
#include "leap/sgd.h"

namespace leap {

Optimizer::Optimizer(std::vector<Parameter*> parameters) : parameters_(std::move(parameters)) {
  check(!parameters_.empty(), "optimizer given no parameters");
  state_a_.resize(parameters_.size());
  state_b_.resize(parameters_.size());
}

void Optimizer::zero_grad() {
  for (Parameter* p : parameters_) p->has_grad = false;
}

void Optimizer::ensure_state(size_t i, bool two_states) {
  const Parameter& p = *parameters_[i];
  const Device device = p.value.device();
  if (!state_a_[i].defined()) state_a_[i] = Tensor::zeros(p.value.shape(), DType::float32, device);
  if (two_states && !state_b_[i].defined())
    state_b_[i] = Tensor::zeros(p.value.shape(), DType::float32, device);
  // State follows its parameter when the model moved to another device.
  if (state_a_[i].device() != device) state_a_[i] = state_a_[i].to(device);
  if (two_states && state_b_[i].device() != device) state_b_[i] = state_b_[i].to(device);
}

std::vector<ParamSlot> Optimizer::slots(bool two_states) {
  std::vector<ParamSlot> result;
  for (size_t i = 0; i < parameters_.size(); ++i) {
    Parameter& p = *parameters_[i];
    if (!p.has_grad) continue;
    ensure_state(i, two_states);
    result.push_back({p.value.data(), p.grad.data(), state_a_[i].data(),
                      two_states ? state_b_[i].data() : nullptr, size_t(p.value.numel())});
  }
  return result;
}

OptimizerFactory optimizer_by_name(const std::string& name, float lr, float momentum,
                                   float weight_decay) {
  if (name == "adam") return adam({.lr = lr, .weight_decay = weight_decay});
  if (name == "sgd") return sgd({.lr = lr, .momentum = momentum, .weight_decay = weight_decay});
  throw Error("unknown optimizer '" + name + "' (expected adam or sgd)");
}

}  // namespace leap
