#include "energy/energy_meters.h"
#include "leap/backend.h"

namespace leap {

std::unique_ptr<EnergyMeter> energy_meter(Device device, std::string* why_not) {
  std::string reason;
  std::unique_ptr<EnergyMeter> meter = device == Device::cuda
                                           ? nvml_energy_meter(backend(device).info(), &reason)
                                           : rapl_energy_meter(&reason);
  if (!meter && why_not) *why_not = "energy: not reported by this device (" + reason + ")";
  return meter;
}

}  // namespace leap
