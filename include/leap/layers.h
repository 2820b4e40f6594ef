// The layers: Linear and ReLU, with PyTorch's semantics and default initialisation.
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

class ReLU : public Module {
 public:
  Tensor forward(const Tensor& input) override;
  Tensor backward(const Tensor& grad_output, bool need_input_grad = true) override;
  std::string describe() const override { return "ReLU()"; }
  // When the preceding Linear already applied the ReLU, forward passes through.
  void set_fused(bool on) { fused_ = on; }

 private:
  bool fused_ = false;
  Tensor output_;
};

// torch.nn.Dropout: in training, zeroes each element with probability p and scales the rest
// by 1/(1-p); in evaluation, passes through. The mask is drawn from (seed, call, element), so
// backward recomputes it rather than storing it, and every device draws the same one.
class Dropout : public Module {
 public:
  explicit Dropout(float p, uint64_t seed = 0);
  Tensor forward(const Tensor& input) override;
  Tensor backward(const Tensor& grad_output, bool need_input_grad = true) override;
  std::string describe() const override;
  float p() const { return p_; }
  // How many masks it has drawn: its random state, which a checkpoint saves and restores.
  uint64_t calls() const { return calls_; }
  void set_calls(uint64_t calls) { calls_ = calls; }
  // Draws its masks from another stream: each data-parallel rank its own, so that ranks
  // holding the same seed do not drop the same units of their rows.
  void set_stream(uint64_t stream) { stream_ = stream; }

 private:
  float p_;
  uint64_t seed_, calls_ = 0, last_key_ = 0, stream_ = 0;
};

}  // namespace leap
