// The checking macro of NCCL calls. leap's communicators are non-blocking: a call may
// answer ncclInProgress, which is no error (the caller then polls the communicator's state,
// NcclCommunicator::wait_ready); any other failure throws leap::Error naming the call, the
// file and line, and NCCL's message.
#pragma once

#include <nccl.h>

namespace leap::cuda_detail {

[[noreturn]] void throw_nccl_error(ncclResult_t status, const char* call, const char* file, int line);

}  // namespace leap::cuda_detail

#define LEAP_NCCL_CHECK(call)                                                           \
  do {                                                                                  \
    const ncclResult_t leap_nccl_status_ = (call);                                      \
    if (leap_nccl_status_ != ncclSuccess && leap_nccl_status_ != ncclInProgress)        \
      ::leap::cuda_detail::throw_nccl_error(leap_nccl_status_, #call, __FILE__, __LINE__); \
  } while (0)
