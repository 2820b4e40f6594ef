// One process, several GPUs: a thread a GPU, each rank of one NCCL group.
#include "parallel/nccl/nccl_check.h"
#include "parallel/host_plane.h"
#include "parallel/threads/rank_threads.h"
#include "leap/backend.h"
#include "leap/error.h"

namespace leap {

bool nccl_built() { return true; }

void run_on_gpus(int gpus, const Replica& replica, double timeout_seconds) {
  const int usable = cuda_device_count();
  check(gpus >= 1 && gpus <= usable, "--gpus " + std::to_string(gpus) + ": this machine has " +
                                         std::to_string(usable) + " usable GPU(s)");
  keep_nvlink_multicast_off();
  ThreadGroup group(gpus, timeout_seconds);
  run_rank_threads(group, [&](int rank) {
    use_cuda_device(rank);
    std::unique_ptr<Communicator> communicator = nccl_communicator(thread_host_plane(group, rank), timeout_seconds);
    replica(*communicator);
  });
}

}  // namespace leap
