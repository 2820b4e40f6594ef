// Matmul: fp32 products through cuBLASLt on one stream, in cuBLASLt's column-major terms.
// A plan (descriptors, layouts, chosen algorithm) is built once per shape and reused.
#pragma once

#include <cublasLt.h>
#include <cuda_runtime_api.h>

#include <cstddef>
#include <string>
#include <unordered_map>

namespace leap::cuda_detail {

enum class Epilogue { none, bias, relu_bias };  // bias: one value per row of D

// D[m,n] = op(A)[m,k] op(B)[k,n] (+ beta D) (+ bias, ReLU), column-major with leading
// dimensions lda, ldb, ldd. Alignments (4, 8 or 16 bytes) let cuBLASLt pick vector kernels.
struct GemmShape {
  bool transpose_a = false, transpose_b = false;
  int m = 0, n = 0, k = 0;
  int lda = 0, ldb = 0, ldd = 0;
  Epilogue epilogue = Epilogue::none;
  int align_a = 4, align_b = 4, align_d = 4;

  bool operator==(const GemmShape&) const = default;
  std::string describe() const;
};

struct GemmShapeHash {
  size_t operator()(const GemmShape& shape) const;
};

class Matmul {
 public:
  explicit Matmul(cudaStream_t stream);
  ~Matmul();
  Matmul(const Matmul&) = delete;
  Matmul& operator=(const Matmul&) = delete;

  // Queues D = op(A) op(B) + beta D (+ epilogue) on the stream; bias is read when the
  // epilogue needs it. Pointer alignments must be at least those the shape states.
  void run(const GemmShape& shape, const float* a, const float* b, float* d, float beta,
           const float* bias = nullptr);

  // The largest of 4, 8, 16 that divides the address.
  static int alignment(const void* pointer);

 private:
  // Owns its cuBLASLt descriptors.
  struct Plan {
    cublasLtMatmulDesc_t operation = nullptr;
    cublasLtMatrixLayout_t a = nullptr, b = nullptr, d = nullptr;
    cublasLtMatmulAlgo_t algorithm{};

    Plan() = default;
    Plan(const Plan&) = delete;
    Plan& operator=(const Plan&) = delete;
    ~Plan();
  };
  Plan& plan_for(const GemmShape& shape);
  void build_plan(const GemmShape& shape, Plan& plan);

  cudaStream_t stream_;
  cublasLtHandle_t handle_ = nullptr;
  void* workspace_ = nullptr;  // split-K and other algorithms need scratch space
  std::unordered_map<GemmShape, Plan, GemmShapeHash> plans_;
};

}  // namespace leap::cuda_detail
