#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "leap/callbacks.h"
#include "leap/error.h"

namespace leap {
namespace {

// NaN (no validation data) as an empty field, which CSV readers take as missing.
std::string field(double value) {
  if (std::isnan(value)) return "";
  char text[32];
  std::snprintf(text, sizeof text, "%.9g", value);
  return text;
}

}  // namespace

CSVLogger::CSVLogger(const std::string& filename, char separator, bool append)
    : path_(filename), separator_(separator) {
  std::error_code error;
  const bool had_rows = append && std::filesystem::file_size(filename, error) > 0 && !error;
  file_ = std::fopen(filename.c_str(), append ? "a" : "w");
  check(file_ != nullptr, "cannot write CSV log " + filename + ": " + std::strerror(errno));
  if (!had_rows) {
    const char* names[] = {"epoch", "loss", "accuracy", "val_loss", "val_accuracy",
                           "seconds", "us_per_step", "steps", "lr"};
    std::string header;
    for (const char* name : names) header += (header.empty() ? "" : std::string(1, separator_)) + name;
    std::fprintf(file_, "%s\n", header.c_str());
    check(std::fflush(file_) == 0, "cannot write CSV log " + path_);
  }
}

CSVLogger::~CSVLogger() { std::fclose(file_); }

bool CSVLogger::on_epoch_end(const EpochLogs& logs) {
  const std::string row[] = {std::to_string(logs.epoch), field(logs.loss), field(logs.accuracy),
                             field(logs.val_loss), field(logs.val_accuracy), field(logs.seconds),
                             field(logs.us_per_step), std::to_string(logs.steps), field(logs.lr)};
  std::string line;
  for (const std::string& value : row) line += (line.empty() ? "" : std::string(1, separator_)) + value;
  std::fprintf(file_, "%s\n", line.c_str());
  check(std::fflush(file_) == 0, "cannot write CSV log " + path_);
  return false;
}

}  // namespace leap
