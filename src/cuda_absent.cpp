// Built when leap is configured without a CUDA toolkit: the CUDA device never exists.
#include "leap/backend.h"
#include "leap/error.h"

namespace leap {

bool cuda_available() { return false; }
int cuda_device_count() { return 0; }
void use_cuda_device(int) {
  throw Error("this leap was built without CUDA; it has no GPU to choose");
}

Backend& cuda_backend() {
  throw Error("this leap was built without CUDA; use --device cpu or rebuild with a CUDA toolkit");
}

}  // namespace leap
