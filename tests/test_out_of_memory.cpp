// Running out of memory is a typed error saying what was asked and what is available, so a
// caller (the command line's --cpu-fallback) can react to it.
#include <gtest/gtest.h>

#include "error_matchers.h"
#include "leap/leap.h"

namespace leap {
namespace {

TEST(OutOfMemory, SaysWhatWasAskedAndWhatIsAvailable) {
  try {
    Tensor huge({int64_t(1) << 40}, DType::float32, Device::cpu);  // 4 TiB
    FAIL() << "a 4 TiB tensor was allocated";
  } catch (const OutOfMemory& e) {
    expect_contains(e.what(), {"out of host memory allocating 4398046511104 bytes", "bytes available"});
  }
}

TEST(OutOfMemory, AModelTooLargeFailsBeforeTraining) {
  EXPECT_THROW(Sequential::from_spec("784-1048576-1048576-10"), OutOfMemory);
}

}  // namespace
}  // namespace leap
