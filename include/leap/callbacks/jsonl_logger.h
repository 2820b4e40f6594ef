// JsonlLogger: one JSON object per epoch, appended to a file.
#pragma once

#include <cstdio>
#include <string>

#include "leap/callback.h"

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
