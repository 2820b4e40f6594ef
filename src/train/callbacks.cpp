#include "leap/callbacks.h"

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

static bool higher_is_better(const std::string& monitor) {
  return monitor.find("accuracy") != std::string::npos;
}

EarlyStopping::EarlyStopping(std::string monitor, int patience, double min_delta)
    : monitor_(std::move(monitor)), patience_(patience), min_delta_(min_delta),
      best_(higher_is_better(monitor_) ? -INFINITY : INFINITY) {
  EpochLogs probe;
  monitored_value(probe, monitor_);  // rejects unknown names now, not at the first epoch
}

bool EarlyStopping::on_epoch_end(const EpochLogs& logs) {
  double value = monitored_value(logs, monitor_);
  if (std::isnan(value)) return false;
  bool improved = higher_is_better(monitor_) ? value > best_ + min_delta_ : value < best_ - min_delta_;
  if (improved) {
    best_ = value;
    wait_ = 0;
    return false;
  }
  return ++wait_ > patience_;
}

}  // namespace leap
