#include "leap/callbacks/monitor.h"

#include <cmath>

#include "leap/error.h"

namespace leap {

double monitored_value(const EpochLogs& logs, const std::string& monitor) {
  if (monitor == "loss") return logs.loss;
  if (monitor == "accuracy") return logs.accuracy;
  if (monitor == "val_loss") return logs.val_loss;
  if (monitor == "val_accuracy") return logs.val_accuracy;
  throw Error("unknown monitor '" + monitor + "' (expected loss, accuracy, val_loss or val_accuracy)");
}

Monitor::Monitor(std::string name, const std::string& mode, double min_delta)
    : name_(std::move(name)), min_delta_(min_delta) {
  monitored_value(EpochLogs{}, name_);  // rejects unknown names now, not at the first epoch
  check(mode == "auto" || mode == "min" || mode == "max",
        "unknown mode '" + mode + "' for monitor '" + name_ + "' (expected auto, min or max)");
  higher_is_better_ = mode == "max" || (mode == "auto" && name_.find("accuracy") != std::string::npos);
}

bool Monitor::improved(double value, double best) const {
  return higher_is_better_ ? value > best + min_delta_ : value < best - min_delta_;
}

double Monitor::worst() const { return higher_is_better_ ? -INFINITY : INFINITY; }

}  // namespace leap
