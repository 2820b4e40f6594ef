// Built when leap is configured without a CUDA toolkit: the CUDA device never exists.
#include "leap/backend.h"
#include "leap/error.h"

namespace leap {

bool cuda_available() { return false; }

Backend& cuda_backend() {
  throw Error("this leap was built without CUDA; use --device cpu or rebuild with a CUDA toolkit");
}

}  // namespace leap
