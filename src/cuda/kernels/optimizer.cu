#include "cuda/kernels/adam_math.cuh"
#include "cuda/kernels/sgd_math.cuh"
#include "cuda/cuda_check.h"
#include "cuda/kernels/launch_config.h"
#include "cuda/kernels/optimizer.h"

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

// kQuads: the batch's start offsets count groups of four elements (see split_slots).
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

__global__ void sgd_kernel(const SlotBatch batch, const SgdScalars h) {
  for_each_element(batch, [&](int slot, size_t i) {
    float unused = 0.0f;
    float& buffer = h.momentum != 0.0f ? batch.state_a[slot][i] : unused;
    sgd_apply(batch.value[slot][i], buffer, batch.grad[slot][i], h);
  });
}

bool aligned(const void* pointer, uintptr_t bytes) {
  return reinterpret_cast<uintptr_t>(pointer) % bytes == 0;
}

// Whether a slot allows the 16-byte path: a count divisible by four, aligned pointers.
bool quad_slot(const SlotBatch& batch, int s) {
  const size_t count = batch.start[s + 1] - batch.start[s];
  const bool grad_ok = batch.grad_bf16[s] ? aligned(batch.grad_bf16[s], 8) : aligned(batch.grad[s], 16);
  return count % 4 == 0 && aligned(batch.value[s], 16) && aligned(batch.state_a[s], 16) &&
         aligned(batch.state_b[s], 16) && grad_ok && (!batch.value_bf16[s] || aligned(batch.value_bf16[s], 8));
}

// The slots that take the 16-byte path (their offsets counted in groups of four) and the
// others (an odd-sized bias, say), for one launch each.
void split_slots(const SlotBatch& batch, SlotBatch& quads, SlotBatch& singles) {
  quads = SlotBatch{};
  singles = SlotBatch{};
  for (int s = 0; s < batch.slots; ++s) {
    const bool quad = quad_slot(batch, s);
    SlotBatch& into = quad ? quads : singles;
    const int t = into.slots++;
    into.value[t] = batch.value[s];
    into.grad[t] = batch.grad[s];
    into.state_a[t] = batch.state_a[s];
    into.state_b[t] = batch.state_b[s];
    into.grad_bf16[t] = batch.grad_bf16[s];
    into.value_bf16[t] = batch.value_bf16[s];
    const size_t count = batch.start[s + 1] - batch.start[s];
    into.start[t + 1] = into.start[t] + (quad ? count / 4 : count);
  }
}

}  // namespace

void launch_adam(const SlotBatch& batch, const AdamScalars& scalars, cudaStream_t stream) {
  SlotBatch quads, singles;
  split_slots(batch, quads, singles);
  if (const size_t groups = quads.start[quads.slots]) {
    adam_kernel<true><<<blocks_for(groups), kThreads, 0, stream>>>(quads, scalars);
    LEAP_CUDA_CHECK_LAUNCH();
  }
  if (const size_t total = singles.start[singles.slots]) {
    adam_kernel<false><<<blocks_for(total), kThreads, 0, stream>>>(singles, scalars);
    LEAP_CUDA_CHECK_LAUNCH();
  }
}

void launch_adam_counted(const SlotBatch& batch, const AdamScalars& constants, const float* lr,
                         const int64_t* steps_taken, cudaStream_t stream) {
  SlotBatch quads, singles;
  split_slots(batch, quads, singles);
  if (const size_t groups = quads.start[quads.slots]) {
    adam_counted_kernel<true><<<blocks_for(groups), kThreads, 0, stream>>>(quads, constants, lr, steps_taken);
    LEAP_CUDA_CHECK_LAUNCH();
  }
  if (const size_t total = singles.start[singles.slots]) {
    adam_counted_kernel<false><<<blocks_for(total), kThreads, 0, stream>>>(singles, constants, lr, steps_taken);
    LEAP_CUDA_CHECK_LAUNCH();
  }
}

void launch_sgd(const SlotBatch& batch, const SgdScalars& scalars, cudaStream_t stream) {
  const size_t total = batch.start[batch.slots];
  if (total == 0) return;
  sgd_kernel<<<blocks_for(total), kThreads, 0, stream>>>(batch, scalars);
  LEAP_CUDA_CHECK_LAUNCH();
}

}  // namespace leap::cuda_detail
