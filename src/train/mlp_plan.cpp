#include "mlp_plan.h"

#include "leap/linear.h"
#include "leap/relu.h"
#include "leap/dropout.h"
#include "leap/adam.h"

namespace leap {

std::optional<MlpEpochPlan> describe_mlp_epoch(Sequential& network, Optimizer& optimizer,
                                               const Dataset& train, int batch,
                                               std::string* why_not) {
  auto* adam = dynamic_cast<Adam*>(&optimizer);
  if (!adam) {
    *why_not = "the optimizer is not Adam";
    return std::nullopt;
  }
  adam->prepare_state();
  const AdamOptions& o = adam->options();
  MlpEpochPlan plan{{}, train.images.data(), train.labels.labels(), train.size(), batch,
                    o.beta1, o.beta2, o.eps, o.weight_decay, network.precision()};
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
                           adam->exp_avg(w).data(), adam->exp_avg_sq(w).data(),
                           adam->exp_avg(b).data(), adam->exp_avg_sq(b).data(),
                           linear->in_features(), linear->out_features(), false});
  }
  if (plan.layers.empty() || plan.layers.back().relu) {
    *why_not = "the network does not end in a Linear layer";
    return std::nullopt;
  }
  return plan;
}

}  // namespace leap
