// Predictor: repeated inference at a fixed batch size with the least overhead per call, the
// serving path. On the GPU the backend replays the whole call (copy in, forward, copy out)
// as one CUDA graph through pinned host buffers; on the CPU it calls the layers directly.
// The network must stay on its device while the predictor lives (its weights may change).
#pragma once

#include <memory>

#include "leap/backend.h"
#include "leap/sequential.h"

namespace leap {

class Predictor {
 public:
  explicit Predictor(Sequential& network, int batch_size = 1);
  // logits[batch_size, classes] for inputs[batch_size, features], both in host memory.
  void predict(const float* inputs, float* logits);

  int batch_size() const { return batch_; }
  // How the calls run: the backend's graph, or layer by layer.
  std::string describe() const;

 private:
  Sequential& network_;
  int batch_;
  std::unique_ptr<InferenceRunner> runner_;  // null: layer by layer
  Tensor inputs_;
};

}  // namespace leap
