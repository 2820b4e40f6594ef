// The epoch runner of the persistent cluster kernel (cluster_mlp.cu): each call is one
// launch that runs all of its steps, the weights kept on chip in between.
#pragma once

#include <memory>
#include <string>

#include "leap/backend.h"
#include "leap/tensor.h"
#include "persistent_mlp_runner.h"

namespace leap {

class CudaBackend;

namespace cuda_detail {

class ClusterMlpRunner final : public PersistentMlpRunner {
 public:
  // The runner, or null with *why_not saying why the kernel cannot take this plan.
  static std::unique_ptr<ClusterMlpRunner> create(CudaBackend& backend, const MlpEpochPlan& plan,
                                                  std::string* why_not);
  ~ClusterMlpRunner() override;
  std::string describe() const override;

 private:
  ClusterMlpRunner(CudaBackend& backend, const MlpEpochPlan& plan, Tensor byte_images);
  static Tensor byte_images_of(CudaBackend& backend, const MlpEpochPlan& plan, std::string* why_not);
  // A last batch of 16, 32 or 48 rows runs in a launch of its own (the layer-by-layer step
  // it replaces had cost about 400 us an epoch on an H100).
  bool takes_partial_batch(int rows) const override { return rows % 16 == 0 && rows >= 16; }
  void launch(const int32_t* order, int64_t first_batch, int64_t steps, int batch, int64_t adam_step, float lr,
              double* loss_sum, int64_t* correct) override;

  CudaBackend& backend_;
  Tensor byte_images_;  // the data set as bytes, 4 to an int32 element (shared in a ModelGroup)
  Tensor phase_cycles_;  // with LEAP_PHASE_TIMING: the kernel's phase timing
  int64_t steps_run_ = 0;
};

}  // namespace cuda_detail
}  // namespace leap
