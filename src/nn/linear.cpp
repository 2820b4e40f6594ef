#include <cmath>
#include <vector>

#include "leap/backend.h"
#include "leap/error.h"
#include "leap/linear.h"

namespace leap {

// Allocated on its device before anything is drawn, so that a model too big for a GPU fails
// naming the GPU's memory, before any host work; on the CPU the values are drawn in place.
static Tensor uniform_tensor(Shape shape, float bound, Random& random, Device device) {
  Tensor tensor(std::move(shape), DType::float32, device);
  const int64_t count = tensor.numel();
  std::vector<float> staging(device == Device::cpu ? 0 : size_t(count));
  float* values = device == Device::cpu ? tensor.data() : staging.data();
  for (int64_t i = 0; i < count; ++i) values[i] = random.uniform(-bound, bound);
  if (device != Device::cpu) backend(device).copy_from_host(tensor.data(), staging.data(), tensor.bytes());
  return tensor;
}

Linear::Linear(int in_features, int out_features, Random& random, Device device)
    : in_(in_features), out_(out_features) {
  check(in_ > 0 && out_ > 0, "Linear(" + std::to_string(in_) + ", " + std::to_string(out_) +
                                 "): widths must be positive");
  // kaiming_uniform with a=sqrt(5) gives gain sqrt(2/(1+5)) and bound gain*sqrt(3/in) = 1/sqrt(in).
  const float bound = 1.0f / std::sqrt(float(in_));
  weight_.name = "weight";
  bias_.name = "bias";
  weight_.value = uniform_tensor({out_, in_}, bound, random, device);
  bias_.value = uniform_tensor({out_}, bound, random, device);
  weight_.grad = Tensor({out_, in_}, DType::float32, device);
  bias_.grad = Tensor({out_}, DType::float32, device);
}

Tensor Linear::forward(const Tensor& input) {
  check(input.rank() == 2 && input.dim(1) == in_,
        "Linear(" + std::to_string(in_) + ", " + std::to_string(out_) + ") got input of shape " +
            to_string(input.shape()));
  check(input.device() == weight_.value.device(),
        "Linear: input on " + to_string(input.device()) + ", weights on " +
            to_string(weight_.value.device()));
  const int batch = int(input.dim(0));
  Tensor output({batch, out_}, DType::float32, input.device());
  backend(input.device())
      .linear_forward(input.data(), weight_.value.data(), bias_.value.data(), output.data(),
                      batch, in_, out_, fused_relu_, precision_);
  if (training_) input_ = input;
  return output;
}

Tensor Linear::backward(const Tensor& grad_output, bool need_input_grad) {
  check(input_.defined(), "Linear.backward called without a forward in training mode");
  check(grad_output.rank() == 2 && grad_output.dim(0) == input_.dim(0) &&
            grad_output.dim(1) == out_,
        "Linear.backward: gradient of shape " + to_string(grad_output.shape()) +
            " for output [" + std::to_string(input_.dim(0)) + ", " + std::to_string(out_) + "]");
  const int batch = int(input_.dim(0));
  Tensor grad_input;
  if (need_input_grad) grad_input = Tensor({batch, in_}, DType::float32, input_.device());
  const bool accumulate = weight_.has_grad;
  backend(input_.device())
      .linear_backward(input_.data(), weight_.value.data(), grad_output.data(),
                       need_input_grad ? grad_input.data() : nullptr, weight_.grad.data(),
                       bias_.grad.data(), batch, in_, out_, accumulate, precision_);
  weight_.has_grad = bias_.has_grad = true;
  input_ = Tensor();
  return grad_input;
}

std::string Linear::describe() const {
  return "Linear(in_features=" + std::to_string(in_) + ", out_features=" + std::to_string(out_) +
         ", bias=True)";
}

void Linear::to(Device device) {
  for (Parameter* p : {&weight_, &bias_}) {
    p->value = p->value.to(device);
    p->grad = p->grad.to(device);
  }
  input_ = Tensor();
}

}  // namespace leap
