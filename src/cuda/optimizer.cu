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

// One element of Adam, with the slot's gradient in fp32 or bf16 and its optional bf16 copy.
__device__ inline void adam_element(const SlotBatch& batch, int slot, size_t i, const AdamScalars& h) {
  const float grad = batch.grad_bf16[slot] ? __bfloat162float(batch.grad_bf16[slot][i]) : batch.grad[slot][i];
  float& value = batch.value[slot][i];
  adam_apply(value, batch.state_a[slot][i], batch.state_b[slot][i], grad, h);
  if (batch.value_bf16[slot]) batch.value_bf16[slot][i] = __float2bfloat16_rn(value);
}

// Four elements at once with 16-byte loads and stores (8 for bf16), for slots whose counts
// are multiples of 4 and pointers 16-byte aligned (launch_adam checks): Adam is bound by
// memory, and wide accesses move more bytes per instruction.
__device__ inline void adam_quad(const SlotBatch& batch, int slot, size_t i, const AdamScalars& h) {
  float4 value = reinterpret_cast<float4*>(batch.value[slot])[i];
  float4 m = reinterpret_cast<float4*>(batch.state_a[slot])[i];
  float4 v = reinterpret_cast<float4*>(batch.state_b[slot])[i];
  float4 grad;
  if (batch.grad_bf16[slot]) {
    const uint2 packed = reinterpret_cast<const uint2*>(batch.grad_bf16[slot])[i];
    const float2 low = __bfloat1622float2(*reinterpret_cast<const __nv_bfloat162*>(&packed.x));
    const float2 high = __bfloat1622float2(*reinterpret_cast<const __nv_bfloat162*>(&packed.y));
    grad = make_float4(low.x, low.y, high.x, high.y);
  } else {
    grad = reinterpret_cast<const float4*>(batch.grad[slot])[i];
  }
  adam_apply(value.x, m.x, v.x, grad.x, h);
  adam_apply(value.y, m.y, v.y, grad.y, h);
  adam_apply(value.z, m.z, v.z, grad.z, h);
  adam_apply(value.w, m.w, v.w, grad.w, h);
  reinterpret_cast<float4*>(batch.value[slot])[i] = value;
  reinterpret_cast<float4*>(batch.state_a[slot])[i] = m;
  reinterpret_cast<float4*>(batch.state_b[slot])[i] = v;
  if (batch.value_bf16[slot]) {
    const __nv_bfloat162 low = __floats2bfloat162_rn(value.x, value.y);
    const __nv_bfloat162 high = __floats2bfloat162_rn(value.z, value.w);
    uint2 packed;
    packed.x = *reinterpret_cast<const unsigned*>(&low);
    packed.y = *reinterpret_cast<const unsigned*>(&high);
    reinterpret_cast<uint2*>(batch.value_bf16[slot])[i] = packed;
  }
}

// `quads`: the batch's start offsets count groups of four elements (see launch_adam).
template <bool kQuads>
__device__ inline void adam_all(const SlotBatch& batch, const AdamScalars& h) {
  for_each_element(batch, [&](int slot, size_t i) {
    if constexpr (kQuads) adam_quad(batch, slot, i, h);
    else adam_element(batch, slot, i, h);
  });
}

template <bool kQuads>
__global__ void adam_kernel(const SlotBatch batch, const AdamScalars h) {
  adam_all<kQuads>(batch, h);
}

// The step's scalars come from device memory, read when the kernel runs.
template <bool kQuads>
__global__ void adam_counted_kernel(const SlotBatch batch, const AdamScalars constants,
                                    const float* lr, const int64_t* steps_taken) {
  adam_all<kQuads>(batch, adam_scalars_for_step(constants, *lr, *steps_taken + 1));
}

bool aligned16(const void* pointer) { return reinterpret_cast<uintptr_t>(pointer) % 16 == 0; }

// The batch counted in groups of four when every slot allows 16-byte accesses.
bool as_quads(const SlotBatch& batch, SlotBatch& quads) {
  quads = batch;
  for (int s = 0; s < batch.slots; ++s) {
    const size_t count = batch.start[s + 1] - batch.start[s];
    const bool grad_ok = batch.grad_bf16[s] ? reinterpret_cast<uintptr_t>(batch.grad_bf16[s]) % 8 == 0
                                            : aligned16(batch.grad[s]);
    const bool copy_ok = !batch.value_bf16[s] || reinterpret_cast<uintptr_t>(batch.value_bf16[s]) % 8 == 0;
    if (count % 4 != 0 || !aligned16(batch.value[s]) || !aligned16(batch.state_a[s]) ||
        !aligned16(batch.state_b[s]) || !grad_ok || !copy_ok)
      return false;
  }
  for (int s = 0; s <= batch.slots; ++s) quads.start[s] = batch.start[s] / 4;
  return true;
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
  SlotBatch quads;
  if (as_quads(batch, quads))
    adam_kernel<true><<<blocks_for(total / 4), kThreads, 0, stream>>>(quads, scalars);
  else
    adam_kernel<false><<<blocks_for(total), kThreads, 0, stream>>>(batch, scalars);
  LEAP_CUDA_CHECK_LAUNCH();
}

void launch_adam_counted(const SlotBatch& batch, const AdamScalars& constants, const float* lr,
                         const int64_t* steps_taken, cudaStream_t stream) {
  const size_t total = batch.start[batch.slots];
  if (total == 0) return;
  SlotBatch quads;
  if (as_quads(batch, quads))
    adam_counted_kernel<true><<<blocks_for(total / 4), kThreads, 0, stream>>>(quads, constants, lr, steps_taken);
  else
    adam_counted_kernel<false><<<blocks_for(total), kThreads, 0, stream>>>(batch, constants, lr, steps_taken);
  LEAP_CUDA_CHECK_LAUNCH();
}

void launch_sgd(const SlotBatch& batch, const SgdScalars& scalars, cudaStream_t stream) {
  const size_t total = batch.start[batch.slots];
  if (total == 0) return;
  sgd_kernel<<<blocks_for(total), kThreads, 0, stream>>>(batch, scalars);
  LEAP_CUDA_CHECK_LAUNCH();
}

}  // namespace leap::cuda_detail
