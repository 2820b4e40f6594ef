#include "cuda/graph_runner.h"

#include <cstdlib>
#include <utility>

#include "cuda/bf16_mlp_runner.h"
#include "cuda/cluster_mlp_runner.h"

#include "cuda/cuda_backend.h"
#include "cuda/cuda_check.h"
#include "cuda/optimizer.h"
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

namespace leap {
namespace {

// A runner whose description also says why a faster path was not taken.
class NotedRunner final : public MlpEpochRunner {
 public:
  NotedRunner(std::unique_ptr<MlpEpochRunner> runner, std::string note)
      : runner_(std::move(runner)), note_(std::move(note)) {}
  void run(const int32_t* order, int64_t first_batch, int64_t steps, int64_t adam_step, float lr, double* loss_sum,
           int64_t* correct) override {
    runner_->run(order, first_batch, steps, adam_step, lr, loss_sum, correct);
  }
  std::string describe() const override { return runner_->describe() + "; " + note_; }
  int64_t chunk_steps() const override { return runner_->chunk_steps(); }
  bool run_partial_batch(const int32_t* order, int64_t first_row, int64_t rows, int64_t adam_step, float lr,
                         double* loss_sum, int64_t* correct) override {
    return runner_->run_partial_batch(order, first_row, rows, adam_step, lr, loss_sum, correct);
  }

 private:
  std::unique_ptr<MlpEpochRunner> runner_;
  std::string note_;
};

}  // namespace

// In fp32 or tf32 the persistent cluster kernel (cluster_mlp.cu) where it can run: 4.99 us a
// step against the fused graph's 18.7 on an H100 (2026-11-24). Else the fused step as a graph
// where the shape allows it (in any precision: it rounds its operands); else in bf16 the
// mixed-precision step (bf16_mlp_runner.h); else the layer calls as a graph.
// LEAP_TRAINING_PATH=cluster|fused|bf16|layers forces a path (for benchmarks and tests); a
// forced path that cannot run is an error.
std::unique_ptr<MlpEpochRunner> CudaBackend::plan_mlp_epoch(const MlpEpochPlan& plan) {
  const char* forced = std::getenv("LEAP_TRAINING_PATH");
  const std::string choice = forced ? forced : "";
  check(choice.empty() || choice == "cluster" || choice == "fused" || choice == "bf16" || choice == "layers",
        "LEAP_TRAINING_PATH must be cluster, fused, bf16 or layers, not '" + choice + "'");
  std::string why_not;
  if (choice == "cluster" || (choice.empty() && plan.precision != Precision::bf16)) {
    std::unique_ptr<MlpEpochRunner> runner = cuda_detail::ClusterMlpRunner::create(*this, plan, &why_not);
    check(runner != nullptr || choice.empty(), "LEAP_TRAINING_PATH=cluster: the persistent kernel cannot run: " + why_not);
    if (runner) return runner;
  }
  std::unique_ptr<MlpEpochRunner> runner = plan_graph_epoch(plan, choice);
  if (runner && !why_not.empty()) return std::make_unique<NotedRunner>(std::move(runner), "not the persistent kernel: " + why_not);
  return runner;
}

// The paths after the persistent kernel, or null for the layer-by-layer path.
std::unique_ptr<MlpEpochRunner> CudaBackend::plan_graph_epoch(const MlpEpochPlan& plan, const std::string& choice) {
  const bool fused = cuda_detail::fused_mlp_fits(plan);
  check(choice != "fused" || fused, "LEAP_TRAINING_PATH=fused: the fused step does not fit this model");
  if (fused && (choice.empty() || choice == "fused")) return std::make_unique<cuda_detail::FusedMlpRunner>(*this, plan);
  if (plan.precision == Precision::bf16 && choice != "layers") {
    std::string why_not;
    std::unique_ptr<MlpEpochRunner> runner = cuda_detail::Bf16MlpRunner::create(*this, plan, &why_not);
    check(runner != nullptr || choice != "bf16", "LEAP_TRAINING_PATH=bf16: " + why_not);
    if (runner) return runner;
  }
  check(choice != "bf16", "LEAP_TRAINING_PATH=bf16 needs --precision bf16");
  // One multi-tensor Adam launch takes every parameter: two slots a layer.
  if (plan.layers.empty() || 2 * plan.layers.size() > size_t(cuda_detail::kMaxSlots)) return nullptr;
  return std::make_unique<cuda_detail::LayerStepRunner>(*this, plan);
}

}  // namespace leap
