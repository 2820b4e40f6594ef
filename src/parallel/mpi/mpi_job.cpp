// MPI's lifetime in a leap process: started on first use, finalized at exit.
#include <cstdlib>

#include "leap/error.h"
#include "parallel/mpi/mpi_check.h"
#include "parallel/wait_for_peers.h"

namespace leap {
namespace mpi_detail {

void throw_mpi_error(int status, const char* call, const char* file, int line) {
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  if (MPI_Error_string(status, text, &length) != MPI_SUCCESS) length = 0;
  throw Error(std::string(call) + " failed at " + file + ":" + std::to_string(line) + ": " +
              (length > 0 ? std::string(text, size_t(length)) : "MPI error " + std::to_string(status)));
}

void wait_all(MPI_Request* requests, int count, double timeout_seconds, const std::string& what) {
  wait_for_peers([&] {
    int done = 0;
    LEAP_MPI_CHECK(MPI_Testall(count, requests, &done, MPI_STATUSES_IGNORE));
    return done != 0;
  }, timeout_seconds, what);
}

}  // namespace mpi_detail

namespace {

bool mpi_running() {
  int started = 0, finished = 0;
  MPI_Initialized(&started);
  MPI_Finalized(&finished);
  return started && !finished;
}

MpiJob start_mpi() {
  int provided = 0;
  // Only the thread that trains calls MPI.
  LEAP_MPI_CHECK(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided));
  std::atexit([] {
    if (mpi_running()) MPI_Finalize();
  });
  LEAP_MPI_CHECK(MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN));
  MpiJob job;
  LEAP_MPI_CHECK(MPI_Comm_rank(MPI_COMM_WORLD, &job.rank));
  LEAP_MPI_CHECK(MPI_Comm_size(MPI_COMM_WORLD, &job.ranks));
  MPI_Comm node;
  LEAP_MPI_CHECK(MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, job.rank, MPI_INFO_NULL, &node));
  LEAP_MPI_CHECK(MPI_Comm_rank(node, &job.local_rank));
  LEAP_MPI_CHECK(MPI_Comm_free(&node));
  return job;
}

}  // namespace

bool mpi_built() { return true; }

const MpiJob& mpi_job() {
  static const MpiJob job = start_mpi();
  return job;
}

void abort_mpi_job(int code) {
  if (mpi_running()) MPI_Abort(MPI_COMM_WORLD, code);
}

}  // namespace leap
