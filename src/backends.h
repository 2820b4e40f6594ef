// The concrete backends, for the registry in backend.cpp only.
#pragma once

#include <vector>

#include "leap/backend.h"
#include "leap/device_info.h"

namespace leap {

Backend& cpu_backend();
Backend& cuda_backend();  // throws leap::Error when built without CUDA or no GPU is usable
bool cuda_available();
// Every usable GPU (none without CUDA or a driver).
std::vector<DeviceInfo> cuda_device_infos();
// "off", or the CUDA runtime and the architectures this build compiled kernels for.
std::string cuda_build_description();

}  // namespace leap
