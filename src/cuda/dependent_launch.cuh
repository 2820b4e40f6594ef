// Programmatic dependent launch (Hopper): a kernel queued after another is scheduled while
// that one still runs and waits for it on the device, so the gap between two small kernels
// is not a full launch. Every kernel launched this way calls wait_for_previous_kernel()
// before it touches memory the kernel before it writes.
#pragma once

#include <cuda_runtime.h>

#include <utility>

#include "cuda/cuda_check.h"

namespace leap::cuda_detail {

// Lets the next kernel in the stream begin its launch; its blocks then wait on the device.
__device__ inline void allow_next_kernel() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.launch_dependents;" ::: "memory");
#endif
}

// Returns once the previous kernel in the stream has finished and its writes are visible.
__device__ inline void wait_for_previous_kernel() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.wait;" ::: "memory");
#endif
}

// On unless LEAP_DEPENDENT_LAUNCH=0 (benchmarks compare both in one run).
bool dependent_launch_enabled();

template <typename... Params, typename... Args>
void launch_dependent(void (*kernel)(Params...), dim3 grid, dim3 block, size_t shared_bytes,
                      cudaStream_t stream, Args&&... args) {
  cudaLaunchAttribute attribute{};
  attribute.id = cudaLaunchAttributeProgrammaticStreamSerialization;
  attribute.val.programmaticStreamSerializationAllowed = dependent_launch_enabled() ? 1 : 0;
  cudaLaunchConfig_t config{};
  config.gridDim = grid;
  config.blockDim = block;
  config.dynamicSmemBytes = shared_bytes;
  config.stream = stream;
  config.attrs = &attribute;
  config.numAttrs = 1;
  LEAP_CUDA_CHECK(cudaLaunchKernelEx(&config, kernel, std::forward<Args>(args)...));
}

}  // namespace leap::cuda_detail
