// Keras' callbacks (ModelCheckpoint, ReduceLROnPlateau, CSVLogger, TerminateOnNaN) against
// Keras' rules worked out by hand, and all of them together in one fit.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "error_matchers.h"
#include "leap/leap.h"

namespace leap {
namespace {

namespace fs = std::filesystem;

class CallbacksTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* test = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() / ("leap_callbacks_" + std::to_string(::getpid()) + "_" + test->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }

  static EpochLogs logs(int epoch, double loss, double val_loss = NAN, double val_accuracy = NAN) {
    EpochLogs l;
    l.epoch = epoch;
    l.loss = loss;
    l.val_loss = val_loss;
    l.val_accuracy = val_accuracy;
    return l;
  }
  static std::string read(const std::string& file) {
    std::ifstream in(file);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }

  fs::path dir_;
};

TEST_F(CallbacksTest, MonitorModes) {
  EXPECT_TRUE(Monitor("val_loss").improved(0.5, 0.6));
  EXPECT_TRUE(Monitor("val_accuracy").improved(0.6, 0.5));  // auto: higher is better
  EXPECT_TRUE(Monitor("val_loss", "max").improved(0.6, 0.5));
  EXPECT_FALSE(Monitor("loss", "min", 0.1).improved(0.55, 0.6));  // not by more than min_delta
  EXPECT_FALSE(Monitor("val_loss").improved(NAN, INFINITY));
  expect_contains(error_of([] { Monitor("val_los"); }), {"unknown monitor 'val_los'"});
  expect_contains(error_of([] { Monitor("loss", "lowest"); }), {"unknown mode 'lowest'"});
}

TEST_F(CallbacksTest, CheckpointEveryEpochNamesTheFileAfterIt) {
  Sequential network = Sequential::from_spec("4-3", 0);
  ModelCheckpoint checkpoint(network, path("w-{epoch:02d}-{loss:.2f}.safetensors"), {.monitor = "loss"});
  checkpoint.on_epoch_end(logs(1, 0.5));
  checkpoint.on_epoch_end(logs(2, 0.75));
  EXPECT_TRUE(fs::exists(path("w-01-0.50.safetensors")));
  EXPECT_TRUE(fs::exists(path("w-02-0.75.safetensors")));
  EXPECT_EQ(checkpoint.last_saved(), path("w-02-0.75.safetensors"));
  std::map<std::string, std::string> metadata;
  load_safetensors(checkpoint.last_saved(), &metadata);
  EXPECT_EQ(metadata.at("epoch"), "2");
  EXPECT_EQ(metadata.at("loss"), "0.75");
}

TEST_F(CallbacksTest, CheckpointBestOnlySavesImprovementsInTheMonitorsDirection) {
  Sequential network = Sequential::from_spec("4-3", 0);
  const std::string file = path("best.safetensors");
  ModelCheckpoint best(network, file, {.monitor = "val_accuracy", .save_best_only = true});
  best.on_epoch_end(logs(1, 1.0, NAN, NAN));  // no validation figure: nothing saved
  EXPECT_FALSE(fs::exists(file));
  best.on_epoch_end(logs(2, 1.0, 0.9, 0.70));
  best.on_epoch_end(logs(3, 1.0, 0.8, 0.65));  // worse accuracy: the epoch-2 file stays
  std::map<std::string, std::string> metadata;
  load_safetensors(file, &metadata);
  EXPECT_EQ(metadata.at("epoch"), "2");
  best.on_epoch_end(logs(4, 1.0, 0.8, 0.75));
  load_safetensors(file, &metadata);
  EXPECT_EQ(metadata.at("epoch"), "4");
  EXPECT_DOUBLE_EQ(best.best(), 0.75);
  // The weights saved are the model's.
  Sequential other = Sequential::from_spec("4-3", 9);
  load_weights(other, file);
  EXPECT_EQ(other.parameters()[0]->value.to_vector(), network.parameters()[0]->value.to_vector());
}

TEST_F(CallbacksTest, CheckpointRejectsBadPatternsAndMonitors) {
  Sequential network = Sequential::from_spec("4-3", 0);
  expect_contains(error_of([&] { ModelCheckpoint(network, path("w-{epoch:.2f}"), {}); }), {"{epoch}"});
  expect_contains(error_of([&] { ModelCheckpoint(network, path("w-{score}"), {}); }), {"unknown monitor 'score'"});
  expect_contains(error_of([&] { ModelCheckpoint(network, path("w"), {.mode = "up"}); }), {"unknown mode"});
}

TEST_F(CallbacksTest, ReduceLROnPlateauFollowsKerasPatienceCooldownAndFloor) {
  Sequential network = Sequential::from_spec("4-3", 0);
  std::unique_ptr<Optimizer> optimizer = adam({.lr = 1.0f})(network.parameters());
  ReduceLROnPlateau plateau(*optimizer, {.monitor = "loss", .factor = 0.5, .patience = 2,
                                         .cooldown = 1, .min_lr = 0.2});
  // Worked out with Keras' rules: a flat loss lowers the rate every 2 epochs after epoch 3
  // (one epoch of cooldown, then two of patience), down to min_lr.
  const std::vector<float> want = {1, 1, 0.5f, 0.5f, 0.25f, 0.25f, 0.2f, 0.2f, 0.2f};
  for (int epoch = 1; epoch <= int(want.size()); ++epoch) {
    plateau.on_epoch_end(logs(epoch, 1.0));
    EXPECT_FLOAT_EQ(optimizer->lr(), want[epoch - 1]) << "after epoch " << epoch;
  }
}

TEST_F(CallbacksTest, ReduceLROnPlateauWaitsForImprovementBeyondMinDelta) {
  Sequential network = Sequential::from_spec("4-3", 0);
  std::unique_ptr<Optimizer> optimizer = adam({.lr = 0.01f})(network.parameters());
  ReduceLROnPlateau plateau(*optimizer, {.patience = 1});  // val_loss, factor 0.1, min_delta 1e-4
  plateau.on_epoch_end(logs(1, 1.0, 0.5));
  plateau.on_epoch_end(logs(2, 1.0, 0.4));       // improved
  EXPECT_FLOAT_EQ(optimizer->lr(), 0.01f);
  plateau.on_epoch_end(logs(3, 1.0, 0.39995));  // better by less than min_delta
  EXPECT_FLOAT_EQ(optimizer->lr(), 0.001f);
  expect_contains(error_of([&] { ReduceLROnPlateau(*optimizer, {.factor = 1.5}); }), {"factor"});
}

TEST_F(CallbacksTest, CsvLoggerWritesKerasColumnsAndEmptyMissingFigures) {
  const std::string file = path("log.csv");
  {
    CSVLogger logger(file);
    EpochLogs first = logs(1, 0.5, 0.25, 0.75);
    first.accuracy = 0.8;
    first.seconds = 2;
    first.us_per_step = 500;
    first.steps = 4000;
    first.lr = 0.001f;
    logger.on_epoch_end(first);
    logger.on_epoch_end(logs(2, 0.125));
  }
  EXPECT_EQ(read(file),
            "epoch,loss,accuracy,val_loss,val_accuracy,seconds,us_per_step,steps,lr\n"
            "1,0.5,0.8,0.25,0.75,2,500,4000,0.00100000005\n"
            "2,0.125,0,,,0,0,0,0\n");
  {
    CSVLogger more(file, ';', true);  // appending: no second header
    more.on_epoch_end(logs(3, 0.0625));
  }
  EXPECT_EQ(read(file).substr(read(file).rfind("3;")), "3;0.0625;0;;;0;0;0;0\n");
  EXPECT_EQ(read(file).find("epoch", 1), std::string::npos);
  expect_contains(error_of([&] { CSVLogger(path("no/such/dir/log.csv")); }), {"cannot write CSV log"});
}

TEST_F(CallbacksTest, TerminateOnNaNStopsOnAnInvalidLoss) {
  TerminateOnNaN terminate;
  EXPECT_FALSE(terminate.on_epoch_end(logs(1, 0.5)));
  EXPECT_FALSE(terminate.on_epoch_end(logs(2, 0.5, NAN)));  // validation figures are not its concern
  EXPECT_EQ(terminate.stopped_epoch(), 0);
  EXPECT_TRUE(terminate.on_epoch_end(logs(3, NAN)));
  EXPECT_EQ(terminate.stopped_epoch(), 3);
  EXPECT_TRUE(TerminateOnNaN().on_epoch_end(logs(1, INFINITY)));
}

TEST_F(CallbacksTest, AllTogetherInOneFit) {
  Random random(3);
  std::vector<float> x(64 * 4);
  std::vector<int32_t> y(64);
  for (size_t i = 0; i < y.size(); ++i) {
    for (int j = 0; j < 4; ++j) x[i * 4 + j] = random.uniform();
    y[i] = x[i * 4] > 0.5f ? 1 : 0;
  }
  Dataset data{Tensor::from_vector({64, 4}, x), Tensor::from_vector({64}, y), 3, Tensor()};
  Model model(Sequential::from_spec("4-8-3", 0));
  model.compile(adam({.lr = 1e-2f}));
  ModelCheckpoint checkpoint(model.network(), path("best.safetensors"), {.save_best_only = true});
  ReduceLROnPlateau plateau(model.optimizer(), {.patience = 1});
  CSVLogger csv(path("metrics.csv"));
  TerminateOnNaN terminate;
  History history = model.fit(data, {.epochs = 3, .batch_size = 16, .validation_data = &data,
                                     .callbacks = {&checkpoint, &plateau, &csv, &terminate}});
  ASSERT_EQ(history.epochs.size(), 3u);
  EXPECT_TRUE(fs::exists(path("best.safetensors")));
  const std::string text = read(path("metrics.csv"));
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 4);
  EXPECT_EQ(terminate.stopped_epoch(), 0);
}

}  // namespace
}  // namespace leap
