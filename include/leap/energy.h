// Energy counters of a device, read around each training epoch. On NVIDIA GPUs NVML's total
// energy counter (libnvidia-ml.so.1, opened at run time: leap builds and runs where there is
// no NVML); on the host CPU the RAPL package counters (/sys/class/powercap/intel-rapl:N),
// where the kernel lets this user read them.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "leap/tensor.h"

namespace leap {

class EnergyMeter {
 public:
  virtual ~EnergyMeter() = default;
  // Joules drawn since a fixed moment (only differences mean anything); nothing when the
  // counter could not be read this time.
  virtual std::optional<double> joules() = 0;
  // What is counted: "NVML total energy of NVIDIA H100 80GB HBM3 (00000000:18:00.0)".
  virtual std::string source() const = 0;
};

// The meter of `device`, or null with the reason in *why_not ("energy: not reported by this
// device (...)").
std::unique_ptr<EnergyMeter> energy_meter(Device device, std::string* why_not = nullptr);

}  // namespace leap
