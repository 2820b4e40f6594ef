// Training checkpoints (safetensors plus metadata) loaded into a small model and optimizer:
// any bytes resume or give a leap::Error.
#include "leap/error.h"
#include "leap/adam.h"
#include "leap/training_checkpoint.h"
#include "memory_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static MemoryFile file;
  static leap::Sequential network = leap::Sequential::from_spec("3-2", 0, leap::Device::cpu, 0.5f);
  static leap::Adam optimizer(network.parameters());
  try {
    leap::load_training_checkpoint(file.hold(data, size), network, optimizer, {});
  } catch (const leap::Error&) {
  }
  return 0;
}
