// GraphRunner: an MLP's whole training step captured once as a CUDA graph and replayed for
// every full batch. What changes from step to step (the batch's place in the epoch order,
// Adam's step count, the learning rate) lives in device memory, so one graph serves all steps.
#pragma once

#include <cuda_runtime_api.h>

#include <memory>
#include <vector>

#include "leap/backend.h"

namespace leap {

class CudaBackend;

namespace cuda_detail {

struct RunnerState;

class GraphRunner final : public MlpEpochRunner {
 public:
  GraphRunner(CudaBackend& backend, const MlpEpochPlan& plan);
  ~GraphRunner() override;
  GraphRunner(const GraphRunner&) = delete;
  GraphRunner& operator=(const GraphRunner&) = delete;

  void run(const int32_t* order, int64_t first_batch, int64_t steps, int64_t adam_step, float lr,
           double* loss_sum, int64_t* correct) override;
  std::string describe() const override;

 private:
  // Queues one training step on the stream (eagerly, or into a graph being captured).
  void queue_step();
  cudaGraphExec_t capture(int steps);

  CudaBackend& backend_;
  MlpEpochPlan plan_;
  cudaStream_t stream_;
  RunnerState* state_;            // device memory
  float* inputs_;                 // [batch, in] of the first layer
  int32_t* labels_;               // [batch]
  std::vector<float*> outputs_;   // per layer [batch, out]
  std::vector<float*> grads_;     // per layer d(loss)/d(output)
  bool warmed_up_ = false;        // the first step runs eagerly, so that capture allocates nothing
  cudaGraphExec_t one_step_ = nullptr, many_steps_ = nullptr;
};

}  // namespace cuda_detail
}  // namespace leap
