#include <cmath>
#include <cstdio>
#include <regex>

#include "format_number.h"
#include "leap/callback.h"
#include "leap/callbacks/monitor.h"
#include "leap/callbacks/model_checkpoint.h"
#include "leap/checkpoint.h"
#include "leap/error.h"

namespace leap {

std::string format_epoch_path(const std::string& pattern, const EpochLogs& logs) {
  // {name} or {name:spec}, spec as in Python's format: width, precision, d/f/e/g.
  static const std::regex field(R"(\{([a-z_]+)(?::(0?[0-9]*)(\.[0-9]+)?([dfeg]?))?\})");
  std::string out;
  auto begin = std::sregex_iterator(pattern.begin(), pattern.end(), field);
  size_t last = 0;
  for (auto it = begin; it != std::sregex_iterator(); ++it) {
    const std::smatch& m = *it;
    out += pattern.substr(last, size_t(m.position()) - last);
    last = size_t(m.position() + m.length());
    const std::string name = m[1], width = m[2], precision = m[3], type = m[4];
    char text[64];
    if (name == "epoch") {
      check(precision.empty() && (type.empty() || type == "d"),
            "checkpoint path '" + pattern + "': {epoch} takes an integer format such as {epoch:02d}");
      std::snprintf(text, sizeof text, ("%" + width + "d").c_str(), logs.epoch);
    } else {
      check(type != "d", "checkpoint path '" + pattern + "': {" + name + "} is not an integer");
      const std::string format = "%" + width + precision + (type.empty() ? "g" : type);
      std::snprintf(text, sizeof text, format.c_str(), monitored_value(logs, name));
    }
    out += text;
  }
  return out + pattern.substr(last);
}

ModelCheckpoint::ModelCheckpoint(Module& model, std::string filepath, ModelCheckpointOptions options)
    : model_(model), filepath_(std::move(filepath)), options_(std::move(options)),
      monitor_(options_.monitor, options_.mode), best_(monitor_.worst()) {
  format_epoch_path(filepath_, EpochLogs{});  // a bad pattern fails now, not after an epoch
}

bool ModelCheckpoint::on_epoch_end(const EpochLogs& logs) {
  const double value = monitor_.value(logs);
  if (options_.save_best_only) {
    // As in Keras, a figure that is not there (NaN: no validation data) saves nothing.
    if (!monitor_.improved(value, best_)) return false;
    if (options_.verbose)
      std::printf("Epoch %d: %s improved from %.5f to %.5f, saving the model\n", logs.epoch,
                  monitor_.name().c_str(), best_, value);
    best_ = value;
  }
  last_saved_ = format_epoch_path(filepath_, logs);
  save_weights(model_, last_saved_,
               {{"epoch", std::to_string(logs.epoch)}, {monitor_.name(), format_number("%.9g", value)}});
  if (options_.verbose && !options_.save_best_only)
    std::printf("Epoch %d: saving the model to %s\n", logs.epoch, last_saved_.c_str());
  return false;
}

}  // namespace leap
