#include "mlp_plan.h"

#include "leap/linear.h"
#include "leap/relu.h"
#include "leap/dropout.h"
#include "leap/adam.h"
#include "leap/sgd.h"

namespace leap {

std::optional<MlpEpochPlan> describe_mlp_epoch(Sequential& network, Optimizer& optimizer,
                                               const Dataset& train, int batch,
                                               std::string* why_not) {
  auto* adam = dynamic_cast<Adam*>(&optimizer);
  auto* sgd = dynamic_cast<SGD*>(&optimizer);
  if (!adam && !sgd) {
    *why_not = "the optimizer is neither Adam nor SGD";
    return std::nullopt;
  }
  optimizer.prepare_state();
  MlpEpochPlan plan{{}, train.images.data(), train.labels.labels(), train.size(), batch, 0, 0, 0, 0,
                    network.precision()};
  if (adam) {
    const AdamOptions& o = adam->options();
    plan.beta1 = o.beta1, plan.beta2 = o.beta2, plan.eps = o.eps, plan.weight_decay = o.weight_decay;
  } else {
    const SgdOptions& o = sgd->options();
    plan.sgd = true;
    plan.momentum = o.momentum, plan.dampening = o.dampening, plan.nesterov = o.nesterov;
    plan.weight_decay = o.weight_decay;
  }
  // Parameter i's optimizer state: Adam's two moments, or SGD's momentum buffer (none without momentum).
  auto first_state = [&](size_t i) -> float* {
    if (adam) return adam->exp_avg(i).data();
    return sgd->options().momentum != 0.0f ? sgd->momentum_buffer(i).data() : nullptr;
  };
  auto second_state = [&](size_t i) -> float* { return adam ? adam->exp_avg_sq(i).data() : nullptr; };
  size_t parameter_index = 0;
  for (size_t i = 0; i < network.size(); ++i) {
    if (auto* dropout = dynamic_cast<Dropout*>(&network[i])) {
      if (dropout->p() == 0.0f) continue;  // draws no masks
      if (plan.layers.empty() || !plan.layers.back().relu || plan.layers.back().dropout) {
        *why_not = "a Dropout that does not follow a ReLU";
        return std::nullopt;
      }
      plan.layers.back().dropout = dropout;
      continue;
    }
    if (dynamic_cast<ReLU*>(&network[i])) {
      if (plan.layers.empty() || plan.layers.back().relu) {
        *why_not = "a ReLU that does not follow a Linear layer";
        return std::nullopt;
      }
      plan.layers.back().relu = true;
      continue;
    }
    auto* linear = dynamic_cast<Linear*>(&network[i]);
    if (!linear) {
      *why_not = "layer " + std::to_string(i) + " is " + network[i].describe();
      return std::nullopt;
    }
    const size_t w = parameter_index++, b = parameter_index++;
    plan.layers.push_back({linear->weight().value.data(), linear->bias().value.data(),
                           linear->weight().grad.data(), linear->bias().grad.data(),
                           first_state(w), second_state(w), first_state(b), second_state(b),
                           linear->in_features(), linear->out_features(), false});
  }
  if (plan.layers.empty() || plan.layers.back().relu) {
    *why_not = "the network does not end in a Linear layer";
    return std::nullopt;
  }
  return plan;
}

}  // namespace leap
