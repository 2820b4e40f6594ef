// Built when leap is configured without NCCL (or without CUDA): no GPU collectives.
#include "parallel/host_plane.h"
#include "leap/error.h"

namespace leap {
namespace {

const char* kWithoutNccl =
    "this leap was built without NCCL; rebuild with a CUDA toolkit that has NCCL to train "
    "on several GPUs";

}  // namespace

bool nccl_built() { return false; }
std::unique_ptr<Communicator> nccl_communicator(std::unique_ptr<HostPlane>, double) {
  throw Error(kWithoutNccl);
}
void run_on_gpus(int, const Replica&, double) { throw Error(kWithoutNccl); }
void keep_nvlink_multicast_off() {}

}  // namespace leap
