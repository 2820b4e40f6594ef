#include "cuda/adam_math.cuh"
#include "cuda/cuda_check.h"
#include "cuda/launch_config.h"
#include "cuda/optimizer.h"

namespace leap::cuda_detail {
namespace {

// Each thread walks the joined elements of all slots; its slot index only ever grows.
template <typename Update>
__device__ void for_each_element(const SlotBatch& batch, Update update) {
  const size_t total = batch.start[batch.slots];
  int slot = 0;
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < total;
       i += size_t(gridDim.x) * blockDim.x) {
    while (i >= batch.start[slot + 1]) ++slot;
    update(slot, i - batch.start[slot]);
  }
}

__global__ void adam_kernel(const SlotBatch batch, const AdamScalars h) {
  for_each_element(batch, [&](int slot, size_t i) {
    adam_apply(batch.value[slot][i], batch.state_a[slot][i], batch.state_b[slot][i],
               batch.grad[slot][i], h);
  });
}

// The step's scalars come from device memory, read when the kernel runs.
__global__ void adam_counted_kernel(const SlotBatch batch, const AdamScalars constants,
                                    const float* lr, const int64_t* steps_taken) {
  const AdamScalars h = adam_scalars_for_step(constants, *lr, *steps_taken + 1);
  for_each_element(batch, [&](int slot, size_t i) {
    adam_apply(batch.value[slot][i], batch.state_a[slot][i], batch.state_b[slot][i],
               batch.grad[slot][i], h);
  });
}

__global__ void sgd_kernel(const SlotBatch batch, const SgdScalars h) {
  for_each_element(batch, [&](int slot, size_t i) {
    float& value = batch.value[slot][i];
    float g = batch.grad[slot][i] + h.weight_decay * value;
    if (h.momentum != 0.0f) {
      float& buffer = batch.state_a[slot][i];
      // PyTorch seeds the momentum buffer with the first gradient.
      buffer = h.first_step ? g : h.momentum * buffer + (1.0f - h.dampening) * g;
      g = h.nesterov ? g + h.momentum * buffer : buffer;
    }
    value -= h.lr * g;
  });
}

}  // namespace

void launch_adam(const SlotBatch& batch, const AdamScalars& scalars, cudaStream_t stream) {
  const size_t total = batch.start[batch.slots];
  if (total == 0) return;
  adam_kernel<<<blocks_for(total), kThreads, 0, stream>>>(batch, scalars);
  LEAP_CUDA_CHECK_LAUNCH();
}

void launch_adam_counted(const SlotBatch& batch, const AdamScalars& constants, const float* lr,
                         const int64_t* steps_taken, cudaStream_t stream) {
  const size_t total = batch.start[batch.slots];
  if (total == 0) return;
  adam_counted_kernel<<<blocks_for(total), kThreads, 0, stream>>>(batch, constants, lr,
                                                                  steps_taken);
  LEAP_CUDA_CHECK_LAUNCH();
}

void launch_sgd(const SlotBatch& batch, const SgdScalars& scalars, cudaStream_t stream) {
  const size_t total = batch.start[batch.slots];
  if (total == 0) return;
  sgd_kernel<<<blocks_for(total), kThreads, 0, stream>>>(batch, scalars);
  LEAP_CUDA_CHECK_LAUNCH();
}

}  // namespace leap::cuda_detail
