// A linear layer's products on the GPU. Row-major M[r,c] is column-major M^T[c,r], so each
// row-major product is issued to cuBLASLt as its transpose.
#pragma once

#include <cuda_runtime_api.h>

#include "cuda/kernels/matmul.h"

namespace leap::cuda_detail {

// y[batch,out] = x[batch,in] w[out,in]^T + bias, then ReLU when `relu` (fused epilogue); the
// product rounds its operands to `precision` on the tensor cores.
void linear_forward(Matmul& matmul, const float* x, const float* w, const float* bias, float* y,
                    int batch, int in, int out, bool relu, Precision precision);

// grad_w (+)= dy^T x, grad_b (+)= column sums of dy, grad_x = dy w when grad_x is not null.
void linear_backward(Matmul& matmul, const float* x, const float* w, const float* dy,
                     float* grad_x, float* grad_w, float* grad_b, int batch, int in, int out,
                     bool accumulate, Precision precision, cudaStream_t stream);

}  // namespace leap::cuda_detail
