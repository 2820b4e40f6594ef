// The checking macro of MPI calls: MPI returns its errors (MPI_ERRORS_RETURN is set on the
// world communicator) and a failed call throws leap::Error naming the call, the file and
// line, and MPI's own message.
#pragma once

#include <mpi.h>

#include <string>

#include "check_status.h"
#include "leap/parallel.h"

namespace leap::mpi_detail {

[[noreturn]] void throw_mpi_error(int status, const char* call, const char* file, int line);

// Waits for the requests, polling, with the collective timeout; `what` names the wait in
// the message of a timeout.
void wait_all(MPI_Request* requests, int count, double timeout_seconds, const std::string& what);

}  // namespace leap::mpi_detail

#define LEAP_MPI_CHECK(call) \
  LEAP_CHECK_STATUS(call, leap_status_ == MPI_SUCCESS, ::leap::mpi_detail::throw_mpi_error)
