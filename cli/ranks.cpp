#include "ranks.h"

#include "commands.h"
#include "leap/backend.h"
#include "leap/error.h"

namespace leap::cli {

int run_training_ranks(const RankOptions& options, const RankTraining& train) {
  if (launched_by_mpi()) {
    check(options.gpus == 1, "--gpus runs one process over several GPUs; under mpirun each "
                             "process takes one GPU (mpirun -np N leap train ...)");
    const MpiJob& job = mpi_job();
    // Each process of a node takes its own GPU before anything touches one.
    if (options.device != "cpu" && available(Device::cuda))
      use_cuda_device(job.local_rank % cuda_device_count());
    const Device device = choose_device(options.device);
    std::unique_ptr<Communicator> communicator = mpi_communicator(device, options.collective_timeout);
    return train(device, communicator.get());
  }
  if (options.gpus > 1) {
    check(options.device != "cpu", "--gpus " + std::to_string(options.gpus) +
                                       " trains on GPUs: use --device cuda or auto");
    check(choose_device(options.device) == Device::cuda,
          "--gpus " + std::to_string(options.gpus) + ": no usable GPU");
    int code = 0;
    run_on_gpus(options.gpus, [&](Communicator& communicator) {
      const int rank_code = train(Device::cuda, &communicator);
      if (communicator.rank() == 0) code = rank_code;
    }, options.collective_timeout);
    return code;
  }
  return train(choose_device(options.device), nullptr);
}

const MnistSplits& SharedData::get() {
  std::call_once(read_, [this] { data_ = load_data_files(files_); });
  return data_;
}

}  // namespace leap::cli
