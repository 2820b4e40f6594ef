// The choice of an MLP's training path on the GPU: the paths in order, fastest first, each
// taking the plan or saying why not. `leap train` prints the path that runs and, when the
// persistent kernel was passed over, why.
//   1. cluster: the persistent kernel (kernels/cluster_mlp.cu), in fp32 and tf32 (its products
//      are fp32-accurate either way): 4.99 us a step against the fused graph's 18.7 on an
//      H100 (2026-11-24).
//   2. grid: the persistent kernel over the whole GPU (kernels/grid_mlp.cu), any MLP of 2 to 5
//      Linear layers whose weights and optimizer state fit L2, Dropout, cross-entropy or
//      distillation, Adam or SGD, fp32 and tf32 (computed in fp32), 2L grid-wide barriers a
//      step in place of a graph's launches; before 3 and 5 once kGridByDefault (it is not yet
//      faster than they are on most shapes), and for the models they do not take once
//      kGridWhereNoGraph.
//   3. fused: three fused kernels a step, replayed as a graph; one hidden layer, any precision
//      (it rounds its operands).
//   4. bf16: cuBLASLt bf16 products with fp32 master weights (bf16_mlp_runner.h), any depth.
//   5. layers: the backend's layer calls replayed as a graph, any depth.
//   Else the trainer calls the layers one by one (a null runner).
// LEAP_TRAINING_PATH=cluster|grid|fused|bf16|layers forces a path (for benchmarks and tests);
// a forced path that cannot run is an error.
#include <cstdlib>
#include <string>
#include <utility>

#include "cuda/cuda_backend.h"
#include "cuda/kernels/optimizer.h"
#include "cuda/training/bf16_mlp_runner.h"
#include "cuda/training/cluster_mlp_runner.h"
#include "cuda/training/fused_mlp_runner.h"
#include "cuda/training/grid_mlp_runner.h"
#include "cuda/training/layer_step_runner.h"
#include "leap/error.h"

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

// The whole-GPU kernel passes its tests on an H100 (2026-12-07) but is not yet faster than the
// graph on most shapes (37 us a step on 784-128-10, 44 on 784-256-10 against the graph's 50,
// 79 on 784-1024-10 against 60, at batch 64): leap takes it before the graphs once it is.
constexpr bool kGridByDefault = false;
// Where no graph takes the model it would replace layer by layer, but its grid barrier was
// rewritten after that run (one atomic a block, release and acquire) and has not run on a GPU
// since, nor has this use been timed against layer by layer (bench/device_run.sh dropout-path):
// until both are done, only with LEAP_TRAINING_PATH=grid.
constexpr bool kGridWhereNoGraph = false;

std::string forced_training_path() {
  const char* forced = std::getenv("LEAP_TRAINING_PATH");
  const std::string path = forced ? forced : "";
  check(path.empty() || path == "cluster" || path == "grid" || path == "fused" || path == "bf16" || path == "layers",
        "LEAP_TRAINING_PATH must be cluster, grid, fused, bf16 or layers, not '" + path + "'");
  return path;
}

}  // namespace

std::unique_ptr<MlpEpochRunner> CudaBackend::plan_mlp_epoch(const MlpEpochPlan& plan, std::string* why_not_any) {
  using namespace cuda_detail;
  const std::string forced = forced_training_path();
  auto allowed = [&](const std::string& path) { return forced.empty() || forced == path; };
  std::unique_ptr<MlpEpochRunner> runner;

  // 1. The persistent kernel; in bf16 only when forced (bf16 asks for the tensor cores' speed
  //    on wide layers, which the kernel does not take).
  std::string why_not_cluster;
  if (forced == "cluster" || (forced.empty() && plan.precision != Precision::bf16)) {
    runner = ClusterMlpRunner::create(*this, plan, &why_not_cluster);
    check(runner != nullptr || forced.empty(),
          "LEAP_TRAINING_PATH=cluster: the persistent kernel cannot run: " + why_not_cluster);
    if (runner) return runner;
  }
  // 2. The whole-GPU kernel, likewise not in bf16 unless forced; taken before the graphs
  //    once it is faster than they are (kGridByDefault), and where no graph takes the model
  //    (Dropout, distillation past one hidden layer, SGD) once kGridWhereNoGraph: one launch
  //    a chunk of steps instead of a dozen launches and a loss read a step, layer by layer.
  const bool fused = FusedMlpRunner::fits(plan);
  const bool layer_graph = !plan.layers.empty() && 2 * plan.layers.size() <= size_t(kMaxSlots) &&
                           !has_dropout(plan) && adam_plan(plan);
  const bool graph_takes = fused || layer_graph;
  std::string why_not_grid;
  if (forced == "grid" || (forced.empty() && plan.precision != Precision::bf16 && (kGridByDefault || (kGridWhereNoGraph && !graph_takes)))) {
    runner = GridMlpRunner::create(*this, plan, &why_not_grid);
    check(runner != nullptr || forced.empty(), "LEAP_TRAINING_PATH=grid: the whole-GPU kernel cannot run: " + why_not_grid);
    if (runner && !why_not_cluster.empty())
      return std::make_unique<NotedRunner>(std::move(runner), "not the cluster kernel: " + why_not_cluster);
    if (runner) return runner;
  }
  // 3. The fused graph.
  check(forced != "fused" || fused, "LEAP_TRAINING_PATH=fused: the fused step does not fit this model");
  if (fused && allowed("fused")) runner = std::make_unique<FusedMlpRunner>(*this, plan);
  // 4. The bf16 step.
  if (!runner && plan.precision == Precision::bf16 && forced != "layers") {
    std::string why_not;
    runner = Bf16MlpRunner::create(*this, plan, &why_not);
    check(runner != nullptr || forced != "bf16", "LEAP_TRAINING_PATH=bf16: " + why_not);
  }
  check(runner != nullptr || forced != "bf16", "LEAP_TRAINING_PATH=bf16 needs --precision bf16");
  // 5. The layer graph: one multi-tensor Adam launch takes every parameter, two slots a layer.
  if (!runner && layer_graph) runner = std::make_unique<LayerStepRunner>(*this, plan);

  std::string why_not;
  auto note = [&](const std::string& reason) { why_not += (why_not.empty() ? "" : "; ") + reason; };
  if (!why_not_cluster.empty()) note("not the cluster kernel: " + why_not_cluster);
  if (!why_not_grid.empty()) note("not the whole-GPU kernel: " + why_not_grid);
  if (runner && !why_not.empty()) return std::make_unique<NotedRunner>(std::move(runner), why_not);
  if (!runner) {
    note(has_dropout(plan) ? "the CUDA graphs take no Dropout"
         : !adam_plan(plan) ? "the CUDA graphs know Adam only"
                            : "more layers than the layer graph's Adam launch takes");
    if (forced.empty() && why_not_grid.empty())  // it was not tried
      note("the whole-GPU kernel is taken only when asked (LEAP_TRAINING_PATH=grid)");
    *why_not_any = why_not;
  }
  return runner;
}

}  // namespace leap
