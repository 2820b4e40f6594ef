// The host CPU as a DeviceInfo: its model name, threads and memory.
#pragma once

#include "leap/device_info.h"

namespace leap {

DeviceInfo cpu_info();

}  // namespace leap
