// How `leap train` runs its ranks: alone, as one process over several GPUs (--gpus N, a
// thread a GPU), or as one process of an MPI job (mpirun -np N leap train ...). Training
// is the same callback on every rank.
#pragma once

#include <functional>
#include <mutex>
#include <string>

#include "leap/data_files.h"
#include "leap/parallel.h"

namespace leap::cli {

struct RankOptions {
  std::string device = "auto";
  int gpus = 1;
  double collective_timeout = kDefaultCollectiveTimeout;
};

// Trains one rank on `device`; communicator is null for a process that trains alone.
// Returns the exit code.
using RankTraining = std::function<int(Device device, Communicator* communicator)>;
// Runs the ranks this process holds and returns rank 0's exit code (each of mpirun's
// processes returns its own).
int run_training_ranks(const RankOptions& options, const RankTraining& train);

// The data files, read once per process however many ranks train on them.
class SharedData {
 public:
  explicit SharedData(DataFiles files) : files_(std::move(files)) {}
  const MnistSplits& get();

 private:
  DataFiles files_;
  std::once_flag read_;
  MnistSplits data_;
};

}  // namespace leap::cli
