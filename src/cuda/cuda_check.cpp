#include "cuda/cuda_check.h"

#include <cublasLt.h>

#include <string>

#include "leap/error.h"

namespace leap::cuda_detail {

static std::string where(const char* call, const char* file, int line) {
  return std::string(call) + " failed at " + file + ":" + std::to_string(line) + ": ";
}

void throw_cuda_error(cudaError_t status, const char* call, const char* file, int line) {
  throw Error(where(call, file, line) + cudaGetErrorName(status) + " (" +
              cudaGetErrorString(status) + ")");
}

void throw_cublas_error(int status, const char* call, const char* file, int line) {
  const auto code = static_cast<cublasStatus_t>(status);
  throw Error(where(call, file, line) + cublasLtGetStatusName(code) + " (" +
              cublasLtGetStatusString(code) + ")");
}

}  // namespace leap::cuda_detail
