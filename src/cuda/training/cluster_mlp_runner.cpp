#include "cuda/training/cluster_mlp_runner.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <utility>
#include <vector>

#include "cuda/kernels/cluster_mlp.h"
#include "cuda/cuda_backend.h"
#include "cuda/training/gathered_launch.h"
#include "cuda/training/mlp_plan_weights.h"
#include "leap/error.h"
#include "train/model_group.h"

namespace leap::cuda_detail {

std::unique_ptr<ClusterMlpRunner> ClusterMlpRunner::create(CudaBackend& backend,
                                                           const MlpEpochPlan& plan,
                                                           std::string* why_not) {
  if (plan.layers.size() != 2 || !plan.layers[0].relu || plan.layers[1].relu) {
    *why_not = "it takes Linear, ReLU, Linear only";
    return nullptr;
  }
  if (plan.precision == Precision::bf16) {
    *why_not = "it computes in fp32 or tf32, not bf16";
    return nullptr;
  }
  if (plan.soft_targets) {
    *why_not = "it knows cross-entropy only, not distillation";
    return nullptr;
  }
  if (has_dropout(plan)) {
    *why_not = "it draws no dropout masks";
    return nullptr;
  }
  if (!adam_plan(plan)) {
    *why_not = "it knows Adam only";
    return nullptr;
  }
  const int in = plan.layers[0].in;
  *why_not = cluster_mlp_rejection(plan.batch, in, plan.layers[0].out, plan.layers[1].out);
  if (!why_not->empty()) return nullptr;
  // Models trained side by side share one copy of the data they share.
  auto make = [&] { return byte_images_of(backend, plan, why_not); };
  ModelGroup* group = ModelGroup::current();
  Tensor byte_images = group ? group->shared_tensor(plan.images, in, make) : make();
  if (!byte_images.defined()) return nullptr;
  return std::unique_ptr<ClusterMlpRunner>(new ClusterMlpRunner(backend, plan, std::move(byte_images)));
}

// The kernel's copy of the data set, a byte a value (4 to an int32 element), or an undefined
// tensor with *why_not saying why there is none.
Tensor ClusterMlpRunner::byte_images_of(CudaBackend& backend, const MlpEpochPlan& plan, std::string* why_not) {
  const int64_t count = plan.samples * kClusterImageBytes;
  Tensor byte_images, inexact;
  try {  // a quarter more than the resident data set; without room, the next path runs
    byte_images = Tensor({(count + 3) / 4}, DType::int32, Device::cuda);
    inexact = Tensor({2}, DType::int32, Device::cuda);
  } catch (const OutOfMemory& error) {
    *why_not = "no GPU memory for its byte copy of the data (" + std::string(error.what()) + ")";
    return {};
  }
  const int64_t misses = make_byte_images(
      plan.images, plan.samples, plan.layers[0].in, reinterpret_cast<uint8_t*>(byte_images.labels()),
      reinterpret_cast<unsigned long long*>(inexact.labels()), backend.stream());
  if (misses > 0) {
    *why_not = std::to_string(misses) + " input values are not bytes / 255";
    return {};
  }
  return byte_images;
}

ClusterMlpRunner::ClusterMlpRunner(CudaBackend& backend, const MlpEpochPlan& plan, Tensor byte_images)
    : PersistentMlpRunner(plan), backend_(backend), byte_images_(std::move(byte_images)) {
  if (std::getenv("LEAP_PHASE_TIMING")) phase_cycles_ = Tensor::zeros({2 * kPhaseWords}, DType::int32, Device::cuda);
}

// With LEAP_PHASE_TIMING set, prints where a step's cycles go (three warps of the first block).
ClusterMlpRunner::~ClusterMlpRunner() {
  if (!phase_cycles_.defined() || steps_run_ == 0) return;
  const std::vector<int32_t> words = phase_cycles_.to_label_vector();
  std::vector<long long> cycles(kPhaseWords);
  std::memcpy(cycles.data(), words.data(), cycles.size() * sizeof(long long));
  const char* names[kPhases] = {"wait+load",    "forward mma", "barrier",     "warp sum+send", "wait shares",
                                "softmax+send", "wait grads",  "dh, dw2, db", "barrier",       "backward+adam"};
  std::fprintf(stderr, "cluster kernel, cycles a step (warp 0 | w2 warp | softmax warp), %lld steps:\n",
               (long long)steps_run_);
  for (int i = 0; i < kPhases; ++i)
    std::fprintf(stderr, "  %-18s %7.0f | %7.0f | %7.0f\n", names[i], double(cycles[i]) / steps_run_,
                 double(cycles[kPhases + i]) / steps_run_, double(cycles[2 * kPhases + i]) / steps_run_);
  const double ns = double(cycles[kTimers * kPhases]), loop_cycles = double(cycles[kTimers * kPhases + 1]);
  if (ns > 0)
    std::fprintf(stderr, "  in the kernels' loops: %.2f us a step at %.2f GHz\n", ns / 1e3 / steps_run_,
                 loop_cycles / ns);
  const char* barriers[kTimedBarriers] = {"after the forward", "after the gradients' uses"};
  for (int b = 0; b < kTimedBarriers; ++b) {
    std::fprintf(stderr, "  cycles each warp reaches the barrier %s behind the first:", barriers[b]);
    for (int w = 0; w < kMaxTimedWarps; ++w) {
      const long long late = cycles[kTimers * kPhases + 2 + b * kMaxTimedWarps + w];
      if (late) std::fprintf(stderr, " %d:%.0f", w, double(late) / steps_run_);
    }
    std::fprintf(stderr, "\n");
  }
}

std::string ClusterMlpRunner::describe() const {
  return "one persistent kernel: a cluster of " + std::to_string(plan_.layers[0].out / 8) +
         " thread blocks, weights and Adam moments on chip, inputs read as bytes, products to fp32 accuracy on "
         "fp16 tensor cores (each operand scaled and split into high + low halves; tf32 gets the same), fp32 "
         "master weights";
}

void ClusterMlpRunner::launch(const int32_t* order, int64_t first_batch, int64_t steps, int batch,
                              int64_t adam_step, float lr, double* loss_sum, int64_t* correct) {
  const MlpLayer& hidden = plan_.layers[0];
  const MlpLayer& output = plan_.layers[1];
  ClusterMlpArgs args{reinterpret_cast<const uint8_t*>(byte_images_.labels()),
                      plan_.labels,
                      {order, first_batch, steps, adam_step, lr},
                      mlp_weights(plan_),
                      loss_sum,
                      correct,
                      batch,
                      hidden.in,
                      hidden.out,
                      output.out,
                      {0.0f, 1.0f, plan_.beta1, plan_.beta2, plan_.eps, plan_.weight_decay},
                      phase_cycles_.defined() ? reinterpret_cast<long long*>(phase_cycles_.labels()) : nullptr};
  steps_run_ += steps;
  // Trained beside other models: one launch for them all, a cluster a model.
  launch_or_gather(backend_, {&args, {}});
}

}  // namespace leap::cuda_detail
