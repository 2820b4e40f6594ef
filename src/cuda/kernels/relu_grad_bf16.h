// The ReLU's gradient and the bias gradient of the layer before it, on bf16 activations: what
// cuBLASLt's DRELU_BGRAD epilogue computes, as a kernel of its own for devices or shapes
// where the epilogue has no algorithm (or LEAP_BF16_RELU=kernel asks for it).
#pragma once

#include <cuda_bf16.h>
#include <cuda_runtime_api.h>

namespace leap::cuda_detail {

// Rows summed by one block of the bias gradient; partial sums need rows / this many floats
// per column of scratch.
constexpr int kReluGradRowsPerBlock = 256;
inline int relu_grad_partials(int rows) {
  return (rows + kReluGradRowsPerBlock - 1) / kReluGradRowsPerBlock;
}

// grad[r, c] = hidden[r, c] > 0 ? grad[r, c] : 0 in place, and grad_bias[c] = sum over r of
// the masked grad[r, c], summed in fp32 in a fixed order; all [rows, columns] row-major, with
// columns a multiple of 8 and both matrices 16-byte aligned (16-byte accesses). `partials`
// holds relu_grad_partials(rows) * columns floats of scratch.
void launch_relu_grad_bf16(__nv_bfloat16* grad, const __nv_bfloat16* hidden,
                           __nv_bfloat16* grad_bias, float* partials, int rows, int columns,
                           cudaStream_t stream);

}  // namespace leap::cuda_detail
