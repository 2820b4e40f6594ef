#include <cstdlib>
#include <string>

#include "cuda/cluster_mlp.h"
#include "cuda/cuda_backend.h"
#include "cuda/fused_mlp.h"
#include "cuda/graph_runner.h"
#include "cuda/mlp_plan_weights.h"

namespace leap::cuda_detail {
namespace {

// On unless the variable is "0" (the benchmark compares both in one run).
bool enabled(const char* variable) {
  const char* setting = std::getenv(variable);
  return !setting || std::string(setting) != "0";
}

// The data set as bytes u with images == u / 255 exactly (8-bit pixels scaled as leap reads
// them), or an undefined tensor when some value is not of that form. LEAP_BYTE_INPUTS=0
// keeps the fp32 data.
Tensor byte_copy(const MlpEpochPlan& plan, cudaStream_t stream) {
  if (!enabled("LEAP_BYTE_INPUTS")) return Tensor();
  const int64_t count = plan.samples * plan.layers[0].in;
  Tensor bytes({(count + 3) / 4}, DType::int32, Device::cuda);
  Tensor inexact({2}, DType::int32, Device::cuda);
  const int64_t misses = make_byte_images(plan.images, count, reinterpret_cast<uint8_t*>(bytes.labels()),
                                          reinterpret_cast<unsigned long long*>(inexact.labels()), stream);
  return misses == 0 ? bytes : Tensor();
}

}  // namespace

bool fused_mlp_fits(const MlpEpochPlan& plan) {
  if (plan.layers.size() != 2 || !plan.layers[0].relu || plan.layers[1].relu) return false;
  return fused_mlp_supports(plan.batch, plan.layers[0].in, plan.layers[0].out, plan.layers[1].out);
}

FusedMlpRunner::FusedMlpRunner(CudaBackend& backend, const MlpEpochPlan& plan)
    : GraphRunner(backend, plan),
      hidden_({plan.batch, plan.layers[0].out}, DType::float32, Device::cuda),
      grad_hidden_({plan.batch, plan.layers[0].out}, DType::float32, Device::cuda),
      grad_logits_({plan.batch, plan.layers[1].out}, DType::float32, Device::cuda),
      row_loss_({plan.batch}, DType::float32, Device::cuda),
      row_correct_({plan.batch}, DType::int32, Device::cuda),
      blocks_done_(Tensor::zeros({1}, DType::int32, Device::cuda)),
      byte_images_(byte_copy(plan, backend.stream())) {}

std::string FusedMlpRunner::describe() const {
  return std::string("CUDA graph of the fused step (3 wide kernels a step, fp32, ") +
         (byte_images_.defined() ? "byte inputs, " : "fp32 inputs, ") +
         (plan_.soft_targets ? "distillation loss; " : "cross-entropy; ") +
         std::to_string(kStepsPerGraph) + " steps replayed per launch)";
}

void FusedMlpRunner::queue_step() {
  const MlpLayer& hidden = plan_.layers[0];
  const MlpLayer& output = plan_.layers[1];
  FusedMlpArgs args{state_,
                    plan_.images,
                    plan_.labels,
                    mlp_weights(plan_),
                    hidden_.data(),
                    grad_hidden_.data(),
                    grad_logits_.data(),
                    row_loss_.data(),
                    row_correct_.labels(),
                    reinterpret_cast<unsigned*>(blocks_done_.labels()),
                    plan_.batch,
                    hidden.in,
                    hidden.out,
                    output.out,
                    {0.0f, 1.0f, plan_.beta1, plan_.beta2, plan_.eps, plan_.weight_decay},
                    plan_.soft_targets,
                    plan_.temperature,
                    plan_.alpha,
                    plan_.samples,
                    enabled("LEAP_PREFETCH"),
                    byte_images_.defined() ? reinterpret_cast<const uint8_t*>(byte_images_.labels()) : nullptr};
  launch_fused_mlp_step(args, stream_);
}

}  // namespace leap::cuda_detail
