// HostPlane: how the ranks of a GPU communicator reach each other from the host, to share
// NCCL's id and to agree on a few values (stop flags, loss sums) without waiting for the
// GPU: MPI between processes, a ThreadGroup between threads.
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "leap/parallel.h"
#include "parallel/threads/thread_group.h"

namespace leap {

class HostPlane {
 public:
  virtual ~HostPlane() = default;
  virtual int rank() const = 0;
  virtual int ranks() const = 0;
  virtual std::string describe() const = 0;
  // Sums values over ranks, in place.
  virtual void sum(double* values, int count) = 0;
  // Every rank's data[bytes] becomes rank root's.
  virtual void broadcast(void* data, size_t bytes, int root) = 0;
};

std::unique_ptr<HostPlane> thread_host_plane(ThreadGroup& group, int rank);
// This MPI job's ranks (mpi_job()); waits longer than timeout_seconds throw.
std::unique_ptr<HostPlane> mpi_host_plane(double timeout_seconds);

// The GPU communicator of the ranks of `host`, each on its thread's GPU (use_cuda_device):
// NCCL, whose id rank 0 makes and sends through the host plane. Throws leap::Error when
// leap was built without NCCL.
std::unique_ptr<Communicator> nccl_communicator(std::unique_ptr<HostPlane> host,
                                                double timeout_seconds);
// Sets NCCL_NVLS_ENABLE=0 unless the variable is set (before the threads of run_on_gpus).
void keep_nvlink_multicast_off();

}  // namespace leap
