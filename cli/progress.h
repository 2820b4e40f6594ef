// The Keras-style console output: a live progress bar when stdout is a terminal, and one
// line per epoch: "Epoch 3/10 938/938 - 0.61s - 650us/step - loss: 0.3312 - accuracy: ...".
#pragma once

#include <chrono>

#include "leap/callback.h"

namespace leap::cli {

class KerasProgress : public Callback {
 public:
  KerasProgress();
  void on_epoch_begin(int epoch, int epochs, int64_t steps) override;
  void on_batch_end(int64_t step, int64_t steps) override;
  bool on_epoch_end(const EpochLogs& logs) override;

 private:
  bool live_;
  int epoch_ = 0, epochs_ = 0;
  std::chrono::steady_clock::time_point start_, last_draw_;
};

}  // namespace leap::cli
