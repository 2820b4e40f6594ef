// One checking macro per CUDA library: a failed call throws leap::Error naming the call, the
// file and line, and the library's own error string.
#pragma once

#include <cuda_runtime_api.h>

#include "check_status.h"

namespace leap::cuda_detail {

[[noreturn]] void throw_cuda_error(cudaError_t status, const char* call, const char* file,
                                   int line);
// Takes the cublasStatus_t as int so that this header needs no cuBLAS include.
[[noreturn]] void throw_cublas_error(int status, const char* call, const char* file, int line);

}  // namespace leap::cuda_detail

#define LEAP_CUDA_CHECK(call) \
  LEAP_CHECK_STATUS(call, leap_status_ == cudaSuccess, ::leap::cuda_detail::throw_cuda_error)
#define LEAP_CUBLAS_CHECK(call) \
  LEAP_CHECK_STATUS(call, leap_status_ == CUBLAS_STATUS_SUCCESS, ::leap::cuda_detail::throw_cublas_error)

// After a kernel launch: reports a bad launch configuration at once, not at the next sync.
#define LEAP_CUDA_CHECK_LAUNCH() LEAP_CUDA_CHECK(cudaGetLastError())
