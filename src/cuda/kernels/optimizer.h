// Multi-tensor optimizer kernels: one launch updates up to kMaxSlots parameter tensors, whose
// pointers travel in the kernel's parameters (no device-side table to build and copy).
#pragma once

#include <cuda_bf16.h>
#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>

namespace leap::cuda_detail {

constexpr int kMaxSlots = 16;

struct SlotBatch {
  float* value[kMaxSlots];
  const float* grad[kMaxSlots];
  float* state_a[kMaxSlots];  // Adam: first moment; SGD: momentum buffer
  float* state_b[kMaxSlots];  // Adam: second moment
  // Adam in mixed precision: a bf16 gradient read in place of `grad` when not null, and a
  // bf16 copy of the updated value written when not null.
  const __nv_bfloat16* grad_bf16[kMaxSlots];
  __nv_bfloat16* value_bf16[kMaxSlots];
  size_t start[kMaxSlots + 1];  // slot s covers [start[s], start[s+1]) of the joined elements
  int slots;

  // Appends a slot of `count` elements after the others (host side; start from SlotBatch{}).
  void add(float* slot_value, const float* slot_grad, float* first, float* second, size_t count,
           const __nv_bfloat16* slot_grad_bf16 = nullptr, __nv_bfloat16* slot_value_bf16 = nullptr) {
    value[slots] = slot_value;
    grad[slots] = slot_grad;
    state_a[slots] = first;
    state_b[slots] = second;
    grad_bf16[slots] = slot_grad_bf16;
    value_bf16[slots] = slot_value_bf16;
    start[slots + 1] = start[slots] + count;
    ++slots;
  }
};

// Values derived from the step number, computed in float as the CPU backend does.
struct AdamScalars {
  float step_size;         // lr / (1 - beta1^step)
  float correction2_sqrt;  // sqrt(1 - beta2^step)
  float beta1, beta2, eps, weight_decay;
};

struct SgdScalars {
  float lr, momentum, dampening, weight_decay;
  bool nesterov, first_step;
};

void launch_adam(const SlotBatch& batch, const AdamScalars& scalars, cudaStream_t stream);
// Adam with the learning rate and the count of steps taken read from device memory when the
// kernel runs (the update is step *steps_taken + 1), so that a captured CUDA graph stays
// right as they change; step_size and correction2_sqrt of `constants` are ignored.
void launch_adam_counted(const SlotBatch& batch, const AdamScalars& constants, const float* lr,
                         const int64_t* steps_taken, cudaStream_t stream);
void launch_sgd(const SlotBatch& batch, const SgdScalars& scalars, cudaStream_t stream);

}  // namespace leap::cuda_detail
