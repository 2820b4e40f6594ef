#include "cuda/kernels/linear.h"

#include "cuda/kernels/bias_grad.h"
#include "cuda/cuda_check.h"
#include "leap/error.h"

namespace leap::cuda_detail {

// cuBLASLt rejects empty inner and outer sizes; only an empty batch is allowed through.
static void check_sizes(const char* operation, int batch, int in, int out) {
  check(batch >= 0 && in > 0 && out > 0,
        std::string("CUDA ") + operation + " needs in > 0 and out > 0; got batch " +
            std::to_string(batch) + ", in " + std::to_string(in) + ", out " +
            std::to_string(out));
}

void linear_forward(Matmul& matmul, const float* x, const float* w, const float* bias, float* y,
                    int batch, int in, int out, bool relu, Precision precision) {
  check_sizes("linear_forward", batch, in, out);
  if (batch == 0) return;
  // y^T[out,batch] = w[out,in] x^T[in,batch]: column-major w is w^T[in,out], hence A^T.
  GemmShape shape{.transpose_a = true,
                  .m = out, .n = batch, .k = in,
                  .lda = in, .ldb = in, .ldd = out,
                  .epilogue = relu ? Epilogue::relu_bias : Epilogue::bias,
                  .align_a = Matmul::alignment(w),
                  .align_b = Matmul::alignment(x),
                  .align_d = Matmul::alignment(y),
                  .precision = precision};
  matmul.run(shape, {.a = w, .b = x, .d = y, .bias = const_cast<float*>(bias)});
}

void linear_backward(Matmul& matmul, const float* x, const float* w, const float* dy,
                     float* grad_x, float* grad_w, float* grad_b, int batch, int in, int out,
                     bool accumulate, Precision precision, cudaStream_t stream) {
  check_sizes("linear_backward", batch, in, out);
  if (batch == 0) {  // empty sums: gradients are zero (or unchanged when accumulating)
    if (!accumulate) {
      LEAP_CUDA_CHECK(cudaMemsetAsync(grad_w, 0, size_t(out) * in * sizeof(float), stream));
      LEAP_CUDA_CHECK(cudaMemsetAsync(grad_b, 0, size_t(out) * sizeof(float), stream));
    }
    return;
  }
  // grad_w^T[in,out] = x^T[in,batch] dy[batch,out]; column-major dy is dy^T[out,batch].
  GemmShape weight_shape{.transpose_b = true,
                         .m = in, .n = out, .k = batch,
                         .lda = in, .ldb = out, .ldd = in,
                         .align_a = Matmul::alignment(x),
                         .align_b = Matmul::alignment(dy),
                         .align_d = Matmul::alignment(grad_w),
                         .precision = precision};
  matmul.run(weight_shape, {.a = x, .b = dy, .d = grad_w, .beta = accumulate ? 1.0f : 0.0f});
  launch_bias_grad(dy, grad_b, batch, out, accumulate, stream);
  if (!grad_x) return;
  // grad_x^T[in,batch] = w^T[in,out] dy^T[out,batch]: both as stored, no transposes.
  GemmShape input_shape{.m = in, .n = batch, .k = out,
                        .lda = in, .ldb = out, .ldd = in,
                        .align_a = Matmul::alignment(w),
                        .align_b = Matmul::alignment(dy),
                        .align_d = Matmul::alignment(grad_x),
                        .precision = precision};
  matmul.run(input_shape, {.a = w, .b = dy, .d = grad_x});
}

}  // namespace leap::cuda_detail
