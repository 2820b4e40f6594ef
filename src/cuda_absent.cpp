// Built when leap is configured without a CUDA toolkit: the CUDA device never exists.
#include "backends.h"
#include "leap/error.h"

namespace leap {

bool cuda_available() { return false; }

std::vector<DeviceInfo> cuda_device_infos() { return {}; }

std::string cuda_build_description() { return "off (built without a CUDA toolkit)"; }

Backend& cuda_backend() {
  throw Error("this leap was built without CUDA; use --device cpu or rebuild with a CUDA toolkit");
}

}  // namespace leap
