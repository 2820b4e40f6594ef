// RAPL package counters of the host CPU: /sys/class/powercap/intel-rapl:N/energy_uj (also on
// AMD processors, whose kernel driver uses the same interface). Each counter wraps at its
// max_energy_range_uj; readings are unwrapped against the previous one.
#include <filesystem>
#include <fstream>
#include <regex>
#include <vector>

#include "energy/energy_meters.h"

namespace leap {
namespace {

std::optional<double> read_number(const std::filesystem::path& file) {
  std::ifstream in(file);
  double value = 0;
  if (!(in >> value)) return std::nullopt;
  return value;
}

struct RaplPackage {
  std::filesystem::path counter;
  double range_uj = 0;
  double last_uj = 0, unwrapped_uj = 0;
};

class RaplMeter final : public EnergyMeter {
 public:
  explicit RaplMeter(std::vector<RaplPackage> packages) : packages_(std::move(packages)) {}

  std::optional<double> joules() override {
    double total_uj = 0;
    for (RaplPackage& package : packages_) {
      std::optional<double> now = read_number(package.counter);
      if (!now) return std::nullopt;
      double delta = *now - package.last_uj;
      if (delta < 0) delta += package.range_uj;  // the counter wrapped
      package.unwrapped_uj += delta;
      package.last_uj = *now;
      total_uj += package.unwrapped_uj;
    }
    return total_uj / 1e6;
  }
  std::string source() const override {
    return "RAPL package counters (" + std::to_string(packages_.size()) + " package" +
           (packages_.size() == 1 ? "" : "s") + ")";
  }

 private:
  std::vector<RaplPackage> packages_;
};

}  // namespace

std::unique_ptr<EnergyMeter> rapl_energy_meter(std::string* why_not) {
  const std::filesystem::path root = "/sys/class/powercap";
  std::error_code error;
  std::vector<RaplPackage> packages;
  bool unreadable = false;
  // Packages are intel-rapl:N; their sub-domains (intel-rapl:N:M) are counted inside them.
  const std::regex package_name("intel-rapl:[0-9]+");
  for (const auto& entry : std::filesystem::directory_iterator(root, error)) {
    if (!std::regex_match(entry.path().filename().string(), package_name)) continue;
    RaplPackage package{entry.path() / "energy_uj"};
    std::optional<double> first = read_number(package.counter);
    std::optional<double> range = read_number(entry.path() / "max_energy_range_uj");
    if (!first || !range) {
      unreadable = true;
      continue;
    }
    package.last_uj = *first;
    package.range_uj = *range;
    packages.push_back(package);
  }
  if (packages.empty()) {
    *why_not = unreadable ? "RAPL counters are not readable by this user" : "no RAPL counters";
    return nullptr;
  }
  return std::make_unique<RaplMeter>(std::move(packages));
}

}  // namespace leap
