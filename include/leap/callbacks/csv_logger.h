// CSVLogger: Keras' callback that writes one CSV row per epoch, and its reader.
#pragma once

#include <cstdio>
#include <string>
#include <vector>

#include "leap/callback.h"

namespace leap {

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

}  // namespace leap
