// Keras-style callbacks: hooks the training loop calls at the start and end of the run,
// after each batch and after each epoch, with each epoch's figures (EpochLogs, History).
#pragma once

#include <cstdint>
#include <limits>
#include <vector>

namespace leap {

// One epoch's figures, as Keras' History holds them. Validation figures are NaN when no
// validation data was given.
struct EpochLogs {
  int epoch = 0;  // 1-based, as printed
  int epochs = 0;
  double loss = 0, accuracy = 0;
  double val_loss = std::numeric_limits<double>::quiet_NaN();
  double val_accuracy = std::numeric_limits<double>::quiet_NaN();
  double seconds = 0, us_per_step = 0;
  int64_t steps = 0;
  float lr = 0;
  int64_t samples = 0;  // training samples this epoch saw
  // Energy the device drew over the epoch; NaN when it reports none (see energy.h).
  double joules = std::numeric_limits<double>::quiet_NaN();
  // The interval between the two energy readings: `seconds` and the time of a reading (NVML
  // takes milliseconds to answer, which the epoch's time leaves out).
  double energy_seconds = std::numeric_limits<double>::quiet_NaN();
};

struct History {
  std::vector<EpochLogs> epochs;
};

class Callback {
 public:
  virtual ~Callback() = default;
  virtual void on_train_begin() {}
  virtual void on_epoch_begin(int epoch, int epochs, int64_t steps) { (void)epoch, (void)epochs, (void)steps; }
  // Called from the host between steps; must not read device values (that would stall the GPU).
  virtual void on_batch_end(int64_t step, int64_t steps) { (void)step, (void)steps; }
  // Return true to stop training after this epoch.
  virtual bool on_epoch_end(const EpochLogs& logs) { (void)logs; return false; }
  virtual void on_train_end(const History& history) { (void)history; }
};

}  // namespace leap
