// Sequential: layers run in order, like torch.nn.Sequential. A spec string such as
// "784-128-10" builds Linear layers of those widths with ReLU between them.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "leap/module.h"
#include "leap/precision.h"
#include "leap/random.h"

namespace leap {

class Sequential : public Module {
 public:
  Sequential() = default;
  // Parses a spec like "784-128-10"; throws leap::Error naming what is wrong in it. With
  // dropout > 0, a Dropout(dropout) follows each hidden ReLU.
  static Sequential from_spec(const std::string& spec, uint64_t seed = 0,
                              Device device = Device::cpu, float dropout = 0.0f);

  // Takes ownership; parameters are named by position ("0.weight") as in PyTorch.
  Sequential& add(std::unique_ptr<Module> layer);
  template <class Layer, class... Args>
  Sequential& emplace(Args&&... args) {
    return add(std::make_unique<Layer>(std::forward<Args>(args)...));
  }

  Tensor forward(const Tensor& input) override;
  Tensor backward(const Tensor& grad_output, bool need_input_grad = false) override;
  // Backward that calls gradients_ready(layer) as soon as a layer's parameter gradients are
  // complete, last layer first: a data-parallel step starts averaging them while the layers
  // before it still run backward.
  void backward(const Tensor& grad_output, const std::function<void(Module&)>& gradients_ready);
  std::vector<Parameter*> parameters() override;
  std::string describe() const override;
  void to(Device device) override;

  size_t size() const { return layers_.size(); }
  Module& operator[](size_t index) { return *layers_.at(index); }
  int input_width() const;
  int output_width() const;
  Device device() const { return device_; }
  // Multiply-adds times two for one sample's forward pass.
  int64_t forward_flops_per_sample() const;
  // The same for one sample's training step: forward, weight gradients, and the input
  // gradients of every Linear layer but the first (the network's input is data, whose
  // gradient nobody needs); 2*m*n*k per product, as for forward_flops_per_sample.
  int64_t training_flops_per_sample() const;
  // Sets the precision of every Linear layer's products.
  void set_precision(Precision precision);
  // The Linear layers' precision (fp32 for a network without any).
  Precision precision() const;

 private:
  void refresh_fusion();
  std::vector<std::unique_ptr<Module>> layers_;
  Device device_ = Device::cpu;
};

// Splits "784-128-10" into widths, with errors that quote the spec.
std::vector<int> parse_spec(const std::string& spec);

}  // namespace leap
