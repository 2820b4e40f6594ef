#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "format_number.h"
#include "leap/callback.h"
#include "leap/callbacks/csv_logger.h"
#include "leap/error.h"

namespace leap {
namespace {

// The columns, in the order written.
const char* const kColumns[] = {"epoch", "loss", "accuracy", "val_loss", "val_accuracy",
                                "seconds", "us_per_step", "steps", "lr"};

std::vector<std::string> split(const std::string& line, char separator) {
  std::vector<std::string> fields(1);
  for (char c : line) {
    if (c == separator) fields.emplace_back();
    else if (c != '\r') fields.back() += c;
  }
  return fields;
}

// NaN (no validation data) as an empty field, which CSV readers take as missing.
std::string field(double value) { return std::isnan(value) ? "" : format_number("%.9g", value); }

}  // namespace

CSVLogger::CSVLogger(const std::string& filename, char separator, bool append)
    : path_(filename), separator_(separator) {
  std::error_code error;
  const bool had_rows = append && std::filesystem::file_size(filename, error) > 0 && !error;
  file_ = std::fopen(filename.c_str(), append ? "a" : "w");
  check(file_ != nullptr, "cannot write CSV log " + filename + ": " + std::strerror(errno));
  if (!had_rows) {
    std::string header;
    for (const char* name : kColumns) header += (header.empty() ? "" : std::string(1, separator_)) + name;
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

std::vector<EpochLogs> read_metrics_csv(const std::string& path) {
  std::ifstream in(path);
  check(in.is_open(), path + ": cannot open (" + std::strerror(errno) + ")");
  std::string line;
  check(static_cast<bool>(std::getline(in, line)), path + ": empty, not a metrics CSV");
  char separator = ',';
  for (char candidate : {';', '\t'})
    if (line.find(candidate) != std::string::npos) separator = candidate;
  const std::vector<std::string> header = split(line, separator);
  std::map<std::string, size_t> column;
  for (size_t i = 0; i < header.size(); ++i) column[header[i]] = i;
  for (const char* needed : {"epoch", "loss"})
    check(column.count(needed), path + ": line 1 has no \"" + std::string(needed) +
                                    "\" column (expected CSVLogger's header: epoch,loss,...)");
  std::vector<EpochLogs> rows;
  for (int number = 2; std::getline(in, line); ++number) {
    if (line.empty() || line == "\r") continue;
    const std::vector<std::string> fields = split(line, separator);
    const std::string where = path + ":" + std::to_string(number);
    check(fields.size() == header.size(), where + ": " + std::to_string(fields.size()) +
                                              " fields, the header has " + std::to_string(header.size()));
    auto value = [&](const char* name) {
      auto found = column.find(name);
      if (found == column.end() || fields[found->second].empty()) return double(NAN);
      const std::string& text = fields[found->second];
      char* end = nullptr;
      const double parsed = std::strtod(text.c_str(), &end);
      check(end != text.c_str() && *end == '\0', where + ": " + name + " is \"" + text + "\", not a number");
      return parsed;
    };
    EpochLogs logs;
    logs.epoch = int(value("epoch"));
    logs.loss = value("loss"), logs.accuracy = value("accuracy");
    logs.val_loss = value("val_loss"), logs.val_accuracy = value("val_accuracy");
    logs.seconds = value("seconds"), logs.us_per_step = value("us_per_step");
    const double steps = value("steps");
    logs.steps = std::isnan(steps) ? 0 : int64_t(steps);
    logs.lr = float(value("lr"));
    rows.push_back(logs);
  }
  for (EpochLogs& logs : rows) logs.epochs = int(rows.size());
  return rows;
}

}  // namespace leap
