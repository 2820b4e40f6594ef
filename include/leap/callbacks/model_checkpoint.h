// ModelCheckpoint: Keras' callback that saves the weights after an epoch (or the best).
#pragma once

#include <string>

#include "leap/callbacks/monitor.h"

namespace leap {

class Module;

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

}  // namespace leap
