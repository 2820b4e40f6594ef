#include "cuda/cuda_backend.h"
#include "cuda/training/layer_step_runner.h"
#include "cuda/kernels/optimizer.h"

namespace leap::cuda_detail {

LayerStepRunner::LayerStepRunner(CudaBackend& backend, const MlpEpochPlan& plan)
    : GraphRunner(backend, plan),
      inputs_({plan.batch, plan.layers[0].in}, DType::float32, Device::cuda),
      labels_({plan.batch}, DType::int32, Device::cuda) {
  if (plan.soft_targets)
    soft_targets_ = Tensor({plan.batch, plan.layers.back().out}, DType::float32, Device::cuda);
  for (const MlpLayer& layer : plan.layers) {
    outputs_.emplace_back(Shape{plan.batch, layer.out}, DType::float32, Device::cuda);
    grads_.emplace_back(Shape{plan.batch, layer.out}, DType::float32, Device::cuda);
  }
}

std::string LayerStepRunner::describe() const {
  return "CUDA graph of layer calls (cuBLASLt " + to_string(plan_.precision) + " products; " +
         std::to_string(kStepsPerGraph) + " steps replayed per launch)";
}

void LayerStepRunner::queue_step() {
  const int batch = plan_.batch;
  const int layers = int(plan_.layers.size());
  const MlpLayer& last = plan_.layers.back();
  launch_gather_batch(state_, plan_.images, plan_.labels, inputs_.data(), labels_.labels(), batch,
                      plan_.layers[0].in, stream_);
  if (plan_.soft_targets)
    launch_gather_rows(state_, plan_.soft_targets, soft_targets_.data(), batch, last.out, stream_);
  const float* x = inputs_.data();
  for (int l = 0; l < layers; ++l) {
    const MlpLayer& layer = plan_.layers[l];
    backend_.linear_forward(x, layer.weight, layer.bias, outputs_[l].data(), batch, layer.in,
                            layer.out, layer.relu, plan_.precision);
    x = outputs_[l].data();
  }
  if (plan_.soft_targets)
    backend_.distillation_loss(outputs_.back().data(), soft_targets_.data(), labels_.labels(),
                               grads_.back().data(), &state_->loss_sum, &state_->correct, batch,
                               last.out, plan_.temperature, plan_.alpha);
  else
    backend_.cross_entropy(outputs_.back().data(), labels_.labels(), grads_.back().data(),
                           &state_->loss_sum, &state_->correct, batch, last.out);
  for (int l = layers - 1; l >= 0; --l) {
    const MlpLayer& layer = plan_.layers[l];
    const float* input = l > 0 ? outputs_[l - 1].data() : inputs_.data();
    float* grad_input = l > 0 ? grads_[l - 1].data() : nullptr;
    backend_.linear_backward(input, layer.weight, grads_[l].data(), grad_input, layer.grad_weight,
                             layer.grad_bias, batch, layer.in, layer.out, false, plan_.precision);
    if (l > 0 && plan_.layers[l - 1].relu)
      backend_.relu_backward(outputs_[l - 1].data(), grads_[l - 1].data(), size_t(batch) * layer.in);
  }
  SlotBatch slots{};
  for (const MlpLayer& layer : plan_.layers) {
    slots.add(layer.weight, layer.grad_weight, layer.exp_avg_weight, layer.exp_avg_sq_weight,
              size_t(layer.in) * layer.out);
    slots.add(layer.bias, layer.grad_bias, layer.exp_avg_bias, layer.exp_avg_sq_bias, size_t(layer.out));
  }
  const AdamScalars constants{0.0f, 1.0f, plan_.beta1, plan_.beta2, plan_.eps, plan_.weight_decay};
  launch_adam_counted(slots, constants, &state_->lr, &state_->adam_steps, stream_);
  launch_advance(state_, stream_);
}

}  // namespace leap::cuda_detail
