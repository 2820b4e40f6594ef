// Device names as Python passes them: "cpu", "cuda" or "auto" (the GPU when one is usable).
#pragma once

#include <string>

#include "leap/leap.h"

namespace leap::python {

Device device_by_name(const std::string& name);

}  // namespace leap::python
