#include "cuda/graph_runner.h"

#include <tuple>

#include "cuda/cuda_backend.h"
#include "cuda/cuda_check.h"
#include "cuda/optimizer.h"
#include "cuda/runner_kernels.h"

namespace leap::cuda_detail {

// Steps captured in the larger graph: one graph launch costs a few microseconds of host
// time, so replaying several steps per launch keeps the GPU fed.
constexpr int kStepsPerGraph = 16;

GraphRunner::GraphRunner(CudaBackend& backend, const MlpEpochPlan& plan)
    : backend_(backend), plan_(plan), stream_(backend.stream()) {
  state_ = static_cast<RunnerState*>(backend_.allocate(sizeof(RunnerState)));
  inputs_ = static_cast<float*>(backend_.allocate(sizeof(float) * plan.batch * plan.layers[0].in));
  labels_ = static_cast<int32_t*>(backend_.allocate(sizeof(int32_t) * plan.batch));
  for (const MlpLayer& layer : plan.layers) {
    outputs_.push_back(static_cast<float*>(backend_.allocate(sizeof(float) * plan.batch * layer.out)));
    grads_.push_back(static_cast<float*>(backend_.allocate(sizeof(float) * plan.batch * layer.out)));
  }
}

GraphRunner::~GraphRunner() {
  // Destructors must not throw: failures here are ignored.
  if (one_step_) cudaGraphExecDestroy(one_step_);
  if (many_steps_) cudaGraphExecDestroy(many_steps_);
  cudaStreamSynchronize(stream_);
  for (float* p : outputs_) backend_.release(p);
  for (float* p : grads_) backend_.release(p);
  backend_.release(labels_);
  backend_.release(inputs_);
  backend_.release(state_);
}

std::string GraphRunner::describe() const {
  return "CUDA graph (the whole step captured once, " + std::to_string(kStepsPerGraph) +
         " steps replayed per launch)";
}

void GraphRunner::queue_step() {
  const int batch = plan_.batch;
  const int layers = int(plan_.layers.size());
  launch_gather_batch(state_, plan_.images, plan_.labels, inputs_, labels_, batch,
                      plan_.layers[0].in, stream_);
  const float* x = inputs_;
  for (int l = 0; l < layers; ++l) {
    const MlpLayer& layer = plan_.layers[l];
    backend_.linear_forward(x, layer.weight, layer.bias, outputs_[l], batch, layer.in, layer.out,
                            layer.relu);
    x = outputs_[l];
  }
  const MlpLayer& last = plan_.layers.back();
  backend_.cross_entropy(outputs_.back(), labels_, grads_.back(), &state_->loss_sum,
                         &state_->correct, batch, last.out);
  for (int l = layers - 1; l >= 0; --l) {
    const MlpLayer& layer = plan_.layers[l];
    const float* input = l > 0 ? outputs_[l - 1] : inputs_;
    float* grad_input = l > 0 ? grads_[l - 1] : nullptr;
    backend_.linear_backward(input, layer.weight, grads_[l], grad_input, layer.grad_weight,
                             layer.grad_bias, batch, layer.in, layer.out, false);
    if (l > 0 && plan_.layers[l - 1].relu)
      backend_.relu_backward(outputs_[l - 1], grads_[l - 1], size_t(batch) * layer.in);
  }
  SlotBatch slots{};
  size_t joined = 0;
  for (const MlpLayer& layer : plan_.layers) {
    const size_t weights = size_t(layer.in) * layer.out;
    for (auto [value, grad, m, v, count] :
         {std::tuple{layer.weight, layer.grad_weight, layer.exp_avg_weight, layer.exp_avg_sq_weight, weights},
          std::tuple{layer.bias, layer.grad_bias, layer.exp_avg_bias, layer.exp_avg_sq_bias, size_t(layer.out)}}) {
      const int s = slots.slots++;
      slots.value[s] = value;
      slots.grad[s] = grad;
      slots.state_a[s] = m;
      slots.state_b[s] = v;
      slots.start[s] = joined;
      joined += count;
    }
  }
  slots.start[slots.slots] = joined;
  const AdamScalars constants{0.0f, 1.0f, plan_.beta1, plan_.beta2, plan_.eps, plan_.weight_decay};
  launch_adam_counted(slots, constants, &state_->lr, &state_->adam_steps, stream_);
  launch_advance(state_, stream_);
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

std::unique_ptr<MlpEpochRunner> CudaBackend::plan_mlp_epoch(const MlpEpochPlan& plan) {
  // One multi-tensor Adam launch takes every parameter: two slots a layer.
  if (plan.layers.empty() || 2 * plan.layers.size() > size_t(cuda_detail::kMaxSlots)) return nullptr;
  return std::make_unique<cuda_detail::GraphRunner>(*this, plan);
}

}  // namespace leap
