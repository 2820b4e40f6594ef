#include "progress.h"

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <string>

namespace leap::cli {

KerasProgress::KerasProgress() : live_(isatty(fileno(stdout))) {}

void KerasProgress::on_epoch_begin(int epoch, int epochs, int64_t) {
  epoch_ = epoch;
  epochs_ = epochs;
  start_ = last_draw_ = std::chrono::steady_clock::now();
}

// Redraws at most every 100 ms so that printing never slows the steps.
void KerasProgress::on_batch_end(int64_t step, int64_t steps) {
  if (!live_) return;
  const auto now = std::chrono::steady_clock::now();
  if (step != steps && now - last_draw_ < std::chrono::milliseconds(100)) return;
  last_draw_ = now;
  const int width = 30, filled = int(width * step / steps);
  const double elapsed = std::chrono::duration<double>(now - start_).count();
  const double eta = elapsed / double(step) * double(steps - step);
  std::printf("\rEpoch %d/%d %lld/%lld [%s>%s] - ETA: %.1fs", epoch_, epochs_,
              static_cast<long long>(step), static_cast<long long>(steps),
              std::string(filled, '=').c_str(), std::string(width - filled, '.').c_str(), eta);
  std::fflush(stdout);
}

bool KerasProgress::on_epoch_end(const EpochLogs& logs) {
  if (live_) std::printf("\r\033[K");
  std::printf("Epoch %d/%d %lld/%lld - %.2fs - %.0fus/step - loss: %.4f - accuracy: %.4f",
              logs.epoch, logs.epochs, static_cast<long long>(logs.steps),
              static_cast<long long>(logs.steps), logs.seconds, logs.us_per_step, logs.loss,
              logs.accuracy);
  if (!std::isnan(logs.val_loss))
    std::printf(" - val_loss: %.4f - val_accuracy: %.4f", logs.val_loss, logs.val_accuracy);
  std::printf("\n");
  std::fflush(stdout);
  return false;
}

}  // namespace leap::cli
