// The epoch runner of the whole-GPU persistent kernel (kernels/grid_mlp.cu): any MLP of 2 to
// 5 Linear layers with ReLU between them, cross-entropy or distillation, each call one
// cooperative launch that runs all of its steps.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "leap/backend.h"
#include "leap/tensor.h"
#include "persistent_mlp_runner.h"

namespace leap {

class CudaBackend;

namespace cuda_detail {

class GridMlpRunner final : public PersistentMlpRunner {
 public:
  // The runner, or null with *why_not saying why the kernel cannot take this plan.
  static std::unique_ptr<GridMlpRunner> create(CudaBackend& backend, const MlpEpochPlan& plan, std::string* why_not);
  ~GridMlpRunner() override;
  std::string describe() const override;

 private:
  GridMlpRunner(CudaBackend& backend, const MlpEpochPlan& plan);
  // Any last batch runs as one launch of one step (its rows are the batch).
  bool takes_partial_batch(int /*rows*/) const override { return true; }
  void launch(const int32_t* order, int64_t first_batch, int64_t steps, int batch, int64_t adam_step, float lr,
              double* loss_sum, int64_t* correct) override;

  CudaBackend& backend_;
  std::vector<Tensor> activations_, gradients_;  // by layer, as GridMlpArgs holds them
  Tensor row_loss_, row_correct_, barrier_;
  Tensor phase_ns_;  // with LEAP_PHASE_TIMING: the kernel's time in each phase
  int64_t steps_run_ = 0;
};

}  // namespace cuda_detail
}  // namespace leap
