// Linear: y = x W^T + b with PyTorch's semantics and default initialisation.
#pragma once

#include "leap/module.h"
#include "leap/precision.h"
#include "leap/random.h"

namespace leap {

// y = x W^T + b, W of shape [out, in] as in torch.nn.Linear.
class Linear : public Module {
 public:
  // PyTorch's default: W ~ kaiming_uniform(a=sqrt(5)) = U(-1/sqrt(in), 1/sqrt(in)),
  // b ~ U(-1/sqrt(in), 1/sqrt(in)).
  Linear(int in_features, int out_features, Random& random, Device device = Device::cpu);

  Tensor forward(const Tensor& input) override;
  Tensor backward(const Tensor& grad_output, bool need_input_grad = true) override;
  std::vector<Parameter*> parameters() override { return {&weight_, &bias_}; }
  std::string describe() const override;
  void to(Device device) override;

  int in_features() const { return in_; }
  int out_features() const { return out_; }
  Parameter& weight() { return weight_; }
  Parameter& bias() { return bias_; }
  // Fuses a following ReLU into this layer's forward (set by Sequential).
  void fuse_relu(bool on) { fused_relu_ = on; }
  // The precision of this layer's products (fp32 until set; Model::fit sets it).
  void set_precision(Precision precision) { precision_ = precision; }
  Precision precision() const { return precision_; }

 private:
  int in_, out_;
  Parameter weight_, bias_;
  bool fused_relu_ = false;
  Precision precision_ = Precision::fp32;
  Tensor input_, output_;
};

}  // namespace leap
