// EarlyStopping: Keras' callback that stops training when a figure stops improving.
#pragma once

#include <string>

#include "leap/callbacks/monitor.h"

namespace leap {

// Stops when `monitor` ("val_loss", "loss", "val_accuracy", "accuracy") has not improved by
// more than min_delta for `patience` epochs (Keras' defaults).
class EarlyStopping : public Callback {
 public:
  explicit EarlyStopping(std::string monitor = "val_loss", int patience = 0, double min_delta = 0);
  bool on_epoch_end(const EpochLogs& logs) override;

 private:
  Monitor monitor_;
  int patience_;
  double best_;
  int wait_ = 0;
};

}  // namespace leap
