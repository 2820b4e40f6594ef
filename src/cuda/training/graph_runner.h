// GraphRunner: an MLP's training step captured once as a CUDA graph and replayed for every
// full batch. What changes from step to step (the batch's place in the epoch order, Adam's
// step count, the learning rate) lives in device memory (RunnerState), so one graph serves
// all steps. Subclasses say what one step queues.
#pragma once

#include <cuda_runtime_api.h>

#include "cuda/kernels/runner_kernels.h"
#include "leap/backend.h"

namespace leap {

class CudaBackend;

namespace cuda_detail {

class GraphRunner : public MlpEpochRunner {
 public:
  GraphRunner(CudaBackend& backend, const MlpEpochPlan& plan);
  ~GraphRunner() override;
  GraphRunner(const GraphRunner&) = delete;
  GraphRunner& operator=(const GraphRunner&) = delete;

  void run(const int32_t* order, int64_t first_batch, int64_t steps, int64_t adam_step, float lr,
           double* loss_sum, int64_t* correct) override;
  // Beside other models (ModelGroup), as many steps a call as the persistent kernel takes:
  // every gathered launch waits for its slowest part.
  int64_t chunk_steps() const override;

 protected:
  // Queues one training step on the stream (eagerly, or into a graph being captured); it
  // must leave the state on the next batch and step.
  virtual void queue_step() = 0;
  // Queued eagerly at the start of every run, before its steps (the weights may have
  // changed in between: a partial batch trained layer by layer, weights loaded).
  virtual void before_run() {}
  // Whether a step's products go through the backend's cuBLASLt Matmul (and its scratch).
  virtual bool uses_matmul() const { return true; }

  CudaBackend& backend_;
  MlpEpochPlan plan_;
  cudaStream_t stream_;
  Tensor state_memory_;
  RunnerState* state_;  // in state_memory_

 private:
  cudaGraphExec_t capture(int steps);

  bool warmed_up_ = false;  // the first step runs eagerly, so that capture allocates nothing
  Tensor workspace_;  // the products' scratch in the graphs, when they run beside others'
  cudaGraphExec_t one_step_ = nullptr, many_steps_ = nullptr;
};

// Steps captured in the larger graph: one graph launch costs a few microseconds of host
// time, so replaying several steps per launch keeps the GPU fed.
constexpr int kStepsPerGraph = 16;

}  // namespace cuda_detail
}  // namespace leap
