// LayerStepRunner: the training step as the CUDA backend's layer calls, replayed as a graph.
#pragma once

#include <vector>

#include "cuda/training/graph_runner.h"

namespace leap::cuda_detail {

// The step as the backend's own layer calls (cuBLASLt products, separate kernels): any depth.
class LayerStepRunner final : public GraphRunner {
 public:
  LayerStepRunner(CudaBackend& backend, const MlpEpochPlan& plan);
  std::string describe() const override;

 private:
  void queue_step() override;

  Tensor inputs_, labels_, soft_targets_;  // the batch, gathered; soft targets when distilling
  std::vector<Tensor> outputs_, grads_;  // per layer [batch, out]
};

}  // namespace leap::cuda_detail
