// The CUDA backend's compute operations: each forwards to a kernel or cuBLASLt on the stream.
#include <algorithm>
#include <cmath>

#include "cuda/kernels/bf16_convert.h"
#include "cuda/kernels/cross_entropy.h"
#include "cuda/cuda_backend.h"
#include "cuda/kernels/elementwise.h"
#include "cuda/kernels/gather.h"
#include "cuda/kernels/linear.h"
#include "cuda/kernels/optimizer.h"
#include "cuda/kernels/shuffle.h"

namespace leap {
namespace {

// Calls launch(batch) for each run of at most kMaxSlots slots: one launch per 16 tensors.
template <typename Launch>
void for_each_slot_batch(std::span<const ParamSlot> slots, Launch launch) {
  using cuda_detail::kMaxSlots;
  for (size_t first = 0; first < slots.size(); first += kMaxSlots) {
    cuda_detail::SlotBatch batch{};
    const size_t count = std::min<size_t>(kMaxSlots, slots.size() - first);
    for (const ParamSlot& slot : slots.subspan(first, count))
      batch.add(slot.value, slot.grad, slot.state_a, slot.state_b, slot.count,
                reinterpret_cast<const __nv_bfloat16*>(slot.grad_bf16),
                reinterpret_cast<__nv_bfloat16*>(slot.value_bf16));
    launch(batch);
  }
}

}  // namespace

void CudaBackend::linear_forward(const float* x, const float* w, const float* bias, float* y,
                                 int batch, int in, int out, bool relu, Precision precision) {
  cuda_detail::linear_forward(*matmul_, x, w, bias, y, batch, in, out, relu, precision);
}

void CudaBackend::linear_backward(const float* x, const float* w, const float* dy,
                                  float* grad_x, float* grad_w, float* grad_b, int batch,
                                  int in, int out, bool accumulate, Precision precision) {
  cuda_detail::linear_backward(*matmul_, x, w, dy, grad_x, grad_w, grad_b, batch, in, out,
                               accumulate, precision, stream_);
}

void CudaBackend::dropout(const float* x, float* y, size_t count, float p, uint64_t key) {
  cuda_detail::launch_dropout(x, y, count, p, key, stream_);
}

void CudaBackend::relu_forward(const float* x, float* y, size_t count) {
  cuda_detail::launch_relu_forward(x, y, count, stream_);
}

void CudaBackend::relu_backward(const float* y, float* grad, size_t count) {
  cuda_detail::launch_relu_backward(y, grad, count, stream_);
}

void CudaBackend::cross_entropy(const float* logits, const int32_t* labels, float* grad,
                                double* loss_sum, int64_t* correct, int batch, int classes) {
  cuda_detail::launch_cross_entropy(logits, labels, grad, loss_sum, correct, batch, classes,
                                    stream_);
}

void CudaBackend::distillation_loss(const float* student, const float* teacher,
                                    const int32_t* labels, float* grad, double* loss_sum,
                                    int64_t* correct, int batch, int classes, float temperature,
                                    float alpha) {
  cuda_detail::launch_distillation(student, teacher, labels, grad, loss_sum, correct, batch,
                                   classes, temperature, alpha, stream_);
}

void CudaBackend::count_correct(const float* logits, const int32_t* labels, int64_t* correct,
                                int batch, int classes) {
  cuda_detail::launch_cross_entropy(logits, labels, nullptr, nullptr, correct, batch, classes,
                                    stream_);
}

void CudaBackend::adam_update(std::span<const ParamSlot> slots, const AdamHyper& h) {
  // Bias corrections in float on the host, exactly as the CPU backend computes them.
  const float correction1 = 1.0f - std::pow(h.beta1, float(h.step));
  const cuda_detail::AdamScalars scalars{h.lr / correction1, std::sqrt(1.0f - std::pow(h.beta2, float(h.step))),
                                         h.beta1, h.beta2, h.eps, h.weight_decay};
  for_each_slot_batch(slots, [&](const cuda_detail::SlotBatch& batch) {
    cuda_detail::launch_adam(batch, scalars, stream_);
  });
}

void CudaBackend::to_bf16(const float* x, uint16_t* y, size_t rows, int columns, int y_stride) {
  cuda_detail::launch_to_bf16(x, reinterpret_cast<__nv_bfloat16*>(y), rows, columns, y_stride,
                              stream_);
}

void CudaBackend::sgd_update(std::span<const ParamSlot> slots, const SgdHyper& h) {
  const cuda_detail::SgdScalars scalars{h.lr, h.momentum, h.dampening, h.weight_decay, h.nesterov, h.first_step};
  for_each_slot_batch(slots, [&](const cuda_detail::SlotBatch& batch) {
    cuda_detail::launch_sgd(batch, scalars, stream_);
  });
}

void CudaBackend::gather_rows(const float* src, const int32_t* index, float* dst, int count,
                              int width) {
  cuda_detail::launch_gather_rows(src, index, dst, count, width, stream_);
}

void CudaBackend::shuffled_order(uint64_t seed, int32_t* order, int64_t count) {
  if (prepared_order_ && prepared_order_->take(seed, order, count, stream_)) return;
  const size_t bytes = cuda_detail::shuffled_order_scratch_bytes(count);
  Tensor scratch({int64_t((bytes + 3) / 4)}, DType::int32, Device::cuda);
  cuda_detail::launch_shuffled_order(seed, order, count, scratch.labels(), bytes, stream_);
}

void CudaBackend::prepare_shuffled_order(uint64_t seed, int64_t count) {
  if (!prepared_order_) prepared_order_ = std::make_unique<cuda_detail::PreparedOrder>();
  prepared_order_->prepare(seed, count, stream_);
}

void CudaBackend::gather_labels(const int32_t* src, const int32_t* index, int32_t* dst,
                                int count) {
  cuda_detail::launch_gather_labels(src, index, dst, count, stream_);
}

}  // namespace leap
