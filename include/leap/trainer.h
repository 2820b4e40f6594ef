// Model: the Keras-style face of the engine (compile, fit, evaluate, predict) over a
// Sequential network. It runs the same layer calls as the PyTorch-style loop.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "leap/callbacks.h"
#include "leap/data.h"
#include "leap/loss.h"
#include "leap/optim.h"
#include "leap/schedule.h"
#include "leap/sequential.h"

namespace leap {

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
  History fit(const Dataset& train, const FitOptions& options);
  Evaluation evaluate(const Dataset& data, int batch_size = 1024);
  // Logits [n, classes] for images [n, features], on the images' device.
  Tensor predict(const Tensor& images, int batch_size = 1024);

  Sequential& network() { return network_; }
  Optimizer& optimizer();
  Device device() const { return network_.device(); }
  // How the last fit trained: the backend's fast path, or layer by layer and why.
  const std::string& training_path() const { return training_path_; }

 private:
  std::unique_ptr<MlpEpochRunner> plan_runner(const DataLoader& loader, const FitOptions& options);
  EpochLogs train_epoch(DataLoader& loader, MlpEpochRunner* runner, const FitOptions& options,
                        int epoch);

  Sequential network_;
  std::unique_ptr<Optimizer> optimizer_;
  std::optional<DistillationLoss> distillation_;
  std::string training_path_;
};

}  // namespace leap
