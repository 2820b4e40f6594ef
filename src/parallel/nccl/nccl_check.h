// The checking macro of NCCL calls. leap's communicators are non-blocking: a call may
// answer ncclInProgress, which is no error (the caller then polls the communicator's state,
// NcclCommunicator::wait_ready); any other failure throws leap::Error naming the call, the
// file and line, and NCCL's message.
#pragma once

#include <nccl.h>

#include "check_status.h"

namespace leap::cuda_detail {

[[noreturn]] void throw_nccl_error(ncclResult_t status, const char* call, const char* file, int line);

}  // namespace leap::cuda_detail

#define LEAP_NCCL_CHECK(call)                                                              \
  LEAP_CHECK_STATUS(call, leap_status_ == ncclSuccess || leap_status_ == ncclInProgress, \
                    ::leap::cuda_detail::throw_nccl_error)
