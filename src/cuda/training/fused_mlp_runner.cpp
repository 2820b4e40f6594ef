#include <cstdlib>
#include <string>

#include "cuda/cuda_backend.h"
#include "cuda/kernels/fused_mlp.h"
#include "cuda/training/fused_mlp_runner.h"
#include "cuda/training/mlp_plan_weights.h"

namespace leap::cuda_detail {
namespace {

// On unless LEAP_PREFETCH=0 (the benchmark compares both in one run).
bool prefetch_next_batch() {
  const char* setting = std::getenv("LEAP_PREFETCH");
  return !setting || std::string(setting) != "0";
}

}  // namespace

bool FusedMlpRunner::fits(const MlpEpochPlan& plan) {
  if (plan.layers.size() != 2 || !plan.layers[0].relu || plan.layers[1].relu || has_dropout(plan) || !adam_plan(plan))
    return false;
  return fused_mlp_supports(plan.batch, plan.layers[0].in, plan.layers[0].out, plan.layers[1].out);
}

FusedMlpRunner::FusedMlpRunner(CudaBackend& backend, const MlpEpochPlan& plan)
    : GraphRunner(backend, plan),
      hidden_({plan.batch, plan.layers[0].out}, DType::float32, Device::cuda),
      grad_hidden_({plan.batch, plan.layers[0].out}, DType::float32, Device::cuda),
      grad_logits_({plan.batch, plan.layers[1].out}, DType::float32, Device::cuda),
      row_loss_({plan.batch}, DType::float32, Device::cuda),
      row_correct_({plan.batch}, DType::int32, Device::cuda),
      blocks_done_(Tensor::zeros({1}, DType::int32, Device::cuda)) {}

std::string FusedMlpRunner::describe() const {
  const std::string arithmetic = plan_.precision == Precision::fp32
                                     ? "fp32"
                                     : "fp32 FMA on " + to_string(plan_.precision) + "-rounded operands";
  return "CUDA graph of the fused step (3 wide kernels a step, " + arithmetic + ", " +
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
                    prefetch_next_batch(),
                    plan_.precision};
  launch_fused_mlp_step(args, stream_);
}

}  // namespace leap::cuda_detail
