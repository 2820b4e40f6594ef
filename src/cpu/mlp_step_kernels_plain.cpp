// The plain version of the step's kernels: the reference the AVX-512 version is tested
// against, and the fallback on CPUs without AVX-512.
#include <cmath>

#include "cpu/mlp_step_kernels.h"

namespace leap::cpu_detail {
namespace {

// One Adam update, the formula of CpuBackend::adam_update (PyTorch's, L2 decay in the gradient).
void adam_one(float& w, float& m, float& v, float grad, const AdamStep& a) {
  const float g = grad + a.weight_decay * w;
  m = a.beta1 * m + (1.0f - a.beta1) * g;
  v = a.beta2 * v + (1.0f - a.beta2) * g * g;
  w -= a.step_size * m / (std::sqrt(v) / a.correction2_sqrt + a.eps);
}

// One SGD update, the formula of CpuBackend::sgd_update; `buffer` is untouched without momentum.
void sgd_one(float& w, float* buffer, float grad, const SgdHyper& s) {
  float g = grad + s.weight_decay * w;
  if (s.momentum != 0.0f) {
    *buffer = s.first_step ? g : s.momentum * *buffer + (1.0f - s.dampening) * g;
    g = s.nesterov ? g + s.momentum * *buffer : *buffer;
  }
  w -= s.lr * g;
}

// Parameter i of a tensor (weights or biases) with its state, by the rule.
void update_one(float* w, float* m, float* v, size_t i, float grad, const UpdateRule& rule) {
  if (rule.sgd) sgd_one(w[i], m ? m + i : nullptr, grad, rule.sgd_step);
  else adam_one(w[i], m[i], v[i], grad, rule.adam);
}

void forward(const float* const* x, const float* w, const float* bias, float* y, int y_stride, int in, bool relu,
             int b0, int b1, int j0, int j1) {
  for (int b = b0; b < b1; ++b)
    for (int j = j0; j < j1; ++j) {
      float sum = 0.0f;
      for (int k = 0; k < in; ++k) sum += x[b][k] * w[size_t(j) * in + k];
      const float value = sum + bias[j];
      y[size_t(b) * y_stride + j] = relu && value < 0.0f ? 0.0f : value;
    }
}

void input_gradient(const float* dy, int dy_stride, const float* w, const float* h, float* dx, int dx_stride, int in,
                    int out, int b0, int b1, int k0, int k1) {
  for (int b = b0; b < b1; ++b)
    for (int k = k0; k < k1; ++k) {
      float sum = 0.0f;
      for (int j = 0; j < out; ++j) sum += dy[size_t(b) * dy_stride + j] * w[size_t(j) * in + k];
      dx[size_t(b) * dx_stride + k] = h && h[size_t(b) * dx_stride + k] <= 0.0f ? 0.0f : sum;
    }
}

void weight_update(const float* dy, int dy_stride, const float* const* x, int rows, const MlpLayer& layer,
                   const UpdateRule& rule, int j0, int j1) {
  const int in = layer.in;
  for (int j = j0; j < j1; ++j) {
    for (int k = 0; k < in; ++k) {
      float sum = 0.0f;
      for (int b = 0; b < rows; ++b) sum += dy[size_t(b) * dy_stride + j] * x[b][k];
      const size_t i = size_t(j) * in + k;
      update_one(layer.weight, layer.exp_avg_weight, layer.exp_avg_sq_weight, i, sum, rule);
    }
    float sum = 0.0f;
    for (int b = 0; b < rows; ++b) sum += dy[size_t(b) * dy_stride + j];
    update_one(layer.bias, layer.exp_avg_bias, layer.exp_avg_sq_bias, j, sum, rule);
  }
}

}  // namespace

AdamStep adam_step(float lr, float beta1, float beta2, float eps, float weight_decay, int64_t step) {
  const float correction1 = 1.0f - std::pow(beta1, float(step));
  return {beta1, beta2, eps, weight_decay, lr / correction1, std::sqrt(1.0f - std::pow(beta2, float(step)))};
}

const MlpStepKernels& plain_step_kernels() {
  static const MlpStepKernels kernels{"plain loops", forward, input_gradient, weight_update};
  return kernels;
}

const MlpStepKernels& best_step_kernels() {
  const MlpStepKernels* avx512 = avx512_step_kernels();
  return avx512 ? *avx512 : plain_step_kernels();
}

}  // namespace leap::cpu_detail
