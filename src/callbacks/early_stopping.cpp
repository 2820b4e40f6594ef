#include "leap/callbacks/early_stopping.h"

#include <cmath>

namespace leap {

EarlyStopping::EarlyStopping(std::string monitor, int patience, double min_delta)
    : monitor_(std::move(monitor), "auto", min_delta), patience_(patience), best_(monitor_.worst()) {}

bool EarlyStopping::on_epoch_end(const EpochLogs& logs) {
  double value = monitor_.value(logs);
  if (std::isnan(value)) return false;
  if (monitor_.improved(value, best_)) {
    best_ = value;
    wait_ = 0;
    return false;
  }
  return ++wait_ > patience_;
}

}  // namespace leap
