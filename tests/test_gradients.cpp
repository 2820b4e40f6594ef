// Gradients of Linear, ReLU and cross-entropy against central finite differences of a
// float64 reference of the same network. Tolerance: 1e-4 relative to the largest gradient
// (float32 backward against an exact float64 derivative).
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "leap/leap.h"

namespace leap {
namespace {

struct Reference {
  int in, hidden, classes, batch;
  std::vector<double> x;
  std::vector<int> y;

  // Mean cross-entropy of Linear(in,hidden) -> ReLU -> Linear(hidden,classes), in float64.
  double loss(const std::vector<double>& w1, const std::vector<double>& b1,
              const std::vector<double>& w2, const std::vector<double>& b2) const {
    double total = 0;
    for (int n = 0; n < batch; ++n) {
      std::vector<double> h(hidden), z(classes);
      for (int j = 0; j < hidden; ++j) {
        double s = b1[j];
        for (int i = 0; i < in; ++i) s += w1[j * in + i] * x[n * in + i];
        h[j] = std::max(s, 0.0);
      }
      double peak = -1e300;
      for (int c = 0; c < classes; ++c) {
        double s = b2[c];
        for (int j = 0; j < hidden; ++j) s += w2[c * hidden + j] * h[j];
        z[c] = s;
        peak = std::max(peak, s);
      }
      double sum = 0;
      for (double v : z) sum += std::exp(v - peak);
      total += std::log(sum) + peak - z[y[n]];
    }
    return total / batch;
  }
};

std::vector<double> widen(const Tensor& t) {
  std::vector<float> v = t.to_vector();
  return {v.begin(), v.end()};
}

TEST(Gradients, LinearReluCrossEntropyMatchFiniteDifferences) {
  std::mt19937 rng(1234);
  std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
  Reference ref{7, 6, 4, 5, {}, {}};
  Sequential model = Sequential::from_spec("7-6-4", 99);
  std::vector<float> x(ref.batch * ref.in);
  for (float& v : x) v = uniform(rng);
  std::vector<int32_t> y = {0, 3, 1, 2, 3};
  ref.x.assign(x.begin(), x.end());
  ref.y.assign(y.begin(), y.end());

  Tensor images = Tensor::from_vector({ref.batch, ref.in}, x);
  Tensor labels = Tensor::from_vector({ref.batch}, y);
  Tensor logits = model.forward(images);
  LossValue loss = CrossEntropyLoss()(model, logits, labels);
  Tensor grad_input = model.backward(loss.grad(), true);

  std::vector<Parameter*> params = model.parameters();
  std::vector<std::vector<double>> values;
  for (Parameter* p : params) values.push_back(widen(p->value));
  auto loss_of = [&] { return ref.loss(values[0], values[1], values[2], values[3]); };
  EXPECT_NEAR(loss.item(), loss_of(), 1e-6);

  const double h = 1e-6;
  for (size_t k = 0; k < params.size(); ++k) {
    std::vector<float> analytic = params[k]->grad.to_vector();
    double largest = 0;
    for (float g : analytic) largest = std::max(largest, double(std::abs(g)));
    for (size_t i = 0; i < values[k].size(); ++i) {
      const double saved = values[k][i];
      values[k][i] = saved + h;
      const double up = loss_of();
      values[k][i] = saved - h;
      const double down = loss_of();
      values[k][i] = saved;
      EXPECT_NEAR(analytic[i], (up - down) / (2 * h), 1e-4 * largest + 1e-7)
          << params[k]->name << "[" << i << "]";
    }
  }

  // d(loss)/d(input) through both layers.
  std::vector<float> analytic = grad_input.to_vector();
  for (size_t i = 0; i < ref.x.size(); ++i) {
    const double saved = ref.x[i];
    ref.x[i] = saved + h;
    const double up = loss_of();
    ref.x[i] = saved - h;
    const double down = loss_of();
    ref.x[i] = saved;
    EXPECT_NEAR(analytic[i], (up - down) / (2 * h), 1e-5) << "input[" << i << "]";
  }
}

TEST(Gradients, CrossEntropyIsStableForHugeLogits) {
  Tensor logits = Tensor::from_vector({2, 3}, std::vector<float>{1000.f, 0.f, -1000.f, -5e30f, 5e30f, 0.f});
  Tensor labels = Tensor::from_vector({2}, std::vector<int32_t>{0, 1});
  EXPECT_NEAR(CrossEntropyLoss().value(logits, labels), 0.0, 1e-6);
}

TEST(Gradients, GradientsAccumulateUntilZeroGrad) {
  Sequential model = Sequential::from_spec("3-2", 5);
  Tensor x = Tensor::from_vector({1, 3}, std::vector<float>{1, 2, 3});
  Tensor y = Tensor::from_vector({1}, std::vector<int32_t>{1});
  auto run = [&] {
    Tensor logits = model.forward(x);
    CrossEntropyLoss()(model, logits, y).backward();
  };
  run();
  std::vector<float> once = model.parameters()[0]->grad.to_vector();
  run();
  std::vector<float> twice = model.parameters()[0]->grad.to_vector();
  for (size_t i = 0; i < once.size(); ++i) EXPECT_FLOAT_EQ(twice[i], 2 * once[i]);
  model.zero_grad();
  run();
  std::vector<float> again = model.parameters()[0]->grad.to_vector();
  for (size_t i = 0; i < once.size(); ++i) EXPECT_FLOAT_EQ(again[i], once[i]);
}

}  // namespace
}  // namespace leap
