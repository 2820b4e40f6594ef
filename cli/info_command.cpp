// leap info: the devices leap finds, their peak rates, and how leap was built.
#include <cstdio>

#include "commands.h"
#include "leap/backend.h"
#include "leap/build_info.h"
#include "leap/device_info.h"

namespace leap::cli {
namespace {

double gibibytes(int64_t bytes) { return double(bytes) / double(int64_t(1) << 30); }

void print_device(const DeviceInfo& device) {
  if (device.device == Device::cpu) {
    std::printf("  cpu: %s, %d threads, %.1f GiB\n", device.name.c_str(), device.compute_units,
                gibibytes(device.memory_bytes));
  } else {
    std::printf("  cuda:%d: %s, %d SMs at up to %d MHz, %.1f GiB, compute capability %s%s\n",
                device.index, device.name.c_str(), device.compute_units, device.clock_mhz,
                gibibytes(device.memory_bytes), device.capability.c_str(),
                device.tensor_cores ? ", tensor cores (tf32, bf16)" : "");
  }
  // The backend runs on cuda:0; other GPUs get their datasheet entry only.
  std::optional<PeakRates> peak = datasheet_peak(device);
  if (!peak && device.index == 0) peak = peak_rates(device.device);
  if (peak)
    std::printf("    peak dense TFLOP/s: fp32 %.4g, tf32 %.4g, bf16 %.4g (%s)\n", peak->fp32,
                peak->tf32, peak->bf16, peak->source.c_str());
  else
    std::printf("    peak: not in leap's table\n");
  if (device.index == 0)
    std::printf("    default precision: %s\n", to_string(backend(device.device).default_precision()).c_str());
}

int info() {
  const BuildInfo build = build_info();
  std::printf("leap %s\nBuild:\n  compiler: %s\n  BLAS: %s\n  CUDA backend: %s\n", build.version.c_str(),
              build.compiler.c_str(), build.blas.c_str(), build.cuda.c_str());
  std::printf("Devices:\n");
  for (const DeviceInfo& device : list_devices()) print_device(device);
  std::printf("Peak table (dense TFLOP/s from NVIDIA's datasheets; the first name that matches):\n");
  std::printf("  %-12s %8s %8s %8s\n", "GPU", "fp32", "tf32", "bf16");
  for (const PeakEntry& entry : peak_table())
    std::printf("  %-12s %8.1f %8.1f %8.1f\n", entry.label, entry.fp32, entry.tf32, entry.bf16);
  return 0;
}

}  // namespace

Command add_info_command(CLI::App& app) {
  app.add_subcommand("info", "Devices, their peak rates and memory, and how leap was built");
  return [] { return info(); };
}

}  // namespace leap::cli
