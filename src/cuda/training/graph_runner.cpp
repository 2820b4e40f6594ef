#include "cuda/training/graph_runner.h"

#include <cstdlib>
#include <utility>

#include "cuda/cuda_backend.h"
#include "cuda/cuda_check.h"
#include "leap/error.h"

namespace leap::cuda_detail {

GraphRunner::GraphRunner(CudaBackend& backend, const MlpEpochPlan& plan)
    : backend_(backend), plan_(plan), stream_(backend.stream()),
      state_memory_({int64_t((sizeof(RunnerState) + 3) / 4)}, DType::int32, Device::cuda),
      state_(reinterpret_cast<RunnerState*>(state_memory_.labels())) {}

GraphRunner::~GraphRunner() {
  // Destructors must not throw: failures here are ignored.
  if (one_step_) cudaGraphExecDestroy(one_step_);
  if (many_steps_) cudaGraphExecDestroy(many_steps_);
  cudaStreamSynchronize(stream_);
}

cudaGraphExec_t GraphRunner::capture(int steps) {
  cudaGraph_t graph = nullptr;
  cudaGraphExec_t exec = nullptr;
  LEAP_CUDA_CHECK(cudaStreamBeginCapture(stream_, cudaStreamCaptureModeThreadLocal));
  try {
    for (int i = 0; i < steps; ++i) queue_step();
  } catch (...) {
    cudaStreamEndCapture(stream_, &graph);
    if (graph) cudaGraphDestroy(graph);
    throw;
  }
  LEAP_CUDA_CHECK(cudaStreamEndCapture(stream_, &graph));
  const cudaError_t status = cudaGraphInstantiate(&exec, graph, 0);
  cudaGraphDestroy(graph);
  LEAP_CUDA_CHECK(status);
  return exec;
}

void GraphRunner::run(const int32_t* order, int64_t first_batch, int64_t steps, int64_t adam_step,
                      float lr, double* loss_sum, int64_t* correct) {
  const RunnerState start{order, first_batch, adam_step, lr, 0.0, 0};
  backend_.copy_from_host(state_, &start, sizeof start);
  before_run();
  int64_t done = 0;
  if (!warmed_up_ && done < steps) {
    queue_step();  // allocates whatever the library allocates lazily, outside any capture
    warmed_up_ = true;
    ++done;
  }
  while (steps - done >= kStepsPerGraph) {
    if (!many_steps_) many_steps_ = capture(kStepsPerGraph);
    LEAP_CUDA_CHECK(cudaGraphLaunch(many_steps_, stream_));
    done += kStepsPerGraph;
  }
  for (; done < steps; ++done) {
    if (!one_step_) one_step_ = capture(1);
    LEAP_CUDA_CHECK(cudaGraphLaunch(one_step_, stream_));
  }
  launch_collect(state_, loss_sum, correct, stream_);
}

}  // namespace leap::cuda_detail
