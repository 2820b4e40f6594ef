#include <algorithm>
#include <cmath>
#include <cstdio>

#include "leap/callback.h"
#include "leap/callbacks/reduce_lr_on_plateau.h"
#include "leap/error.h"
#include "leap/optimizer.h"

namespace leap {

ReduceLROnPlateau::ReduceLROnPlateau(Optimizer& optimizer, ReduceLROnPlateauOptions options)
    : optimizer_(optimizer), options_(std::move(options)),
      monitor_(options_.monitor, options_.mode, options_.min_delta), best_(monitor_.worst()) {
  check(options_.factor > 0 && options_.factor < 1,
        "ReduceLROnPlateau: factor must lie in (0, 1), got " + std::to_string(options_.factor));
  check(options_.patience >= 0 && options_.cooldown >= 0 && options_.min_lr >= 0,
        "ReduceLROnPlateau: patience, cooldown and min_lr must not be negative");
}

// Keras' order: cooldown counts down first; an improvement resets the wait; otherwise the
// wait grows only outside the cooldown, and reaching patience lowers the rate.
bool ReduceLROnPlateau::on_epoch_end(const EpochLogs& logs) {
  const double value = monitor_.value(logs);
  if (std::isnan(value)) return false;
  if (cooldown_left_ > 0) {
    --cooldown_left_;
    wait_ = 0;
  }
  if (monitor_.improved(value, best_)) {
    best_ = value;
    wait_ = 0;
  } else if (cooldown_left_ == 0 && ++wait_ >= options_.patience) {
    const float old_lr = optimizer_.lr();
    if (old_lr > float(options_.min_lr)) {
      const float new_lr = std::max(float(old_lr * options_.factor), float(options_.min_lr));
      optimizer_.set_lr(new_lr);
      if (options_.verbose)
        std::printf("Epoch %d: ReduceLROnPlateau reducing learning rate to %g\n", logs.epoch, new_lr);
      cooldown_left_ = options_.cooldown;
      wait_ = 0;
    }
  }
  return false;
}

}  // namespace leap
