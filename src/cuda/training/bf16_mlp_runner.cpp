#include "cuda/training/bf16_mlp_runner.h"

#include <algorithm>
#include <cstdlib>

#include "cuda/kernels/bf16_convert.h"
#include "cuda/kernels/bias_grad.h"
#include "cuda/kernels/cross_entropy.h"
#include "cuda/cuda_backend.h"
#include "cuda/cuda_check.h"
#include "cuda/kernels/relu_grad_bf16.h"
#include "cuda/kernels/runner_kernels.h"

namespace leap::cuda_detail {
namespace {

int round_up(int value, int multiple) { return (value + multiple - 1) / multiple * multiple; }

// cuBLASLt's ReLU bit mask: a leading dimension in bits, a multiple of 128.
int64_t mask_stride(int rows) { return round_up(rows, 128); }

const char* relu_gradient_name(ReluGradient mode) {
  switch (mode) {
    case ReluGradient::drelu_bgrad: return "drelu_bgrad";
    case ReluGradient::drelu_bgradb: return "drelu_bgradb";
    case ReluGradient::kernel: return "kernel";
  }
  return "?";
}

// The modes to try, the asked-for or the default first, then the others in order. leap's
// kernel first: cuBLASLt runs its DRELU and BGRAD epilogues for bf16 as kernels of their own
// after the product (0.8 ms for a 16384 x 8192 gradient on an H100, against 0.3 for leap's
// one pass); measured per step: 19.5 ms (kernel), 21.3 (drelu_bgrad), 21.7 (drelu_bgradb) at
// width 8192, batch 16384; 3.49, 3.85, 4.01 ms at width 4096, batch 8192 (2026-11-24).
// The epilogues run only when LEAP_BF16_RELU names one: on an H100 their results differ from
// the exact ones by more than bf16 rounding (tests/cuda/test_bf16_kernels.cpp prints by how
// much), so leap's kernel is the only mode it picks by itself.
std::vector<ReluGradient> relu_gradient_order() {
  const char* asked = std::getenv("LEAP_BF16_RELU");
  for (ReluGradient mode : {ReluGradient::drelu_bgrad, ReluGradient::drelu_bgradb})
    if (asked && std::string(asked) == relu_gradient_name(mode)) return {mode, ReluGradient::kernel};
  return {ReluGradient::kernel};
}

}  // namespace

std::unique_ptr<MlpEpochRunner> Bf16MlpRunner::create(CudaBackend& backend,
                                                      const MlpEpochPlan& plan,
                                                      std::string* why_not) {
  const size_t count = plan.layers.size();
  if (has_dropout(plan) || !adam_plan(plan)) {
    *why_not = "the bf16 step takes Adam without dropout";
    return nullptr;
  }
  if (count < 2 || 2 * count > size_t(kMaxSlots)) {
    *why_not = "the bf16 step takes 2 to " + std::to_string(kMaxSlots / 2) + " Linear layers";
    return nullptr;
  }
  // 16-byte rows of bf16 for the tensor-core kernels; the logits are padded separately.
  bool aligned = plan.layers[0].in % 8 == 0;
  for (size_t l = 0; l + 1 < count; ++l) aligned = aligned && plan.layers[l].out % 8 == 0;
  if (!aligned) {
    *why_not = "the bf16 step needs the input and hidden widths to be multiples of 8";
    return nullptr;
  }
  // cuBLASLt answers per shape; where an epilogue has no algorithm, the next mode is tried.
  for (ReluGradient mode : relu_gradient_order()) {
    std::unique_ptr<Bf16MlpRunner> runner(new Bf16MlpRunner(backend, plan, mode));
    if (runner->all_supported()) return runner;
  }
  *why_not = "cuBLASLt has no bf16 algorithm for these shapes";
  return nullptr;
}

bool Bf16MlpRunner::all_supported() {
  for (int l = 0; l < int(layers_.size()); ++l)
    if (!matmul_.supports(forward_shape(l)) || !matmul_.supports(weight_grad_shape(l)) ||
        (l > 0 && !matmul_.supports(input_grad_shape(l))))
      return false;
  return true;
}

Bf16MlpRunner::Bf16MlpRunner(CudaBackend& backend, const MlpEpochPlan& plan, ReluGradient relu_gradient)
    : GraphRunner(backend, plan), matmul_(backend.matmul()), relu_gradient_(relu_gradient),
      padded_classes_(round_up(plan.layers.back().out, 16)),
      inputs_(size_t(plan.batch) * plan.layers[0].in),
      logit_grads_bf16_(size_t(plan.batch) * padded_classes_),
      labels_({plan.batch}, DType::int32, Device::cuda),
      logits_({plan.batch, plan.layers.back().out}, DType::float32, Device::cuda),
      logit_grads_({plan.batch, plan.layers.back().out}, DType::float32, Device::cuda) {
  const size_t batch = size_t(plan.batch);
  const bool masks = relu_gradient_ != ReluGradient::kernel;
  int widest = 0;
  for (int l = 0; l < int(plan.layers.size()); ++l) {
    const MlpLayer& fp32 = plan.layers[l];
    const size_t rows = hidden(l) ? fp32.out : padded_classes_;
    Layer layer;
    layer.weight = DeviceBuffer<__nv_bfloat16>(rows * fp32.in);
    layer.grad_weight = DeviceBuffer<__nv_bfloat16>(rows * fp32.in);
    if (hidden(l)) {
      layer.bias = DeviceBuffer<__nv_bfloat16>(fp32.out);
      layer.grad_bias = DeviceBuffer<__nv_bfloat16>(fp32.out);
      layer.output = DeviceBuffer<__nv_bfloat16>(batch * fp32.out);
      layer.grad_output = DeviceBuffer<__nv_bfloat16>(batch * fp32.out);
      if (masks) layer.relu_mask = DeviceBuffer<unsigned char>(mask_stride(fp32.out) / 8 * batch);
      widest = std::max(widest, fp32.out);
    } else {
      // The padding rows of the output layer's copy stay zero; Adam writes the others.
      LEAP_CUDA_CHECK(cudaMemsetAsync(layer.weight.data(), 0, rows * fp32.in * 2, stream_));
    }
    layers_.push_back(std::move(layer));
  }
  if (!masks) relu_grad_partials_ = DeviceBuffer<float>(size_t(relu_grad_partials(plan.batch)) * widest);

  // Adam's slots never change: weights and biases with their gradients and bf16 copies. The
  // output layer's bias gradient is fp32 and its bias is added in fp32, so it has no copy.
  for (int l = 0; l < int(plan.layers.size()); ++l) {
    const MlpLayer& fp32 = plan.layers[l];
    Layer& layer = layers_[l];
    adam_slots_.add(fp32.weight, nullptr, fp32.exp_avg_weight, fp32.exp_avg_sq_weight,
                    size_t(fp32.out) * fp32.in, layer.grad_weight.data(), layer.weight.data());
    if (hidden(l))
      adam_slots_.add(fp32.bias, nullptr, fp32.exp_avg_bias, fp32.exp_avg_sq_bias, size_t(fp32.out),
                      layer.grad_bias.data(), layer.bias.data());
    else
      adam_slots_.add(fp32.bias, fp32.grad_bias, fp32.exp_avg_bias, fp32.exp_avg_sq_bias, size_t(fp32.out));
  }
}

std::string Bf16MlpRunner::describe() const {
  const char* relu = relu_gradient_ == ReluGradient::drelu_bgrad
                         ? "epilogues bias+ReLU with a bit mask, dReLU+bias gradient"
                     : relu_gradient_ == ReluGradient::drelu_bgradb
                         ? "epilogues bias+ReLU with a bit mask, dReLU, bias gradient in the weight-gradient product"
                         : "epilogue bias+ReLU, ReLU and bias gradients by leap's kernel";
  return std::string("CUDA graph of the bf16 step (cuBLASLt bf16 products with fp32 accumulation, "
                     "timed among cuBLASLt's candidates; ") +
         relu + "; bf16 weight gradients; one Adam launch updating the fp32 weights and writing their "
         "bf16 copies; " + std::to_string(kStepsPerGraph) + " steps replayed per launch)";
}

GemmShape Bf16MlpRunner::forward_shape(int l) const {
  const MlpLayer& layer = plan_.layers[l];
  // y^T[out, batch] = w[out, in] x^T[in, batch]: column-major w is w^T[in, out], hence A^T.
  GemmShape shape{.transpose_a = true,
                  .m = layer.out, .n = plan_.batch, .k = layer.in,
                  .lda = layer.in, .ldb = layer.in, .ldd = layer.out,
                  .epilogue = Epilogue::bias,
                  .align_a = 16, .align_b = 16, .align_d = 16,
                  .bf16_operands = true};
  if (hidden(l)) {
    shape.bf16_output = true;
    shape.epilogue = relu_gradient_ == ReluGradient::kernel ? Epilogue::relu_bias : Epilogue::relu_aux_bias;
    if (shape.epilogue == Epilogue::relu_aux_bias) shape.aux_ld = mask_stride(layer.out);
  } else {
    shape.align_d = 4;  // fp32 logits in rows of `classes`
  }
  return shape;
}

GemmShape Bf16MlpRunner::weight_grad_shape(int l) const {
  const MlpLayer& layer = plan_.layers[l];
  // grad_w^T[in, out] = x^T[in, batch] dy[batch, out]; column-major dy is dy^T[out, batch].
  // The output layer's gradient has padded_classes_ columns, the padding ones unused.
  const int out = hidden(l) ? layer.out : padded_classes_;
  GemmShape shape{.transpose_b = true,
                  .m = layer.in, .n = out, .k = plan_.batch,
                  .lda = layer.in, .ldb = out, .ldd = layer.in,
                  .align_a = 16, .align_b = 16, .align_d = 16,
                  .bf16_operands = true, .bf16_output = true};
  if (hidden(l) && relu_gradient_ == ReluGradient::drelu_bgradb) shape.epilogue = Epilogue::bgradb;
  return shape;
}

GemmShape Bf16MlpRunner::input_grad_shape(int l) const {
  const MlpLayer& layer = plan_.layers[l];
  // grad_x^T[in, batch] = w^T[in, out] dy^T[out, batch], masked by the previous layer's ReLU.
  const int out = hidden(l) ? layer.out : padded_classes_;
  GemmShape shape{.m = layer.in, .n = plan_.batch, .k = out,
                  .lda = layer.in, .ldb = out, .ldd = layer.in,
                  .align_a = 16, .align_b = 16, .align_d = 16,
                  .bf16_operands = true, .bf16_output = true};
  if (relu_gradient_ != ReluGradient::kernel) {
    shape.epilogue = relu_gradient_ == ReluGradient::drelu_bgrad ? Epilogue::drelu_bgrad : Epilogue::drelu;
    shape.aux_ld = mask_stride(layer.in);
  }
  return shape;
}

void Bf16MlpRunner::before_run() {
  for (int l = 0; l < int(layers_.size()); ++l) {
    const MlpLayer& fp32 = plan_.layers[l];
    launch_to_bf16(fp32.weight, layers_[l].weight.data(), fp32.out, fp32.in, fp32.in, stream_);
    if (hidden(l)) launch_to_bf16(fp32.bias, layers_[l].bias.data(), 1, fp32.out, fp32.out, stream_);
  }
}

void Bf16MlpRunner::queue_step() {
  const int batch = plan_.batch, count = int(layers_.size());
  const MlpLayer& last = plan_.layers.back();
  launch_gather_batch(state_, plan_.images, plan_.labels, inputs_.data(), labels_.labels(),
                           batch, plan_.layers[0].in, stream_);
  const __nv_bfloat16* x = inputs_.data();
  for (int l = 0; l + 1 < count; ++l) {
    Layer& layer = layers_[l];
    matmul_.run(forward_shape(l), {.a = layer.weight.data(), .b = x, .d = layer.output.data(),
                                   .bias = layer.bias.data(), .aux = layer.relu_mask.data()});
    x = layer.output.data();
  }
  matmul_.run(forward_shape(count - 1), {.a = layers_.back().weight.data(), .b = x,
                                         .d = logits_.data(), .bias = last.bias});
  launch_cross_entropy(logits_.data(), labels_.labels(), logit_grads_.data(), &state_->loss_sum,
                       &state_->correct, batch, last.out, stream_);
  launch_bias_grad(logit_grads_.data(), last.grad_bias, batch, last.out, false, stream_);
  launch_to_bf16(logit_grads_.data(), logit_grads_bf16_.data(), batch, last.out, padded_classes_, stream_);

  const __nv_bfloat16* grad = logit_grads_bf16_.data();
  for (int l = count - 1; l >= 0; --l) {
    Layer& layer = layers_[l];
    const __nv_bfloat16* input = l > 0 ? layers_[l - 1].output.data() : inputs_.data();
    matmul_.run(weight_grad_shape(l), {.a = input, .b = grad, .d = layer.grad_weight.data(),
                                       .bias = layer.grad_bias.data()});
    if (l == 0) break;  // the network's input needs no gradient
    Layer& previous = layers_[l - 1];
    matmul_.run(input_grad_shape(l), {.a = layer.weight.data(), .b = grad,
                                      .d = previous.grad_output.data(),
                                      .bias = previous.grad_bias.data(),
                                      .aux = previous.relu_mask.data()});
    if (relu_gradient_ == ReluGradient::kernel)
      launch_relu_grad_bf16(previous.grad_output.data(), previous.output.data(),
                            previous.grad_bias.data(), relu_grad_partials_.data(), batch,
                            plan_.layers[l - 1].out, stream_);
    grad = previous.grad_output.data();
  }
  const AdamScalars constants{0.0f, 1.0f, plan_.beta1, plan_.beta2, plan_.eps, plan_.weight_decay};
  launch_adam_counted(adam_slots_, constants, &state_->lr, &state_->adam_steps, stream_);
  launch_advance(state_, stream_);
}

}  // namespace leap::cuda_detail
