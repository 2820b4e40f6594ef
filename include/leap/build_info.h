// How this leap was built, for `leap info` and bug reports.
#pragma once

#include <string>

namespace leap {

struct BuildInfo {
  std::string version;
  std::string compiler;  // the host compiler and its version
  std::string blas;      // the BLAS library of the CPU backend, with its build configuration
  std::string cuda;      // "off", or the CUDA runtime and architectures compiled for
};

BuildInfo build_info();

}  // namespace leap
