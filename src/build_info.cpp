#include "leap/build_info.h"

#include <cblas.h>

#include "backends.h"

namespace leap {

BuildInfo build_info() {
  BuildInfo info;
  info.version = LEAP_VERSION;
#if defined(__clang__)
  info.compiler = "clang " __clang_version__;
#elif defined(__GNUC__)
  info.compiler = "GCC " __VERSION__;
#else
  info.compiler = "unknown";
#endif
#if defined(OPENBLAS_VERSION)
  info.blas = std::string("OpenBLAS (") + openblas_get_config() + ")";
#else
  info.blas = "a CBLAS library";
#endif
  info.cuda = cuda_build_description();
  return info;
}

}  // namespace leap
