// The CUDA backend: one GPU, one non-blocking stream that all of its work is queued on (so a
// whole training step can later be captured as a CUDA graph), a caching allocator and
// cuBLASLt products. Host C++ only: kernels live in the .cu files behind launch_* functions.
#pragma once

#include <cuda_runtime_api.h>

#include <memory>
#include <string>
#include <vector>

#include "cuda/caching_allocator.h"
#include "cuda/kernels/matmul.h"
#include "cuda/training/prepared_order.h"
#include "leap/backend.h"

namespace leap {

class CudaBackend final : public Backend {
 public:
  explicit CudaBackend(int device_index);
  ~CudaBackend() override;
  CudaBackend(const CudaBackend&) = delete;
  CudaBackend& operator=(const CudaBackend&) = delete;

  cudaStream_t stream() const { return stream_; }
  int device_index() const { return device_index_; }

  Device device() const override { return Device::cuda; }
  std::string describe() const override { return description_; }
  DeviceInfo info() const override { return info_; }
  // fp32, as PyTorch's default. The small MLPs' persistent kernel computes fp32-accurate
  // products on the tensor cores (fp16 halves, high + low); wide models ask for tf32 or bf16.
  Precision default_precision() const override { return Precision::fp32; }
  cuda_detail::Matmul& matmul() { return *matmul_; }
  // Side stream i (made on first use, non-blocking): work that runs beside the stream's, such
  // as the graphs of models trained side by side (training/gathered_launch.h).
  cudaStream_t side_stream(size_t i);

  void* allocate(size_t bytes) override { return allocator_.allocate(bytes); }
  void release(void* pointer) override { allocator_.release(pointer); }
  void copy_to_host(void* host, const void* source, size_t bytes) override;
  void copy_from_host(void* target, const void* host, size_t bytes) override;
  void copy(void* target, const void* source, size_t bytes) override;
  void fill(float* target, size_t count, float value) override;
  void synchronize() override;

  void linear_forward(const float* x, const float* w, const float* bias, float* y, int batch,
                      int in, int out, bool relu, Precision precision) override;
  void linear_backward(const float* x, const float* w, const float* dy, float* grad_x,
                       float* grad_w, float* grad_b, int batch, int in, int out,
                       bool accumulate, Precision precision) override;
  void dropout(const float* x, float* y, size_t count, float p, uint64_t key) override;
  void relu_forward(const float* x, float* y, size_t count) override;
  void relu_backward(const float* y, float* grad, size_t count) override;
  void cross_entropy(const float* logits, const int32_t* labels, float* grad, double* loss_sum,
                     int64_t* correct, int batch, int classes) override;
  void distillation_loss(const float* student, const float* teacher, const int32_t* labels,
                         float* grad, double* loss_sum, int64_t* correct, int batch, int classes,
                         float temperature, float alpha) override;
  void count_correct(const float* logits, const int32_t* labels, int64_t* correct, int batch,
                     int classes) override;
  void to_bf16(const float* x, uint16_t* y, size_t rows, int columns, int y_stride) override;
  void adam_update(std::span<const ParamSlot> slots, const AdamHyper& hyper) override;
  void sgd_update(std::span<const ParamSlot> slots, const SgdHyper& hyper) override;
  void gather_rows(const float* src, const int32_t* index, float* dst, int count,
                   int width) override;
  void shuffled_order(uint64_t seed, int32_t* order, int64_t count) override;
  void prepare_shuffled_order(uint64_t seed, int64_t count) override;
  void gather_labels(const int32_t* src, const int32_t* index, int32_t* dst,
                     int count) override;
  // The fastest training path that takes the plan (training/training_path.cpp).
  std::unique_ptr<MlpEpochRunner> plan_mlp_epoch(const MlpEpochPlan& plan, std::string* why_not) override;
  // Copy in, forward and copy out as one replayed CUDA graph (inference/inference_graph.cpp).
  std::unique_ptr<InferenceRunner> plan_inference(const InferencePlan& plan) override;

 private:
  int device_index_;
  DeviceInfo info_;
  std::string description_;
  cudaStream_t stream_ = nullptr;
  CachingAllocator allocator_;
  std::unique_ptr<cuda_detail::Matmul> matmul_;  // built once the stream exists
  std::unique_ptr<cuda_detail::PreparedOrder> prepared_order_;  // made by the first prepare
  std::vector<cudaStream_t> side_streams_;
};

// The stream of the CUDA backend, for other CUDA code (graph capture, custom kernels).
// Throws leap::Error when no GPU is usable.
cudaStream_t cuda_stream();

}  // namespace leap
