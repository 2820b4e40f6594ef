#include "leap/backend.h"
#include "leap/error.h"
#include "leap/relu.h"

namespace leap {

Tensor ReLU::forward(const Tensor& input) {
  Tensor output = input;
  if (!fused_) {
    output = Tensor(input.shape(), DType::float32, input.device());
    backend(input.device()).relu_forward(input.data(), output.data(), input.numel());
  }
  if (training_) output_ = output;
  return output;
}

// Masks grad_output in place: the gradient is not needed afterwards by the caller.
Tensor ReLU::backward(const Tensor& grad_output, bool) {
  check(output_.defined(), "ReLU.backward called without a forward in training mode");
  check(grad_output.shape() == output_.shape(),
        "ReLU.backward: gradient of shape " + to_string(grad_output.shape()) + " for output " +
            to_string(output_.shape()));
  Tensor grad = grad_output;
  backend(grad.device()).relu_backward(output_.data(), grad.data(), grad.numel());
  output_ = Tensor();
  return grad;
}

}  // namespace leap
