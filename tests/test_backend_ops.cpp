// Every Backend operation on every available backend (the CUDA cases skip without a GPU),
// on fresh random inputs, against a plain float64 reference computed here. Outputs are
// poisoned with NaN first, so an element an operation forgot to write cannot pass.
// A failure prints its seed; LEAP_TEST_SEED=<seed> replays it.
#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cfloat>
#include <cmath>
#include <cstdio>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <random>
#include <string>
#include <type_traits>
#include <vector>

#include "leap/backend.h"
#include "leap/tensor.h"

namespace leap {
namespace {

const float kPoison = std::nanf("");

// fp32 products: error grows like sqrt(K) roundings of the summed magnitudes.
double matmul_tolerance(int k) { return 4.0 * FLT_EPSILON * std::sqrt(double(k)); }

// Products in tf32 or bf16 against a reference that rounds the operands to nearest: a device
// that rounds otherwise (truncates, say) is off by up to two units of the format's rounding
// per operand, so by 4u of each term (u = 2^-11 for tf32, 2^-8 for bf16): ~2e-3 and ~1.6e-2
// of the summed magnitudes.
double operand_tolerance(Precision precision) {
  return precision == Precision::fp32 ? 0.0 : precision == Precision::tf32 ? 4.0 / 2048 : 4.0 / 256;
}

const Precision kPrecisions[] = {Precision::fp32, Precision::tf32, Precision::bf16};
// tf32 and bf16 skip the largest shape, whose float64 reference dominates the suite's time.
constexpr int64_t kLargestRoundedCase = 10'000'000;

std::vector<float> rounded(const std::vector<float>& values, Precision precision) {
  std::vector<float> out(values.size());
  for (size_t i = 0; i < values.size(); ++i) out[i] = round_operand(values[i], precision);
  return out;
}

// Parameter tensors and their optimizer state, on the backend, with host copies of the start.
struct SlotSet {
  std::vector<std::vector<float>> value, grad, state_a, state_b;
  std::vector<Tensor> value_t, grad_t, state_a_t, state_b_t;
  std::vector<ParamSlot> slots;
};

class BackendOps : public ::testing::TestWithParam<Device> {
 protected:
  void SetUp() override {
    if (!available(GetParam())) GTEST_SKIP() << "no " << to_string(GetParam()) << " device";
    const char* replay = std::getenv("LEAP_TEST_SEED");
    seed_ = replay ? uint32_t(std::strtoul(replay, nullptr, 10)) : std::random_device{}();
    rng_.seed(seed_);
    trace_.emplace(__FILE__, __LINE__, "random seed " + std::to_string(seed_) + " on " +
                                           to_string(GetParam()) + " (LEAP_TEST_SEED replays)");
  }
  void TearDown() override { trace_.reset(); }

  Backend& ops() { return backend(GetParam()); }
  Device device() const { return GetParam(); }

  std::vector<float> random_floats(size_t count, float low = -1.0f, float high = 1.0f) {
    std::uniform_real_distribution<float> uniform(low, high);
    std::vector<float> values(count);
    for (float& value : values) value = uniform(rng_);
    return values;
  }
  std::vector<int32_t> random_ints(size_t count, int low, int high) {  // in [low, high]
    std::uniform_int_distribution<int32_t> uniform(low, high);
    std::vector<int32_t> values(count);
    for (int32_t& value : values) value = uniform(rng_);
    return values;
  }

  Tensor upload(const std::vector<float>& values) {
    return Tensor::from_vector({int64_t(values.size())}, values, device());
  }
  Tensor upload(const std::vector<int32_t>& values) {
    return Tensor::from_vector({int64_t(values.size())}, values, device());
  }
  // A buffer filled with NaN (for int32, NaN's bit pattern) through the backend itself.
  Tensor poisoned(int64_t count, DType dtype = DType::float32) {
    Tensor tensor({count}, dtype, device());
    float* raw = dtype == DType::float32 ? tensor.data()
                                         : reinterpret_cast<float*>(tensor.labels());
    ops().fill(raw, size_t(count), kPoison);
    return tensor;
  }
  SlotSet make_slots();

  std::mt19937 rng_;

 private:
  uint32_t seed_ = 0;
  std::optional<::testing::ScopedTrace> trace_;
};

// Every element must satisfy |got - want| <= tolerance (NaN never does); reports the worst.
void expect_close(const std::vector<float>& got, const std::vector<double>& want,
                  const std::vector<double>& tolerance, const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  size_t failures = 0, worst = 0;
  double worst_ratio = 0.0;
  for (size_t i = 0; i < got.size(); ++i) {
    const double error = std::abs(double(got[i]) - want[i]);
    if (error <= tolerance[i]) continue;
    const double ratio = std::isnan(error) ? INFINITY : error / tolerance[i];
    if (failures++ == 0 || ratio > worst_ratio) worst = i, worst_ratio = ratio;
  }
  EXPECT_EQ(failures, 0u) << what << ": " << failures << " of " << got.size()
                          << " elements off; worst at " << worst << ": got " << got[worst]
                          << ", want " << want[worst] << ", tolerance " << tolerance[worst];
}

void expect_close(const std::vector<float>& got, const std::vector<double>& want,
                  double tolerance, const std::string& what) {
  expect_close(got, want, std::vector<double>(want.size(), tolerance), what);
}

// Exact equality; a NaN (poison) expected is matched by a NaN (untouched poison).
template <typename Value>
void expect_equal(const std::vector<Value>& got, const std::vector<Value>& want,
                  const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  size_t failures = 0, first = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    bool same = got[i] == want[i];
    if constexpr (std::is_floating_point_v<Value>)
      same = same || (std::isnan(got[i]) && std::isnan(want[i]));
    if (!same && failures++ == 0) first = i;
  }
  EXPECT_EQ(failures, 0u) << what << ": " << failures << " of " << got.size()
                          << " elements differ; first at " << first << ": got " << got[first]
                          << ", want " << want[first];
}

std::string shape_name(int batch, int in, int out) {
  return "batch " + std::to_string(batch) + ", in " + std::to_string(in) + ", out " +
         std::to_string(out);
}

// ---- memory --------------------------------------------------------------------------------

TEST_P(BackendOps, DescribesItsDevice) {
  EXPECT_EQ(ops().device(), device());
  EXPECT_FALSE(ops().describe().empty());
  std::printf("%s\n", ops().describe().c_str());
}

TEST_P(BackendOps, CopiesRoundTripExactly) {
  for (size_t count : {size_t(1), size_t(13), size_t(1000), (size_t(1) << 20) + 3}) {
    const std::vector<float> values = random_floats(count);
    void* first = ops().allocate(count * 4);
    void* second = ops().allocate(count * 4);
    ops().copy_from_host(first, values.data(), count * 4);
    ops().copy(second, first, count * 4);
    std::vector<float> back(count, kPoison);
    ops().copy_to_host(back.data(), second, count * 4);
    ops().synchronize();
    ops().release(first);
    ops().release(second);
    expect_equal(back, values, "copy of " + std::to_string(count) + " floats");
  }
}

TEST_P(BackendOps, FillWritesExactlyItsRange) {
  for (int64_t count : {1, 7, 1000, 300001}) {
    Tensor buffer = poisoned(count + 2);
    const float value = random_floats(1)[0];
    ops().fill(buffer.data() + 1, size_t(count), value);
    std::vector<float> want(size_t(count) + 2, value);
    want.front() = want.back() = kPoison;  // neighbours stay untouched
    expect_equal(buffer.to_vector(), want, "fill " + std::to_string(count));
  }
}

// ---- linear layer --------------------------------------------------------------------------

struct LinearCase {
  int batch, in, out;
};
const LinearCase kLinearCases[] = {{1, 784, 128}, {3, 13, 10},   {64, 784, 128},
                                   {1000, 128, 10}, {5, 4096, 13}, {1000, 784, 128}};

// y = x w^T + bias (ReLU) on operands rounded to `precision`, with per-element tolerances
// from the summed magnitudes.
void reference_linear(const std::vector<float>& x_in, const std::vector<float>& w_in,
                      const std::vector<float>& bias, const LinearCase& c, bool relu,
                      Precision precision, std::vector<double>& y, std::vector<double>& tolerance) {
  const std::vector<float> x = rounded(x_in, precision), w = rounded(w_in, precision);
  y.assign(size_t(c.batch) * c.out, 0.0);
  tolerance.assign(y.size(), 0.0);
  for (int row = 0; row < c.batch; ++row)
    for (int j = 0; j < c.out; ++j) {
      double sum = bias[j], magnitude = std::abs(double(bias[j]));
      for (int i = 0; i < c.in; ++i) {
        const double term = double(x[size_t(row) * c.in + i]) * w[size_t(j) * c.in + i];
        sum += term;
        magnitude += std::abs(term);
      }
      y[size_t(row) * c.out + j] = relu ? std::max(sum, 0.0) : sum;
      tolerance[size_t(row) * c.out + j] =
          (matmul_tolerance(c.in + 1) + operand_tolerance(precision)) * magnitude;
    }
}

TEST_P(BackendOps, LinearForwardMatchesReference) {
  for (const LinearCase& c : kLinearCases)
    for (bool relu : {false, true})
      for (Precision precision : kPrecisions) {
      if (precision != Precision::fp32 && int64_t(c.batch) * c.in * c.out > kLargestRoundedCase) continue;
      const auto x = random_floats(size_t(c.batch) * c.in);
      const auto w = random_floats(size_t(c.out) * c.in);
      const auto bias = random_floats(size_t(c.out));
      Tensor x_t = upload(x), w_t = upload(w), bias_t = upload(bias);
      Tensor y_t = poisoned(int64_t(c.batch) * c.out);
      ops().linear_forward(x_t.data(), w_t.data(), bias_t.data(), y_t.data(), c.batch, c.in,
                           c.out, relu, precision);
      std::vector<double> y, tolerance;
      reference_linear(x, w, bias, c, relu, precision, y, tolerance);
      expect_close(y_t.to_vector(), y, tolerance,
                   "linear_forward " + to_string(precision) + " " + shape_name(c.batch, c.in, c.out) +
                       (relu ? " relu" : ""));
    }
}

struct LinearGrads {
  std::vector<double> grad_w, grad_b, grad_x;
  std::vector<double> tol_w, tol_b, tol_x;
};

// grad_w = prior_w + dy^T x, grad_b = prior_b + column sums of dy, grad_x = dy w; the
// products' operands rounded to `precision`, the bias sum in full.
LinearGrads reference_linear_backward(const std::vector<float>& x_in, const std::vector<float>& w_in,
                                      const std::vector<float>& dy_in,
                                      const std::vector<float>& prior_w,
                                      const std::vector<float>& prior_b, const LinearCase& c,
                                      Precision precision) {
  const std::vector<float> x = rounded(x_in, precision), w = rounded(w_in, precision),
                           dy = rounded(dy_in, precision);
  const double operand_error = operand_tolerance(precision);
  LinearGrads r;
  const int k = c.batch + 1;  // the prior counts as one more term
  for (int j = 0; j < c.out; ++j)
    for (int i = 0; i < c.in; ++i) {
      double sum = prior_w[size_t(j) * c.in + i], magnitude = std::abs(sum);
      for (int row = 0; row < c.batch; ++row) {
        const double term = double(dy[size_t(row) * c.out + j]) * x[size_t(row) * c.in + i];
        sum += term;
        magnitude += std::abs(term);
      }
      r.grad_w.push_back(sum);
      r.tol_w.push_back((matmul_tolerance(k) + operand_error) * magnitude);
    }
  for (int j = 0; j < c.out; ++j) {
    double sum = prior_b[j], magnitude = std::abs(sum);
    for (int row = 0; row < c.batch; ++row) {
      sum += dy_in[size_t(row) * c.out + j];
      magnitude += std::abs(double(dy_in[size_t(row) * c.out + j]));
    }
    r.grad_b.push_back(sum);
    r.tol_b.push_back(matmul_tolerance(k) * magnitude);
  }
  for (int row = 0; row < c.batch; ++row)
    for (int i = 0; i < c.in; ++i) {
      double sum = 0.0, magnitude = 0.0;
      for (int j = 0; j < c.out; ++j) {
        const double term = double(dy[size_t(row) * c.out + j]) * w[size_t(j) * c.in + i];
        sum += term;
        magnitude += std::abs(term);
      }
      r.grad_x.push_back(sum);
      r.tol_x.push_back((matmul_tolerance(c.out) + operand_error) * magnitude);
    }
  return r;
}

TEST_P(BackendOps, LinearBackwardMatchesReference) {
  for (const LinearCase& c : kLinearCases)
    for (bool accumulate : {false, true})
      for (bool want_grad_x : {false, true})
        for (Precision precision : kPrecisions) {
        if (precision != Precision::fp32 && int64_t(c.batch) * c.in * c.out > kLargestRoundedCase) continue;
        const auto x = random_floats(size_t(c.batch) * c.in);
        const auto w = random_floats(size_t(c.out) * c.in);
        const auto dy = random_floats(size_t(c.batch) * c.out);
        // Accumulation reads the old gradients: known values, not poison.
        const auto prior_w = accumulate ? random_floats(w.size()) : std::vector<float>(w.size());
        const auto prior_b = accumulate ? random_floats(size_t(c.out))
                                        : std::vector<float>(size_t(c.out));
        Tensor x_t = upload(x), w_t = upload(w), dy_t = upload(dy);
        Tensor grad_w = accumulate ? upload(prior_w) : poisoned(int64_t(w.size()));
        Tensor grad_b = accumulate ? upload(prior_b) : poisoned(c.out);
        Tensor grad_x = poisoned(int64_t(x.size()));
        ops().linear_backward(x_t.data(), w_t.data(), dy_t.data(),
                              want_grad_x ? grad_x.data() : nullptr, grad_w.data(),
                              grad_b.data(), c.batch, c.in, c.out, accumulate, precision);
        const LinearGrads r = reference_linear_backward(x, w, dy, prior_w, prior_b, c, precision);
        const std::string what = "linear_backward " + to_string(precision) + " " +
                                 shape_name(c.batch, c.in, c.out) + (accumulate ? " accumulate" : "");
        expect_close(grad_w.to_vector(), r.grad_w, r.tol_w, what + ": grad_w");
        expect_close(grad_b.to_vector(), r.grad_b, r.tol_b, what + ": grad_b");
        if (want_grad_x) expect_close(grad_x.to_vector(), r.grad_x, r.tol_x, what + ": grad_x");
      }
}

// ---- relu ----------------------------------------------------------------------------------

// Random values with exact zeros of both signs mixed in, where the comparisons matter.
std::vector<float> with_zeros(std::vector<float> values) {
  for (size_t i = 0; i < values.size(); i += 7) values[i] = (i / 7) % 2 ? 0.0f : -0.0f;
  return values;
}

TEST_P(BackendOps, ReluForwardMatchesReferenceInAndOutOfPlace) {
  for (int64_t count : {1, 7, 1000, 128003}) {
    const auto x = with_zeros(random_floats(size_t(count)));
    std::vector<float> want(x.size());
    for (size_t i = 0; i < x.size(); ++i) want[i] = x[i] > 0.0f ? x[i] : 0.0f;

    Tensor x_t = upload(x), y_t = poisoned(count + 1);
    ops().relu_forward(x_t.data(), y_t.data(), size_t(count));
    std::vector<float> want_with_poison = want;
    want_with_poison.push_back(kPoison);  // nothing written past the count
    expect_equal(y_t.to_vector(), want_with_poison, "relu_forward " + std::to_string(count));

    ops().relu_forward(x_t.data(), x_t.data(), size_t(count));
    expect_equal(x_t.to_vector(), want, "relu_forward in place " + std::to_string(count));
  }
}

TEST_P(BackendOps, ReluBackwardMasksGradient) {
  for (int64_t count : {1, 7, 1000, 128003}) {
    auto y = with_zeros(random_floats(size_t(count)));
    for (float& value : y) value = std::max(value, 0.0f);  // y is a ReLU output
    const auto grad = random_floats(size_t(count));
    std::vector<float> want(grad.size());
    for (size_t i = 0; i < grad.size(); ++i) want[i] = y[i] > 0.0f ? grad[i] : 0.0f;
    Tensor y_t = upload(y), grad_t = upload(grad);
    ops().relu_backward(y_t.data(), grad_t.data(), size_t(count));
    expect_equal(grad_t.to_vector(), want, "relu_backward " + std::to_string(count));
  }
}

// ---- cross-entropy and accuracy ------------------------------------------------------------

// The loss sum and correct count in backend memory, laid out as the trainer keeps them.
struct Sums {
  double loss_sum;
  int64_t correct;
};

class DeviceSumsBuffer {
 public:
  DeviceSumsBuffer(Backend& ops, Device device, Sums start)
      : ops_(ops), memory_({4}, DType::float32, device) {
    ops_.copy_from_host(memory_.data(), &start, sizeof start);
  }
  double* loss_sum() { return reinterpret_cast<double*>(memory_.data()); }
  int64_t* correct() { return reinterpret_cast<int64_t*>(memory_.data() + 2); }
  Sums read() {
    Sums sums;
    ops_.copy_to_host(&sums, memory_.data(), sizeof sums);
    return sums;
  }

 private:
  Backend& ops_;
  Tensor memory_;
};

int first_arg_max(const float* z, int classes) {
  return int(std::max_element(z, z + classes) - z);
}

// Labels: the arg-max for every other row (so some predictions are right), random otherwise.
std::vector<int32_t> labels_for(const std::vector<float>& logits, int batch, int classes,
                                std::mt19937& rng) {
  std::uniform_int_distribution<int32_t> uniform(0, classes - 1);
  std::vector<int32_t> labels(static_cast<size_t>(batch));
  for (int row = 0; row < batch; ++row)
    labels[row] = row % 2 ? uniform(rng) : first_arg_max(&logits[size_t(row) * classes], classes);
  return labels;
}

struct CrossEntropyReference {
  double loss_sum = 0.0, loss_tolerance = 0.0;
  int64_t correct = 0;
  std::vector<double> grad;
};

CrossEntropyReference reference_cross_entropy(const std::vector<float>& logits,
                                              const std::vector<int32_t>& labels, int batch,
                                              int classes) {
  CrossEntropyReference r;
  for (int row = 0; row < batch; ++row) {
    const float* z = &logits[size_t(row) * classes];
    const int best = first_arg_max(z, classes);
    double denominator = 0.0;
    for (int j = 0; j < classes; ++j) denominator += std::exp(double(z[j]) - z[best]);
    const double log_denominator = std::log(denominator);
    const double shifted_label = double(z[labels[row]]) - z[best];
    r.loss_sum += log_denominator - shifted_label;
    // fp32 log-sum-exp: a few roundings of each term's size, per row.
    r.loss_tolerance += 1e-6 * (1.0 + log_denominator - shifted_label);
    r.correct += best == labels[row];
    for (int j = 0; j < classes; ++j)
      r.grad.push_back((std::exp(double(z[j]) - z[best] - log_denominator) -
                        (j == labels[row])) / batch);
  }
  return r;
}

TEST_P(BackendOps, CrossEntropyMatchesReferenceAndAccumulates) {
  const std::pair<int, int> cases[] = {{1, 10}, {3, 13}, {64, 10}, {1000, 10}, {7, 1000}, {4, 1}};
  for (auto [batch, classes] : cases)
    for (bool want_grad : {false, true}) {
      const Sums start{2.5, 7};
      DeviceSumsBuffer sums(ops(), device(), start);
      double loss_sum = start.loss_sum, loss_tolerance = 1e-12;
      int64_t correct = start.correct;
      const std::string what = "cross_entropy batch " + std::to_string(batch) + ", classes " +
                               std::to_string(classes) + (want_grad ? " with grad" : "");
      for (int call = 0; call < 2; ++call) {  // the sums accumulate across calls
        const auto logits = random_floats(size_t(batch) * classes, -4.0f, 4.0f);
        const auto labels = labels_for(logits, batch, classes, rng_);
        Tensor logits_t = upload(logits), labels_t = upload(labels);
        Tensor grad = poisoned(int64_t(logits.size()));
        ops().cross_entropy(logits_t.data(), labels_t.labels(),
                            want_grad ? grad.data() : nullptr, sums.loss_sum(), sums.correct(),
                            batch, classes);
        const CrossEntropyReference r = reference_cross_entropy(logits, labels, batch, classes);
        loss_sum += r.loss_sum;
        loss_tolerance += r.loss_tolerance;
        correct += r.correct;
        // Gradients are at most 1/batch in size; fp32 exp and log keep ~1e-6 of that.
        if (want_grad) expect_close(grad.to_vector(), r.grad, 4e-6 / batch, what + ": grad");
      }
      const Sums got = sums.read();
      EXPECT_NEAR(got.loss_sum, loss_sum, loss_tolerance) << what;
      EXPECT_EQ(got.correct, correct) << what;
    }
}

// Small-integer logits tie often: the first maximum must win, as std::max_element.
TEST_P(BackendOps, ArgMaxTiesGoToTheFirstMaximum) {
  const int batch = 500, classes = 5;
  std::vector<float> logits;
  for (int32_t value : random_ints(size_t(batch) * classes, 0, 2)) logits.push_back(float(value));
  const auto labels = labels_for(logits, batch, classes, rng_);
  const CrossEntropyReference r = reference_cross_entropy(logits, labels, batch, classes);
  Tensor logits_t = upload(logits), labels_t = upload(labels);

  DeviceSumsBuffer loss_sums(ops(), device(), {0.0, 0});
  ops().cross_entropy(logits_t.data(), labels_t.labels(), nullptr, loss_sums.loss_sum(),
                      loss_sums.correct(), batch, classes);
  EXPECT_EQ(loss_sums.read().correct, r.correct) << "cross_entropy";

  DeviceSumsBuffer count_sums(ops(), device(), {0.0, 0});
  ops().count_correct(logits_t.data(), labels_t.labels(), count_sums.correct(), batch, classes);
  EXPECT_EQ(count_sums.read().correct, r.correct) << "count_correct";
}

TEST_P(BackendOps, CountCorrectAccumulatesAndLeavesLossAlone) {
  const std::pair<int, int> cases[] = {{1, 10}, {3, 13}, {1000, 10}, {7, 1000}};
  for (auto [batch, classes] : cases) {
    DeviceSumsBuffer sums(ops(), device(), {1.25, 11});
    int64_t correct = 11;
    for (int call = 0; call < 2; ++call) {
      const auto logits = random_floats(size_t(batch) * classes);
      const auto labels = labels_for(logits, batch, classes, rng_);
      Tensor logits_t = upload(logits), labels_t = upload(labels);
      ops().count_correct(logits_t.data(), labels_t.labels(), sums.correct(), batch, classes);
      correct += reference_cross_entropy(logits, labels, batch, classes).correct;
    }
    const Sums got = sums.read();
    EXPECT_EQ(got.correct, correct) << "count_correct batch " << batch;
    EXPECT_EQ(got.loss_sum, 1.25) << "count_correct touched the loss sum";
  }
}

// ---- optimizers ----------------------------------------------------------------------------

// 20 slots (more than one multi-tensor launch holds) of sizes from 1 to 100003.
SlotSet BackendOps::make_slots() {
  const size_t sizes[] = {1,    13,  1000, 3,  100003, 128, 7,  784, 10,   5,
                          4096, 2,   17,   64, 1,      999, 33, 12,  2048, 6};
  SlotSet set;
  for (size_t count : sizes) {
    set.value.push_back(random_floats(count));
    set.grad.push_back(random_floats(count));
    set.state_a.push_back(random_floats(count, -0.1f, 0.1f));
    set.state_b.push_back(random_floats(count, 1e-4f, 1e-2f));  // a second moment: > 0
    set.value_t.push_back(upload(set.value.back()));
    set.grad_t.push_back(upload(set.grad.back()));
    set.state_a_t.push_back(upload(set.state_a.back()));
    set.state_b_t.push_back(upload(set.state_b.back()));
  }
  for (size_t s = 0; s < set.value.size(); ++s)
    set.slots.push_back({set.value_t[s].data(), set.grad_t[s].data(), set.state_a_t[s].data(),
                         set.state_b_t[s].data(), set.value[s].size()});
  return set;
}

TEST_P(BackendOps, AdamUpdateMatchesReference) {
  for (int64_t step : {1, 7, 1000})
    for (float weight_decay : {0.0f, 0.01f}) {
      const AdamHyper h{.lr = 1e-2f, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f,
                        .weight_decay = weight_decay, .step = step};
      SlotSet set = make_slots();
      ops().adam_update(set.slots, h);
      const double beta1 = h.beta1, beta2 = h.beta2;  // the float values, widened
      const double correction1 = 1.0 - std::pow(beta1, double(step));
      const double correction2 = 1.0 - std::pow(beta2, double(step));
      for (size_t s = 0; s < set.slots.size(); ++s) {
        std::vector<double> value, m, v, tol_value, tol_m, tol_v;
        for (size_t i = 0; i < set.value[s].size(); ++i) {
          const double w = set.value[s][i], g = set.grad[s][i] + double(weight_decay) * w;
          const double g_size = std::abs(double(set.grad[s][i])) + std::abs(weight_decay * w);
          m.push_back(beta1 * set.state_a[s][i] + (1 - beta1) * g);
          v.push_back(beta2 * set.state_b[s][i] + (1 - beta2) * g * g);
          const double denominator = std::sqrt(v.back() / correction2) + h.eps;
          const double update = h.lr * (m.back() / correction1) / denominator;
          value.push_back(w - update);
          tol_m.push_back(1e-6 * (std::abs(double(set.state_a[s][i])) + g_size));
          tol_v.push_back(1e-6 * (set.state_b[s][i] + g_size * g_size));
          // The backends take the bias corrections in float (as the CPU does): 1 - 0.999^7
          // loses ~1e-5 of the update to cancellation. The first moment's own rounding (it
          // can cancel to nearly nothing) carries through the update as well.
          tol_value.push_back(1e-6 * std::abs(w) + 3e-5 * std::abs(update) +
                              h.lr / correction1 * tol_m.back() / denominator);
        }
        const std::string what = "adam step " + std::to_string(step) + ", slot " +
                                 std::to_string(s) + ", weight decay " +
                                 std::to_string(weight_decay);
        expect_close(set.value_t[s].to_vector(), value, tol_value, what + ": value");
        expect_close(set.state_a_t[s].to_vector(), m, tol_m, what + ": first moment");
        expect_close(set.state_b_t[s].to_vector(), v, tol_v, what + ": second moment");
      }
    }
}

// ---- mixed precision ------------------------------------------------------------------------

// bf16 bits in a tensor of int32 (two to an element), for the ops that read or write bf16.
struct Bf16Tensor {
  Tensor storage;
  size_t count;
  uint16_t* data() { return reinterpret_cast<uint16_t*>(storage.labels()); }
  std::vector<uint16_t> to_vector() const {
    std::vector<int32_t> words = storage.to_label_vector();
    std::vector<uint16_t> halves(words.size() * 2);
    std::memcpy(halves.data(), words.data(), words.size() * 4);
    halves.resize(count);
    return halves;
  }
};

// A bf16 NaN in both halves, so that an element left unwritten reads as NaN.
const float kBf16Poison = std::bit_cast<float>(0x7fc07fc0u);

class MixedPrecisionOps : public BackendOps {
 protected:
  Bf16Tensor upload_bf16(const std::vector<uint16_t>& values) {
    std::vector<int32_t> words((values.size() + 1) / 2 + 1, 0);
    std::memcpy(words.data(), values.data(), values.size() * 2);
    return {Tensor::from_vector({int64_t(words.size())}, words, device()), values.size()};
  }
  Bf16Tensor poisoned_bf16(size_t count) {
    Bf16Tensor tensor{Tensor({int64_t(count / 2 + 1)}, DType::int32, device()), count};
    ops().fill(reinterpret_cast<float*>(tensor.storage.labels()), count / 2 + 1, kBf16Poison);
    return tensor;
  }
};

TEST_P(MixedPrecisionOps, ToBf16RoundsToNearestEvenAndPadsWithZeros) {
  struct Case {
    size_t rows;
    int columns, stride;
  };
  for (const Case& c : {Case{1, 1, 1}, Case{3, 10, 16}, Case{64, 784, 784}, Case{1000, 13, 13},
                        Case{7, 5, 8}, Case{1, 100001, 100001}}) {
    std::vector<float> x = random_floats(c.rows * c.columns, -3.0f, 3.0f);
    // Values whose rounding is decided by the low bits, and the edges of the format.
    const float special[] = {0.0f, -0.0f, INFINITY, -INFINITY, 1e-40f, 3.4e38f, 1.00390625f,
                             1.01171875f, -2.00781250f};
    for (size_t i = 0; i < x.size() && i < std::size(special); ++i) x[i * 7 % x.size()] = special[i];
    Tensor x_t = upload(x);
    Bf16Tensor y = poisoned_bf16(c.rows * c.stride + 1);
    ops().to_bf16(x_t.data(), y.data(), c.rows, c.columns, c.stride);
    std::vector<uint16_t> want;
    for (size_t r = 0; r < c.rows; ++r)
      for (int col = 0; col < c.stride; ++col)
        want.push_back(col < c.columns ? to_bf16_bits(x[r * c.columns + col]) : 0);
    want.push_back(0x7fc0);  // nothing written past the end
    expect_equal(y.to_vector(), want,
                 "to_bf16 " + std::to_string(c.rows) + "x" + std::to_string(c.columns) +
                     " stride " + std::to_string(c.stride));
  }
}

// Adam reading bf16 gradients (every other slot) and writing bf16 copies of the values (every
// slot but the last): the values and moments as the float64 reference of the fp32 update
// with the gradient the bf16 bits hold, and each copy exactly the bf16 rounding of the fp32
// value the backend stored. Sizes all multiples of four take the GPU's 16-byte path.
TEST_P(MixedPrecisionOps, AdamWithBf16GradientsAndCopiesMatchesReference) {
  const std::vector<size_t> quad_sizes = {4, 1000, 100004, 128, 784, 4096, 12, 2048};
  const std::vector<size_t> odd_sizes = {1, 13, 1000, 3, 100003, 7, 784, 10};
  for (const std::vector<size_t>* sizes : {&quad_sizes, &odd_sizes})
    for (float weight_decay : {0.0f, 0.01f}) {
      const AdamHyper h{.lr = 1e-2f, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f,
                        .weight_decay = weight_decay, .step = 7};
      std::vector<std::vector<float>> value, grad, m, v;
      std::vector<Tensor> value_t, grad_t, m_t, v_t;
      std::vector<Bf16Tensor> grad_bf16, copies;
      std::vector<ParamSlot> slots;
      for (size_t s = 0; s < sizes->size(); ++s) {
        const size_t count = (*sizes)[s];
        value.push_back(random_floats(count));
        grad.push_back(random_floats(count));
        m.push_back(random_floats(count, -0.1f, 0.1f));
        v.push_back(random_floats(count, 1e-4f, 1e-2f));
        std::vector<uint16_t> bits(count);
        for (size_t i = 0; i < count; ++i) bits[i] = to_bf16_bits(grad.back()[i]);
        if (s % 2 == 0)  // the gradient the update sees is the bf16 one
          for (size_t i = 0; i < count; ++i) grad.back()[i] = from_bf16_bits(bits[i]);
        value_t.push_back(upload(value.back()));
        grad_t.push_back(upload(grad.back()));
        m_t.push_back(upload(m.back()));
        v_t.push_back(upload(v.back()));
        grad_bf16.push_back(upload_bf16(bits));
        copies.push_back(poisoned_bf16(count));
      }
      for (size_t s = 0; s < sizes->size(); ++s) {
        ParamSlot slot{value_t[s].data(), grad_t[s].data(), m_t[s].data(), v_t[s].data(), (*sizes)[s]};
        if (s % 2 == 0) slot.grad_bf16 = grad_bf16[s].data(), slot.grad = nullptr;
        if (s + 1 < sizes->size()) slot.value_bf16 = copies[s].data();
        slots.push_back(slot);
      }
      ops().adam_update(slots, h);
      const double correction1 = 1.0 - std::pow(double(h.beta1), 7.0);
      const double correction2 = 1.0 - std::pow(double(h.beta2), 7.0);
      for (size_t s = 0; s < sizes->size(); ++s) {
        std::vector<double> want, tolerance;
        for (size_t i = 0; i < value[s].size(); ++i) {
          const double w = value[s][i], g = grad[s][i] + double(weight_decay) * w;
          const double first = h.beta1 * double(m[s][i]) + (1 - double(h.beta1)) * g;
          const double second = h.beta2 * double(v[s][i]) + (1 - double(h.beta2)) * g * g;
          const double denominator = std::sqrt(second / correction2) + h.eps;
          const double update = h.lr * (first / correction1) / denominator;
          want.push_back(w - update);
          // As in AdamUpdateMatchesReference: float bias corrections and the moment's rounding.
          const double tol_m = 1e-6 * (std::abs(double(m[s][i])) + std::abs(g));
          tolerance.push_back(1e-6 * std::abs(w) + 3e-5 * std::abs(update) +
                              h.lr / correction1 * tol_m / denominator);
        }
        const std::string what = "mixed adam, slot " + std::to_string(s) + " of " +
                                 std::to_string(sizes->size()) + ", weight decay " +
                                 std::to_string(weight_decay);
        const std::vector<float> got = value_t[s].to_vector();
        expect_close(got, want, tolerance, what + ": value");
        if (s + 1 == sizes->size()) continue;  // no copy asked for
        std::vector<uint16_t> copy_want;
        for (float stored : got) copy_want.push_back(to_bf16_bits(stored));
        expect_equal(copies[s].to_vector(), copy_want, what + ": bf16 copy");
      }
    }
}

INSTANTIATE_TEST_SUITE_P(MixedPrecisionOps, MixedPrecisionOps,
                         ::testing::Values(Device::cpu, Device::cuda),
                         [](const ::testing::TestParamInfo<Device>& info) {
                           return to_string(info.param);
                         });

struct SgdCase {
  float momentum, dampening, weight_decay;
  bool nesterov, first_step;
};

TEST_P(BackendOps, SgdUpdateMatchesReference) {
  const SgdCase cases[] = {{0.0f, 0.0f, 0.0f, false, false}, {0.0f, 0.0f, 1e-2f, false, true},
                           {0.9f, 0.0f, 0.0f, false, true},  {0.9f, 0.0f, 1e-2f, false, false},
                           {0.9f, 0.1f, 0.0f, false, false}, {0.9f, 0.0f, 1e-2f, true, true},
                           {0.5f, 0.0f, 0.0f, true, false}};
  for (const SgdCase& c : cases) {
    const SgdHyper h{.lr = 0.1f, .momentum = c.momentum, .dampening = c.dampening,
                     .weight_decay = c.weight_decay, .nesterov = c.nesterov,
                     .first_step = c.first_step};
    SlotSet set = make_slots();
    for (ParamSlot& slot : set.slots) slot.state_b = nullptr;  // SGD has one state buffer
    ops().sgd_update(set.slots, h);
    const double momentum = c.momentum;
    for (size_t s = 0; s < set.slots.size(); ++s) {
      std::vector<double> value, buffer, tol_value, tol_buffer;
      for (size_t i = 0; i < set.value[s].size(); ++i) {
        const double w = set.value[s][i], old_buffer = set.state_a[s][i];
        double g = set.grad[s][i] + double(c.weight_decay) * w;
        double new_buffer = old_buffer;  // untouched without momentum
        if (momentum != 0.0) {
          new_buffer = c.first_step ? g : momentum * old_buffer + (1 - double(c.dampening)) * g;
          g = c.nesterov ? g + momentum * new_buffer : new_buffer;
        }
        buffer.push_back(new_buffer);
        value.push_back(w - double(h.lr) * g);
        tol_buffer.push_back(1e-6 * (std::abs(old_buffer) + std::abs(g) + 1e-3));
        tol_value.push_back(1e-6 * (std::abs(w) + std::abs(double(h.lr) * g) + 1e-3));
      }
      const std::string what = "sgd momentum " + std::to_string(c.momentum) + ", dampening " +
                               std::to_string(c.dampening) + (c.nesterov ? ", nesterov" : "") +
                               (c.first_step ? ", first step" : "") + ", slot " +
                               std::to_string(s);
      expect_close(set.value_t[s].to_vector(), value, tol_value, what + ": value");
      expect_close(set.state_a_t[s].to_vector(), buffer, tol_buffer, what + ": momentum buffer");
    }
  }
}

// ---- gathers -------------------------------------------------------------------------------

TEST_P(BackendOps, GatherRowsCopiesIndexedRows) {
  const int rows = 1500;
  for (int width : {1, 4, 13, 128, 784})
    for (int count : {1, 3, 64, 1000})
      for (bool misaligned : {false, true}) {  // a one-float offset defeats float4 loads
        const auto src = random_floats(size_t(rows) * width + 1);
        const auto index = random_ints(size_t(count), 0, rows - 1);
        const int offset = misaligned ? 1 : 0;
        Tensor src_t = upload(src), index_t = upload(index);
        Tensor dst_t = poisoned(int64_t(count) * width + 2);
        ops().gather_rows(src_t.data() + offset, index_t.labels(), dst_t.data() + offset, count,
                          width);
        std::vector<float> want(dst_t.numel(), kPoison);
        for (int i = 0; i < count; ++i)
          std::copy_n(&src[size_t(index[i]) * width + offset], width,
                      &want[size_t(i) * width + offset]);
        expect_equal(dst_t.to_vector(), want,
                     "gather_rows width " + std::to_string(width) + ", count " +
                         std::to_string(count) + (misaligned ? ", misaligned" : ""));
      }
}

TEST_P(BackendOps, GatherLabelsCopiesIndexedLabels) {
  const int rows = 1500;
  for (int count : {1, 3, 64, 1000}) {
    const auto src = random_ints(size_t(rows), 0, 9);
    const auto index = random_ints(size_t(count), 0, rows - 1);
    Tensor src_t = upload(src), index_t = upload(index);
    Tensor dst_t = poisoned(count + 1, DType::int32);
    ops().gather_labels(src_t.labels(), index_t.labels(), dst_t.labels(), count);
    std::vector<int32_t> want;
    for (int i = 0; i < count; ++i) want.push_back(src[index[i]]);
    want.push_back(std::bit_cast<int32_t>(kPoison));  // nothing written past the count
    expect_equal(dst_t.to_label_vector(), want, "gather_labels count " + std::to_string(count));
  }
}

// The shuffled epoch order against its definition, spelled out here apart from the engine:
// the samples sorted by splitmix64(splitmix64(seed) + sample). Exact, so that the CPU and
// the GPU train on the same batches.
uint64_t reference_mix(uint64_t x) {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

// The defined order of `count` samples for `seed`, then a poison word: nothing is written past it.
std::vector<int32_t> reference_order(uint64_t seed, int count) {
  std::vector<std::pair<uint64_t, int32_t>> keyed;
  for (int i = 0; i < count; ++i) keyed.push_back({reference_mix(reference_mix(seed) + uint64_t(i)), i});
  std::sort(keyed.begin(), keyed.end());
  std::vector<int32_t> want;
  for (const auto& [key, sample] : keyed) want.push_back(sample);
  want.push_back(std::bit_cast<int32_t>(kPoison));
  return want;
}

TEST_P(BackendOps, ShuffledOrderIsTheDefinedPermutation) {
  for (int count : {1, 2, 7, 1000, 60000}) {
    for (uint64_t seed : {uint64_t(0), uint64_t(12345)}) {
      Tensor order_t = poisoned(count + 1, DType::int32);
      ops().shuffled_order(seed, order_t.labels(), count);
      expect_equal(order_t.to_label_vector(), reference_order(seed, count),
                   "shuffled_order count " + std::to_string(count) + " seed " + std::to_string(seed));
    }
  }
}

// An order prepared ahead (the GPU draws it on a stream of its own) is the same permutation;
// one prepared for another seed or count is not handed out instead.
TEST_P(BackendOps, PreparedShuffledOrderIsTheDefinedPermutation) {
  struct Case {
    uint64_t prepared_seed;
    int prepared_count;
    uint64_t seed;
    int count;
  };
  for (const Case& c : {Case{7, 60000, 7, 60000}, Case{7, 1000, 8, 1000}, Case{9, 1000, 9, 999}, Case{9, 999, 9, 999}}) {
    ops().prepare_shuffled_order(c.prepared_seed, c.prepared_count);
    Tensor order_t = poisoned(c.count + 1, DType::int32);
    ops().shuffled_order(c.seed, order_t.labels(), c.count);
    expect_equal(order_t.to_label_vector(), reference_order(c.seed, c.count),
                 "prepared seed " + std::to_string(c.prepared_seed) + " count " + std::to_string(c.prepared_count) +
                     ", asked seed " + std::to_string(c.seed) + " count " + std::to_string(c.count));
  }
}

INSTANTIATE_TEST_SUITE_P(BackendOps, BackendOps, ::testing::Values(Device::cpu, Device::cuda),
                         [](const ::testing::TestParamInfo<Device>& info) {
                           return to_string(info.param);
                         });

}  // namespace
}  // namespace leap
