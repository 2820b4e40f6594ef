// End to end through the Keras-style API on Fashion-MNIST: one epoch reaches 80% test
// accuracy, and fit/evaluate/predict/History agree with each other.
#include <gtest/gtest.h>

#include <algorithm>
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

// The small-batch CPU path against a float64 forward pass, fresh inputs each call, the
// output poisoned before each; fp32 sums of up to 784 products in another order: 1e-5.
TEST(EndToEnd, PredictorEqualsFloat64Forward) {
  for (const char* spec : {"20-7-3", "784-128-10", "784-33-17-5"}) {
    Sequential network = Sequential::from_spec(spec, 1);
    for (int batch : {1, 2, 5, 17}) {  // 17: past the small-batch path, layer by layer
      Predictor predictor(network, batch);
      const int in = network.input_width(), classes = network.output_width();
      Random random(batch);
      for (int call = 0; call < 2; ++call) {
        std::vector<float> x(size_t(batch) * in), logits(size_t(batch) * classes, std::nanf(""));
        for (float& v : x) v = random.uniform();
        predictor.predict(x.data(), logits.data());
        std::vector<double> a(x.begin(), x.end());
        int width = in;
        const std::vector<Parameter*> params = network.parameters();  // weight, bias, ...
        for (size_t l = 0; l < params.size(); l += 2) {
          const std::vector<float> w = params[l]->value.to_vector(), b = params[l + 1]->value.to_vector();
          const int out = int(b.size());
          std::vector<double> y(size_t(batch) * out);
          for (int r = 0; r < batch; ++r)
            for (int j = 0; j < out; ++j) {
              double sum = b[j];
              for (int k = 0; k < width; ++k) sum += double(w[size_t(j) * width + k]) * a[size_t(r) * width + k];
              y[size_t(r) * out + j] = l + 2 < params.size() ? std::max(sum, 0.0) : sum;
            }
          a = std::move(y);
          width = out;
        }
        for (size_t i = 0; i < a.size(); ++i)
          ASSERT_NEAR(logits[i], a[i], 1e-5 * (1 + std::abs(a[i]))) << spec << " batch " << batch << " at " << i;
      }
    }
  }
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
