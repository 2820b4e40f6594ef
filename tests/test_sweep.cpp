// fit_many: N models side by side end with the bits each would reach trained alone, on any
// number of threads; the summaries over seeds; bad sweeps refused before anything trains.
#include <gtest/gtest.h>
#include <omp.h>

#include <cmath>
#include <cstring>
#include <memory>

#include "error_matchers.h"
#include "leap/sweep.h"
#include "toy_data.h"
#include "leap/adam.h"
#include "train/model_group.h"

namespace leap {
namespace {

// Wide enough that the products go to OpenBLAS and the 600-unit layer's loops to OpenMP's
// threads (above 32768 elements), where a thread count could change the sums.
constexpr const char* kSpec = "48-600-6";

std::unique_ptr<Model> compiled(uint64_t seed, float lr) {
  auto model = std::make_unique<Model>(Sequential::from_spec(kSpec, seed));
  model->compile(adam({.lr = lr}));
  return model;
}

FitOptions fit_options(uint64_t seed, const Dataset* validation) {
  return {.epochs = 2, .batch_size = 96, .seed = seed, .validation_data = validation};
}

std::vector<std::vector<float>> weights(Model& model) {
  std::vector<std::vector<float>> values;
  for (Parameter* p : model.network().parameters()) values.push_back(p->value.to_vector());
  return values;
}

// Exact equality, NaN-free: the same bits for every float.
void expect_same_bits(Model& a, Model& b, const std::string& what) {
  const auto wa = weights(a), wb = weights(b);
  ASSERT_EQ(wa.size(), wb.size());
  for (size_t i = 0; i < wa.size(); ++i)
    EXPECT_EQ(0, std::memcmp(wa[i].data(), wb[i].data(), wa[i].size() * 4)) << what << ", parameter " << i;
}

class ThreadCount {
 public:
  explicit ThreadCount(int threads) : before_(omp_get_max_threads()) { omp_set_num_threads(threads); }
  ~ThreadCount() { omp_set_num_threads(before_); }

 private:
  int before_;
};

TEST(Sweep, EachModelEndsWithTheBitsOfItsRunAlone) {
  const Dataset train = pattern_data(500, 48, 6, 1), validation = pattern_data(100, 48, 6, 2);
  const float lrs[] = {1e-3f, 3e-3f};
  for (int workers : {2, 3, 1}) {
    std::vector<std::unique_ptr<Model>> models;
    std::vector<SweepMember> members;
    for (float lr : lrs)
      for (uint64_t seed : {0, 1}) {
        models.push_back(compiled(seed, lr));
        members.push_back({models.back().get(), nullptr, fit_options(seed, &validation)});
      }
    size_t ended = 0;
    const std::vector<History> histories =
        fit_many(members, train, {.workers = workers, .on_model_end = [&](size_t, const History&) { ++ended; }});
    ASSERT_EQ(histories.size(), 4u);
    EXPECT_EQ(ended, 4u);
    size_t k = 0;
    for (float lr : lrs)
      for (uint64_t seed : {0, 1}) {
        for (int threads : {1, 2}) {
          ThreadCount pool(threads);
          std::unique_ptr<Model> alone = compiled(seed, lr);
          const History history = alone->fit(train, fit_options(seed, &validation));
          expect_same_bits(*models[k], *alone, "workers " + std::to_string(workers) + ", model " +
                                                   std::to_string(k) + ", alone on " + std::to_string(threads) + " threads");
          EXPECT_EQ(history.epochs.back().val_loss, histories[k].epochs.back().val_loss);
        }
        ++k;
      }
  }
}

// On a GPU the models that the persistent kernel takes train side by side, their steps in
// one launch a cluster each (seeds, a learning rate, a batch size; another hidden width in a
// launch of its own); the graphs of the others (two deeper MLPs, a wider one) replay beside
// them on streams of their own. Each ends with the bits of its run alone.
TEST(Sweep, OnTheGpuEachModelEndsWithTheBitsOfItsRunAlone) {
  if (!available(Device::cuda)) GTEST_SKIP() << "no cuda device";
  const Dataset train = byte_pattern_data(700, 784, 10, 3), validation = byte_pattern_data(200, 784, 10, 4);
  struct Config {
    const char* spec;
    uint64_t seed;
    float lr;
    int batch;
  };
  const Config configs[] = {{"784-128-10", 0, 1e-3f, 64}, {"784-128-10", 1, 1e-3f, 64}, {"784-128-10", 2, 1e-3f, 64},
                            {"784-128-10", 0, 3e-3f, 48}, {"784-64-10", 0, 1e-3f, 64}, {"784-64-32-10", 0, 1e-3f, 16},
                            {"784-64-32-10", 1, 1e-3f, 16}, {"784-256-10", 0, 1e-3f, 16}};
  auto make = [&](const Config& c) {
    auto model = std::make_unique<Model>(Sequential::from_spec(c.spec, c.seed, Device::cuda));
    model->compile(adam({.lr = c.lr}));
    return model;
  };
  auto fit = [&](const Config& c) {
    return FitOptions{.epochs = 2, .batch_size = c.batch, .seed = c.seed, .validation_data = &validation};
  };
  std::vector<std::unique_ptr<Model>> models;
  std::vector<SweepMember> members;
  for (const Config& c : configs) {
    models.push_back(make(c));
    members.push_back({models.back().get(), nullptr, fit(c)});
  }
  const int64_t launches = ModelGroup::launches(), requests = ModelGroup::requests();
  fit_many(members, train, {.workers = int(members.size())});
  int cluster_models = 0, graph_models = 0;
  for (size_t i = 0; i < std::size(configs); ++i) {
    std::unique_ptr<Model> alone = make(configs[i]);
    alone->fit(train, fit(configs[i]));
    expect_same_bits(*models[i], *alone, std::string(configs[i].spec) + " model " + std::to_string(i) + " on " +
                                             models[i]->training_path());
    // The path first, then (for the others) why not the persistent kernel.
    cluster_models += models[i]->training_path().starts_with("one persistent kernel: a cluster");
    graph_models += models[i]->training_path().starts_with("CUDA graph");
  }
  if (cluster_models < 2) GTEST_SKIP() << "the persistent kernel took " << cluster_models << " models";
  // Batches of 16: the graph models replay both their graphs (16 steps, and one) beside the others.
  EXPECT_EQ(graph_models, 3);
  // Each model's launches were gathered with the others': fewer launches than requests.
  EXPECT_LT(ModelGroup::launches() - launches, ModelGroup::requests() - requests);
}

TEST(Sweep, WorkerCountsOnEachDevice) {
  EXPECT_EQ(sweep_workers(Device::cpu, 8, 0), std::min(8, std::max(1, omp_get_max_threads())));
  EXPECT_EQ(sweep_workers(Device::cpu, 8, 3), 3);
  EXPECT_EQ(sweep_workers(Device::cpu, 2, 5), 2) << "no more workers than models";
  // A GPU trains models side by side only when asked for, until that path has run on one.
  EXPECT_EQ(sweep_workers(Device::cuda, 8, 0), 1);
  EXPECT_EQ(sweep_workers(Device::cuda, 8, 1), 1);
  EXPECT_EQ(sweep_workers(Device::cuda, 8, 4), 4);
  EXPECT_EQ(sweep_workers(Device::cuda, 3, 8), 3);
}

TEST(Sweep, MembersMayBringTheirOwnData) {
  const Dataset train = pattern_data(300, 48, 6, 1), other = pattern_data(300, 48, 6, 7);
  auto a = compiled(0, 1e-3f), b = compiled(0, 1e-3f), alone = compiled(0, 1e-3f);
  std::vector<SweepMember> members{{a.get(), nullptr, fit_options(0, nullptr)},
                                   {b.get(), &other, fit_options(0, nullptr)}};
  fit_many(members, train, {.workers = 2});
  alone->fit(other, fit_options(0, nullptr));
  expect_same_bits(*b, *alone, "member with its own data");
}

TEST(Sweep, BadSweepsAreRefusedBeforeTraining) {
  const Dataset train = pattern_data(100, 48, 6, 1);
  std::vector<SweepMember> none;
  expect_contains(error_of([&] { fit_many(none, train); }), {"no models to train"});
  Model uncompiled(Sequential::from_spec(kSpec, 0));
  auto compiled_model = compiled(0, 1e-3f);
  std::vector<SweepMember> members{{compiled_model.get(), nullptr, fit_options(0, nullptr)},
                                   {&uncompiled, nullptr, fit_options(0, nullptr)}};
  expect_contains(error_of([&] { fit_many(members, train); }), {"not compiled"});
  EXPECT_TRUE(weights(*compiled_model) == weights(*compiled(0, 1e-3f))) << "a model trained before the check";
  members[1].model = nullptr;
  expect_contains(error_of([&] { fit_many(members, train); }), {"model 1 is null"});
  members[1].model = compiled_model.get();
  expect_contains(error_of([&] { fit_many(members, train); }), {"model 1 is model 0"});
}

TEST(Sweep, BadDataIsRefusedBeforeAnyModelTrains) {
  const Dataset train = pattern_data(100, 48, 6, 1), wrong = pattern_data(100, 20, 6, 1);
  auto a = compiled(0, 1e-3f), b = compiled(1, 1e-3f);
  std::vector<SweepMember> members{{a.get(), nullptr, fit_options(0, nullptr)},
                                   {b.get(), &wrong, fit_options(1, nullptr)}};
  expect_contains(error_of([&] { fit_many(members, train, {.workers = 2}); }), {"model 1's training data", "20 features"});
  EXPECT_TRUE(weights(*a) == weights(*compiled(0, 1e-3f))) << "a model trained before the check";
  members[1] = {b.get(), nullptr, fit_options(1, &wrong)};
  expect_contains(error_of([&] { fit_many(members, train, {.workers = 2}); }), {"model 1's validation data"});
}

TEST(Sweep, SpreadOverSeeds) {
  const double values[] = {1, 2, 3, 4};
  const Spread s = spread_of(values);
  EXPECT_DOUBLE_EQ(s.mean, 2.5);
  EXPECT_DOUBLE_EQ(s.std_dev, std::sqrt(5.0 / 3.0));  // n - 1, as numpy's ddof=1
  EXPECT_DOUBLE_EQ(s.std_error, std::sqrt(5.0 / 3.0) / 2);
  const double one[] = {0.7};
  EXPECT_EQ(spread_of(one).std_dev, 0);

  auto history = [](std::vector<double> val_accuracy, std::vector<double> val_loss) {
    History h;
    for (size_t e = 0; e < val_accuracy.size(); ++e)
      h.epochs.push_back({.epoch = int(e + 1), .val_loss = val_loss[e], .val_accuracy = val_accuracy[e],
                          .seconds = 1, .steps = 10});
    return h;
  };
  const History runs[] = {history({0.5, 0.8, 0.7}, {1.0, 0.4, 0.6}), history({0.6, 0.7, 0.9}, {0.9, 0.5, 0.3})};
  const SeedSummary summary = summarize_seeds(runs);
  EXPECT_DOUBLE_EQ(summary.final_val_accuracy.mean, 0.8);
  EXPECT_DOUBLE_EQ(summary.best_val_accuracy.mean, 0.85);
  EXPECT_DOUBLE_EQ(summary.final_val_loss.mean, 0.45);
  EXPECT_DOUBLE_EQ(summary.best_val_loss.mean, 0.35);
  EXPECT_DOUBLE_EQ(summary.steps_per_second, 10);
  std::vector<EpochLogs> mean, spread;
  mean_curves(runs, mean, spread);
  ASSERT_EQ(mean.size(), 3u);
  EXPECT_DOUBLE_EQ(mean[1].val_accuracy, 0.75);
  EXPECT_NEAR(spread[1].val_accuracy, std::sqrt(0.005), 1e-15);
  EXPECT_EQ(mean[2].epoch, 3);
}

TEST(Sweep, MemoryEstimateSaysHowManyWouldFit) {
  EXPECT_GT(training_bytes("784-128-10", 64, 60000), 4 * 4 * 101770);
  expect_contains(error_of([&] { check_sweep_fits(Device::cpu, int64_t(1) << 62, int64_t(1) << 40, 4096); }), {"models of the largest would fit"});
  EXPECT_NO_THROW(check_sweep_fits(Device::cpu, 1 << 20, 1 << 10, 4));
}

}  // namespace
}  // namespace leap
