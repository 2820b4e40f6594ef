// Backend: the narrow set of operations a device must provide. Model, loss, optimizer and
// trainer code call only these; src/cpu and src/cuda implement them. All matrices are
// row-major; pointers refer to memory of the backend's own device.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "leap/device_info.h"
#include "leap/dropout_mask.h"
#include "leap/inference_plan.h"
#include "leap/mlp_plan.h"
#include "leap/precision.h"
#include "leap/tensor.h"

namespace leap {

// One parameter tensor and its optimizer state, for multi-tensor updates.
struct ParamSlot {
  float* value;
  const float* grad;
  float* state_a;  // Adam: first moment; SGD: momentum buffer
  float* state_b;  // Adam: second moment; SGD: unused
  size_t count;
  // Mixed precision, Adam only: the gradient as bf16 bits (to_bf16_bits) in place of `grad`
  // when not null; and when value_bf16 is not null, the updated value rounded to bf16 is
  // written there too (the copy the next step's bf16 products read).
  const uint16_t* grad_bf16 = nullptr;
  uint16_t* value_bf16 = nullptr;
};

struct AdamHyper {
  float lr, beta1, beta2, eps, weight_decay;
  int64_t step;  // 1-based, after increment
};

struct SgdHyper {
  float lr, momentum, dampening, weight_decay;
  bool nesterov;
  bool first_step;  // PyTorch seeds the momentum buffer with the first gradient
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual Device device() const = 0;
  virtual std::string describe() const = 0;
  virtual DeviceInfo info() const = 0;
  // The precision of matrix products when the user names none: tf32 where tensor cores
  // make it faster, else fp32.
  virtual Precision default_precision() const = 0;

  // Memory. allocate never returns null: it throws leap::Error when memory is short.
  virtual void* allocate(size_t bytes) = 0;
  virtual void release(void* pointer) = 0;
  virtual void copy_to_host(void* host, const void* source, size_t bytes) = 0;
  virtual void copy_from_host(void* target, const void* host, size_t bytes) = 0;
  virtual void copy(void* target, const void* source, size_t bytes) = 0;
  virtual void fill(float* target, size_t count, float value) = 0;
  // Waits until all queued work is done (a no-op on the CPU).
  virtual void synchronize() = 0;

  // y[batch,out] = x[batch,in] * w[out,in]^T + bias, then ReLU when `relu`. The products'
  // operands are rounded to `precision` (round_operand), sums and outputs stay fp32.
  virtual void linear_forward(const float* x, const float* w, const float* bias, float* y,
                              int batch, int in, int out, bool relu, Precision precision) = 0;
  // From dy[batch,out]: grad_w (+)= dy^T x, grad_b (+)= sum_rows dy, and, when grad_x is not
  // null, grad_x = dy * w. `accumulate` adds to the parameter gradients instead of overwriting.
  // Operands of the two products are rounded to `precision`; the bias sum is fp32.
  virtual void linear_backward(const float* x, const float* w, const float* dy, float* grad_x,
                               float* grad_w, float* grad_b, int batch, int in, int out,
                               bool accumulate, Precision precision) = 0;
  // Inverted dropout: y[i] = keep ? x[i] / (1 - p) : 0, where element i is kept when
  // dropout_uniform(key, i) >= p. The mask depends only on (key, i), so the backward pass
  // applies the same call to the gradient, and every backend draws the same mask.
  virtual void dropout(const float* x, float* y, size_t count, float p, uint64_t key) = 0;
  // y = max(x, 0), elementwise (out of place allowed to alias).
  virtual void relu_forward(const float* x, float* y, size_t count) = 0;
  // grad *= (y > 0), in place; y is the ReLU output.
  virtual void relu_backward(const float* y, float* grad, size_t count) = 0;

  // Softmax cross-entropy over logits[batch,classes] with labels[batch].
  // Adds the batch's summed loss to *loss_sum and its correct predictions to *correct
  // (both in backend memory, so a step needs no host round trip). When grad is not null,
  // writes d(mean loss)/d(logits) into grad[batch,classes].
  // Labels outside [0,classes) are an error (reported by the CPU at load time).
  virtual void cross_entropy(const float* logits, const int32_t* labels, float* grad,
                             double* loss_sum, int64_t* correct, int batch, int classes) = 0;
  // Knowledge distillation, as PyTorch computes it with kl_div(reduction='batchmean'):
  // alpha * T^2 * KL(softmax(teacher/T) || softmax(student/T)) + (1 - alpha) * CE(student,
  // labels), averaged over the batch. Adds the batch's summed loss to *loss_sum and the
  // student's correct predictions to *correct; writes d(mean loss)/d(student) into grad when
  // grad is not null.
  virtual void distillation_loss(const float* student, const float* teacher,
                                 const int32_t* labels, float* grad, double* loss_sum,
                                 int64_t* correct, int batch, int classes, float temperature,
                                 float alpha) = 0;
  // Counts rows whose arg-max equals the label, adding to *correct.
  virtual void count_correct(const float* logits, const int32_t* labels, int64_t* correct,
                             int batch, int classes) = 0;

  // y[r, c] = x[r, c] rounded to bf16 (to_bf16_bits) for c < columns; y[r, c] = 0 for
  // columns <= c < y_stride (padding that later products may read). x is [rows, columns].
  virtual void to_bf16(const float* x, uint16_t* y, size_t rows, int columns, int y_stride) = 0;

  // One optimizer step over every slot.
  virtual void adam_update(std::span<const ParamSlot> slots, const AdamHyper& hyper) = 0;
  virtual void sgd_update(std::span<const ParamSlot> slots, const SgdHyper& hyper) = 0;

  // dst[i,:] = src[index[i],:] for i < count; index lives in backend memory.
  virtual void gather_rows(const float* src, const int32_t* index, float* dst, int count,
                           int width) = 0;
  virtual void gather_labels(const int32_t* src, const int32_t* index, int32_t* dst,
                             int count) = 0;
  // order[0..count) = a shuffled epoch: the samples sorted by shuffle_key(seed, sample), the
  // same permutation on every backend; order lives in backend memory.
  virtual void shuffled_order(uint64_t seed, int32_t* order, int64_t count) = 0;
  // A hint that shuffled_order(seed, ..., count) will be asked for: a backend may begin it
  // now, beside the work queued after this call (the CUDA backend does, on a stream of its own).
  virtual void prepare_shuffled_order(uint64_t seed, int64_t count) { (void)seed, (void)count; }

  // A faster runner for this plan, or null with *why_not saying why there is none (then the
  // trainer calls the layers one by one, and `leap train` prints the reason).
  virtual std::unique_ptr<MlpEpochRunner> plan_mlp_epoch(const MlpEpochPlan& plan, std::string* why_not) {
    (void)plan;
    *why_not = "the backend has no faster path";
    return nullptr;
  }
  // A faster path for repeated inference, or null (then the layers are called one by one).
  virtual std::unique_ptr<InferenceRunner> plan_inference(const InferencePlan& plan) {
    (void)plan;
    return nullptr;
  }
};

// The backend for a device. Throws leap::Error when the device is not available.
Backend& backend(Device device);
// True when a usable device of this kind exists (always for the CPU).
bool available(Device device);

// The GPU that Device::cuda means on the calling thread, from now on (GPU 0 until a thread
// chooses): a data-parallel rank takes its own. Throws leap::Error when there is no such GPU.
void use_cuda_device(int index);
// The GPU that Device::cuda means on the calling thread (0 without CUDA).
int current_cuda_device();
// The number of usable GPUs (0 without CUDA).
int cuda_device_count();

}  // namespace leap
