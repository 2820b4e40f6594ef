// End to end through the Keras-style API on Fashion-MNIST: one epoch reaches 80% test
// accuracy, and fit/evaluate/predict/History agree with each other.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "leap/leap.h"

namespace leap {
namespace {

TEST(EndToEnd, OneEpochOfFashionMnistReaches80Percent) {
  if (!std::filesystem::exists(default_data_dir()))
    GTEST_SKIP() << "no data at " << default_data_dir() << " (apt-get install dataset-fashion-mnist)";
  MnistSplits data = load_mnist_dir(default_data_dir());
  Model model(Sequential::from_spec("784-128-10", 0));
  model.compile(adam({.lr = 1e-3f}), CrossEntropyLoss(), {"accuracy"});
  History history = model.fit(data.train, {.epochs = 1, .batch_size = 64, .validation_data = &data.test});
  ASSERT_EQ(history.epochs.size(), 1u);
  const EpochLogs& logs = history.epochs[0];
  EXPECT_EQ(logs.steps, 938);
  EXPECT_GE(logs.val_accuracy, 0.80);
  EXPECT_LT(logs.loss, 0.7);

  Evaluation evaluation = model.evaluate(data.test);
  EXPECT_NEAR(evaluation.accuracy, logs.val_accuracy, 1e-12);
  EXPECT_NEAR(evaluation.loss, logs.val_loss, 1e-9);

  // predict's arg-max agrees with evaluate's accuracy.
  Tensor logits = model.predict(data.test.images);
  std::vector<float> z = logits.to_vector();
  std::vector<int32_t> y = data.test.labels.to_label_vector();
  int64_t correct = 0;
  for (size_t i = 0; i < y.size(); ++i)
    correct += std::max_element(&z[i * 10], &z[i * 10 + 10]) - &z[i * 10] == y[i];
  EXPECT_NEAR(double(correct) / y.size(), evaluation.accuracy, 1e-12);
}

TEST(EndToEnd, FitRejectsDataThatDoesNotFitTheModel) {
  Model model(Sequential::from_spec("4-3", 0));
  model.compile(adam());
  Dataset wrong_width{Tensor::zeros({2, 5}), Tensor::from_vector({2}, std::vector<int32_t>{0, 1}), 3};
  EXPECT_THROW(model.fit(wrong_width, {}), Error);
  Dataset bad_label{Tensor::zeros({2, 4}), Tensor::from_vector({2}, std::vector<int32_t>{0, 3}), 3};
  try {
    model.fit(bad_label, {});
    FAIL() << "label 3 of 3 classes accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("label 3 at sample 1"), std::string::npos) << e.what();
  }
  Dataset not_finite{Tensor::from_vector({1, 4}, std::vector<float>{0, std::nanf(""), 0, 0}),
                     Tensor::from_vector({1}, std::vector<int32_t>{0}), 3};
  EXPECT_THROW(model.fit(not_finite, {}), Error);
}

TEST(EndToEnd, PredictorEqualsForward) {
  Sequential network = Sequential::from_spec("20-7-3", 1);
  Predictor predictor(network, 2);
  std::vector<float> x(40), logits(6, std::nanf(""));
  Random random(2);
  for (float& v : x) v = random.uniform();
  predictor.predict(x.data(), logits.data());
  network.eval();
  std::vector<float> want = network.forward(Tensor::from_vector({2, 20}, x)).to_vector();
  for (size_t i = 0; i < want.size(); ++i) EXPECT_FLOAT_EQ(logits[i], want[i]);
}

TEST(EndToEnd, EarlyStoppingStopsAfterPatience) {
  EarlyStopping stop("val_loss", 1);
  EpochLogs logs;
  logs.val_loss = 1.0;
  EXPECT_FALSE(stop.on_epoch_end(logs));
  logs.val_loss = 1.5;
  EXPECT_FALSE(stop.on_epoch_end(logs));
  EXPECT_TRUE(stop.on_epoch_end(logs));
}

}  // namespace
}  // namespace leap
