#include "leap/backend.h"

#include "backends.h"

namespace leap {

Backend& backend(Device device) {
  return device == Device::cpu ? cpu_backend() : cuda_backend();
}

bool available(Device device) { return device == Device::cpu || cuda_available(); }

}  // namespace leap
