// Keras-style callbacks: hooks the training loop calls at the start and end of the run,
// after each batch and after each epoch.
#pragma once

#include <cstdint>
#include <cstdio>
#include <limits>
#include <string>
#include <vector>

namespace leap {

class Module;
class Optimizer;

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

namespace leap {

// Appends one JSON object per epoch to a file: epoch, loss, accuracy, val_loss,
// val_accuracy, seconds, us_per_step, steps, lr, samples, joules (NaN figures are written as
// null). `leap train` adds a last line {"compute": {...}}, the compute report.
class JsonlLogger : public Callback {
 public:
  // Opens (truncates) the file now, so a bad path fails before training starts.
  explicit JsonlLogger(const std::string& path);
  ~JsonlLogger() override;
  JsonlLogger(const JsonlLogger&) = delete;
  JsonlLogger& operator=(const JsonlLogger&) = delete;
  bool on_epoch_end(const EpochLogs& logs) override;
  // Appends one line, a JSON object the caller wrote.
  void write_line(const std::string& json_object);

 private:
  std::string path_;
  std::FILE* file_;
};

}  // namespace leap

namespace leap {

// Keras' ModelCheckpoint: saves the model's weights (safetensors) after each epoch, or with
// save_best_only only when `monitor` improved. The path may name figures of the epoch, as in
// Keras: "ckpt-{epoch:02d}-{val_loss:.4f}.safetensors".
struct ModelCheckpointOptions {
  std::string monitor = "val_loss";
  bool save_best_only = false;
  std::string mode = "auto";  // "min", "max" or "auto"
  bool verbose = false;       // print a line when saving
};

class ModelCheckpoint : public Callback {
 public:
  ModelCheckpoint(Module& model, std::string filepath, ModelCheckpointOptions options = {});
  bool on_epoch_end(const EpochLogs& logs) override;
  double best() const { return best_; }
  // The path of the last save, empty before the first.
  const std::string& last_saved() const { return last_saved_; }

 private:
  Module& model_;
  std::string filepath_;
  ModelCheckpointOptions options_;
  Monitor monitor_;
  double best_;
  std::string last_saved_;
};

// The checkpoint path for an epoch: {epoch}, {epoch:03d}, {val_loss:.4f} and the like.
std::string format_epoch_path(const std::string& pattern, const EpochLogs& logs);

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

// Keras' CSVLogger: one row per epoch under the header
// epoch,loss,accuracy,val_loss,val_accuracy,seconds,us_per_step,steps,lr (epoch 1-based, as
// printed; figures that are NaN, such as validation without validation data, are left empty).
class CSVLogger : public Callback {
 public:
  // Opens the file now, so a bad path fails before training; append keeps earlier rows (and
  // writes the header only into an empty file).
  explicit CSVLogger(const std::string& filename, char separator = ',', bool append = false);
  ~CSVLogger() override;
  CSVLogger(const CSVLogger&) = delete;
  CSVLogger& operator=(const CSVLogger&) = delete;
  bool on_epoch_end(const EpochLogs& logs) override;

 private:
  std::string path_;
  char separator_;
  std::FILE* file_;
};

// The rows of a CSVLogger file (any separator it may have used: ',', ';' or tab), for plots
// and reports. Needs the epoch and loss columns; the others may be absent (NaN).
std::vector<EpochLogs> read_metrics_csv(const std::string& path);

// Keras' TerminateOnNaN: stops training after an epoch whose loss is NaN or infinite. It sees
// the epoch's loss only (reading it every batch would stall the GPU).
class TerminateOnNaN : public Callback {
 public:
  bool on_epoch_end(const EpochLogs& logs) override;
  // The epoch that stopped training, 0 while none did.
  int stopped_epoch() const { return stopped_epoch_; }

 private:
  int stopped_epoch_ = 0;
};

}  // namespace leap
