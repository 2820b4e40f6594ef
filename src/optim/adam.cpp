#include "leap/error.h"
#include "leap/optimizer.h"
#include "leap/adam.h"

namespace leap {

Adam::Adam(std::vector<Parameter*> parameters, AdamOptions options)
    : Optimizer(std::move(parameters)), options_(options) {
  check(options.lr >= 0 && options.eps >= 0 && options.beta1 >= 0 && options.beta1 < 1 &&
            options.beta2 >= 0 && options.beta2 < 1 && options.weight_decay >= 0,
        "Adam: invalid options (need lr, eps, weight_decay >= 0 and betas in [0, 1))");
  lr_ = options.lr;
}

void Adam::step() {
  std::vector<ParamSlot> todo = slots(true);
  if (todo.empty()) return;
  ++steps_;
  AdamHyper hyper{lr_, options_.beta1, options_.beta2, options_.eps, options_.weight_decay,
                  steps_};
  backend(parameters_.front()->value.device()).adam_update(todo, hyper);
}

std::string Adam::describe() const {
  return "Adam(lr=" + std::to_string(lr_) + ", betas=(" + std::to_string(options_.beta1) + ", " +
         std::to_string(options_.beta2) + "), eps=" + std::to_string(options_.eps) +
         ", weight_decay=" + std::to_string(options_.weight_decay) + ")";
}

std::vector<std::pair<std::string, Tensor*>> Adam::state() {
  std::vector<std::pair<std::string, Tensor*>> named;
  for (size_t i = 0; i < parameters_.size(); ++i) {
    named.emplace_back(parameters_[i]->name + ".exp_avg", &state_a_[i]);
    named.emplace_back(parameters_[i]->name + ".exp_avg_sq", &state_b_[i]);
  }
  return named;
}

void Adam::prepare_state() {
  for (size_t i = 0; i < parameters_.size(); ++i) ensure_state(i, true);
}

OptimizerFactory adam(AdamOptions options) {
  return [options](std::vector<Parameter*> parameters) {
    return std::make_unique<Adam>(std::move(parameters), options);
  };
}

}  // namespace leap
