// Dropout with PyTorch's semantics, its masks drawn from a counter so that backward and
// every device draw the same ones.
#pragma once

#include <cstdint>

#include "leap/module.h"

namespace leap {

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
  // What its masks' keys derive from (dropout_mask.h: dropout_key(key_base(), call)), for
  // kernels that draw them.
  uint64_t key_base() const;

 private:
  float p_;
  uint64_t seed_, calls_ = 0, last_key_ = 0, stream_ = 0;
};

}  // namespace leap
