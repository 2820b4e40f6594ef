#include "cuda/kernels/matmul.h"

#include <algorithm>
#include <cstdlib>
#include <functional>
#include <memory>

#include "cuda/cuda_check.h"
#include "leap/error.h"

namespace leap::cuda_detail {
namespace {

// cuBLAS's advice for Hopper; split-K and stream-K algorithms need scratch space.
constexpr int kTimedRuns = 5;  // per candidate, after one warm-up

cublasLtEpilogue_t to_cublas(Epilogue epilogue) {
  switch (epilogue) {
    case Epilogue::bias: return CUBLASLT_EPILOGUE_BIAS;
    case Epilogue::relu_bias: return CUBLASLT_EPILOGUE_RELU_BIAS;
    case Epilogue::relu_aux_bias: return CUBLASLT_EPILOGUE_RELU_AUX_BIAS;
    case Epilogue::drelu_bgrad: return CUBLASLT_EPILOGUE_DRELU_BGRAD;
    case Epilogue::drelu: return CUBLASLT_EPILOGUE_DRELU;
    case Epilogue::bgradb: return CUBLASLT_EPILOGUE_BGRADB;
    case Epilogue::none: break;
  }
  return CUBLASLT_EPILOGUE_DEFAULT;
}

bool uses_aux(Epilogue epilogue) {
  return epilogue == Epilogue::relu_aux_bias || epilogue == Epilogue::drelu_bgrad ||
         epilogue == Epilogue::drelu;
}

bool uses_bias(Epilogue epilogue) {
  return epilogue != Epilogue::none && epilogue != Epilogue::drelu;
}

// fp32 operands round inside the product as the precision says; bf16 operands are already
// rounded, and every product accumulates in fp32.
cublasComputeType_t compute_type(const GemmShape& shape) {
  if (shape.bf16_operands) return CUBLAS_COMPUTE_32F;
  switch (shape.precision) {
    case Precision::tf32: return CUBLAS_COMPUTE_32F_FAST_TF32;
    case Precision::bf16: return CUBLAS_COMPUTE_32F_FAST_16BF;
    case Precision::fp32: break;
  }
  return CUBLAS_COMPUTE_32F;
}

cublasLtMatrixLayout_t make_layout(cudaDataType_t type, int rows, int columns, int leading) {
  cublasLtMatrixLayout_t layout = nullptr;
  LEAP_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&layout, type, rows, columns, leading));
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

const char* epilogue_name(Epilogue epilogue) {
  switch (epilogue) {
    case Epilogue::bias: return "bias";
    case Epilogue::relu_bias: return "bias+relu";
    case Epilogue::relu_aux_bias: return "bias+relu+mask";
    case Epilogue::drelu_bgrad: return "drelu+bgrad";
    case Epilogue::drelu: return "drelu";
    case Epilogue::bgradb: return "bgradb";
    case Epilogue::none: break;
  }
  return "none";
}

}  // namespace

std::string GemmShape::describe() const {
  const std::string operands = bf16_operands ? "bf16" : "fp32 as " + to_string(precision);
  return operands + (bf16_output ? "->bf16" : "->fp32") + " gemm m=" + std::to_string(m) +
         " n=" + std::to_string(n) + " k=" + std::to_string(k) + (transpose_a ? " A^T" : "") +
         (transpose_b ? " B^T" : "") + " epilogue " + epilogue_name(epilogue);
}

size_t GemmShapeHash::operator()(const GemmShape& s) const {
  size_t hash = 0;
  for (int64_t field : {int64_t(s.transpose_a), int64_t(s.transpose_b), int64_t(s.m),
                        int64_t(s.n), int64_t(s.k), int64_t(s.lda), int64_t(s.ldb),
                        int64_t(s.ldd), int64_t(s.epilogue), int64_t(s.align_a),
                        int64_t(s.align_b), int64_t(s.align_d), int64_t(s.precision),
                        int64_t(s.bf16_operands), int64_t(s.bf16_output), s.aux_ld})
    hash = hash * 1000003u ^ std::hash<int64_t>{}(field);
  return hash;
}

Matmul::Matmul(cudaStream_t stream) : stream_(stream) {
  LEAP_CUBLAS_CHECK(cublasLtCreate(&handle_));
  LEAP_CUDA_CHECK(cudaMalloc(&workspace_, kWorkspaceBytes));
  const char* autotune = std::getenv("LEAP_GEMM_AUTOTUNE");
  if (autotune) autotune_ = std::string(autotune) == "1" ? 1 : std::string(autotune) == "0" ? 0 : -1;
}

// cuBLASLt's first heuristic answer is good for fp32 but measured 4% off the best of its
// candidates for the wide bf16 step on an H100 (2026-11-24), where products take milliseconds
// and timing eight candidates once costs less than one step.
bool Matmul::should_autotune(const GemmShape& shape) const {
  return autotune_ == 1 || (autotune_ == -1 && shape.bf16_operands);
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

Matmul::Plan* Matmul::plan_for(const GemmShape& shape) {
  auto found = plans_.find(shape);
  if (found != plans_.end()) return found->second.candidate_count > 0 ? &found->second : nullptr;
  auto inserted = plans_.try_emplace(shape).first;
  try {
    build_plan(shape, inserted->second);
  } catch (const Error& error) {
    plans_.erase(inserted);
    throw Error(std::string(error.what()) + " for " + shape.describe());
  }
  return inserted->second.candidate_count > 0 ? &inserted->second : nullptr;
}

bool Matmul::supports(const GemmShape& shape) { return plan_for(shape) != nullptr; }

void Matmul::build_plan(const GemmShape& shape, Plan& plan) {
  // Plain fp32 (CUBLAS_COMPUTE_32F, not the TF32 variant) matches the CPU to ~1e-6.
  LEAP_CUBLAS_CHECK(cublasLtMatmulDescCreate(&plan.operation, compute_type(shape), CUDA_R_32F));
  const cublasOperation_t op_a = shape.transpose_a ? CUBLAS_OP_T : CUBLAS_OP_N;
  const cublasOperation_t op_b = shape.transpose_b ? CUBLAS_OP_T : CUBLAS_OP_N;
  set_attribute(plan.operation, CUBLASLT_MATMUL_DESC_TRANSA, op_a);
  set_attribute(plan.operation, CUBLASLT_MATMUL_DESC_TRANSB, op_b);
  set_attribute(plan.operation, CUBLASLT_MATMUL_DESC_EPILOGUE, to_cublas(shape.epilogue));
  if (uses_aux(shape.epilogue))
    set_attribute(plan.operation, CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_LD, shape.aux_ld);

  // Stored shapes: op(A) is m x k, so A itself is k x m when transposed; likewise B.
  const cudaDataType_t operand = shape.bf16_operands ? CUDA_R_16BF : CUDA_R_32F;
  const cudaDataType_t output = shape.bf16_output ? CUDA_R_16BF : CUDA_R_32F;
  plan.a = shape.transpose_a ? make_layout(operand, shape.k, shape.m, shape.lda)
                             : make_layout(operand, shape.m, shape.k, shape.lda);
  plan.b = shape.transpose_b ? make_layout(operand, shape.n, shape.k, shape.ldb)
                             : make_layout(operand, shape.k, shape.n, shape.ldb);
  plan.d = make_layout(output, shape.m, shape.n, shape.ldd);

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
  // No algorithm is an answer, not an error: callers may fall back to another product.
  const cublasStatus_t status = cublasLtMatmulAlgoGetHeuristic(
      handle_, plan.operation, plan.a, plan.b, plan.d, plan.d, raw_preference, kMaxCandidates,
      plan.candidates, &plan.candidate_count);
  if (status == CUBLAS_STATUS_NOT_SUPPORTED) plan.candidate_count = 0;
  else LEAP_CUBLAS_CHECK(status);
}

void Matmul::set_pointers(const GemmShape& shape, Plan& plan, const GemmOperands& operands) {
  if (uses_bias(shape.epilogue))
    set_attribute(plan.operation, CUBLASLT_MATMUL_DESC_BIAS_POINTER, operands.bias);
  if (uses_aux(shape.epilogue))
    set_attribute(plan.operation, CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_POINTER, operands.aux);
}

cublasStatus_t Matmul::launch(const Plan& plan, int candidate, const GemmOperands& operands) {
  const float alpha = 1.0f;
  return cublasLtMatmul(handle_, plan.operation, &alpha, operands.a, plan.a, operands.b, plan.b,
                        &operands.beta, operands.d, plan.d, operands.d, plan.d,
                        &plan.candidates[candidate].algo, workspace_, kWorkspaceBytes, stream_);
}

// A candidate that fails to launch is passed over; the first heuristic answer stays the
// choice unless another is faster.
void Matmul::autotune(Plan& plan, const GemmOperands& operands) {
  plan.tuned = true;
  if (plan.candidate_count < 2) return;
  cudaEvent_t start, stop;
  LEAP_CUDA_CHECK(cudaEventCreate(&start));
  LEAP_CUDA_CHECK(cudaEventCreate(&stop));
  float best = 1e30f;
  for (int c = 0; c < plan.candidate_count; ++c) {
    if (launch(plan, c, operands) != CUBLAS_STATUS_SUCCESS) continue;  // also the warm-up
    LEAP_CUDA_CHECK(cudaEventRecord(start, stream_));
    bool launched = true;
    for (int run = 0; run < kTimedRuns; ++run) launched = launched && launch(plan, c, operands) == CUBLAS_STATUS_SUCCESS;
    LEAP_CUDA_CHECK(cudaEventRecord(stop, stream_));
    LEAP_CUDA_CHECK(cudaEventSynchronize(stop));
    float milliseconds = 0;
    LEAP_CUDA_CHECK(cudaEventElapsedTime(&milliseconds, start, stop));
    if (launched && milliseconds < best) best = milliseconds, plan.chosen = c;
  }
  cudaEventDestroy(start);
  cudaEventDestroy(stop);
  (void)cudaGetLastError();  // a failed candidate leaves no error behind
}

void Matmul::run(const GemmShape& shape, const GemmOperands& operands) {
  Plan* plan = plan_for(shape);
  check(plan != nullptr, "cuBLASLt has no algorithm for " + shape.describe());
  set_pointers(shape, *plan, operands);
  // Timing overwrites D, so only products that do not read it are tuned, and never while a
  // graph is being captured.
  cudaStreamCaptureStatus capturing = cudaStreamCaptureStatusNone;
  LEAP_CUDA_CHECK(cudaStreamIsCapturing(stream_, &capturing));
  if (!plan->tuned && should_autotune(shape) && operands.beta == 0.0f &&
      capturing == cudaStreamCaptureStatusNone)
    autotune(*plan, operands);
  LEAP_CUBLAS_CHECK(launch(*plan, plan->chosen, operands));
}

}  // namespace leap::cuda_detail
