#include "backends.h"

#include <omp.h>
#include <unistd.h>

#include <fstream>

namespace leap {
namespace {

// The "model name" line of /proc/cpuinfo, or "cpu" where there is none.
std::string cpu_model_name() {
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line;
  while (std::getline(cpuinfo, line)) {
    if (line.rfind("model name", 0) != 0) continue;
    const size_t colon = line.find(':');
    if (colon != std::string::npos && colon + 2 <= line.size()) return line.substr(colon + 2);
  }
  return "cpu";
}

}  // namespace

DeviceInfo cpu_info() {
  DeviceInfo info;
  info.device = Device::cpu;
  info.name = cpu_model_name();
  info.compute_units = omp_get_max_threads();
  info.memory_bytes = int64_t(sysconf(_SC_PHYS_PAGES)) * int64_t(sysconf(_SC_PAGESIZE));
  return info;
}

}  // namespace leap
