// Matmul: products through cuBLASLt on one stream, in cuBLASLt's column-major terms. fp32
// operands in fp32, TF32 or bf16 (converted inside the product), or bf16 operands stored as
// such; fp32 or bf16 results; epilogues for bias, ReLU and their gradients. A plan
// (descriptors, layouts, chosen algorithm) is built once per shape and reused.
#pragma once

#include <cublasLt.h>
#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <utility>

#include "leap/precision.h"

namespace leap::cuda_detail {

enum class Epilogue {
  none,
  bias,           // + bias, one value per row of D
  relu_bias,      // + bias, then ReLU
  relu_aux_bias,  // + bias, then ReLU, writing the ReLU's bit mask to aux
  drelu_bgrad,    // D masked by aux's bit mask; the bias gradient (row sums of the masked D)
  drelu,          // D masked by aux's bit mask
  bgradb,         // the bias gradient of op(B): its sums over k, one per column of D
};

// D[m,n] = op(A)[m,k] op(B)[k,n] (+ beta D) (+ epilogue), column-major with leading
// dimensions lda, ldb, ldd. Alignments (4, 8 or 16 bytes) let cuBLASLt pick vector kernels.
struct GemmShape {
  bool transpose_a = false, transpose_b = false;
  int m = 0, n = 0, k = 0;
  int lda = 0, ldb = 0, ldd = 0;
  Epilogue epilogue = Epilogue::none;
  int align_a = 4, align_b = 4, align_d = 4;
  Precision precision = Precision::fp32;  // for fp32 operands: how the product rounds them
  bool bf16_operands = false;             // A and B are stored as bf16
  bool bf16_output = false;               // D (and a bias or bias gradient) are bf16
  int64_t aux_ld = 0;                     // the bit mask's leading dimension, in bits

  bool operator==(const GemmShape&) const = default;
  std::string describe() const;
};

// Algorithms asked of cuBLASLt's heuristic per shape; the first is its choice, and timing
// may pick another (Matmul::run).
constexpr int kMaxCandidates = 16;

struct GemmShapeHash {
  size_t operator()(const GemmShape& shape) const;
};

// Device pointers of one product; the element types are the shape's.
struct GemmOperands {
  const void* a = nullptr;
  const void* b = nullptr;
  void* d = nullptr;
  float beta = 0.0f;
  void* bias = nullptr;  // read for bias epilogues, written for drelu_bgrad and bgradb
  void* aux = nullptr;   // written by relu_aux_bias, read by drelu_bgrad
};

class Matmul {
 public:
  explicit Matmul(cudaStream_t stream);
  ~Matmul();
  Matmul(const Matmul&) = delete;
  Matmul& operator=(const Matmul&) = delete;

  // Queues the product on the stream. Pointer alignments must be at least those the shape
  // states.
  void run(const GemmShape& shape, const GemmOperands& operands);
  // Whether cuBLASLt has an algorithm for this shape (builds and caches its plan).
  bool supports(const GemmShape& shape);

  // The largest of 4, 8, 16 that divides the address.
  static int alignment(const void* pointer);

  // Scratch bytes a product may use (split-K and other algorithms).
  static constexpr size_t kWorkspaceBytes = size_t(32) << 20;
  // Products queued from now on use `workspace` (kWorkspaceBytes) instead of the scratch they
  // used so far, which is returned: a graph replayed beside other graphs needs its own.
  void* use_workspace(void* workspace) {
    std::swap(workspace_, workspace);
    return workspace;
  }

 private:
  // Owns its cuBLASLt descriptors.
  struct Plan {
    cublasLtMatmulDesc_t operation = nullptr;
    cublasLtMatrixLayout_t a = nullptr, b = nullptr, d = nullptr;
    cublasLtMatmulHeuristicResult_t candidates[kMaxCandidates]{};
    int candidate_count = 0;
    int chosen = 0;
    bool tuned = false;  // timed among the candidates (see Matmul::run)

    Plan() = default;
    Plan(const Plan&) = delete;
    Plan& operator=(const Plan&) = delete;
    ~Plan();
  };
  Plan* plan_for(const GemmShape& shape);  // null when cuBLASLt has no algorithm
  void build_plan(const GemmShape& shape, Plan& plan);
  void set_pointers(const GemmShape& shape, Plan& plan, const GemmOperands& operands);
  cublasStatus_t launch(const Plan& plan, int candidate, const GemmOperands& operands);
  // Times each candidate on these operands (outside graph capture) and keeps the fastest.
  void autotune(Plan& plan, const GemmOperands& operands);

  // Whether to time the candidates of a new plan: for bf16 operands unless
  // LEAP_GEMM_AUTOTUNE=0, for all with LEAP_GEMM_AUTOTUNE=1.
  bool should_autotune(const GemmShape& shape) const;

  cudaStream_t stream_;
  cublasLtHandle_t handle_ = nullptr;
  void* workspace_ = nullptr;  // split-K and other algorithms need scratch space
  int autotune_ = -1;          // LEAP_GEMM_AUTOTUNE: 0 never, 1 always, -1 for bf16 operands
  std::unordered_map<GemmShape, Plan, GemmShapeHash> plans_;
};

}  // namespace leap::cuda_detail
