// Training checkpoints: the weights, the optimizer's state and step count, the dropout
// layers' random state and the position in the data order, in one safetensors file, so
// that a run stopped and resumed gives the same weights as a run never stopped.
// Weights keep their PyTorch names (a checkpoint loads with load_weights and in torch);
// optimizer state is named "optimizer.<param>.<state>"; the rest is metadata.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "leap/data.h"
#include "leap/optimizer.h"
#include "leap/sequential.h"

namespace leap {

// Where a run stands.
struct TrainingProgress {
  int epoch = 0;      // the epoch under way (0-based)
  int64_t batch = 0;  // batches of that epoch done
  int64_t step = 0;   // batches done since the run began (skipped ones included)
  // The epoch's figures so far, so that its log line covers the whole epoch.
  double loss_sum = 0;
  int64_t correct = 0, seen = 0;
};

// Writes atomically (a temporary file beside `path`, fsync, rename): a crash at any moment
// leaves the previous checkpoint or the new one, never a torn file. `loader` records the
// batch size, seed, shuffle and drop_last that the position means something under.
void save_training_checkpoint(const std::string& path, Sequential& network, Optimizer& optimizer,
                              const TrainingProgress& progress, const LoaderOptions& loader);

// Restores weights, optimizer state and random state into `network` and `optimizer` (which
// must be the ones the checkpoint was written from, as --model and --optimizer give them)
// and returns the position. Throws leap::Error naming the file and what differs.
TrainingProgress load_training_checkpoint(const std::string& path, Sequential& network,
                                          Optimizer& optimizer, const LoaderOptions& loader);

// The checkpoint file of a run directory, or `path` itself when it is not a directory.
std::string checkpoint_file(const std::string& run_dir_or_file);

// True when `metadata` (of a safetensors file) marks a training checkpoint.
bool is_training_checkpoint(const std::map<std::string, std::string>& metadata);

}  // namespace leap
