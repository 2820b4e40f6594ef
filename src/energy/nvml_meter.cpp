// NVML's total energy counter (millijoules since the driver loaded), through dlopen so that
// leap needs NVML neither to build nor to run. The few functions used are declared here by
// their documented C signatures.
#include <dlfcn.h>

#include "energy/energy_meters.h"

namespace leap {
namespace {

using NvmlDevice = void*;
constexpr int kNvmlSuccess = 0;
using InitFunction = int (*)();
using ShutdownFunction = int (*)();
using ByBusIdFunction = int (*)(const char*, NvmlDevice*);
using ByIndexFunction = int (*)(unsigned, NvmlDevice*);
using EnergyFunction = int (*)(NvmlDevice, unsigned long long*);

class NvmlMeter final : public EnergyMeter {
 public:
  NvmlMeter(void* library, ShutdownFunction shutdown, EnergyFunction energy, NvmlDevice device,
            std::string source)
      : library_(library), shutdown_(shutdown), energy_(energy), device_(device),
        source_(std::move(source)) {}
  ~NvmlMeter() override {
    shutdown_();
    dlclose(library_);
  }
  NvmlMeter(const NvmlMeter&) = delete;
  NvmlMeter& operator=(const NvmlMeter&) = delete;

  std::optional<double> joules() override {
    unsigned long long millijoules = 0;
    if (energy_(device_, &millijoules) != kNvmlSuccess) return std::nullopt;
    return double(millijoules) / 1000.0;
  }
  std::string source() const override { return source_; }

 private:
  void* library_;
  ShutdownFunction shutdown_;
  EnergyFunction energy_;
  NvmlDevice device_;
  std::string source_;
};

template <typename Function>
Function symbol(void* library, const char* name) {
  return reinterpret_cast<Function>(dlsym(library, name));
}

}  // namespace

std::unique_ptr<EnergyMeter> nvml_energy_meter(const DeviceInfo& device, std::string* why_not) {
  void* library = dlopen("libnvidia-ml.so.1", RTLD_NOW | RTLD_LOCAL);
  if (!library) {
    *why_not = "libnvidia-ml.so.1 not found";
    return nullptr;
  }
  auto init = symbol<InitFunction>(library, "nvmlInit_v2");
  auto shutdown = symbol<ShutdownFunction>(library, "nvmlShutdown");
  auto by_bus_id = symbol<ByBusIdFunction>(library, "nvmlDeviceGetHandleByPciBusId_v2");
  auto by_index = symbol<ByIndexFunction>(library, "nvmlDeviceGetHandleByIndex_v2");
  auto energy = symbol<EnergyFunction>(library, "nvmlDeviceGetTotalEnergyConsumption");
  if (!init || !shutdown || !by_bus_id || !by_index || !energy || init() != kNvmlSuccess) {
    *why_not = "NVML did not start";
    dlclose(library);
    return nullptr;
  }
  // NVML numbers GPUs apart from CUDA (CUDA_VISIBLE_DEVICES): the bus id names the same one.
  NvmlDevice handle = nullptr;
  std::string which = device.pci_bus_id;
  if (which.empty() || by_bus_id(which.c_str(), &handle) != kNvmlSuccess) {
    handle = nullptr;
    which = "NVML index " + std::to_string(device.index);
    if (by_index(unsigned(device.index), &handle) != kNvmlSuccess) handle = nullptr;
  }
  unsigned long long probe = 0;
  if (!handle || energy(handle, &probe) != kNvmlSuccess) {
    *why_not = handle ? "NVML has no energy counter for " + device.name
                      : "NVML does not know " + device.name;
    shutdown();
    dlclose(library);
    return nullptr;
  }
  return std::make_unique<NvmlMeter>(library, shutdown, energy, handle,
                                     "NVML total energy of " + device.name + " (" + which + ")");
}

}  // namespace leap
