#include "leap/training_checkpoint.h"

#include <charconv>
#include <cstdlib>
#include <filesystem>

#include "format_number.h"
#include "leap/error.h"
#include "leap/dropout.h"
#include "leap/safetensors.h"

namespace leap {
namespace {

constexpr const char* kFormatKey = "leap.checkpoint";
constexpr const char* kFormatVersion = "1";
constexpr const char* kOptimizerPrefix = "optimizer.";

// Doubles as 17 significant digits: they read back to the same bits.
std::string exact_text(double value) { return format_number("%.17g", value); }

// Reads metadata values back, each error naming the file and the key.
class MetadataReader {
 public:
  MetadataReader(const std::string& path, const std::map<std::string, std::string>& metadata)
      : path_(path), metadata_(metadata) {}

  const std::string& text(const std::string& key) const {
    auto found = metadata_.find(key);
    check(found != metadata_.end(), path_ + ": checkpoint metadata lacks \"" + key + "\"");
    return found->second;
  }
  int64_t integer(const std::string& key, int64_t low, int64_t high) const {
    const std::string& value = text(key);
    int64_t number = 0;
    auto [end, status] = std::from_chars(value.data(), value.data() + value.size(), number);
    check(status == std::errc() && end == value.data() + value.size() && number >= low &&
              number <= high,
          path_ + ": checkpoint metadata \"" + key + "\" is \"" + value +
              "\", expected an integer in [" + std::to_string(low) + ", " +
              std::to_string(high) + "]");
    return number;
  }
  double real(const std::string& key) const {
    const std::string& value = text(key);
    char* end = nullptr;
    const double number = std::strtod(value.c_str(), &end);
    check(!value.empty() && end == value.c_str() + value.size(),
          path_ + ": checkpoint metadata \"" + key + "\" is \"" + value + "\", not a number");
    return number;
  }

 private:
  const std::string& path_;
  const std::map<std::string, std::string>& metadata_;
};

std::string dropout_key(size_t layer) { return "rng." + std::to_string(layer) + ".calls"; }

// The loader settings must match: the saved position means nothing under others.
void check_same_loader(const MetadataReader& saved, const LoaderOptions& loader,
                       const std::string& path) {
  auto same = [&](const char* key, const std::string& now, const char* option) {
    const std::string& then = saved.text(key);
    check(then == now, path + ": the checkpoint was written with " + option + " " + then +
                           ", this run has " + now + " (resume with the same settings)");
  };
  same("batch_size", std::to_string(loader.batch_size), "--batch-size");
  same("seed", std::to_string(loader.seed), "--seed");
  same("shuffle", loader.shuffle ? "1" : "0", "shuffle");
  same("drop_last", loader.drop_last ? "1" : "0", "--drop-last");
}

}  // namespace

bool is_training_checkpoint(const std::map<std::string, std::string>& metadata) {
  return metadata.count(kFormatKey) > 0;
}

std::string checkpoint_file(const std::string& run_dir_or_file) {
  if (std::filesystem::is_directory(run_dir_or_file))
    return (std::filesystem::path(run_dir_or_file) / "checkpoint.safetensors").string();
  return run_dir_or_file;
}

void save_training_checkpoint(const std::string& path, Sequential& network, Optimizer& optimizer,
                              const TrainingProgress& progress, const LoaderOptions& loader) {
  TensorMap tensors;
  for (Parameter* p : network.parameters()) tensors[p->name] = p->value;
  // Lazily made state (Adam's moments before its first step) is saved as the zeros it is.
  optimizer.prepare_state();
  for (auto& [name, state] : optimizer.state())
    if (state->defined()) tensors[kOptimizerPrefix + name] = *state;

  std::map<std::string, std::string> metadata = {
      {kFormatKey, kFormatVersion},
      {"optimizer", optimizer.describe()},
      {"optimizer_steps", std::to_string(optimizer.steps())},
      {"epoch", std::to_string(progress.epoch)},
      {"batch", std::to_string(progress.batch)},
      {"step", std::to_string(progress.step)},
      {"loss_sum", exact_text(progress.loss_sum)},
      {"correct", std::to_string(progress.correct)},
      {"seen", std::to_string(progress.seen)},
      {"batch_size", std::to_string(loader.batch_size)},
      {"seed", std::to_string(loader.seed)},
      {"shuffle", loader.shuffle ? "1" : "0"},
      {"drop_last", loader.drop_last ? "1" : "0"},
  };
  for (size_t i = 0; i < network.size(); ++i)
    if (auto* dropout = dynamic_cast<Dropout*>(&network[i]))
      metadata[dropout_key(i)] = std::to_string(dropout->calls());
  const std::filesystem::path parent = std::filesystem::path(path).parent_path();
  std::error_code error;
  if (!parent.empty()) std::filesystem::create_directories(parent, error);
  check(!error, parent.string() + ": cannot create the checkpoint directory (" + error.message() + ")");
  save_safetensors(path, tensors, metadata);
}

TrainingProgress load_training_checkpoint(const std::string& path, Sequential& network,
                                          Optimizer& optimizer, const LoaderOptions& loader) {
  std::map<std::string, std::string> metadata;
  TensorMap tensors = load_safetensors(path, &metadata);
  check(is_training_checkpoint(metadata),
        path + ": not a training checkpoint (no \"" + kFormatKey +
            "\" metadata); plain weights load with --load");
  const MetadataReader saved(path, metadata);
  check(saved.text(kFormatKey) == kFormatVersion,
        path + ": checkpoint format " + saved.text(kFormatKey) + ", this leap reads " +
            kFormatVersion);
  check_same_loader(saved, loader, path);

  for (Parameter* p : network.parameters()) {
    p->value.copy_from(require(tensors, p->name, p->value.shape(), path));
    tensors.erase(p->name);
  }
  optimizer.prepare_state();
  for (auto& [name, state] : optimizer.state()) {
    if (!state->defined()) continue;
    const std::string key = kOptimizerPrefix + name;
    check(tensors.count(key) > 0, path + ": optimizer state '" + name +
                                      "' is missing: the checkpoint was written by " +
                                      saved.text("optimizer") + ", this run uses " +
                                      optimizer.describe());
    state->copy_from(require(tensors, key, state->shape(), path));
    tensors.erase(key);
  }
  if (!tensors.empty())
    throw Error(path + ": tensor '" + tensors.begin()->first +
                "' does not belong to this model and optimizer (written by " +
                saved.text("optimizer") + ")");
  optimizer.restore_steps(saved.integer("optimizer_steps", 0, INT64_MAX));
  for (size_t i = 0; i < network.size(); ++i)
    if (auto* dropout = dynamic_cast<Dropout*>(&network[i]))
      dropout->set_calls(uint64_t(saved.integer(dropout_key(i), 0, INT64_MAX)));

  TrainingProgress progress;
  progress.epoch = int(saved.integer("epoch", 0, INT32_MAX));
  progress.batch = saved.integer("batch", 0, INT64_MAX);
  progress.step = saved.integer("step", 0, INT64_MAX);
  progress.loss_sum = saved.real("loss_sum");
  progress.correct = saved.integer("correct", 0, INT64_MAX);
  progress.seen = saved.integer("seen", 0, INT64_MAX);
  return progress;
}

}  // namespace leap
