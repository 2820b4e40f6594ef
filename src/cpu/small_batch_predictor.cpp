#include "small_batch_predictor.h"

#include <algorithm>
#include <cstring>
#include <vector>

namespace leap {
namespace {

// y = x w^T + b (ReLU'd if asked) for one sample; w is [out, in], row-major as the layer
// keeps it. Four weight rows at a time, so that each load of x feeds four sums. Compiled
// for AVX-512, AVX2 with FMA and plain x86-64, picked when the program loads.
__attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
void dense_row(const float* x, const float* w, const float* b, float* y, int in, int out,
               bool relu) {
  int j = 0;
  for (; j + 4 <= out; j += 4) {
    const float *w0 = w + size_t(j) * in, *w1 = w0 + in, *w2 = w1 + in, *w3 = w2 + in;
    float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
#pragma omp simd reduction(+ : s0, s1, s2, s3)
    for (int k = 0; k < in; ++k) {
      s0 += w0[k] * x[k];
      s1 += w1[k] * x[k];
      s2 += w2[k] * x[k];
      s3 += w3[k] * x[k];
    }
    y[j] = s0 + b[j];
    y[j + 1] = s1 + b[j + 1];
    y[j + 2] = s2 + b[j + 2];
    y[j + 3] = s3 + b[j + 3];
  }
  for (; j < out; ++j) {
    const float* wj = w + size_t(j) * in;
    float s = 0;
#pragma omp simd reduction(+ : s)
    for (int k = 0; k < in; ++k) s += wj[k] * x[k];
    y[j] = s + b[j];
  }
  if (relu)
    for (int i = 0; i < out; ++i) y[i] = std::max(y[i], 0.0f);
}

class SmallBatchPredictor final : public InferenceRunner {
 public:
  explicit SmallBatchPredictor(const InferencePlan& plan) : plan_(plan) {
    int widest = 0;
    for (const MlpLayer& layer : plan.layers) widest = std::max({widest, layer.in, layer.out});
    buffers_[0].resize(widest);
    buffers_[1].resize(widest);
  }

  void run(const float* inputs, float* logits) override {
    const MlpLayer& first = plan_.layers.front();
    const MlpLayer& last = plan_.layers.back();
    for (int r = 0; r < plan_.batch; ++r) {
      const float* x = inputs + size_t(r) * first.in;
      for (size_t l = 0; l < plan_.layers.size(); ++l) {
        const MlpLayer& layer = plan_.layers[l];
        // The last layer writes straight into the caller's logits.
        float* y = l + 1 == plan_.layers.size() ? logits + size_t(r) * last.out : buffers_[l % 2].data();
        dense_row(x, layer.weight, layer.bias, y, layer.in, layer.out, layer.relu);
        x = y;
      }
    }
  }

  std::string describe() const override {
    return "small-batch forward on the calling thread (" + std::to_string(plan_.layers.size()) +
           " layers, SIMD dot products, no BLAS)";
  }

 private:
  InferencePlan plan_;
  std::vector<float> buffers_[2];  // activations between layers, alternating
};

}  // namespace

std::unique_ptr<InferenceRunner> plan_small_batch_inference(const InferencePlan& plan) {
  if (plan.batch > kSmallBatchLimit || plan.layers.empty()) return nullptr;
  return std::make_unique<SmallBatchPredictor>(plan);
}

}  // namespace leap
