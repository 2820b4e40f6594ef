#include "leap/backend.h"
#include "leap/error.h"
#include "leap/dropout.h"
#include "leap/dropout_mask.h"

namespace leap {

Dropout::Dropout(float p, uint64_t seed) : p_(p), seed_(seed) {
  check(p >= 0.0f && p < 1.0f, "Dropout(p=" + std::to_string(p) + "): p must be in [0, 1)");
}

Tensor Dropout::forward(const Tensor& input) {
  if (!training_ || p_ == 0.0f) return input;
  last_key_ = dropout_key(key_base(), ++calls_);
  Tensor output(input.shape(), DType::float32, input.device());
  backend(input.device()).dropout(input.data(), output.data(), input.numel(), p_, last_key_);
  return output;
}

// The same key draws the same mask: the gradient is masked and scaled like the input was.
Tensor Dropout::backward(const Tensor& grad_output, bool) {
  if (!training_ || p_ == 0.0f) return grad_output;
  check(last_key_ != 0, "Dropout.backward called without a forward in training mode");
  Tensor grad(grad_output.shape(), DType::float32, grad_output.device());
  backend(grad.device()).dropout(grad_output.data(), grad.data(), grad.numel(), p_, last_key_);
  return grad;
}

uint64_t Dropout::key_base() const { return dropout_key_base(seed_, stream_); }

std::string Dropout::describe() const { return "Dropout(p=" + std::to_string(p_) + ")"; }

}  // namespace leap
