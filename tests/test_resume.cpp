// Checkpoint and resume: a run stopped and resumed ends with the same weights, bit for bit,
// as one never stopped (epoch and mid-epoch checkpoints, Adam and SGD, dropout); a stop
// request writes a checkpoint; mismatched settings are refused.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "error_matchers.h"
#include "leap/interrupt.h"
#include "leap/leap.h"
#include "leap/training_checkpoint.h"
#include "toy_data.h"

namespace leap {
namespace {

namespace fs = std::filesystem;

fs::path temp_dir(const std::string& name) {
  fs::path dir = fs::temp_directory_path() / ("leap_resume_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

std::vector<float> all_weights(Model& model) {
  std::vector<float> values;
  for (Parameter* p : model.network().parameters()) {
    std::vector<float> v = p->value.to_vector();
    values.insert(values.end(), v.begin(), v.end());
  }
  return values;
}

struct Recipe {
  std::string spec = "12-16-8-3";
  float dropout = 0.2f;
  bool sgd = false;
  Device device = Device::cpu;
  // 103 samples in batches of 10: each epoch ends with a partial batch.
  int64_t samples = 103;
  int batch_size = 10;
};

Model fresh_model(const Recipe& recipe) {
  Model model(Sequential::from_spec(recipe.spec, 3, recipe.device, recipe.dropout));
  model.compile(recipe.sgd ? sgd({.lr = 0.05f, .momentum = 0.9f}) : adam({.lr = 3e-3f}));
  return model;
}

FitOptions fit_options(int epochs, const Recipe& recipe = {}) {
  return {.epochs = epochs, .batch_size = recipe.batch_size, .seed = 5};
}

// The recipe's data: as many features and classes as its spec's first and last widths.
Dataset recipe_data(const Recipe& recipe, uint64_t seed) {
  Sequential shape = Sequential::from_spec(recipe.spec);
  return toy_data(recipe.samples, shape.input_width(), shape.output_width(), seed);
}

// Asks for a stop after `at_step` steps of the run.
class StopAt : public Callback {
 public:
  explicit StopAt(int64_t at_step) : at_step_(at_step) {}
  void on_batch_end(int64_t, int64_t) override {
    if (++steps_ == at_step_) request_stop();
  }

 private:
  int64_t at_step_, steps_ = 0;
};

// Ten epochs straight against a run stopped after `stop_step` steps and resumed. (Steps as
// the callbacks see them: a backend's fast path reports a chunk of steps at a time.) Skipped
// when the recipe's device is not usable.
void expect_resume_is_exact(const Recipe& recipe, int64_t stop_step, const std::string& name) {
  if (!available(recipe.device)) GTEST_SKIP() << "no usable CUDA GPU";
  const Dataset data = recipe_data(recipe, 1);
  Model straight = fresh_model(recipe);
  straight.fit(data, fit_options(10, recipe));

  const fs::path dir = temp_dir(name);
  Model first = fresh_model(recipe);
  StopAt stop(stop_step);
  FitOptions options = fit_options(10, recipe);
  options.checkpoint_path = (dir / "checkpoint.safetensors").string();
  options.callbacks = {&stop};
  const std::string message = error_of([&] {
    try {
      first.fit(data, options);
    } catch (const Interrupted& e) {
      throw Error(e.what());
    }
  });
  clear_stop_request();
  expect_contains(message, {"stopped by", options.checkpoint_path});
  if (recipe.device == Device::cpu) expect_contains(message, {"after step " + std::to_string(stop_step)});

  Model resumed = fresh_model(recipe);
  FitOptions rest = fit_options(10, recipe);
  rest.resume_from = checkpoint_file(dir.string());
  History history = resumed.fit(data, rest);
  EXPECT_EQ(history.epochs.back().epoch, 10);
  std::printf("%s: trained by %s; resumed from %s\n", name.c_str(), resumed.training_path().c_str(),
              message.substr(message.find("after step")).c_str());
  EXPECT_EQ(all_weights(resumed), all_weights(straight)) << name;
  fs::remove_all(dir);
}

TEST(Resume, AtAnEpochBoundaryIsBitIdentical) {
  // 11 steps an epoch: step 55 ends epoch 5.
  expect_resume_is_exact({}, 55, "epoch");
}

TEST(Resume, MidEpochIsBitIdentical) { expect_resume_is_exact({}, 37, "mid_epoch"); }

TEST(Resume, WithSgdMomentumIsBitIdentical) {
  expect_resume_is_exact({.dropout = 0.0f, .sgd = true}, 29, "sgd");
}

// Ten epochs straight against five with `first_five` (which say where and when to write a
// checkpoint) and five more resumed from that checkpoint.
void expect_five_and_five_are_ten(const FitOptions& first_five) {
  const Dataset data = toy_data(103, 12, 3, 2);
  Model straight = fresh_model({});
  straight.fit(data, fit_options(10));
  Model first = fresh_model({});
  first.fit(data, first_five);
  Model resumed = fresh_model({});
  FitOptions rest = fit_options(10);
  rest.resume_from = first_five.checkpoint_path;
  resumed.fit(data, rest);
  EXPECT_EQ(all_weights(resumed), all_weights(straight));
}

TEST(Resume, EpochCheckpointsAndResumeGiveTheSameWeights) {
  const fs::path dir = temp_dir("every");
  FitOptions options = fit_options(5);
  options.checkpoint_path = (dir / "checkpoint.safetensors").string();
  options.checkpoint_every = 5;
  expect_five_and_five_are_ten(options);
  // The checkpoint's weights load as plain weights too (its optimizer state is ignored).
  Sequential plain = Sequential::from_spec("12-16-8-3", 9, Device::cpu, 0.2f);
  load_weights(plain, options.checkpoint_path);
  fs::remove_all(dir);
}

TEST(Resume, TheCheckpointAtTheEndContinuesWithMoreEpochs) {
  const fs::path dir = temp_dir("at_end");
  FitOptions options = fit_options(5);
  options.checkpoint_path = (dir / "checkpoint.safetensors").string();
  options.checkpoint_at_end = true;
  expect_five_and_five_are_ten(options);
  fs::remove_all(dir);
}

TEST(Resume, StepCheckpointsLandOnTheirSteps) {
  const Dataset data = toy_data(103, 12, 3, 2);
  const fs::path dir = temp_dir("steps");
  Model model = fresh_model({});
  FitOptions options = fit_options(2);
  options.checkpoint_path = (dir / "checkpoint.safetensors").string();
  options.checkpoint_every = 7;
  options.checkpoint_in_steps = true;
  model.fit(data, options);
  std::map<std::string, std::string> metadata;
  load_safetensors(options.checkpoint_path, &metadata);
  EXPECT_EQ(metadata["step"], "21");  // the last multiple of 7 within 22 steps
  EXPECT_EQ(metadata["epoch"], "1");
  EXPECT_EQ(metadata["batch"], "10");
  fs::remove_all(dir);
}

TEST(Resume, RefusesOtherSettingsAndFinishedRuns) {
  const Dataset data = toy_data(50, 12, 3, 2);
  const fs::path dir = temp_dir("refuse");
  FitOptions options = fit_options(2);
  options.checkpoint_path = (dir / "checkpoint.safetensors").string();
  options.checkpoint_every = 2;
  Model model = fresh_model({});
  model.fit(data, options);

  Model other_batch = fresh_model({});
  FitOptions batch_32 = fit_options(4);
  batch_32.batch_size = 32;
  batch_32.resume_from = options.checkpoint_path;
  expect_contains(error_of([&] { other_batch.fit(data, batch_32); }),
                  {"--batch-size 10", "this run has 32"});

  Model sgd_model = fresh_model({.sgd = true});
  FitOptions resume = fit_options(4);
  resume.resume_from = options.checkpoint_path;
  expect_contains(error_of([&] { sgd_model.fit(data, resume); }), {"Adam", "SGD"});

  Model wider = fresh_model({.spec = "12-17-8-3"});
  expect_contains(error_of([&] { wider.fit(data, resume); }), {"0.weight", "[17, 12]"});

  Model done = fresh_model({});
  FitOptions same_epochs = fit_options(2);
  same_epochs.resume_from = options.checkpoint_path;
  expect_contains(error_of([&] { done.fit(data, same_epochs); }), {"nothing left to train"});

  Model plain = fresh_model({});
  save_weights(plain.network(), (dir / "weights.safetensors").string());
  resume.resume_from = (dir / "weights.safetensors").string();
  expect_contains(error_of([&] { plain.fit(data, resume); }), {"not a training checkpoint"});
  fs::remove_all(dir);
}

// On the GPU, resuming is bit-identical too, on every training path: no sum that reaches the
// weights uses atomics (the fused step reduces in a fixed order within each block, cuBLASLt
// picks the same algorithm for the same shapes and is run without atomics, dropout masks come
// from a counter-based generator whose count the checkpoint keeps). Only the logged loss,
// summed across blocks with atomics, may differ in its last bits.
Recipe gpu_recipe(const std::string& spec, float dropout, bool use_sgd) {
  // 20 full batches of 64 (what the fused step takes) and a partial one of 16 an epoch.
  return {.spec = spec, .dropout = dropout, .sgd = use_sgd, .device = Device::cuda,
          .samples = 20 * 64 + 16, .batch_size = 64};
}

TEST(Resume, OnTheGpuFusedStepIsBitIdentical) {
  // The fast path reports a chunk (20 steps) and then the partial batch: call 7 is mid-epoch 4.
  expect_resume_is_exact(gpu_recipe("784-128-10", 0.0f, false), 7, "gpu_fused");
}

TEST(Resume, OnTheGpuLayerGraphIsBitIdentical) {
  expect_resume_is_exact(gpu_recipe("784-64-32-10", 0.0f, false), 9, "gpu_layer_graph");
}

TEST(Resume, OnTheGpuLayerByLayerWithDropoutIsBitIdentical) {
  expect_resume_is_exact(gpu_recipe("784-64-32-10", 0.2f, false), 75, "gpu_dropout");
}

TEST(Resume, OnTheGpuWithSgdMomentumIsBitIdentical) {
  expect_resume_is_exact(gpu_recipe("784-64-32-10", 0.0f, true), 50, "gpu_sgd");
}

}  // namespace
}  // namespace leap
