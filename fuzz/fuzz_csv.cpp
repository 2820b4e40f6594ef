// CSV data sets: any bytes give a data set or a leap::Error.
#include "leap/csv.h"
#include "leap/error.h"
#include "memory_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static MemoryFile file;
  try {
    leap::read_csv_dataset(file.hold(data, size), "label");
  } catch (const leap::Error&) {
  }
  return 0;
}
