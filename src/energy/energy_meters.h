// The two kinds of energy meter, for energy_meter() in energy_meter.cpp.
#pragma once

#include <memory>
#include <string>

#include "leap/device_info.h"
#include "leap/energy.h"

namespace leap {

// NVML's counter of the GPU `device` names (by PCI bus id), or null with the reason.
std::unique_ptr<EnergyMeter> nvml_energy_meter(const DeviceInfo& device, std::string* why_not);
// The sum of the readable RAPL package counters, or null with the reason.
std::unique_ptr<EnergyMeter> rapl_energy_meter(std::string* why_not);

}  // namespace leap
