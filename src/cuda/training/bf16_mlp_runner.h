// The training step of an MLP in bf16, for wide layers and large batches: cuBLASLt products
// of bf16 operands with fp32 accumulation whose epilogues add the bias and apply the ReLU
// going forward; going backward one pass of leap's masks the gradient by the ReLU and sums
// the previous layer's bias gradient (or cuBLASLt's epilogues do, see ReluGradient); weight
// gradients come out in bf16; one multi-tensor Adam
// updates the fp32 master weights and moments and writes the bf16 copies that the next step
// multiplies with. Each layer's bf16 output is the next layer's operand: no casts between
// layers, and none of the fp32 weights per step. The first layer computes no input gradient.
#pragma once

#include <cuda_bf16.h>

#include <memory>
#include <string>
#include <vector>

#include "cuda/device_buffer.h"
#include "cuda/training/graph_runner.h"
#include "cuda/kernels/matmul.h"
#include "cuda/kernels/optimizer.h"

namespace leap::cuda_detail {

// Where the backward pass masks the gradient by the ReLU and sums the bias gradient (the
// default and its measurements: relu_gradient_order in bf16_mlp_runner.cpp).
enum class ReluGradient {
  drelu_bgrad,  // the input-gradient product's DRELU_BGRAD epilogue
  drelu_bgradb,  // its DRELU epilogue; the bias gradient in the weight-gradient product (BGRADB)
  kernel,       // plain products, then leap's kernel (relu_grad_bf16.h)
};

class Bf16MlpRunner final : public GraphRunner {
 public:
  // The runner, or null with the reason in *why_not when the plan does not suit it. The
  // ReLU gradient goes where LEAP_BF16_RELU says (drelu_bgrad, drelu_bgradb or kernel), by
  // default the fastest measured, falling back to the next where cuBLASLt has no algorithm.
  static std::unique_ptr<MlpEpochRunner> create(CudaBackend& backend, const MlpEpochPlan& plan,
                                                std::string* why_not);
  std::string describe() const override;

 private:
  Bf16MlpRunner(CudaBackend& backend, const MlpEpochPlan& plan, ReluGradient relu_gradient);
  bool all_supported();
  void before_run() override;
  void queue_step() override;

  // Each layer's products as cuBLASLt sees them (column-major views of row-major tensors).
  GemmShape forward_shape(int layer) const;
  GemmShape weight_grad_shape(int layer) const;
  GemmShape input_grad_shape(int layer) const;  // layer > 0
  bool hidden(int layer) const { return layer + 1 < int(plan_.layers.size()); }

  struct Layer {
    DeviceBuffer<__nv_bfloat16> weight, bias;  // bf16 copies (bias: hidden layers)
    DeviceBuffer<__nv_bfloat16> output;        // hidden: ReLU output [batch, out]
    DeviceBuffer<__nv_bfloat16> grad_output;   // hidden: d(loss)/d(pre-activation) [batch, out]
    DeviceBuffer<unsigned char> relu_mask;     // hidden, masks from epilogues: one bit an output
    DeviceBuffer<__nv_bfloat16> grad_weight, grad_bias;  // grad_bias: hidden layers
  };

  Matmul& matmul_;
  ReluGradient relu_gradient_;
  // The output layer padded to 16 classes, with zeros, where it is an inner dimension of a
  // product (the bf16 logit gradient's rows, its weights' copy): tensor-core kernels take it
  // then (measured on an H100: 10 classes left cuBLASLt a generic kernel of 1.1 ms).
  int padded_classes_;
  DeviceBuffer<__nv_bfloat16> inputs_, logit_grads_bf16_;
  Tensor labels_, logits_, logit_grads_;
  DeviceBuffer<float> relu_grad_partials_;  // scratch of the ReLU-gradient kernel
  std::vector<Layer> layers_;
  SlotBatch adam_slots_{};
};

}  // namespace leap::cuda_detail
