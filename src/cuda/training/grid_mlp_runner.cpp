#include "cuda/training/grid_mlp_runner.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <utility>

#include "cuda/cuda_backend.h"
#include "cuda/kernels/grid_mlp.h"
#include "leap/dropout.h"

namespace leap::cuda_detail {

std::unique_ptr<GridMlpRunner> GridMlpRunner::create(CudaBackend& backend, const MlpEpochPlan& plan,
                                                     std::string* why_not) {
  const size_t depth = plan.layers.size();
  for (size_t l = 0; l < depth; ++l)
    if (plan.layers[l].relu != (l + 1 < depth)) {
      *why_not = "it takes Linear layers with a ReLU after each but the last";
      return nullptr;
    }
  if (plan.precision == Precision::bf16) {
    *why_not = "it computes in fp32, not bf16";
    return nullptr;
  }
  std::vector<int> widths;
  for (const MlpLayer& layer : plan.layers) widths.push_back(layer.in);
  if (depth > 0) widths.push_back(plan.layers.back().out);
  *why_not = grid_mlp_rejection(widths.data(), int(depth), plan.batch);
  if (!why_not->empty()) return nullptr;
  return std::unique_ptr<GridMlpRunner>(new GridMlpRunner(backend, plan));
}

GridMlpRunner::GridMlpRunner(CudaBackend& backend, const MlpEpochPlan& plan)
    : PersistentMlpRunner(plan),
      backend_(backend),
      row_loss_({plan.batch}, DType::float32, Device::cuda),
      row_correct_({plan.batch}, DType::int32, Device::cuda),
      barrier_(Tensor::zeros({1}, DType::int32, Device::cuda)) {
  if (std::getenv("LEAP_PHASE_TIMING")) phase_ns_ = Tensor::zeros({4 * kGridMaxLayers}, DType::int32, Device::cuda);
  activations_.emplace_back();  // layer 0's input is the data set's rows
  gradients_.emplace_back();
  for (const MlpLayer& layer : plan.layers) {
    activations_.emplace_back(std::vector<int64_t>{plan.batch, layer.out}, DType::float32, Device::cuda);
    gradients_.emplace_back(std::vector<int64_t>{plan.batch, layer.out}, DType::float32, Device::cuda);
  }
}

// With LEAP_PHASE_TIMING set, prints block 0's time in each phase of a step.
GridMlpRunner::~GridMlpRunner() {
  if (!phase_ns_.defined() || steps_run_ == 0) return;
  const std::vector<int32_t> words = phase_ns_.to_label_vector();
  std::vector<long long> ns(2 * kGridMaxLayers);
  std::memcpy(ns.data(), words.data(), ns.size() * sizeof(long long));
  const int depth = int(plan_.layers.size());
  std::fprintf(stderr, "whole-GPU kernel, us a step in each phase (its barrier included), %lld steps:\n",
               (long long)steps_run_);
  double total = 0;
  for (int p = 0; p < 2 * depth; ++p) {
    const double us = double(ns[p]) / 1e3 / double(steps_run_);
    total += us;
    std::fprintf(stderr, "  %s %d: %.2f\n", p < depth ? "forward layer" : "backward layer",
                 p < depth ? p : 2 * depth - 1 - p, us);
  }
  std::fprintf(stderr, "  a step: %.2f\n", total);
}

std::string GridMlpRunner::describe() const {
  return "one persistent kernel over the whole GPU: " + std::to_string(grid_mlp_blocks()) + " thread blocks, " +
         std::to_string(2 * plan_.layers.size()) +
         " phases a step between grid-wide barriers, weights and optimizer state in L2, fp32 FMA products, " +
         (plan_.sgd ? "SGD, " : "Adam, ") + (plan_.soft_targets ? "distillation loss" : "cross-entropy");
}

void GridMlpRunner::launch(const int32_t* order, int64_t first_batch, int64_t steps, int batch, int64_t adam_step,
                           float lr, double* loss_sum, int64_t* correct) {
  GridMlpArgs args{};
  args.images = plan_.images;
  args.labels = plan_.labels;
  args.run = {order, first_batch, steps, adam_step, lr};
  args.adam = {0.0f, 1.0f, plan_.beta1, plan_.beta2, plan_.eps, plan_.weight_decay};
  args.sgd = plan_.sgd;
  args.nesterov = plan_.nesterov;
  args.momentum = plan_.momentum;
  args.dampening = plan_.dampening;
  const char* copies = std::getenv("LEAP_GRID_COPIES");
  args.async_copies = copies && std::string(copies) == "async";
  args.depth = int(plan_.layers.size());
  args.batch = batch;
  for (int l = 0; l < args.depth; ++l) {
    const MlpLayer& layer = plan_.layers[l];
    args.layers[l] = {layer.weight,
                      layer.bias,
                      layer.exp_avg_weight,
                      layer.exp_avg_sq_weight,
                      layer.exp_avg_bias,
                      layer.exp_avg_sq_bias,
                      layer.in,
                      layer.out,
                      layer.dropout ? layer.dropout->p() : 0.0f,
                      layer.dropout ? layer.dropout->key_base() : 0,
                      layer.dropout ? layer.dropout->calls() : 0};
    if (l > 0) args.activations[l] = activations_[l].data();
    args.gradients[l + 1] = gradients_[l + 1].data();
  }
  args.row_loss = row_loss_.data();
  args.row_correct = row_correct_.labels();
  args.barrier = reinterpret_cast<unsigned*>(barrier_.labels());
  args.soft_targets = plan_.soft_targets;
  args.temperature = plan_.temperature;
  args.alpha = plan_.alpha;
  args.loss_sum = loss_sum;
  args.correct = correct;
  args.phase_ns = phase_ns_.defined() ? reinterpret_cast<long long*>(phase_ns_.labels()) : nullptr;
  steps_run_ += steps;
  launch_grid_mlp(args, backend_.stream());
}

}  // namespace leap::cuda_detail
