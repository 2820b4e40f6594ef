#include "parallel/host_plane.h"
#include "parallel/mpi/mpi_check.h"

namespace leap {
namespace {

class MpiHostPlane final : public HostPlane {
 public:
  explicit MpiHostPlane(double timeout_seconds)
      : job_(mpi_job()), timeout_seconds_(timeout_seconds) {}
  int rank() const override { return job_.rank; }
  int ranks() const override { return job_.ranks; }
  std::string describe() const override { return "MPI"; }

  void sum(double* values, int count) override {
    MPI_Request request;
    LEAP_MPI_CHECK(MPI_Iallreduce(MPI_IN_PLACE, values, count, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD, &request));
    mpi_detail::wait_all(&request, 1, timeout_seconds_, where("sum of host values"));
  }
  void broadcast(void* data, size_t bytes, int root) override {
    MPI_Request request;
    LEAP_MPI_CHECK(MPI_Ibcast(data, int(bytes), MPI_BYTE, root, MPI_COMM_WORLD, &request));
    mpi_detail::wait_all(&request, 1, timeout_seconds_, where("broadcast"));
  }

 private:
  std::string where(const char* what) const {
    return "rank " + std::to_string(job_.rank) + "'s " + what;
  }

  const MpiJob& job_;
  double timeout_seconds_;
};

}  // namespace

std::unique_ptr<HostPlane> mpi_host_plane(double timeout_seconds) {
  return std::make_unique<MpiHostPlane>(timeout_seconds);
}

}  // namespace leap
