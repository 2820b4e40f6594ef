#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>

#include "format_number.h"
#include "leap/callback.h"
#include "leap/callbacks/jsonl_logger.h"
#include "leap/error.h"

namespace leap {

JsonlLogger::JsonlLogger(const std::string& path)
    : path_(path), file_(std::fopen(path.c_str(), "w")) {
  check(file_ != nullptr, "cannot write metrics file " + path + ": " + std::strerror(errno));
}

JsonlLogger::~JsonlLogger() { std::fclose(file_); }

static std::string number(double value) {
  return std::isfinite(value) ? format_number("%.9g", value) : "null";
}

bool JsonlLogger::on_epoch_end(const EpochLogs& logs) {
  std::fprintf(file_,
               "{\"epoch\": %d, \"loss\": %s, \"accuracy\": %s, \"val_loss\": %s, "
               "\"val_accuracy\": %s, \"seconds\": %s, \"us_per_step\": %s, \"steps\": %lld, "
               "\"lr\": %s, \"samples\": %lld, \"joules\": %s}\n",
               logs.epoch, number(logs.loss).c_str(), number(logs.accuracy).c_str(),
               number(logs.val_loss).c_str(), number(logs.val_accuracy).c_str(),
               number(logs.seconds).c_str(), number(logs.us_per_step).c_str(),
               static_cast<long long>(logs.steps), number(logs.lr).c_str(),
               static_cast<long long>(logs.samples), number(logs.joules).c_str());
  check(std::fflush(file_) == 0, "cannot write metrics file " + path_);
  return false;
}

void JsonlLogger::write_line(const std::string& json_object) {
  std::fprintf(file_, "%s\n", json_object.c_str());
  check(std::fflush(file_) == 0, "cannot write metrics file " + path_);
}

}  // namespace leap
