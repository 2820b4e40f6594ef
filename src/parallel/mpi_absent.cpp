// Built when leap is configured without MPI: no process of an MPI job can take part.
#include "parallel/host_plane.h"
#include "leap/error.h"

namespace leap {
namespace {

const char* kWithoutMpi =
    "this leap was built without MPI; install an MPI (Debian: libopenmpi-dev openmpi-bin) and "
    "rebuild to train across processes";

}  // namespace

bool mpi_built() { return false; }
const MpiJob& mpi_job() { throw Error(kWithoutMpi); }
std::unique_ptr<Communicator> mpi_communicator(Device, double) { throw Error(kWithoutMpi); }
std::unique_ptr<HostPlane> mpi_host_plane(double) { throw Error(kWithoutMpi); }
void abort_mpi_job(int) {}

}  // namespace leap
