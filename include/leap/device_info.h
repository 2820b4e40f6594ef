// What a device is: its name, size and speed, for `leap info`, the compute report and the
// choice of a default precision.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "leap/precision.h"
#include "leap/tensor.h"

namespace leap {

struct DeviceInfo {
  Device device = Device::cpu;
  int index = 0;            // cuda:index; 0 for the CPU
  std::string name;         // "NVIDIA H100 80GB HBM3", or the CPU's model name
  int compute_units = 0;    // streaming multiprocessors, or CPU threads
  int clock_mhz = 0;        // the highest SM clock; 0 when unknown
  int64_t memory_bytes = 0;
  std::string capability;   // compute capability "9.0"; empty for CPUs
  std::string pci_bus_id;   // how NVML finds the same GPU; empty for CPUs
  bool tensor_cores = false;  // tf32 and bf16 matrix units (compute capability 8.0 and later)
};

// Dense peak rates in TFLOP/s for each precision, and where they come from.
struct PeakRates {
  double fp32 = 0, tf32 = 0, bf16 = 0;
  std::string source;  // "datasheet: H100 SXM" or "measured: ..."

  double for_precision(Precision precision) const;
};

// The datasheet entry of a GPU this table knows (dense, no sparsity), by its name.
std::optional<PeakRates> datasheet_peak(const DeviceInfo& device);
// The table itself, for `leap info`: the name patterns and their rates.
struct PeakEntry {
  const char* pattern;  // matched against the device name
  const char* label;
  double fp32, tf32, bf16;
};
const std::vector<PeakEntry>& peak_table();

// The device's peak: the datasheet where the table knows it, else measured once with a
// 2048 x 2048 x 2048 product per precision on the device's backend (the CPU's case: tf32
// and bf16 are emulated there at its fp32 rate).
PeakRates peak_rates(Device device);

// Every device of this machine: the CPU, then each usable GPU.
std::vector<DeviceInfo> list_devices();

}  // namespace leap
