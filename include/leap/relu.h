// ReLU: max(x, 0), fused into the preceding Linear where Sequential can.
#pragma once

#include "leap/module.h"

namespace leap {

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

}  // namespace leap
