// The CPU backend: OpenBLAS for matrix products (in blocks: see blocked_product.h), OpenMP
// for element-wise loops.
#include <cblas.h>
#include <omp.h>
#include <pmmintrin.h>
#include <sys/mman.h>
#include <unistd.h>
#include <xmmintrin.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <new>
#include <vector>

#include "backends.h"
#include "cpu/blocked_product.h"
#include "cpu/fused_mlp_step.h"
#include "cpu/mlp_step_kernels.h"
#include "leap/error.h"
#include "shuffle_key.h"
#include "small_batch_predictor.h"

namespace leap {
namespace {

// softmax(z / temperature) into `probabilities`; returns log of its normaliser (of z/T).
double log_softmax(const float* z, int count, float temperature, std::vector<double>& probabilities) {
  double peak = -INFINITY;
  for (int j = 0; j < count; ++j) peak = std::max(peak, double(z[j]) / temperature);
  double sum = 0.0;
  for (int j = 0; j < count; ++j) sum += probabilities[j] = std::exp(double(z[j]) / temperature - peak);
  for (int j = 0; j < count; ++j) probabilities[j] /= sum;
  return peak + std::log(sum);
}

// Below this many elements a loop is cheaper on one core than the cost of waking others.
constexpr size_t kParallelThreshold = 1 << 15;
// Products of at most this many multiply-adds (batch-1 inference) run in one plain loop:
// a BLAS call may wake its threads, which costs more than the product on a many-core host.
constexpr size_t kSmallProduct = 1 << 18;

// Adam's first moment of a weight whose gradient stays zero (a border pixel's) decays by
// beta1 each step into denormal floats, which x86 handles in microcode at ~100x the cost
// (measured: Adam 430 us a step instead of ~30). Values below 1e-38 change no result, so
// every thread of the pool flushes them to zero.
void flush_denormals_on_every_thread() {
#pragma omp parallel
  {
    _MM_SET_FLUSH_ZERO_MODE(_MM_FLUSH_ZERO_ON);
    _MM_SET_DENORMALS_ZERO_MODE(_MM_DENORMALS_ZERO_ON);
  }
  _MM_SET_FLUSH_ZERO_MODE(_MM_FLUSH_ZERO_ON);
  _MM_SET_DENORMALS_ZERO_MODE(_MM_DENORMALS_ZERO_ON);
}

size_t physical_host_bytes() {
  return size_t(sysconf(_SC_PHYS_PAGES)) * size_t(sysconf(_SC_PAGESIZE));
}

// The operands of a product in `precision`: `values` itself for fp32, else a rounded copy in
// `scratch` (the emulation of tensor-core formats: fp32 products of rounded operands are exact).
const float* rounded_operand(const float* values, size_t count, Precision precision,
                             std::vector<float>& scratch) {
  if (precision == Precision::fp32) return values;
  scratch.resize(count);
  float* out = scratch.data();
#pragma omp parallel for simd if (count > kParallelThreshold)
  for (size_t i = 0; i < count; ++i) out[i] = round_operand(values[i], precision);
  return out;
}

size_t available_host_bytes() {
  return size_t(sysconf(_SC_AVPHYS_PAGES)) * size_t(sysconf(_SC_PAGESIZE));
}

class CpuBackend final : public Backend {
 public:
  CpuBackend() { flush_denormals_on_every_thread(); }

  Device device() const override { return Device::cpu; }

  std::string describe() const override {
    return "cpu (" + std::to_string(omp_get_max_threads()) + " threads, OpenBLAS)";
  }

  void* allocate(size_t bytes) override {
    // 64-byte alignment suits AVX-512 loads and cache lines. A request beyond the machine's
    // physical memory is refused up front: where the kernel overcommits, malloc would
    // succeed and the first touch of the pages would bring the OOM killer instead.
    // Large tensors (a data set) are aligned to 2 MB huge pages and asked to use them: the
    // 188 MB of Fashion-MNIST's images fault in about 94 times instead of 46,000.
    constexpr size_t kHugePage = size_t{2} << 20;
    const size_t alignment = bytes >= 16 * kHugePage ? kHugePage : 64;
    const size_t rounded = (bytes + alignment - 1) / alignment * alignment;
    void* pointer = bytes <= physical_host_bytes() ? std::aligned_alloc(alignment, rounded) : nullptr;
    if (!pointer)
      throw OutOfMemory("out of host memory allocating " + std::to_string(bytes) + " bytes (" +
                        std::to_string(available_host_bytes()) + " bytes available)");
    if (alignment == kHugePage) madvise(pointer, rounded, MADV_HUGEPAGE);  // a hint: failure is harmless
    return pointer;
  }
  void release(void* pointer) override { std::free(pointer); }
  // Empty tensors pass null pointers with zero bytes, which memcpy does not allow.
  void copy_to_host(void* host, const void* source, size_t bytes) override {
    if (bytes) std::memcpy(host, source, bytes);
  }
  void copy_from_host(void* target, const void* host, size_t bytes) override {
    if (bytes) std::memcpy(target, host, bytes);
  }
  void copy(void* target, const void* source, size_t bytes) override {
    if (bytes) std::memmove(target, source, bytes);
  }
  void fill(float* target, size_t count, float value) override {
#pragma omp parallel for simd if (count > kParallelThreshold)
    for (size_t i = 0; i < count; ++i) target[i] = value;
  }
  void synchronize() override {}

  DeviceInfo info() const override { return cpu_info(); }
  Precision default_precision() const override { return Precision::fp32; }

  void linear_forward(const float* x, const float* w, const float* bias, float* y, int batch,
                      int in, int out, bool relu, Precision precision) override {
    thread_local std::vector<float> x_scratch, w_scratch;
    x = rounded_operand(x, size_t(batch) * in, precision, x_scratch);
    w = rounded_operand(w, size_t(out) * in, precision, w_scratch);
    if (size_t(batch) * in * out <= kSmallProduct) {
      for (int row = 0; row < batch; ++row)
        for (int j = 0; j < out; ++j) {
          const float* x_row = x + size_t(row) * in;
          const float* w_row = w + size_t(j) * in;
          float sum = 0.0f;
#pragma omp simd reduction(+ : sum)
          for (int k = 0; k < in; ++k) sum += x_row[k] * w_row[k];
          const float value = sum + bias[j];
          y[size_t(row) * out + j] = relu && value < 0.0f ? 0.0f : value;
        }
      return;
    }
    for (int row = 0; row < batch; ++row) std::memcpy(y + size_t(row) * out, bias, out * 4);
    blocked_product(false, true, batch, out, in, x, in, w, in, 1.0f, y, out);
    if (relu) relu_forward(y, y, size_t(batch) * out);
  }

  void linear_backward(const float* x, const float* w, const float* dy, float* grad_x,
                       float* grad_w, float* grad_b, int batch, int in, int out,
                       bool accumulate, Precision precision) override {
    thread_local std::vector<float> x_scratch, w_scratch, dy_scratch;
    const float* dy_fp32 = dy;  // the bias gradient sums fp32 values
    dy = rounded_operand(dy, size_t(batch) * out, precision, dy_scratch);
    x = rounded_operand(x, size_t(batch) * in, precision, x_scratch);
    if (grad_x) w = rounded_operand(w, size_t(out) * in, precision, w_scratch);
    blocked_product(true, false, out, in, batch, dy, out, x, in, accumulate ? 1.0f : 0.0f, grad_w, in);
    if (!accumulate) std::fill(grad_b, grad_b + out, 0.0f);
    for (int row = 0; row < batch; ++row) {
      const float* dy_row = dy_fp32 + size_t(row) * out;
#pragma omp simd
      for (int j = 0; j < out; ++j) grad_b[j] += dy_row[j];
    }
    if (grad_x)
      blocked_product(false, false, batch, in, out, dy, out, w, in, 0.0f, grad_x, in);
  }

  void dropout(const float* x, float* y, size_t count, float p, uint64_t key) override {
    const float scale = dropout_scale(p);
#pragma omp parallel for simd if (count > kParallelThreshold)
    for (size_t i = 0; i < count; ++i) y[i] = dropout_apply(x[i], key, i, p, scale);
  }

  void relu_forward(const float* x, float* y, size_t count) override {
#pragma omp parallel for simd if (count > kParallelThreshold)
    for (size_t i = 0; i < count; ++i) y[i] = x[i] > 0.0f ? x[i] : 0.0f;
  }

  void relu_backward(const float* y, float* grad, size_t count) override {
#pragma omp parallel for simd if (count > kParallelThreshold)
    for (size_t i = 0; i < count; ++i) grad[i] = y[i] > 0.0f ? grad[i] : 0.0f;
  }

  void cross_entropy(const float* logits, const int32_t* labels, float* grad, double* loss_sum,
                     int64_t* correct, int batch, int classes) override {
    double total = 0.0;
    int64_t hits = 0;
    std::vector<double> probabilities(classes);
    for (int row = 0; row < batch; ++row) {
      const float* z = logits + size_t(row) * classes;
      const int label = labels[row];
      total += log_softmax(z, classes, 1.0f, probabilities) - double(z[label]);
      hits += std::max_element(z, z + classes) - z == label;
      if (grad)
        for (int j = 0; j < classes; ++j)
          grad[size_t(row) * classes + j] = float(probabilities[j] - (j == label)) / batch;
    }
    *loss_sum += total;
    *correct += hits;
  }

  void distillation_loss(const float* student, const float* teacher, const int32_t* labels,
                         float* grad, double* loss_sum, int64_t* correct, int batch, int classes,
                         float temperature, float alpha) override {
    double total = 0.0;
    int64_t hits = 0;
    std::vector<double> soft_student(classes), soft_teacher(classes), hard_student(classes);
    for (int row = 0; row < batch; ++row) {
      const float* s = student + size_t(row) * classes;
      const float* t = teacher + size_t(row) * classes;
      const int label = labels[row];
      const double log_z_soft = log_softmax(s, classes, temperature, soft_student);
      const double log_z_teacher = log_softmax(t, classes, temperature, soft_teacher);
      const double log_z_hard = log_softmax(s, classes, 1.0f, hard_student);
      double kl = 0.0;
      for (int j = 0; j < classes; ++j) {
        const double log_p = double(t[j]) / temperature - log_z_teacher;
        const double log_q = double(s[j]) / temperature - log_z_soft;
        kl += soft_teacher[j] * (log_p - log_q);
      }
      const double ce = log_z_hard - double(s[label]);
      total += alpha * double(temperature) * temperature * kl + (1.0 - alpha) * ce;
      hits += std::max_element(s, s + classes) - s == label;
      if (grad)
        for (int j = 0; j < classes; ++j)
          grad[size_t(row) * classes + j] =
              float((alpha * temperature * (soft_student[j] - soft_teacher[j]) +
                     (1.0 - alpha) * (hard_student[j] - (j == label))) / batch);
    }
    *loss_sum += total;
    *correct += hits;
  }

  void count_correct(const float* logits, const int32_t* labels, int64_t* correct, int batch,
                     int classes) override {
    int64_t hits = 0;
    for (int row = 0; row < batch; ++row) {
      const float* z = logits + size_t(row) * classes;
      hits += std::max_element(z, z + classes) - z == labels[row];
    }
    *correct += hits;
  }

  void adam_update(std::span<const ParamSlot> slots, const AdamHyper& h) override {
    // PyTorch's Adam (L2 weight decay added to the gradient, not decoupled).
    const float correction1 = 1.0f - std::pow(h.beta1, float(h.step));
    const float correction2_sqrt = std::sqrt(1.0f - std::pow(h.beta2, float(h.step)));
    const float step_size = h.lr / correction1;
    for (const ParamSlot& s : slots) {
      // Local restrict pointers: read through the slot, the stores might alias it, and the
      // compiler would fall back to scalar code.
      float* __restrict value = s.value;
      float* __restrict m = s.state_a;
      float* __restrict v = s.state_b;
      const size_t count = s.count;
      const float beta1 = h.beta1, beta2 = h.beta2, eps = h.eps, decay = h.weight_decay;
      auto update = [=](float& w, float& first, float& second, float grad) {
        const float g = grad + decay * w;
        first = beta1 * first + (1.0f - beta1) * g;
        second = beta2 * second + (1.0f - beta2) * g * g;
        w -= step_size * first / (std::sqrt(second) / correction2_sqrt + eps);
      };
      if (s.grad_bf16 == nullptr && s.value_bf16 == nullptr) {
        const float* __restrict grad = s.grad;
#pragma omp parallel for simd if (count > kParallelThreshold)
        for (size_t i = 0; i < count; ++i) update(value[i], m[i], v[i], grad[i]);
        continue;
      }
      // Mixed precision: bf16 gradients in, a bf16 copy of the values out.
#pragma omp parallel for if (count > kParallelThreshold)
      for (size_t i = 0; i < count; ++i) {
        update(value[i], m[i], v[i], s.grad_bf16 ? from_bf16_bits(s.grad_bf16[i]) : s.grad[i]);
        if (s.value_bf16) s.value_bf16[i] = to_bf16_bits(value[i]);
      }
    }
  }

  void to_bf16(const float* x, uint16_t* y, size_t rows, int columns, int y_stride) override {
#pragma omp parallel for if (rows * size_t(y_stride) > kParallelThreshold)
    for (size_t r = 0; r < rows; ++r)
      for (int c = 0; c < y_stride; ++c)
        y[r * y_stride + c] = c < columns ? to_bf16_bits(x[r * columns + c]) : 0;
  }

  void sgd_update(std::span<const ParamSlot> slots, const SgdHyper& h) override {
    for (const ParamSlot& s : slots) {
      float* __restrict value = s.value;  // restrict locals keep the loop vectorized
      const float* __restrict grad = s.grad;
      float* __restrict buffer = s.state_a;
      const size_t count = s.count;
      const float lr = h.lr, momentum = h.momentum, dampening = h.dampening, decay = h.weight_decay;
      const bool nesterov = h.nesterov, first = h.first_step;
#pragma omp parallel for simd if (count > kParallelThreshold)
      for (size_t i = 0; i < count; ++i) {
        float g = grad[i] + decay * value[i];
        if (momentum != 0.0f) {
          buffer[i] = first ? g : momentum * buffer[i] + (1.0f - dampening) * g;
          g = nesterov ? g + momentum * buffer[i] : buffer[i];
        }
        value[i] -= lr * g;
      }
    }
  }

  void gather_rows(const float* src, const int32_t* index, float* dst, int count,
                   int width) override {
#pragma omp parallel for if (size_t(count) * width > kParallelThreshold)
    for (int i = 0; i < count; ++i)
      std::memcpy(dst + size_t(i) * width, src + size_t(index[i]) * width, width * 4);
  }

  void gather_labels(const int32_t* src, const int32_t* index, int32_t* dst,
                     int count) override {
    for (int i = 0; i < count; ++i) dst[i] = src[index[i]];
  }

  void shuffled_order(uint64_t seed, int32_t* order, int64_t count) override {
    std::vector<std::pair<uint64_t, int32_t>> keyed(count);
    for (int64_t i = 0; i < count; ++i) keyed[i] = {shuffle_key(seed, i), int32_t(i)};
    std::sort(keyed.begin(), keyed.end());
    for (int64_t i = 0; i < count; ++i) order[i] = keyed[i].second;
  }

  // The fused step (fused_mlp_step.h) where it takes the plan and the CPU has AVX-512;
  // LEAP_TRAINING_PATH=fused insists on it (an error where it cannot run), =layers turns it off.
  // Without AVX-512 its plain loops, the kernels' reference, lose to OpenBLAS's layer calls on
  // wide layers (the teacher with dropout: 128 ms a step against 4.4 on a 2-core machine
  // without AVX-512, a portable build): leap takes them only when asked.
  std::unique_ptr<MlpEpochRunner> plan_mlp_epoch(const MlpEpochPlan& plan, std::string* why_not) override {
    const char* forced = std::getenv("LEAP_TRAINING_PATH");
    const std::string choice = forced ? forced : "";
    if (choice == "layers") {
      *why_not = "LEAP_TRAINING_PATH=layers";
      return nullptr;
    }
    if (choice.empty() && !cpu_detail::avx512_step_kernels()) {
      *why_not = "not the fused CPU step: without AVX-512 its plain loops are slower than OpenBLAS's products";
      return nullptr;
    }
    std::unique_ptr<MlpEpochRunner> runner = plan_fused_cpu_step(plan, why_not);
    check(runner != nullptr || choice != "fused", "LEAP_TRAINING_PATH=fused: the fused CPU step cannot run: " + *why_not);
    if (!runner) *why_not = "not the fused CPU step: " + *why_not;
    return runner;
  }

  std::unique_ptr<InferenceRunner> plan_inference(const InferencePlan& plan) override {
    return plan_small_batch_inference(plan);
  }
};

}  // namespace

Backend& cpu_backend() {
  static CpuBackend instance;
  return instance;
}

}  // namespace leap
