// The concrete backends and their devices, for the registry (backend.cpp) and device_info.cpp;
// each backend folder defines its own.
#pragma once

#include <vector>

#include "leap/backend.h"
#include "leap/device_info.h"

namespace leap {

Backend& cpu_backend();
Backend& cuda_backend();  // throws leap::Error when built without CUDA or no GPU is usable
bool cuda_available();
// The host CPU: its model name, threads and memory (cpu/cpu_info.cpp).
DeviceInfo cpu_info();
// Every usable GPU (none without CUDA or a driver).
std::vector<DeviceInfo> cuda_device_infos();
// "off", or the CUDA runtime and the architectures this build compiled kernels for.
std::string cuda_build_description();

}  // namespace leap
