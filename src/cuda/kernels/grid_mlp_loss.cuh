// One row's loss in the whole-GPU kernel (grid_mlp.cu), a warp a row, any number of
// classes: softmax cross-entropy, or with the teacher's logits the distillation loss
// alpha T^2 KL(softmax(t/T) || softmax(z/T)) + (1 - alpha) cross-entropy; and its gradient
// in the logits, divided by the batch.
#pragma once

#include <cfloat>
#include <cmath>

namespace leap::cuda_detail {
namespace {

__device__ inline float warp_total(float value) {
  for (int offset = 16; offset > 0; offset >>= 1) value += __shfl_xor_sync(0xffffffffu, value, offset);
  return value;
}

__device__ inline float warp_peak(float value) {
  for (int offset = 16; offset > 0; offset >>= 1) value = fmaxf(value, __shfl_xor_sync(0xffffffffu, value, offset));
  return value;
}

struct RowLoss {
  float loss;
  bool correct;
};

// z: the row's logits (shared memory); grad: where d(loss)/dz / batch goes; teacher: the
// teacher's logits or null. Every lane of the warp calls it.
__device__ inline RowLoss row_loss(const float* z, int classes, int label, const float* teacher, float temperature,
                                   float alpha, int batch, float* grad) {
  const int lane = threadIdx.x % 32;
  // The prediction is the first class holding the maximum (std::max_element's choice).
  float peak = -FLT_MAX;
  int arg = classes;
  for (int c = lane; c < classes; c += 32)
    if (z[c] > peak) peak = z[c], arg = c;
  for (int offset = 16; offset > 0; offset >>= 1) {
    const float other_peak = __shfl_xor_sync(0xffffffffu, peak, offset);
    const int other_arg = __shfl_xor_sync(0xffffffffu, arg, offset);
    if (other_peak > peak || (other_peak == peak && other_arg < arg)) peak = other_peak, arg = other_arg;
  }
  float total = 0.0f;
  for (int c = lane; c < classes; c += 32) total += expf(z[c] - peak);
  total = warp_total(total);
  // A label out of range poisons the loss (the NaN check stops training) rather than reading
  // past the row, as the general path's cross-entropy does.
  const bool label_valid = 0 <= label && label < classes;
  float loss = label_valid ? logf(total) - (z[label] - peak) : NAN;
  float t_peak = 0.0f, q_total = 1.0f, p_total = 1.0f;
  const float inverse_t = 1.0f / temperature;
  if (teacher) {
    float t_max = -FLT_MAX;
    for (int c = lane; c < classes; c += 32) t_max = fmaxf(t_max, teacher[c]);
    t_peak = warp_peak(t_max);
    float q = 0.0f, p = 0.0f;
    for (int c = lane; c < classes; c += 32) {
      q += expf((z[c] - peak) * inverse_t);
      p += expf((teacher[c] - t_peak) * inverse_t);
    }
    q_total = warp_total(q), p_total = warp_total(p);
    float kl = 0.0f;
    for (int c = lane; c < classes; c += 32) {
      const float log_q = (z[c] - peak) * inverse_t - logf(q_total);
      const float log_p = (teacher[c] - t_peak) * inverse_t - logf(p_total);
      kl += expf((teacher[c] - t_peak) * inverse_t) / p_total * (log_p - log_q);
    }
    loss = alpha * temperature * temperature * warp_total(kl) + (1.0f - alpha) * loss;
  }
  for (int c = lane; c < classes; c += 32) {
    float dz = expf(z[c] - peak) / total - (c == label ? 1.0f : 0.0f);
    if (teacher) {
      const float q = expf((z[c] - peak) * inverse_t) / q_total;
      const float p = expf((teacher[c] - t_peak) * inverse_t) / p_total;
      dz = alpha * temperature * (q - p) + (1.0f - alpha) * dz;
    }
    grad[c] = dz / float(batch);
  }
  return {loss, arg == label};
}

}  // namespace
}  // namespace leap::cuda_detail
