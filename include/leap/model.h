// Model: the Keras-style face of the engine (compile, fit, evaluate, predict) over a
// Sequential network. It runs the same layer calls as the PyTorch-style loop.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "leap/callback.h"
#include "leap/data.h"
#include "leap/parallel.h"
#include "leap/energy.h"
#include "leap/loss.h"
#include "leap/optimizer.h"
#include "leap/precision.h"
#include "leap/schedule.h"
#include "leap/sequential.h"
#include "leap/training_checkpoint.h"

namespace leap {

class DataParallel;
class StepChecker;

// What training does when a batch's loss or a gradient is NaN or Inf.
enum class NanPolicy {
  stop,  // throw leap::Error naming the step and the layer; write no checkpoint after it
  skip,  // leave the weights as they were before the batch and go on
};

struct FitOptions {
  int epochs = 1;
  int batch_size = 32;  // Keras' default
  bool shuffle = true;
  bool drop_last = false;
  uint64_t seed = 0;
  const Dataset* validation_data = nullptr;
  std::vector<Callback*> callbacks;
  std::shared_ptr<LrSchedule> schedule;
  // Let the backend run whole batches through its fast path when it has one for this model.
  bool fast_path = true;
  // Print which path trains and why (Keras' verbose).
  bool verbose = false;
  // The precision of the matrix products; empty: the device's default (Backend::
  // default_precision: fp32 on every device today). Master weights, gradients'
  // sums and optimizer state stay fp32 in every precision.
  std::optional<Precision> precision;

  // Checkpoints (weights, optimizer, position, random state) go to this file, written
  // atomically, every `checkpoint_every` epochs (steps when checkpoint_in_steps) and when
  // a stop is requested (see interrupt.h); none when empty.
  std::string checkpoint_path;
  int64_t checkpoint_every = 0;
  bool checkpoint_in_steps = false;
  // Also write one when the run ends, so that it can go on later with more epochs.
  bool checkpoint_at_end = false;
  // Continue the run this checkpoint file was written by; its loader settings must match.
  std::string resume_from;
  // Checked every step, except on the backend's fast path (per chunk of up to 64 steps,
  // 1024 on the persistent kernel and on a graph trained beside other models by fit_many:
  // the granularity of its loss sum) and on a GPU under
  // `stop` (every 64 steps, so as not to wait for the device each step). `skip` checks
  // every step and so turns the fast path off.
  NanPolicy on_nan = NanPolicy::stop;

  // Data-parallel training (dist.h): this rank trains on its shard of every batch of
  // batch_size samples (the global batch) and its gradients are averaged with the other
  // ranks' over the whole batch, so N ranks take the steps one process would. Every rank
  // starts from rank 0's weights; checkpoints are written by rank 0 alone. Callbacks that
  // stop training belong on every rank (they see the same figures), loggers on rank 0.
  // Null: this process trains alone.
  Communicator* communicator = nullptr;
};

struct Evaluation {
  double loss = 0, accuracy = 0;
  int64_t samples = 0;
};

// The logits of `network` (in evaluation mode) for images[n, features], batch by batch, on
// the network's device.
Tensor predict_logits(Sequential& network, const Tensor& images, int batch_size = 1024);

class Model {
 public:
  explicit Model(Sequential network);

  // Keras' compile: the optimizer, the loss (softmax cross-entropy is the one there is) and
  // the metrics ("accuracy" is the one known).
  void compile(OptimizerFactory optimizer, CrossEntropyLoss loss = {},
               std::vector<std::string> metrics = {"accuracy"});
  // Trains on the training data's soft targets (a teacher's logits) with this loss.
  void compile(OptimizerFactory optimizer, DistillationLoss loss,
               std::vector<std::string> metrics = {"accuracy"});
  History fit(const Dataset& train, const FitOptions& options) { return fit(train, options, DataChecked::no); }
  // With a communicator, each rank evaluates its shard of the data and every rank gets the
  // figures of the whole.
  Evaluation evaluate(const Dataset& data, int batch_size = 1024,
                      Communicator* communicator = nullptr);
  // Logits [n, classes] for images [n, features], on the images' device.
  Tensor predict(const Tensor& images, int batch_size = 1024);

  Sequential& network() { return network_; }
  Optimizer& optimizer();
  Device device() const { return network_.device(); }
  // How the last fit trained: the backend's fast path, or layer by layer and why.
  const std::string& training_path() const { return training_path_; }
  // The precision the last fit trained in.
  Precision precision() const { return network_.precision(); }
  // What measured the energy of the last fit's epochs, or why none was measured.
  const std::string& energy_source() const { return energy_source_; }

 private:
  // fit_many checks each data set once for the models that read it (on a GPU a check copies
  // the data to the host) and calls fit with DataChecked::yes; a program cannot skip the check.
  enum class DataChecked { no, yes };
  friend class SweepFit;
  History fit(const Dataset& train, const FitOptions& options, DataChecked checked);
  std::unique_ptr<MlpEpochRunner> plan_runner(const DataLoader& loader, const FitOptions& options);
  EpochLogs train_epoch(DataLoader& loader, MlpEpochRunner* runner, const FitOptions& options,
                        TrainingProgress& progress, DataParallel& parallel);
  // After each step: writes a checkpoint when one is due and stops when `stopping` (a stop
  // requested, on any rank).
  void after_step(const FitOptions& options, TrainingProgress& progress, StepChecker& checker,
                  bool stopping);
  void save_checkpoint(const FitOptions& options, const TrainingProgress& progress);

  Sequential network_;
  std::unique_ptr<Optimizer> optimizer_;
  std::optional<DistillationLoss> distillation_;
  std::string training_path_;
  std::string last_checkpoint_;  // "path (step N)" once this fit wrote one
  std::unique_ptr<EnergyMeter> energy_meter_;  // null when the device reports no energy
  std::string energy_source_;
};

}  // namespace leap
