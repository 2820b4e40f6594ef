// Many models at once: seeds, grids and ensembles trained side by side on one device over
// one resident copy of the data. Each model keeps its own weights, optimizer state, seed,
// schedule and callbacks, and ends with the weights Model::fit would give it alone: the
// sweep calls the same Model::fit for each, so it gets every path that fit takes.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "leap/callback.h"
#include "leap/data.h"
#include "leap/model.h"

namespace leap {

// One model of a sweep: compiled, on the sweep's device, and how to fit it.
struct SweepMember {
  Model* model = nullptr;
  // Its training data; null: the data given to fit_many. Members that share data share one
  // resident copy (a Dataset's tensors share storage).
  const Dataset* train = nullptr;
  FitOptions fit;  // its own seed, epochs, batch, schedule, callbacks, validation data
};

struct SweepOptions {
  // CPU: how many models train at once, each on one core with one thread (its products and
  // loops single-threaded, so its bits do not depend on the count). 0: one a core, up to the
  // number of models; 1: one after another, each on every core.
  // GPU: how many models train at once, their persistent-kernel steps in one launch (a
  // cluster a model) and their graphs on side streams. 0: one after another for now (see
  // sweep_workers); 1: one after another.
  int workers = 0;
  // Called after each model ends (from the thread that trained it, one at a time), with its
  // index and History: progress lines, saving weights as soon as they are done.
  std::function<void(size_t index, const History& history)> on_model_end;
};

// Trains every member and returns their Histories in the members' order. All members must
// be on one device. On the CPU the models spread over the cores (SweepOptions::workers);
// on a GPU, with workers > 1, that many train at once: the persistent kernel runs the steps of
// the models it takes in one launch, a cluster each, and the other models' CUDA graphs replay
// beside it on streams of their own (models trained layer by layer take the GPU in turns). The first failure
// is rethrown once the models under way have ended; a stop request (interrupt.h) stops every
// model.
std::vector<History> fit_many(std::span<SweepMember> members, const Dataset& train,
                              const SweepOptions& options = {});

// How many models fit_many trains at once on `device` for `models` models with `requested`
// workers (0: its choice; on a GPU one after another until the side-by-side path has run on a
// GPU, so ask for it with a count).
int sweep_workers(Device device, size_t models, int requested);

// Bytes one model of `spec` needs while it trains with batches of `batch` over `samples`
// samples, beyond the shared data: weights, gradients, two optimizer moments, the
// activations and gradients of a batch, and the shuffled order. An estimate for refusing
// grids that cannot fit before anything trains.
int64_t training_bytes(const std::string& spec, int batch, int64_t samples);

// Bytes the models of a sweep share on `device` beyond the data set itself: on a GPU, the
// persistent kernel's byte copy of the images (one byte a feature), made once for them all.
int64_t shared_data_bytes(Device device, int64_t samples, int features);

// Throws leap::OutOfMemory, saying how many models of the largest would fit, when `needs`
// bytes (the sum of training_bytes over the models trained at once) exceed what `device`
// has free.
void check_sweep_fits(Device device, int64_t needs, int64_t largest_model_bytes, size_t models);

// Mean, standard deviation (n - 1 in the denominator; 0 for one value) and standard error
// (std / sqrt(n)) of a figure over a configuration's seeds.
struct Spread {
  double mean = 0, std_dev = 0, std_error = 0;
  size_t count = 0;
};
Spread spread_of(std::span<const double> values);

// The figures of a configuration over its seeds' Histories: the final and best validation
// accuracy and loss (best: the highest accuracy, the lowest loss, over the epochs).
struct SeedSummary {
  Spread final_val_accuracy, best_val_accuracy, final_val_loss, best_val_loss;
  Spread final_accuracy, final_loss;
  double steps_per_second = 0;  // the mean over its models of steps over training seconds
};
SeedSummary summarize_seeds(std::span<const History> histories);

// Each epoch's mean over the Histories (`mean`) and its standard deviation (`spread`), for a
// report's mean curve and band. Epochs that not every History reached are left out.
void mean_curves(std::span<const History> histories, std::vector<EpochLogs>& mean,
                 std::vector<EpochLogs>& spread);

}  // namespace leap
