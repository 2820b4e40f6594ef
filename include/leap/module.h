// Module: a layer that owns its forward and its backward (layer-level backward, no op tape).
#pragma once

#include <string>
#include <vector>

#include "leap/tensor.h"

namespace leap {

// A trainable tensor and its gradient. `has_grad` false means "no gradient yet" (PyTorch's
// grad=None after zero_grad(set_to_none=True)): the next backward writes instead of adding.
struct Parameter {
  std::string name;  // PyTorch state_dict name, e.g. "0.weight"
  Tensor value;
  Tensor grad;
  bool has_grad = false;
};

class Module {
 public:
  virtual ~Module() = default;

  // In training mode, forward keeps what backward needs.
  virtual Tensor forward(const Tensor& input) = 0;
  // Takes d(loss)/d(output) of the last forward; accumulates parameter gradients and returns
  // d(loss)/d(input), or an undefined tensor when `need_input_grad` is false.
  virtual Tensor backward(const Tensor& grad_output, bool need_input_grad = true) = 0;

  virtual std::vector<Parameter*> parameters() { return {}; }
  virtual std::string describe() const = 0;
  // Moves parameters (and gradients) to `device`.
  virtual void to(Device device) { (void)device; }

  void train(bool on = true) { training_ = on; }
  void eval() { training_ = false; }
  bool training() const { return training_; }

  void zero_grad();
  int64_t parameter_count();

 protected:
  bool training_ = true;
};

}  // namespace leap
