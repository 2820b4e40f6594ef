// safetensors: any bytes give tensors and metadata or a leap::Error.
#include "leap/error.h"
#include "leap/safetensors.h"
#include "memory_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static MemoryFile file;
  std::map<std::string, std::string> metadata;
  try {
    leap::load_safetensors(file.hold(data, size), &metadata);
  } catch (const leap::Error&) {
  }
  return 0;
}
