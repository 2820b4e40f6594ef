// Dropout: the kept fraction and scaling, the same mask in backward, identity in evaluation,
// and the same mask on every backend.
#include <gtest/gtest.h>

#include "leap/dropout_mask.h"
#include "leap/leap.h"
#include "leap/random.h"

namespace leap {
namespace {

TEST(Dropout, KeepsAboutOneMinusPAndScalesThem) {
  Dropout dropout(0.3f, 7);
  const int64_t count = 100000;
  Tensor x = Tensor::from_vector({1, count}, std::vector<float>(count, 2.0f));
  std::vector<float> y = dropout.forward(x).to_vector();
  int64_t kept = 0;
  for (float v : y) {
    if (v != 0.0f) {
      ++kept;
      EXPECT_FLOAT_EQ(v, 2.0f / 0.7f);
    }
  }
  EXPECT_NEAR(double(kept) / count, 0.7, 0.01);  // 0.01 is ~7 standard deviations
  // Backward masks the gradient exactly where forward dropped.
  std::vector<float> g = dropout.backward(Tensor::from_vector({1, count}, std::vector<float>(count, 1.0f))).to_vector();
  for (int64_t i = 0; i < count; ++i) ASSERT_EQ(g[i] == 0.0f, y[i] == 0.0f) << i;
  // A new forward draws a new mask.
  std::vector<float> again = dropout.forward(x).to_vector();
  int64_t same = 0;
  for (int64_t i = 0; i < count; ++i) same += (again[i] == 0.0f) == (y[i] == 0.0f);
  EXPECT_LT(same, count * 0.7);
}

// A mask's key, which kernels that draw many steps' masks compute themselves
// (dropout_key), is splitmix64 of the seed, the call and the stream, as it has always been:
// checkpoints of earlier versions resume with the same masks.
TEST(Dropout, MaskKeysAreSplitmixOfSeedCallAndStream) {
  for (const uint64_t seed : {0ull, 7ull, 0xfedcba9876543210ull})
    for (const uint64_t stream : {0ull, 1ull, 5ull})
      for (const uint64_t call : {1ull, 2ull, 1000ull, 1ull << 40}) {
        const uint64_t expected =
            Random(seed + 0x632be59bd9b4e019ULL * call + 0x9E3779B97F4A7C15ULL * stream).next_u64();
        EXPECT_EQ(dropout_key(dropout_key_base(seed, stream), call), expected) << seed << " " << stream << " " << call;
      }
}

TEST(Dropout, PassesThroughInEvaluation) {
  Dropout dropout(0.5f);
  dropout.eval();
  Tensor x = Tensor::from_vector({1, 3}, std::vector<float>{1, 2, 3});
  EXPECT_EQ(dropout.forward(x).to_vector(), x.to_vector());
  EXPECT_THROW(Dropout(1.0f), Error);
}

TEST(Dropout, EveryBackendDrawsTheSameMask) {
  if (!available(Device::cuda)) GTEST_SKIP() << "no usable CUDA GPU";
  std::vector<float> x(4099);
  Random random(3);
  for (float& v : x) v = random.uniform(-1, 1);
  std::vector<std::vector<float>> results;
  for (Device device : {Device::cpu, Device::cuda}) {
    Tensor in = Tensor::from_vector({1, int64_t(x.size())}, x, device);
    Tensor out({1, int64_t(x.size())}, DType::float32, device);
    backend(device).dropout(in.data(), out.data(), x.size(), 0.25f, 12345);
    results.push_back(out.to_vector());
  }
  EXPECT_EQ(results[0], results[1]);
}

TEST(Dropout, SpecAddsDropoutAfterHiddenLayersWithPyTorchNames) {
  Sequential model = Sequential::from_spec("784-512-256-10", 0, Device::cpu, 0.3f);
  EXPECT_EQ(model.size(), 7u);  // Linear ReLU Dropout Linear ReLU Dropout Linear
  std::vector<Parameter*> params = model.parameters();
  EXPECT_EQ(params[2]->name, "3.weight");
  EXPECT_EQ(params[4]->name, "6.weight");
}

}  // namespace
}  // namespace leap
