// The epoch runner of the persistent cluster kernel (cluster_mlp.cu): each call is one
// launch that runs all of its steps, the weights kept on chip in between.
#pragma once

#include <memory>
#include <string>

#include "leap/backend.h"
#include "leap/tensor.h"

namespace leap {

class CudaBackend;

namespace cuda_detail {

class ClusterMlpRunner final : public MlpEpochRunner {
 public:
  // The runner, or null with *why_not saying why the kernel cannot take this plan.
  static std::unique_ptr<ClusterMlpRunner> create(CudaBackend& backend, const MlpEpochPlan& plan,
                                                  std::string* why_not);
  ~ClusterMlpRunner() override;
  void run(const int32_t* order, int64_t first_batch, int64_t steps, int64_t adam_step, float lr,
           double* loss_sum, int64_t* correct) override;
  std::string describe() const override;
  // An epoch of Fashion-MNIST at batch 64 in one launch: a launch, with the loss read after
  // it, costs about 70 us, over 1 us a step in chunks of 64.
  int64_t chunk_steps() const override { return 1024; }
  // A last batch of 16, 32 or 48 rows runs in a launch of its own (the layer-by-layer step
  // it replaces had cost about 400 us an epoch on an H100).
  bool run_partial_batch(const int32_t* order, int64_t first_row, int64_t rows, int64_t adam_step, float lr,
                         double* loss_sum, int64_t* correct) override;

 private:
  ClusterMlpRunner(CudaBackend& backend, const MlpEpochPlan& plan, Tensor byte_images);
  // `steps` batches of `batch` rows: batch k takes order[(first_batch + k) * batch ...].
  void launch(const int32_t* order, int64_t first_batch, int64_t steps, int batch, int64_t adam_step, float lr,
              double* loss_sum, int64_t* correct);

  CudaBackend& backend_;
  MlpEpochPlan plan_;
  Tensor byte_images_;  // the data set as bytes, 4 to an int32 element
  Tensor phase_cycles_;  // with LEAP_PHASE_TIMING: the kernel's phase timing
  int64_t steps_run_ = 0;
};

}  // namespace cuda_detail
}  // namespace leap
