// .npy arrays, read as features and as labels: any bytes give a tensor or a leap::Error.
#include "leap/error.h"
#include "leap/npy.h"
#include "memory_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static MemoryFile file;
  const std::string& path = file.hold(data, size);
  try {
    leap::read_npy_features(path);
  } catch (const leap::Error&) {
  }
  try {
    leap::read_npy_labels(path);
  } catch (const leap::Error&) {
  }
  return 0;
}
