// Configuration files (TOML): any bytes give key-value pairs or a leap::Error.
#include <cstddef>
#include <cstdint>
#include <string>

#include "leap/config_file.h"
#include "leap/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    leap::parse_config(std::string(reinterpret_cast<const char*>(data), size), "fuzz.toml");
  } catch (const leap::Error&) {
  }
  return 0;
}
