// The distillation loss on every backend against a float64 reference on fresh random
// logits (tolerance 1e-5 relative for the loss, 1e-6 absolute for gradients of size ~1/batch),
// and its gradient against central finite differences of that reference.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "leap/leap.h"

namespace leap {
namespace {

struct Case {
  int batch, classes;
  float temperature, alpha;
};

// Mean over rows of alpha*T^2*KL(p_t || p_s) + (1-alpha)*CE(s, y), in float64.
double reference_loss(const std::vector<double>& s, const std::vector<double>& t,
                      const std::vector<int32_t>& y, const Case& c) {
  auto log_softmax = [&](const double* z, double scale, int j) {
    double peak = -INFINITY, sum = 0;
    for (int k = 0; k < c.classes; ++k) peak = std::max(peak, z[k] * scale);
    for (int k = 0; k < c.classes; ++k) sum += std::exp(z[k] * scale - peak);
    return z[j] * scale - peak - std::log(sum);
  };
  double total = 0;
  for (int r = 0; r < c.batch; ++r) {
    const double* sr = &s[size_t(r) * c.classes];
    const double* tr = &t[size_t(r) * c.classes];
    double kl = 0;
    for (int j = 0; j < c.classes; ++j) {
      const double log_p = log_softmax(tr, 1 / double(c.temperature), j);
      kl += std::exp(log_p) * (log_p - log_softmax(sr, 1 / double(c.temperature), j));
    }
    total += c.alpha * double(c.temperature) * c.temperature * kl -
             (1 - double(c.alpha)) * log_softmax(sr, 1, y[r]);
  }
  return total / c.batch;
}

class Distillation : public ::testing::TestWithParam<Device> {};

TEST_P(Distillation, MatchesFloat64ReferenceAndFiniteDifferences) {
  const Device device = GetParam();
  if (!available(device)) GTEST_SKIP() << "no " << to_string(device);
  const uint32_t seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 3.0f);
  for (Case c : {Case{5, 10, 4.0f, 0.9f}, Case{3, 37, 2.0f, 0.5f}, Case{64, 10, 1.0f, 0.0f},
                 Case{2, 10, 8.0f, 1.0f}}) {
    std::vector<float> s(size_t(c.batch) * c.classes), t(s.size());
    std::vector<int32_t> y(c.batch);
    for (float& v : s) v = normal(rng);
    for (float& v : t) v = normal(rng);
    for (int32_t& v : y) v = int32_t(rng() % c.classes);
    Backend& engine = backend(device);
    Tensor student = Tensor::from_vector({c.batch, c.classes}, s, device);
    Tensor teacher = Tensor::from_vector({c.batch, c.classes}, t, device);
    Tensor labels = Tensor::from_vector({c.batch}, y, device);
    Tensor grad({c.batch, c.classes}, DType::float32, device);
    engine.fill(grad.data(), grad.numel(), std::nanf(""));  // every element must be written
    Sequential unused;
    LossValue loss = DistillationLoss(c.temperature, c.alpha)(unused, student, teacher, labels);

    std::vector<double> sd(s.begin(), s.end()), td(t.begin(), t.end());
    const double want = reference_loss(sd, td, y, c);
    EXPECT_NEAR(loss.item(), want, 1e-5 * std::abs(want) + 1e-6)
        << "T=" << c.temperature << " alpha=" << c.alpha;
    const std::vector<float> got = loss.grad().to_vector();
    const double h = 1e-6;
    for (size_t i = 0; i < sd.size(); ++i) {
      const double saved = sd[i];
      sd[i] = saved + h;
      const double up = reference_loss(sd, td, y, c);
      sd[i] = saved - h;
      const double down = reference_loss(sd, td, y, c);
      sd[i] = saved;
      ASSERT_NEAR(got[i], (up - down) / (2 * h), 1e-6 + 1e-5 * std::abs(got[i]))
          << "d loss / d student[" << i << "], T=" << c.temperature << " alpha=" << c.alpha;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, Distillation, ::testing::Values(Device::cpu, Device::cuda),
                         [](const auto& info) { return to_string(info.param); });

TEST(Distillation, RejectsBadSettings) {
  EXPECT_THROW(DistillationLoss(0.0f, 0.5f), Error);
  EXPECT_THROW(DistillationLoss(2.0f, 1.5f), Error);
}

}  // namespace
}  // namespace leap

namespace leap {
namespace {

Dataset blobs(int64_t samples, uint64_t seed) {
  Random random(seed);
  std::vector<float> x(samples * 4);
  std::vector<int32_t> y(samples);
  for (int64_t i = 0; i < samples; ++i) {
    y[i] = int32_t(random.below(3));
    for (int f = 0; f < 4; ++f) x[i * 4 + f] = random.uniform(-1, 1) + (f == y[i] ? 1.5f : 0.0f);
  }
  return {Tensor::from_vector({samples, 4}, x), Tensor::from_vector({samples}, y), 3};
}

TEST(Distiller, WithAlphaZeroItIsPlainCrossEntropyTraining) {
  const Dataset data = blobs(640, 1);
  Sequential teacher = Sequential::from_spec("4-16-3", 9);
  Model plain(Sequential::from_spec("4-8-3", 5)), distilled(Sequential::from_spec("4-8-3", 5));
  plain.compile(adam({.lr = 1e-2f}));
  Distiller distiller(teacher, distilled, {.temperature = 3.0f, .alpha = 0.0f});
  distiller.compile(adam({.lr = 1e-2f}));
  const FitOptions options{.epochs = 3, .batch_size = 64, .seed = 2, .fast_path = false};
  History a = plain.fit(data, options), b = distiller.fit(data, options);
  EXPECT_NEAR(a.epochs.back().loss, b.epochs.back().loss, 1e-6);
  std::vector<Parameter*> p = plain.network().parameters(), q = distilled.network().parameters();
  for (size_t k = 0; k < p.size(); ++k) {
    std::vector<float> u = p[k]->value.to_vector(), v = q[k]->value.to_vector();
    for (size_t i = 0; i < u.size(); ++i) ASSERT_NEAR(u[i], v[i], 1e-6) << p[k]->name;
  }
}

// leap distill's two arms share the schedule: the distilled fit must step it as plain fit does.
TEST(Distiller, FollowsTheLearningRateScheduleAsPlainTrainingDoes) {
  const Dataset data = blobs(320, 4);
  Sequential teacher = Sequential::from_spec("4-16-3", 9);
  Model plain(Sequential::from_spec("4-8-3", 5)), distilled(Sequential::from_spec("4-8-3", 5));
  plain.compile(adam({.lr = 1e-2f}));
  Distiller distiller(teacher, distilled, {.temperature = 2.0f, .alpha = 0.5f});
  distiller.compile(adam({.lr = 1e-2f}));
  const FitOptions options{.epochs = 4, .batch_size = 64, .schedule = schedule_by_name("cosine", 4)};
  History a = plain.fit(data, options), b = distiller.fit(data, options);
  for (int epoch = 0; epoch < 4; ++epoch) {
    EXPECT_FLOAT_EQ(b.epochs[epoch].lr, CosineLR(4).lr(epoch, 1e-2f)) << "epoch " << epoch;
    EXPECT_FLOAT_EQ(a.epochs[epoch].lr, b.epochs[epoch].lr) << "epoch " << epoch;
  }
}

TEST(Distiller, WithAlphaOneTheStudentLearnsTheTeachersAnswers) {
  // The teacher is an untrained network: only distillation can teach its answers.
  const Dataset data = blobs(2000, 3);
  Sequential teacher = Sequential::from_spec("4-32-3", 21);
  Model student(Sequential::from_spec("4-32-3", 8));
  Distiller distiller(teacher, student, {.temperature = 1.0f, .alpha = 1.0f});
  distiller.compile(adam({.lr = 1e-2f}));
  distiller.fit(data, {.epochs = 30, .batch_size = 64});
  std::vector<float> t = predict_logits(teacher, data.images).to_vector();
  std::vector<float> s = student.predict(data.images).to_vector();
  int64_t agree = 0;
  for (int64_t i = 0; i < data.size(); ++i)
    agree += std::max_element(&t[i * 3], &t[i * 3 + 3]) - &t[i * 3] ==
             std::max_element(&s[i * 3], &s[i * 3 + 3]) - &s[i * 3];
  EXPECT_GE(double(agree) / data.size(), 0.95);
  Model mismatched(Sequential::from_spec("5-3"));
  EXPECT_THROW(Distiller(teacher, mismatched, {}), Error);
}

}  // namespace
}  // namespace leap
