// One Adam step and SGD-momentum steps against values worked out by hand.
#include <gtest/gtest.h>

#include <cmath>

#include "leap/leap.h"

namespace leap {
namespace {

Parameter make_parameter(std::vector<float> value, std::vector<float> grad) {
  Shape shape{int64_t(value.size())};
  return {"w", Tensor::from_vector(shape, value), Tensor::from_vector(shape, grad), true};
}

TEST(Optim, AdamFirstStepMovesByLearningRateTimesSign) {
  // Step 1: m = 0.1 g, v = 0.001 g^2; bias-corrected m/sqrt(v) = g/|g| (up to eps).
  Parameter p = make_parameter({1.0f, -2.0f, 0.5f}, {0.5f, -4.0f, 0.0f});
  Adam adam({&p}, {.lr = 0.1f});
  adam.step();
  std::vector<float> w = p.value.to_vector();
  EXPECT_NEAR(w[0], 1.0f - 0.1f, 1e-6);
  EXPECT_NEAR(w[1], -2.0f + 0.1f, 1e-6);
  EXPECT_NEAR(w[2], 0.5f, 1e-7);  // zero gradient: m = 0, no move
}

TEST(Optim, AdamSecondStepWithWeightDecayByHand) {
  Parameter p = make_parameter({2.0f}, {1.0f});
  Adam adam({&p}, {.lr = 0.01f, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f, .weight_decay = 0.1f});
  // Step 1: g = 1 + 0.1*2 = 1.2; m = 0.12; v = 0.00144; update = 0.01 * 1.2/1.2 = 0.01.
  adam.step();
  EXPECT_NEAR(p.value.to_vector()[0], 1.99, 1e-6);
  // Step 2 with gradient 3: g = 3 + 0.199 = 3.199.
  p.grad = Tensor::from_vector({1}, std::vector<float>{3.0f});
  adam.step();
  double g = 3.199, m = 0.9 * 0.12 + 0.1 * g, v = 0.999 * 0.00144 + 0.001 * g * g;
  double mhat = m / (1 - 0.81), vhat = v / (1 - 0.999 * 0.999);
  EXPECT_NEAR(p.value.to_vector()[0], 1.99 - 0.01 * mhat / (std::sqrt(vhat) + 1e-8), 1e-6);
}

TEST(Optim, SgdMomentumByHand) {
  Parameter p = make_parameter({1.0f}, {0.5f});
  SGD sgd({&p}, {.lr = 0.1f, .momentum = 0.9f});
  sgd.step();  // buffer = 0.5; w = 1 - 0.05
  EXPECT_NEAR(p.value.to_vector()[0], 0.95, 1e-7);
  sgd.step();  // buffer = 0.9*0.5 + 0.5 = 0.95; w = 0.95 - 0.095
  EXPECT_NEAR(p.value.to_vector()[0], 0.855, 1e-6);
}

TEST(Optim, SgdNesterovByHand) {
  Parameter p = make_parameter({1.0f}, {1.0f});
  SGD sgd({&p}, {.lr = 0.1f, .momentum = 0.5f, .nesterov = true});
  sgd.step();  // buffer = 1; step = 1 + 0.5 = 1.5
  EXPECT_NEAR(p.value.to_vector()[0], 0.85, 1e-7);
  sgd.step();  // buffer = 0.5 + 1 = 1.5; step = 1 + 0.75
  EXPECT_NEAR(p.value.to_vector()[0], 0.675, 1e-6);
}

TEST(Optim, ParametersWithoutGradientsAreLeftAlone) {
  Parameter p = make_parameter({1.0f}, {1.0f});
  p.has_grad = false;
  Adam adam({&p});
  adam.step();
  EXPECT_EQ(p.value.to_vector()[0], 1.0f);
  EXPECT_EQ(adam.steps(), 0);
}

TEST(Optim, Schedules) {
  StepLR step(2, 0.5f);
  EXPECT_FLOAT_EQ(step.lr(0, 1.0f), 1.0f);
  EXPECT_FLOAT_EQ(step.lr(3, 1.0f), 0.5f);
  EXPECT_FLOAT_EQ(step.lr(4, 1.0f), 0.25f);
  CosineLR cosine(10, 0.0f);
  EXPECT_NEAR(cosine.lr(5, 1.0f), 0.5f, 1e-6);
  EXPECT_NEAR(cosine.lr(10, 1.0f), 0.0f, 1e-6);
}

TEST(Spec, BuildsPyTorchNamesAndRejectsBadSpecs) {
  Sequential model = Sequential::from_spec("784-128-10");
  std::vector<Parameter*> params = model.parameters();
  ASSERT_EQ(params.size(), 4u);
  EXPECT_EQ(params[0]->name, "0.weight");
  EXPECT_EQ(params[0]->value.shape(), (Shape{128, 784}));
  EXPECT_EQ(params[3]->name, "2.bias");
  EXPECT_EQ(model.parameter_count(), 784 * 128 + 128 + 128 * 10 + 10);
  for (std::string bad : {"", "784", "784--10", "784-x-10", "784-0-10", "-784-10", "784-10-"})
    EXPECT_THROW(Sequential::from_spec(bad), Error) << bad;
}

TEST(Spec, DefaultInitialisationBounds) {
  Sequential model = Sequential::from_spec("400-30", 3);
  for (Parameter* p : model.parameters())
    for (float v : p->value.to_vector()) EXPECT_LE(std::abs(v), 1.0f / 20.0f);
}

}  // namespace
}  // namespace leap
