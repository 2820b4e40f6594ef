// The one checking macro behind LEAP_CUDA_CHECK, LEAP_CUBLAS_CHECK, LEAP_NCCL_CHECK and
// LEAP_MPI_CHECK: a call whose status (leap_status_) fails the condition `ok` goes to
// `thrower`, which throws leap::Error naming the call, the file and line, and the library's
// own error string.
#pragma once

#define LEAP_CHECK_STATUS(call, ok, thrower)                                     \
  do {                                                                           \
    const auto leap_status_ = (call);                                            \
    if (!(ok)) thrower(leap_status_, #call, __FILE__, __LINE__);                 \
  } while (0)
