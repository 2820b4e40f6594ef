// Keras-style callbacks: hooks the training loop calls at the start and end of the run,
// after each batch and after each epoch.
#pragma once

#include <cstdint>
#include <cstdio>
#include <limits>
#include <string>
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

// Stops when `monitor` ("val_loss", "loss", "val_accuracy", "accuracy") has not improved by
// more than min_delta for `patience` epochs (Keras' defaults).
class EarlyStopping : public Callback {
 public:
  explicit EarlyStopping(std::string monitor = "val_loss", int patience = 0, double min_delta = 0);
  bool on_epoch_end(const EpochLogs& logs) override;

 private:
  std::string monitor_;
  int patience_;
  double min_delta_;
  double best_;
  int wait_ = 0;
};

// Reads the monitored figure from the logs; throws leap::Error for unknown names.
double monitored_value(const EpochLogs& logs, const std::string& monitor);

}  // namespace leap

namespace leap {

// Appends one JSON object per epoch to a file: epoch, loss, accuracy, val_loss,
// val_accuracy, seconds, us_per_step, steps, lr (NaN figures are written as null).
class JsonlLogger : public Callback {
 public:
  // Opens (truncates) the file now, so a bad path fails before training starts.
  explicit JsonlLogger(const std::string& path);
  ~JsonlLogger() override;
  JsonlLogger(const JsonlLogger&) = delete;
  JsonlLogger& operator=(const JsonlLogger&) = delete;
  bool on_epoch_end(const EpochLogs& logs) override;

 private:
  std::string path_;
  std::FILE* file_;
};

}  // namespace leap
