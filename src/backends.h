// The concrete backends, for the registry in backend.cpp only.
#pragma once

#include "leap/backend.h"

namespace leap {

Backend& cpu_backend();
Backend& cuda_backend();  // throws leap::Error when built without CUDA or no GPU is usable
bool cuda_available();

}  // namespace leap
