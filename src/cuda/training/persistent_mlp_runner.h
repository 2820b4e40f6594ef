// What the persistent kernels' epoch runners share: every call is one launch that runs all of
// its steps, a full batch's and the epoch's last, partial batch's alike. Each runner says which
// partial batches its kernel takes and how it launches.
#pragma once

#include <cstdint>
#include <utility>

#include "leap/mlp_plan.h"

namespace leap::cuda_detail {

// A launch, with the loss read after it, costs tens of microseconds, several steps' time:
// a whole epoch of Fashion-MNIST at batch 64 to a launch.
constexpr int64_t kPersistentLaunchSteps = 1024;

class PersistentMlpRunner : public MlpEpochRunner {
 public:
  void run(const int32_t* order, int64_t first_batch, int64_t steps, int64_t adam_step, float lr,
           double* loss_sum, int64_t* correct) final {
    launch(order, first_batch, steps, plan_.batch, adam_step, lr, loss_sum, correct);
  }
  int64_t chunk_steps() const final { return kPersistentLaunchSteps; }
  bool run_partial_batch(const int32_t* order, int64_t first_row, int64_t rows, int64_t adam_step, float lr,
                         double* loss_sum, int64_t* correct) final {
    if (rows < 1 || rows >= plan_.batch || !takes_partial_batch(int(rows))) return false;
    launch(order + first_row, 0, 1, int(rows), adam_step, lr, loss_sum, correct);
    return true;
  }

 protected:
  explicit PersistentMlpRunner(MlpEpochPlan plan) : plan_(std::move(plan)) {}
  virtual bool takes_partial_batch(int rows) const = 0;
  // `steps` batches of `batch` rows: batch k takes order[(first_batch + k) * batch ...].
  virtual void launch(const int32_t* order, int64_t first_batch, int64_t steps, int batch, int64_t adam_step,
                      float lr, double* loss_sum, int64_t* correct) = 0;

  MlpEpochPlan plan_;
};

}  // namespace leap::cuda_detail
