#include "cuda/matmul.h"

#include <cstdint>
#include <functional>
#include <memory>

#include "cuda/cuda_check.h"
#include "leap/error.h"

namespace leap::cuda_detail {
namespace {

constexpr size_t kWorkspaceBytes = size_t(32) << 20;

cublasLtEpilogue_t to_cublas(Epilogue epilogue) {
  switch (epilogue) {
    case Epilogue::bias: return CUBLASLT_EPILOGUE_BIAS;
    case Epilogue::relu_bias: return CUBLASLT_EPILOGUE_RELU_BIAS;
    case Epilogue::none: break;
  }
  return CUBLASLT_EPILOGUE_DEFAULT;
}

// A column-major rows x columns fp32 matrix with leading dimension `leading`.
cublasLtMatrixLayout_t make_layout(int rows, int columns, int leading) {
  cublasLtMatrixLayout_t layout = nullptr;
  LEAP_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&layout, CUDA_R_32F, rows, columns, leading));
  return layout;
}

template <typename Value>
void set_attribute(cublasLtMatmulDesc_t operation, cublasLtMatmulDescAttributes_t attribute,
                   const Value& value) {
  LEAP_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(operation, attribute, &value, sizeof value));
}

template <typename Value>
void set_preference(cublasLtMatmulPreference_t preference,
                    cublasLtMatmulPreferenceAttributes_t attribute, const Value& value) {
  LEAP_CUBLAS_CHECK(
      cublasLtMatmulPreferenceSetAttribute(preference, attribute, &value, sizeof value));
}

}  // namespace

std::string GemmShape::describe() const {
  return "fp32 gemm m=" + std::to_string(m) + " n=" + std::to_string(n) + " k=" +
         std::to_string(k) + (transpose_a ? " A^T" : "") + (transpose_b ? " B^T" : "") +
         " epilogue " + std::to_string(int(epilogue));
}

size_t GemmShapeHash::operator()(const GemmShape& s) const {
  size_t hash = 0;
  for (int64_t field : {int64_t(s.transpose_a), int64_t(s.transpose_b), int64_t(s.m),
                        int64_t(s.n), int64_t(s.k), int64_t(s.lda), int64_t(s.ldb),
                        int64_t(s.ldd), int64_t(s.epilogue), int64_t(s.align_a),
                        int64_t(s.align_b), int64_t(s.align_d)})
    hash = hash * 1000003u ^ std::hash<int64_t>{}(field);
  return hash;
}

Matmul::Matmul(cudaStream_t stream) : stream_(stream) {
  LEAP_CUBLAS_CHECK(cublasLtCreate(&handle_));
  LEAP_CUDA_CHECK(cudaMalloc(&workspace_, kWorkspaceBytes));
}

// Destructors do not check: they must not throw, and at exit the driver may be gone already.
Matmul::~Matmul() {
  plans_.clear();
  cudaFree(workspace_);
  cublasLtDestroy(handle_);
}

Matmul::Plan::~Plan() {
  if (a) cublasLtMatrixLayoutDestroy(a);
  if (b) cublasLtMatrixLayoutDestroy(b);
  if (d) cublasLtMatrixLayoutDestroy(d);
  if (operation) cublasLtMatmulDescDestroy(operation);
}

int Matmul::alignment(const void* pointer) {
  const auto address = reinterpret_cast<uintptr_t>(pointer);
  return address % 16 == 0 ? 16 : address % 8 == 0 ? 8 : 4;
}

Matmul::Plan& Matmul::plan_for(const GemmShape& shape) {
  auto found = plans_.find(shape);
  if (found != plans_.end()) return found->second;
  auto inserted = plans_.try_emplace(shape).first;
  try {
    build_plan(shape, inserted->second);
  } catch (const Error& error) {
    plans_.erase(inserted);
    throw Error(std::string(error.what()) + " for " + shape.describe());
  }
  return inserted->second;
}

void Matmul::build_plan(const GemmShape& shape, Plan& plan) {
  // Plain fp32 (CUBLAS_COMPUTE_32F, not the TF32 variant): results match the CPU to ~1e-6.
  LEAP_CUBLAS_CHECK(cublasLtMatmulDescCreate(&plan.operation, CUBLAS_COMPUTE_32F, CUDA_R_32F));
  const cublasOperation_t op_a = shape.transpose_a ? CUBLAS_OP_T : CUBLAS_OP_N;
  const cublasOperation_t op_b = shape.transpose_b ? CUBLAS_OP_T : CUBLAS_OP_N;
  set_attribute(plan.operation, CUBLASLT_MATMUL_DESC_TRANSA, op_a);
  set_attribute(plan.operation, CUBLASLT_MATMUL_DESC_TRANSB, op_b);
  set_attribute(plan.operation, CUBLASLT_MATMUL_DESC_EPILOGUE, to_cublas(shape.epilogue));

  // Stored shapes: op(A) is m x k, so A itself is k x m when transposed; likewise B.
  plan.a = shape.transpose_a ? make_layout(shape.k, shape.m, shape.lda)
                             : make_layout(shape.m, shape.k, shape.lda);
  plan.b = shape.transpose_b ? make_layout(shape.n, shape.k, shape.ldb)
                             : make_layout(shape.k, shape.n, shape.ldb);
  plan.d = make_layout(shape.m, shape.n, shape.ldd);

  cublasLtMatmulPreference_t raw_preference = nullptr;
  LEAP_CUBLAS_CHECK(cublasLtMatmulPreferenceCreate(&raw_preference));
  const std::unique_ptr<cublasLtMatmulPreferenceOpaque_t,
                        decltype(&cublasLtMatmulPreferenceDestroy)>
      preference(raw_preference, &cublasLtMatmulPreferenceDestroy);
  set_preference(raw_preference, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, kWorkspaceBytes);
  set_preference(raw_preference, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES,
                 uint32_t(shape.align_a));
  set_preference(raw_preference, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES,
                 uint32_t(shape.align_b));
  set_preference(raw_preference, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES,
                 uint32_t(shape.align_d));
  set_preference(raw_preference, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES,
                 uint32_t(shape.align_d));
  cublasLtMatmulHeuristicResult_t result{};
  int found = 0;
  LEAP_CUBLAS_CHECK(cublasLtMatmulAlgoGetHeuristic(handle_, plan.operation, plan.a, plan.b,
                                                   plan.d, plan.d, raw_preference, 1, &result,
                                                   &found));
  check(found > 0, "cuBLASLt has no algorithm for " + shape.describe());
  plan.algorithm = result.algo;
}

void Matmul::run(const GemmShape& shape, const float* a, const float* b, float* d, float beta,
                 const float* bias) {
  Plan& plan = plan_for(shape);
  if (shape.epilogue != Epilogue::none)
    set_attribute(plan.operation, CUBLASLT_MATMUL_DESC_BIAS_POINTER, bias);
  const float alpha = 1.0f;
  LEAP_CUBLAS_CHECK(cublasLtMatmul(handle_, plan.operation, &alpha, a, plan.a, b, plan.b, &beta,
                                   d, plan.d, d, plan.d, &plan.algorithm, workspace_,
                                   kWorkspaceBytes, stream_));
}

}  // namespace leap::cuda_detail
