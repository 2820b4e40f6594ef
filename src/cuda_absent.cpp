// Built when leap is configured without a CUDA toolkit: the CUDA device never exists.
#include "backends.h"
#include "leap/error.h"

namespace leap {

bool cuda_available() { return false; }
int cuda_device_count() { return 0; }
void use_cuda_device(int) {
  throw Error("this leap was built without CUDA; it has no GPU to choose");
}

int current_cuda_device() { return 0; }

std::vector<DeviceInfo> cuda_device_infos() { return {}; }

std::string cuda_build_description() { return "off (built without a CUDA toolkit)"; }

Backend& cuda_backend() {
  throw Error("this leap was built without CUDA; use --device cpu or rebuild with a CUDA toolkit");
}

}  // namespace leap
