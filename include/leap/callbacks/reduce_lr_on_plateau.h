// ReduceLROnPlateau: Keras' callback that lowers the learning rate when a figure stalls.
#pragma once

#include <string>

#include "leap/callbacks/monitor.h"

namespace leap {

class Optimizer;

// Keras' ReduceLROnPlateau: multiplies the optimizer's learning rate by `factor` when
// `monitor` has not improved for `patience` epochs, then waits `cooldown` epochs; never below
// min_lr. Keras' defaults. A FitOptions::schedule would overwrite the rate: use one or the other.
struct ReduceLROnPlateauOptions {
  std::string monitor = "val_loss";
  double factor = 0.1;
  int patience = 10;
  std::string mode = "auto";
  double min_delta = 1e-4;
  int cooldown = 0;
  double min_lr = 0;
  bool verbose = false;
};

class ReduceLROnPlateau : public Callback {
 public:
  ReduceLROnPlateau(Optimizer& optimizer, ReduceLROnPlateauOptions options = {});
  bool on_epoch_end(const EpochLogs& logs) override;

 private:
  Optimizer& optimizer_;
  ReduceLROnPlateauOptions options_;
  Monitor monitor_;
  double best_;
  int wait_ = 0, cooldown_left_ = 0;
};

}  // namespace leap
