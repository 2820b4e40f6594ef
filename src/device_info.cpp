#include "leap/device_info.h"

#include <chrono>
#include <map>
#include <mutex>

#include "backends.h"
#include "leap/backend.h"

namespace leap {
namespace {

// Best of a few runs of y = x w^T at size^3 in `precision`, in TFLOP/s.
double measure_product_rate(Backend& engine, int size, Precision precision) {
  const int64_t count = int64_t(size) * size;
  std::vector<float> values(count);
  for (int64_t i = 0; i < count; ++i) values[i] = float(i % 251) / 251.0f - 0.5f;  // not zeros
  Tensor x = Tensor::from_vector({count}, values, engine.device());
  Tensor w = Tensor::from_vector({count}, values, engine.device());
  Tensor bias = Tensor::zeros({size}, DType::float32, engine.device());
  Tensor y({count}, DType::float32, engine.device());
  double best = 1e30;
  for (int run = 0; run < 4; ++run) {
    engine.synchronize();
    const auto start = std::chrono::steady_clock::now();
    engine.linear_forward(x.data(), w.data(), bias.data(), y.data(), size, size, size, false, precision);
    engine.synchronize();
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (run > 0) best = std::min(best, seconds);  // the first run warms up
  }
  return 2.0 * double(size) * size * size / best / 1e12;
}

PeakRates measured_peak(Device device) {
  Backend& engine = backend(device);
  PeakRates rates;
  if (device == Device::cpu) {
    const int size = 1024;
    rates.fp32 = rates.tf32 = rates.bf16 = measure_product_rate(engine, size, Precision::fp32);
    rates.source = "measured: best of 3 fp32 products of 1024^3 (tf32 and bf16 are emulated "
                   "at the fp32 rate)";
    return rates;
  }
  const int size = 4096;
  rates.fp32 = measure_product_rate(engine, size, Precision::fp32);
  rates.tf32 = measure_product_rate(engine, size, Precision::tf32);
  rates.bf16 = measure_product_rate(engine, size, Precision::bf16);
  rates.source = "measured: best of 3 products of 4096^3 per precision (no datasheet entry)";
  return rates;
}

}  // namespace

double PeakRates::for_precision(Precision precision) const {
  switch (precision) {
    case Precision::fp32: return fp32;
    case Precision::tf32: return tf32;
    case Precision::bf16: return bf16;
  }
  return 0;
}

// Dense rates (half the sparse figures) from NVIDIA's datasheets, TFLOP/s. fp32 is the
// non-tensor FMA rate. More specific names come first: the first match wins.
const std::vector<PeakEntry>& peak_table() {
  static const std::vector<PeakEntry> table = {
      {"H100 PCIe", "H100 PCIe", 51.2, 378.0, 756.0},
      {"H100 NVL", "H100 NVL", 60.0, 417.5, 835.5},
      {"H100", "H100 SXM5", 66.9, 494.7, 989.4},
      {"H200 NVL", "H200 NVL", 60.0, 417.5, 835.5},
      {"H200", "H200 SXM", 66.9, 494.7, 989.4},
      {"A100", "A100", 19.5, 156.0, 312.0},
      {"L40S", "L40S", 91.6, 183.0, 362.0},
      {"L4", "L4", 30.3, 60.0, 121.0},
      {"A10", "A10", 31.2, 62.5, 125.0},
  };
  return table;
}

std::optional<PeakRates> datasheet_peak(const DeviceInfo& device) {
  if (device.device != Device::cuda) return std::nullopt;
  for (const PeakEntry& entry : peak_table())
    if (device.name.find(entry.pattern) != std::string::npos)
      return PeakRates{entry.fp32, entry.tf32, entry.bf16,
                       std::string("datasheet: ") + entry.label + " (dense)"};
  return std::nullopt;
}

PeakRates peak_rates(Device device) {
  static std::mutex mutex;
  static std::map<Device, PeakRates> known;
  std::lock_guard<std::mutex> lock(mutex);
  auto found = known.find(device);
  if (found != known.end()) return found->second;
  std::optional<PeakRates> rates = datasheet_peak(backend(device).info());
  return known[device] = rates ? *rates : measured_peak(device);
}

std::vector<DeviceInfo> list_devices() {
  std::vector<DeviceInfo> devices{cpu_info()};
  for (DeviceInfo& gpu : cuda_device_infos()) devices.push_back(gpu);
  return devices;
}

}  // namespace leap
