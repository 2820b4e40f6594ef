// Monitor: the figure of the epoch logs that a callback watches, and which way is better.
#pragma once

#include <string>

#include "leap/callback.h"

namespace leap {

// Reads the monitored figure from the logs; throws leap::Error for unknown names.
double monitored_value(const EpochLogs& logs, const std::string& monitor);

// A figure of the logs that a callback watches, and which way is better, as Keras' `mode`:
// "min", "max", or "auto" (higher is better for accuracies, lower for losses).
class Monitor {
 public:
  // Throws leap::Error for an unknown figure or mode, so mistakes show before training.
  explicit Monitor(std::string name = "val_loss", const std::string& mode = "auto",
                   double min_delta = 0);
  double value(const EpochLogs& logs) const { return monitored_value(logs, name_); }
  // Better than `best` by more than min_delta; NaN (no validation data) never is.
  bool improved(double value, double best) const;
  // The starting `best`, which any finite value improves on.
  double worst() const;
  const std::string& name() const { return name_; }

 private:
  std::string name_;
  bool higher_is_better_;
  double min_delta_;
};

}  // namespace leap
