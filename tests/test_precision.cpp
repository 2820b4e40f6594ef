// Precisions: operand rounding against values worked out by hand, the names, the device
// defaults, and training in tf32 and bf16 on the CPU (emulated: the operands rounded) staying
// close to fp32. The GPU's own bf16 and tf32 paths are compared in test_cuda_training.cpp.
#include <gtest/gtest.h>

#include <bit>
#include <cmath>

#include "leap/leap.h"
#include "leap/precision.h"
#include "toy_data.h"

namespace leap {
namespace {

float from_bits(uint32_t bits) { return std::bit_cast<float>(bits); }

TEST(Precision, RoundsToNearestWithTiesToEven) {
  // bf16 keeps 7 fraction bits: 1 + 2^-8 is a tie between 1 and 1 + 2^-7, and goes to 1 (even).
  EXPECT_EQ(round_operand(1.0f + 0x1p-8f, Precision::bf16), 1.0f);
  EXPECT_EQ(round_operand(1.0f + 3 * 0x1p-8f, Precision::bf16), 1.0f + 0x1p-6f);  // tie to even up
  EXPECT_EQ(round_operand(1.0f + 0x1p-8f + 0x1p-20f, Precision::bf16), 1.0f + 0x1p-7f);
  EXPECT_EQ(round_operand(-1.0f - 0x1p-8f - 0x1p-20f, Precision::bf16), -1.0f - 0x1p-7f);
  // tf32 keeps 10 fraction bits.
  EXPECT_EQ(round_operand(1.0f + 0x1p-11f, Precision::tf32), 1.0f);
  EXPECT_EQ(round_operand(1.0f + 0x1p-11f + 0x1p-20f, Precision::tf32), 1.0f + 0x1p-10f);
  EXPECT_EQ(round_operand(1.0f + 0x1p-12f, Precision::tf32), 1.0f);
  const float value = 0.123456789f;
  EXPECT_EQ(round_operand(value, Precision::fp32), value);
  // Overflow rounds to infinity; infinities and NaN pass; the sign of zero stays.
  EXPECT_EQ(round_operand(from_bits(0x7f7fffffu), Precision::bf16), INFINITY);
  EXPECT_EQ(round_operand(-INFINITY, Precision::bf16), -INFINITY);
  EXPECT_TRUE(std::isnan(round_operand(NAN, Precision::tf32)));
  EXPECT_TRUE(std::signbit(round_operand(-0.0f, Precision::bf16)));
  EXPECT_EQ(to_bf16_bits(1.0f), 0x3f80);
  EXPECT_EQ(from_bf16_bits(0xc000), -2.0f);
}

TEST(Precision, NamesRoundTripAndUnknownNamesAreErrors) {
  for (Precision precision : {Precision::fp32, Precision::tf32, Precision::bf16})
    EXPECT_EQ(parse_precision(to_string(precision)), precision);
  EXPECT_THROW(parse_precision("fp16"), Error);
}

TEST(Precision, TheCpuDefaultsToFp32) {
  EXPECT_EQ(backend(Device::cpu).default_precision(), Precision::fp32);
  Model model(Sequential::from_spec("20-8-3", 1));
  model.compile(adam());
  std::vector<float> x(40 * 20, 0.5f);
  std::vector<int32_t> y(40, 1);
  model.fit({Tensor::from_vector({40, 20}, x), Tensor::from_vector({40}, y), 3}, {.batch_size = 8});
  EXPECT_EQ(model.precision(), Precision::fp32);
}

// 150 Adam steps in each precision from the same weights and batches. Tolerances: the epoch's
// mean loss within 1% (tf32) and 3% (bf16) of fp32's. The weights part faster: Adam moves
// each weight by about lr a step whatever its gradient's size, so where a gradient is near
// zero any rounding changes the step's sign (measured: 5% relative L2 after 150 steps in
// either format, against a total movement of the same order as the weights); within 10%.
TEST(Precision, CpuTrainingInTf32AndBf16StaysCloseToFp32) {
  const Dataset data = pattern_data(150 * 32, 64, 10, 5);
  auto train = [&](Precision precision, std::vector<float>* weights) {
    Model model(Sequential::from_spec("64-32-32-10", 3));
    model.compile(adam({.lr = 1e-3f}));
    FitOptions options{.epochs = 1, .batch_size = 32, .seed = 4};
    options.precision = precision;
    const History history = model.fit(data, options);
    EXPECT_EQ(model.precision(), precision);
    *weights = model.network().parameters()[0]->value.to_vector();
    return history.epochs[0].loss;
  };
  std::vector<float> fp32_w, tf32_w, bf16_w;
  const double fp32 = train(Precision::fp32, &fp32_w), tf32 = train(Precision::tf32, &tf32_w),
               bf16 = train(Precision::bf16, &bf16_w);
  auto relative = [&](const std::vector<float>& w) {
    double diff = 0, norm = 0;
    for (size_t i = 0; i < w.size(); ++i) diff += std::pow(w[i] - fp32_w[i], 2), norm += std::pow(fp32_w[i], 2);
    return std::sqrt(diff / norm);
  };
  std::printf("mean loss fp32 %.5f, tf32 %.5f, bf16 %.5f; weights off by %.2e (tf32), %.2e (bf16)\n",
              fp32, tf32, bf16, relative(tf32_w), relative(bf16_w));
  EXPECT_NEAR(tf32, fp32, 0.01 * fp32);
  EXPECT_NEAR(bf16, fp32, 0.03 * fp32);
  EXPECT_LT(relative(tf32_w), 0.1);
  EXPECT_LT(relative(bf16_w), 0.1);
  EXPECT_GT(relative(bf16_w), 0.0);  // the precision did take effect
}

}  // namespace
}  // namespace leap
