// The CPU communicator of an MPI job, and the choice of communicator for mpirun's ranks.
#include <climits>
#include <vector>

#include "parallel/host_plane.h"
#include "leap/error.h"
#include "parallel/mpi/mpi_check.h"

namespace leap {
namespace {

std::string library_version() {
  char text[MPI_MAX_LIBRARY_VERSION_STRING];
  int length = 0;
  if (MPI_Get_library_version(text, &length) != MPI_SUCCESS) return "MPI";
  const std::string version(text, size_t(length));
  return version.substr(0, version.find_first_of(",\n"));
}

class MpiCommunicator final : public Communicator {
 public:
  explicit MpiCommunicator(double timeout_seconds)
      : job_(mpi_job()), host_(mpi_host_plane(timeout_seconds)), timeout_seconds_(timeout_seconds) {}
  ~MpiCommunicator() override {
    // Leaving with sums in flight (after an error): the job is about to be aborted.
    for (MPI_Request& request : pending_) MPI_Request_free(&request);
  }

  int rank() const override { return job_.rank; }
  int ranks() const override { return job_.ranks; }
  Device device() const override { return Device::cpu; }
  std::string describe() const override {
    return library_version() + ", rank " + std::to_string(rank()) + " of " + std::to_string(ranks());
  }

  void start_sum(std::span<const FloatBuffer> bucket, float weight) override {
    for (const FloatBuffer& buffer : bucket) {
      check(buffer.count <= size_t(INT_MAX), "a gradient of " + std::to_string(buffer.count) +
                                                 " floats is more than one MPI call takes");
      float* data = buffer.data;
      const size_t count = buffer.count;
      if (weight != 1.0f) {
#pragma omp parallel for if (count > (1 << 15))
        for (size_t i = 0; i < count; ++i) data[i] *= weight;
      }
      pending_.emplace_back();
      LEAP_MPI_CHECK(MPI_Iallreduce(MPI_IN_PLACE, data, int(count), MPI_FLOAT, MPI_SUM,
                                    MPI_COMM_WORLD, &pending_.back()));
    }
    // MPI moves non-blocking collectives on only inside its calls: a test per bucket lets
    // the sums progress while backward computes the next layer.
    int done = 0;
    LEAP_MPI_CHECK(MPI_Testall(int(pending_.size()), pending_.data(), &done, MPI_STATUSES_IGNORE));
    if (done) pending_.clear();
  }

  void finish() override {
    if (pending_.empty()) return;
    mpi_detail::wait_all(pending_.data(), int(pending_.size()), timeout_seconds_,
                         "rank " + std::to_string(rank()) + "'s gradient sums");
    pending_.clear();
  }

  void broadcast(FloatBuffer buffer, int root) override {
    check(buffer.count <= size_t(INT_MAX), "a broadcast of " + std::to_string(buffer.count) +
                                               " floats is more than one MPI call takes");
    MPI_Request request;
    LEAP_MPI_CHECK(MPI_Ibcast(buffer.data, int(buffer.count), MPI_FLOAT, root, MPI_COMM_WORLD, &request));
    mpi_detail::wait_all(&request, 1, timeout_seconds_,
                         "rank " + std::to_string(rank()) + "'s broadcast of the parameters");
  }

  void sum_on_host(double* values, int count) override { host_->sum(values, count); }

 private:
  const MpiJob& job_;
  std::unique_ptr<HostPlane> host_;
  double timeout_seconds_;
  std::vector<MPI_Request> pending_;
};

}  // namespace

std::unique_ptr<Communicator> mpi_communicator(Device device, double timeout_seconds) {
  if (device == Device::cuda) return nccl_communicator(mpi_host_plane(timeout_seconds), timeout_seconds);
  return std::make_unique<MpiCommunicator>(timeout_seconds);
}

}  // namespace leap
