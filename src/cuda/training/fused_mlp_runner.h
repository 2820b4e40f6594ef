// FusedMlpRunner: the step of a one-hidden-layer MLP as three fused kernels (kernels/fused_mlp.cu),
// replayed as a graph.
#pragma once

#include <vector>

#include "cuda/training/graph_runner.h"

namespace leap::cuda_detail {

// The step as three fused kernels, for one hidden layer (fused_mlp.cu).
class FusedMlpRunner final : public GraphRunner {
 public:
  // Whether the fused step takes this plan: Linear, ReLU, Linear at a size it supports.
  static bool fits(const MlpEpochPlan& plan);
  FusedMlpRunner(CudaBackend& backend, const MlpEpochPlan& plan);
  std::string describe() const override;

 private:
  void queue_step() override;
  bool uses_matmul() const override { return false; }  // its own kernels

  Tensor hidden_, grad_hidden_, grad_logits_, row_loss_, row_correct_, blocks_done_;
};

}  // namespace leap::cuda_detail
