#include "cuda/training/graph_runner.h"

#include <cstdlib>
#include <utility>

#include "cuda/cuda_backend.h"
#include "cuda/cuda_check.h"
#include "cuda/training/gathered_launch.h"
#include "cuda/training/persistent_mlp_runner.h"
#include "train/model_group.h"
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

namespace {

// The products queued while it lives use `workspace` (none: the Matmul's own scratch).
class WorkspaceInUse {
 public:
  WorkspaceInUse(Matmul& matmul, void* workspace)
      : matmul_(matmul), before_(workspace ? matmul.use_workspace(workspace) : nullptr) {}
  ~WorkspaceInUse() {
    if (before_) matmul_.use_workspace(before_);
  }
  WorkspaceInUse(const WorkspaceInUse&) = delete;
  WorkspaceInUse& operator=(const WorkspaceInUse&) = delete;

 private:
  Matmul& matmul_;
  void* before_;
};

}  // namespace

cudaGraphExec_t GraphRunner::capture(int steps) {
  cudaGraph_t graph = nullptr;
  cudaGraphExec_t exec = nullptr;
  // Beside other models, this graph may run while theirs do: its products get scratch of
  // their own.
  if (ModelGroup::current() && uses_matmul() && !workspace_.defined())
    workspace_ = Tensor({int64_t(Matmul::kWorkspaceBytes / 4)}, DType::int32, Device::cuda);
  LEAP_CUDA_CHECK(cudaStreamBeginCapture(stream_, cudaStreamCaptureModeThreadLocal));
  try {
    const WorkspaceInUse scratch(backend_.matmul(), workspace_.defined() ? workspace_.labels() : nullptr);
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

int64_t GraphRunner::chunk_steps() const {
  return ModelGroup::current() ? kPersistentLaunchSteps : MlpEpochRunner::chunk_steps();
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
  const int64_t graphs = (steps - done) / kStepsPerGraph, single_steps = (steps - done) % kStepsPerGraph;
  if (graphs > 0 && !many_steps_) many_steps_ = capture(kStepsPerGraph);
  if (single_steps > 0 && !one_step_) one_step_ = capture(1);
  // Trained beside other models, the replays run on a stream of their own.
  launch_or_gather(backend_, {nullptr, [&](cudaStream_t stream) {
                                for (int64_t i = 0; i < graphs; ++i) LEAP_CUDA_CHECK(cudaGraphLaunch(many_steps_, stream));
                                for (int64_t i = 0; i < single_steps; ++i)
                                  LEAP_CUDA_CHECK(cudaGraphLaunch(one_step_, stream));
                                launch_collect(state_, loss_sum, correct, stream);
                              }});
}

}  // namespace leap::cuda_detail
