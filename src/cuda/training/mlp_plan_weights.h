// MlpWeights from an epoch plan of Linear, ReLU, Linear (host code).
#pragma once

#include "cuda/kernels/mlp_weights.h"
#include "leap/backend.h"

namespace leap::cuda_detail {

inline MlpWeights mlp_weights(const MlpEpochPlan& plan) {
  const MlpLayer& hidden = plan.layers[0];
  const MlpLayer& output = plan.layers[1];
  return {hidden.weight,         hidden.bias,              output.weight,
          output.bias,           hidden.exp_avg_weight,    hidden.exp_avg_sq_weight,
          hidden.exp_avg_bias,   hidden.exp_avg_sq_bias,   output.exp_avg_weight,
          output.exp_avg_sq_weight, output.exp_avg_bias,   output.exp_avg_sq_bias};
}

}  // namespace leap::cuda_detail
