// Data-parallel training. Ranks (processes under mpirun, or threads of one process that
// each drive a GPU) hold identical replicas of one model; each takes its share of every
// global batch, and their gradients are averaged over the whole batch through a
// Communicator, so that N ranks take the steps one process would take on the same batches.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>

#include "leap/tensor.h"

namespace leap {

// The rows [begin, end) of a batch of `count` samples that rank `rank` of `ranks` takes:
// contiguous slices in rank order whose sizes differ by at most one.
struct Shard {
  int64_t begin = 0, end = 0;
  int64_t size() const { return end - begin; }
};
Shard shard_of(int64_t count, int rank, int ranks);

// Floats in the memory of a communicator's device.
struct FloatBuffer {
  float* data;
  size_t count;
};

class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual int rank() const = 0;
  virtual int ranks() const = 0;
  virtual Device device() const = 0;
  virtual std::string describe() const = 0;

  // Starts replacing each buffer, on every rank, by the sum over ranks of weight * buffer
  // (weight: this rank's share of the batch, so the sum is the batch's mean gradient). The
  // buffers must stay untouched until finish(). Every rank starts the same buckets in the
  // same order.
  virtual void start_sum(std::span<const FloatBuffer> bucket, float weight) = 0;
  // Waits for every started sum (on a GPU: orders later work on the backend's stream
  // after them).
  virtual void finish() = 0;
  // Copies rank `root`'s buffer over every rank's (done as finish() is).
  virtual void broadcast(FloatBuffer buffer, int root) = 0;
  // Sums a few host values over ranks, in place: losses, counts, flags ranks agree on.
  virtual void sum_on_host(double* values, int count) = 0;
};

// How long a rank waits for the others in one collective before it stops the job, saying
// that another rank has failed or stalled.
constexpr double kDefaultCollectiveTimeout = 300.0;

// True when an MPI launcher (mpirun, mpiexec, srun) started this process.
bool launched_by_mpi();
// Whether this leap was built with MPI.
bool mpi_built();

// This process in its MPI job. Starts MPI on first use; MPI is finalized at exit.
// Throws leap::Error when leap was built without MPI.
struct MpiJob {
  int rank = 0, ranks = 1;
  int local_rank = 0;  // among the ranks on this node: the GPU to take
};
const MpiJob& mpi_job();
// The ranks of this MPI job: MPI collectives on the CPU, NCCL (its id sent through MPI) on
// a GPU (the GPU of use_cuda_device, see backend.h).
std::unique_ptr<Communicator> mpi_communicator(Device device,
                                               double timeout_seconds = kDefaultCollectiveTimeout);
// Ends every process of the MPI job with `code` (after an error on this rank); returns at
// once when MPI is not running.
void abort_mpi_job(int code);

// The replica one rank trains; it runs on the rank's own thread.
using Replica = std::function<void(Communicator&)>;
// One process, several GPUs: runs `replica` on `gpus` threads, thread k on GPU k as rank k
// of an NCCL group. Returns when all have; a failure on one rank stops the others and is
// rethrown naming the rank. Throws leap::Error when leap was built without NCCL.
void run_on_gpus(int gpus, const Replica& replica, double timeout_seconds = kDefaultCollectiveTimeout);
// The same on the CPU, ranks as threads with in-process collectives: the data-parallel
// trainer without MPI (its tests run so).
void run_on_threads(int ranks, const Replica& replica,
                    double timeout_seconds = kDefaultCollectiveTimeout);
// Whether this leap was built with NCCL (for run_on_gpus and mpirun on GPUs).
bool nccl_built();

}  // namespace leap
