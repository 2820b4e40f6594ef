#include "leap/error.h"
#include "leap/optimizer.h"
#include "leap/sgd.h"

namespace leap {

SGD::SGD(std::vector<Parameter*> parameters, SgdOptions options)
    : Optimizer(std::move(parameters)), options_(options) {
  check(options.lr >= 0 && options.momentum >= 0 && options.weight_decay >= 0,
        "SGD: lr, momentum and weight_decay must be >= 0");
  check(!options.nesterov || (options.momentum > 0 && options.dampening == 0),
        "SGD: Nesterov momentum needs momentum > 0 and zero dampening");
  lr_ = options.lr;
}

void SGD::step() {
  std::vector<ParamSlot> todo = slots(options_.momentum != 0.0f);  // no buffer without momentum
  if (todo.empty()) return;
  SgdHyper hyper{lr_, options_.momentum, options_.dampening, options_.weight_decay,
                 options_.nesterov, steps_ == 0};
  ++steps_;
  backend(parameters_.front()->value.device()).sgd_update(todo, hyper);
}

std::string SGD::describe() const {
  return "SGD(lr=" + std::to_string(lr_) + ", momentum=" + std::to_string(options_.momentum) +
         ", weight_decay=" + std::to_string(options_.weight_decay) +
         (options_.nesterov ? ", nesterov=True)" : ")");
}

std::vector<std::pair<std::string, Tensor*>> SGD::state() {
  std::vector<std::pair<std::string, Tensor*>> named;
  for (size_t i = 0; i < parameters_.size(); ++i)
    named.emplace_back(parameters_[i]->name + ".momentum_buffer", &state_a_[i]);
  return named;
}

void SGD::prepare_state() {
  for (size_t i = 0; i < parameters_.size(); ++i) ensure_state(i, options_.momentum != 0.0f);
}

OptimizerFactory sgd(SgdOptions options) {
  return [options](std::vector<Parameter*> parameters) {
    return std::make_unique<SGD>(std::move(parameters), options);
  };
}

}  // namespace leap
