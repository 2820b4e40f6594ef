#include "cpu/fused_mlp_step.h"

#include <omp.h>

#include <algorithm>
#include <chrono>
#include <utility>
#include <vector>

#include "cpu/mlp_step_kernels.h"
#include "leap/dropout.h"
#include "leap/dropout_mask.h"
#include "leap/error.h"

namespace leap {
namespace {

using cpu_detail::UpdateRule;
using cpu_detail::MlpStepKernels;

// [begin, end) of thread `thread`'s share of `count` items, cut at multiples of `granule`.
std::pair<int, int> share(int count, int granule, int thread, int threads) {
  const int blocks = (count + granule - 1) / granule;
  const int first = int(int64_t(blocks) * thread / threads), last = int(int64_t(blocks) * (thread + 1) / threads);
  return {std::min(first * granule, count), std::min(last * granule, count)};
}

// The number of threads a step runs on: one or all, whichever has measured faster (the bits
// are the same either way). On a machine that other work loads, a team that meets at 5
// barriers a step waits out the scheduler at each (measured on 2 busy cores: 17 ms a step on
// 2 threads against 0.7 ms on 1), so the choice is measured rather than assumed. The other
// size is tried again after a wait that doubles each time it loses (64 calls to 8192), for two
// calls: the first call on a new team size is not counted, since it pays for waking threads
// and moving the weights into their caches (measured: 1.7 ms a step on the first call with 2
// threads, 0.16 ms after, 0.25 ms on 1; counted, it had kept the team at 1 thread).
class TeamSize {
 public:
  explicit TeamSize(int most) : most_(std::max(most, 1)) {}
  int most() const { return most_; }
  // The team for the next call; `counted`: whether record() will time it (a partial batch is
  // not timed, so it runs on the last call's team and neither starts nor uses up a probe).
  int choose(bool counted) {
    if (most_ == 1) return 1;
    if (!counted) return last_team_ > 0 ? last_team_ : 1;
    if (probe_calls_left_ > 0) {
      --probe_calls_left_;
      return probe_;
    }
    const int best = faster(most_) ? most_ : 1, other = best == 1 ? most_ : 1;
    if (seconds(other) == 0 || ++since_probe_ >= wait_) {
      since_probe_ = 0;
      probe_ = other;
      probe_calls_left_ = 1;  // this call, not counted, and the next
      return other;
    }
    return best;
  }
  // A step's seconds on `team` threads: the first counted call after a change of team size
  // starts its figure afresh (an older one was taken in another state of the machine, at the
  // start of a run still warming up), the calls after it go into a running average. The
  // first call after the change is not counted.
  void record(int team, double step_seconds) {
    if (team != last_team_) {
      last_team_ = team;
      fresh_ = true;
      return;
    }
    const bool was_faster = faster(team);
    double& average = team == 1 ? one_ : all_;
    const bool probe = average != 0 && !was_faster;
    average = fresh_ ? step_seconds : 0.5 * average + 0.5 * step_seconds;
    fresh_ = false;
    if (probe) wait_ = faster(team) ? kFirstWait : std::min(2 * wait_, kLongestWait);
  }

 private:
  static constexpr int64_t kFirstWait = 64, kLongestWait = 8192;
  double seconds(int team) const { return team == 1 ? one_ : all_; }
  bool faster(int team) const {
    const double mine = seconds(team), theirs = seconds(team == 1 ? most_ : 1);
    return mine != 0 && (theirs == 0 || mine < theirs);
  }
  const int most_;
  int probe_ = 1, probe_calls_left_ = 0, last_team_ = 0;
  bool fresh_ = false;
  int64_t since_probe_ = 0, wait_ = kFirstWait;
  double one_ = 0, all_ = 0;  // average seconds a step on one thread and on most_; 0 until measured
};

class FusedMlpStep final : public MlpEpochRunner {
 public:
  explicit FusedMlpStep(const MlpEpochPlan& plan)
      : plan_(plan), kernels_(cpu_detail::best_step_kernels()), layers_(plan.layers.size()) {
    for (size_t l = 0; l < layers_; ++l) {
      // The logits stay dense: the loss functions read them so.
      stride_.push_back(l + 1 < layers_ ? cpu_detail::padded_row_floats(plan.layers[l].out) : plan.layers[l].out);
      activations_.emplace_back(size_t(plan.batch) * stride_[l]);
      gradients_.emplace_back(size_t(plan.batch) * stride_[l]);
      rows_.emplace_back(plan.batch);
      if (l > 0)
        for (int b = 0; b < plan.batch; ++b) rows_[l][b] = activations_[l - 1].data() + size_t(b) * stride_[l - 1];
    }
    labels_.resize(plan.batch);
    if (plan.soft_targets) soft_targets_.resize(size_t(plan.batch) * classes());
  }

  void run(const int32_t* order, int64_t first_batch, int64_t steps, int64_t adam_step, float lr, double* loss_sum,
           int64_t* correct) override {
    run_steps(order + first_batch * plan_.batch, plan_.batch, steps, adam_step, lr, loss_sum, correct);
  }

  bool run_partial_batch(const int32_t* order, int64_t first_row, int64_t rows, int64_t adam_step, float lr,
                         double* loss_sum, int64_t* correct) override {
    run_steps(order + first_row, int(rows), 1, adam_step, lr, loss_sum, correct);
    return true;
  }

  // One step a call: the trainer then checks each step's loss, so that a NaN stops training
  // naming its step, as the layer-by-layer path does (a team's start costs about a microsecond).
  int64_t chunk_steps() const override { return 1; }

  std::string describe() const override {
    const std::string threads = team_.most() == 1 ? "1 thread" : "1 or " + std::to_string(team_.most()) + " threads, as measured faster";
    return std::string("fused CPU step (") + kernels_.name + ", " + threads + ", forward, backward" +
           (has_dropout(plan_) ? ", dropout" : "") + (plan_.sgd ? " and SGD" : " and Adam") + " of a batch in one pass, " +
           std::to_string(2 * layers_ + 1) + " barriers a step)";
  }

 private:
  int classes() const { return plan_.layers.back().out; }

  // `steps` batches of `rows` samples, batch k at order[k * rows ...], on one team of threads.
  void run_steps(const int32_t* order, int rows, int64_t steps, int64_t adam_step, float lr, double* loss_sum,
                 int64_t* correct) {
    const int team = team_.choose(rows == plan_.batch);
    const auto start = std::chrono::steady_clock::now();
#pragma omp parallel num_threads(team)
    {
      const int thread = omp_get_thread_num(), threads = omp_get_num_threads();
      std::vector<const float*> inputs(rows);
      for (int64_t k = 0; k < steps; ++k) {
        const int32_t* batch_order = order + k * rows;
        for (int b = 0; b < rows; ++b) inputs[b] = plan_.images + size_t(batch_order[b]) * plan_.layers[0].in;
        step(inputs.data(), batch_order, rows, update_rule(lr, adam_step + k), k, loss_sum, correct, thread, threads);
      }
    }
    if (rows == plan_.batch)
      team_.record(team, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() / steps);
  }

  // The optimizer's rule for the step after `steps_before` steps of the run's optimizer.
  UpdateRule update_rule(float lr, int64_t steps_before) const {
    if (plan_.sgd)
      return {.sgd = true,
              .sgd_step = {lr, plan_.momentum, plan_.dampening, plan_.weight_decay, plan_.nesterov, steps_before == 0}};
    return {.adam = cpu_detail::adam_step(lr, plan_.beta1, plan_.beta2, plan_.eps, plan_.weight_decay, steps_before + 1)};
  }

  // One step; every thread of the team calls it, each taking its share of every phase.
  void step(const float* const* inputs, const int32_t* order, int rows, const UpdateRule& rule, int64_t k,
            double* loss_sum, int64_t* correct, int thread, int threads) {
    auto layer_inputs = [&](size_t l) { return l == 0 ? inputs : rows_[l].data(); };
    for (size_t l = 0; l < layers_; ++l) {
      const MlpLayer& layer = plan_.layers[l];
      // Split the outputs where they are many, else the rows.
      auto [j0, j1] = layer.out >= 12 * threads ? share(layer.out, 6, thread, threads) : std::pair{0, layer.out};
      auto [b0, b1] = layer.out >= 12 * threads ? std::pair{0, rows} : share(rows, 4, thread, threads);
      if (j0 < j1 && b0 < b1) {
        kernels_.forward(layer_inputs(l), layer.weight, layer.bias, activations_[l].data(), stride_[l], layer.in,
                         layer.relu, b0, b1, j0, j1);
        if (layer.dropout) drop(l, k, b0, b1, j0, j1);
      }
#pragma omp barrier
    }
    if (thread == 0) loss(order, rows, loss_sum, correct);
#pragma omp barrier
    // The input gradients go down the layers one phase each (each needs the weights above it
    // before their update); a layer's update runs in the phase after its input gradient.
    for (size_t l = layers_ - 1; l >= 1; --l) {
      input_gradient(l, rows, thread, threads);
      if (l + 1 < layers_) weight_update(l + 1, layer_inputs(l + 1), rows, rule, thread, threads);
#pragma omp barrier
    }
    if (layers_ > 1) weight_update(1, layer_inputs(1), rows, rule, thread, threads);
    weight_update(0, inputs, rows, rule, thread, threads);
#pragma omp barrier
  }

  // Loss and its gradient over the logits, by the backend's own loss functions (one thread:
  // the loss sum is taken in row order).
  void loss(const int32_t* order, int rows, double* loss_sum, int64_t* correct) {
    const int c = classes();
    for (int b = 0; b < rows; ++b) labels_[b] = plan_.labels[order[b]];
    Backend& cpu = backend(Device::cpu);
    if (plan_.soft_targets) {
      for (int b = 0; b < rows; ++b)
        std::copy_n(plan_.soft_targets + size_t(order[b]) * c, c, soft_targets_.data() + size_t(b) * c);
      cpu.distillation_loss(activations_.back().data(), soft_targets_.data(), labels_.data(), gradients_.back().data(),
                            loss_sum, correct, rows, c, plan_.temperature, plan_.alpha);
    } else {
      cpu.cross_entropy(activations_.back().data(), labels_.data(), gradients_.back().data(), loss_sum, correct,
                        rows, c);
    }
  }

  // Layer l's Dropout on its outputs [b0, b1) x [j0, j1) in step k of the run: the mask the
  // layer itself draws (dropout_mask.h), mask calls() + k + 1 of its sequence.
  void drop(size_t l, int64_t k, int b0, int b1, int j0, int j1) {
    const Dropout& dropout = *plan_.layers[l].dropout;
    const uint64_t key = dropout_key(dropout.key_base(), dropout.calls() + uint64_t(k) + 1);
    const float p = dropout.p(), scale = dropout_scale(p);
    const int out = plan_.layers[l].out;
    float* y = activations_[l].data();
    for (int b = b0; b < b1; ++b)
      for (int j = j0; j < j1; ++j) {
        const size_t i = size_t(b) * out + j;  // the element's index in the layer's dense output
        float& e = y[size_t(b) * stride_[l] + j];
        e = dropout_apply(e, key, i, p, scale);
      }
  }

  // gradients_[l - 1] from gradients_[l], through layer l's weights and layer l - 1's ReLU
  // (and Dropout: the kept elements, those the ReLU's mask lets through, scaled as going forward).
  void input_gradient(size_t l, int rows, int thread, int threads) {
    const MlpLayer& layer = plan_.layers[l];
    const bool by_rows = rows >= 8 * threads;
    auto [b0, b1] = by_rows ? share(rows, 4, thread, threads) : std::pair{0, rows};
    auto [k0, k1] = by_rows ? std::pair{0, layer.in} : share(layer.in, 16, thread, threads);
    if (b0 < b1 && k0 < k1) {
      kernels_.input_gradient(gradients_[l].data(), stride_[l], layer.weight,
                              plan_.layers[l - 1].relu ? activations_[l - 1].data() : nullptr, gradients_[l - 1].data(),
                              stride_[l - 1], layer.in, layer.out, b0, b1, k0, k1);
      if (const Dropout* dropout = plan_.layers[l - 1].dropout) {
        const float scale = dropout_scale(dropout->p());
        float* dx = gradients_[l - 1].data();
        for (int b = b0; b < b1; ++b)
          for (int k = k0; k < k1; ++k) dx[size_t(b) * stride_[l - 1] + k] *= scale;
      }
    }
  }

  void weight_update(size_t l, const float* const* x, int rows, const UpdateRule& rule, int thread, int threads) {
    auto [j0, j1] = share(plan_.layers[l].out, 4, thread, threads);
    if (j0 < j1) kernels_.weight_update(gradients_[l].data(), stride_[l], x, rows, plan_.layers[l], rule, j0, j1);
  }

  const MlpEpochPlan plan_;
  const MlpStepKernels& kernels_;
  TeamSize team_{omp_get_max_threads()};
  const size_t layers_;
  std::vector<int> stride_;                      // each layer's row stride in activations_ and gradients_
  std::vector<std::vector<float>> activations_;  // each layer's output [batch, out], after its ReLU
  std::vector<std::vector<float>> gradients_;    // the loss's gradient over each layer's output
  std::vector<std::vector<const float*>> rows_;  // layer l's input rows (l > 0): activations_[l - 1]
  std::vector<int32_t> labels_;
  std::vector<float> soft_targets_;
};

}  // namespace

std::unique_ptr<MlpEpochRunner> plan_fused_cpu_step(const MlpEpochPlan& plan, std::string* why_not) {
  if (plan.precision != Precision::fp32) {
    *why_not = "it computes in fp32 only, not " + to_string(plan.precision);
    return nullptr;
  }
  return std::make_unique<FusedMlpStep>(plan);
}

}  // namespace leap
