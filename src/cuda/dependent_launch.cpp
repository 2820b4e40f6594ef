#include <cstdlib>
#include <string>

namespace leap::cuda_detail {

bool dependent_launch_enabled() {
  static const bool enabled = [] {
    const char* setting = std::getenv("LEAP_DEPENDENT_LAUNCH");
    return !setting || std::string(setting) != "0";
  }();
  return enabled;
}

}  // namespace leap::cuda_detail
