// NaN and Inf during training: stop naming the step and the layer, leave the last good
// checkpoint as it was; or skip the bad batch and go on.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "error_matchers.h"
#include "leap/leap.h"

namespace leap {
namespace {

namespace fs = std::filesystem;

// 40 samples of 6 features; sample `huge` (if any) has features so large that, through
// positive_first_layer's weights, they overflow to Inf (the inputs themselves are finite,
// so the data checks pass).
Dataset data_with_overflow(int64_t huge) {
  Random random(4);
  std::vector<float> x(40 * 6);
  std::vector<int32_t> y(40);
  for (float& v : x) v = random.uniform(-1, 1);
  for (int32_t i = 0; i < 40; ++i) y[i] = i % 3;
  if (huge >= 0)
    for (int j = 0; j < 6; ++j) x[huge * 6 + j] = 3e38f;
  return {Tensor::from_vector({40, 6}, x), Tensor::from_vector({40}, y), 3};
}

Model positive_first_layer() {
  Model model(Sequential::from_spec("6-5-3", 1));
  model.compile(adam());
  Tensor& w = model.network().parameters()[0]->value;
  w.copy_from(Tensor::from_vector(w.shape(), std::vector<float>(w.numel(), 0.5f)));
  return model;
}

std::string file_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

// Makes the weights of layer 0 NaN when an epoch begins.
class PoisonAtEpoch : public Callback {
 public:
  PoisonAtEpoch(Model& model, int epoch) : model_(model), epoch_(epoch) {}
  void on_epoch_begin(int epoch, int, int64_t) override {
    if (epoch != epoch_) return;
    Tensor& w = model_.network().parameters()[0]->value;
    w.copy_from(Tensor::from_vector(w.shape(), std::vector<float>(w.numel(), std::nanf(""))));
  }

 private:
  Model& model_;
  int epoch_;
};

TEST(NanGuard, StopsNamingTheStepAndLayerAndKeepsTheLastCheckpoint) {
  const fs::path dir = fs::temp_directory_path() / ("leap_nan_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  Model model(Sequential::from_spec("6-5-3", 1));
  model.compile(adam());
  PoisonAtEpoch poison(model, 3);
  FitOptions options{.epochs = 4, .batch_size = 8, .shuffle = false, .callbacks = {&poison}};
  options.checkpoint_path = (dir / "checkpoint.safetensors").string();
  options.checkpoint_every = 1;
  const Dataset data = data_with_overflow(-1);
  std::string before;
  class Snapshot : public Callback {
   public:
    Snapshot(const std::string& path, std::string& bytes) : path_(path), bytes_(bytes) {}
    void on_epoch_begin(int epoch, int, int64_t) override {
      if (epoch == 3) bytes_ = file_bytes(path_);
    }
    std::string path_;
    std::string& bytes_;
  } snapshot(options.checkpoint_path, before);
  options.callbacks.insert(options.callbacks.begin(), &snapshot);
  // Epoch 3's first step is step 11 (5 steps an epoch).
  expect_contains(error_of([&] { model.fit(data, options); }),
                  {"the loss became nan", "step 11 (epoch 3, batch 1)",
                   "non-finite weights in 0.weight of layer 0 (Linear(",
                   options.checkpoint_path + " (step 10)", "--on-nan skip"});
  ASSERT_FALSE(before.empty());
  EXPECT_EQ(file_bytes(options.checkpoint_path), before);
  fs::remove_all(dir);
}

TEST(NanGuard, OverflowingBatchStopsWithItsStep) {
  Model model = positive_first_layer();
  // Without shuffling, sample 17 is in batch 3 of 8-sample batches.
  FitOptions options{.epochs = 1, .batch_size = 8, .shuffle = false};
  expect_contains(error_of([&] { model.fit(data_with_overflow(17), options); }),
                  {"step 3 (epoch 1, batch 3)"});
}

TEST(NanGuard, SkipLeavesTheWeightsOfTheBadBatchAlone) {
  Model skipping = positive_first_layer();
  FitOptions options{.epochs = 2, .batch_size = 8, .shuffle = false};
  options.on_nan = NanPolicy::skip;
  History history = skipping.fit(data_with_overflow(17), options);
  EXPECT_TRUE(std::isfinite(history.epochs.back().loss));
  EXPECT_EQ(skipping.optimizer().steps(), 8);  // 10 batches, 2 skipped
  for (Parameter* p : skipping.network().parameters())
    for (float v : p->value.to_vector()) ASSERT_TRUE(std::isfinite(v));
  EXPECT_EQ(history.epochs.back().steps, 5);
}

}  // namespace
}  // namespace leap
