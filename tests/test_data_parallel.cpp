// Data-parallel training without MPI: ranks as threads of this process with in-process
// collectives (run_on_threads) run the trainer's data-parallel code. The shard arithmetic,
// the loader's shards, weighted sums and broadcasts, failure and timeout, and whole runs
// that must reach one process's weights (1e-5 relative) from different initial weights.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <mutex>
#include <thread>

#include "error_matchers.h"
#include "leap/leap.h"
#include "toy_data.h"

namespace leap {
namespace {

TEST(Shard, SlicesCoverTheBatchInRankOrderWithSizesOneApart) {
  for (int64_t count : {0, 1, 2, 5, 10, 64, 65, 1001})
    for (int ranks : {1, 2, 3, 7}) {
      int64_t next = 0;
      for (int rank = 0; rank < ranks; ++rank) {
        const Shard shard = shard_of(count, rank, ranks);
        EXPECT_EQ(shard.begin, next) << count << " samples, rank " << rank << " of " << ranks;
        EXPECT_TRUE(shard.size() == count / ranks || shard.size() == count / ranks + 1);
        EXPECT_GE(shard.size(), shard_of(count, ranks - 1, ranks).size());  // larger ones first
        next = shard.end;
      }
      EXPECT_EQ(next, count);
    }
  EXPECT_EQ(shard_of(10, 1, 3).begin, 4);
  EXPECT_EQ(shard_of(10, 1, 3).end, 7);
  expect_contains(error_of([] { shard_of(10, 3, 3); }), {"rank 3 of 3"});
}

TEST(Shard, RanksOfALoaderTakeTheirRowsOfTheSameGlobalBatches) {
  const Dataset data = toy_data(23, 4, 3, 1);
  const LoaderOptions options{.batch_size = 8, .shuffle = true, .seed = 5};
  DataLoader whole(data, options);
  std::vector<DataLoader> ranks(3, DataLoader(data, options));
  whole.start_epoch(1);
  for (int rank = 0; rank < 3; ++rank) {
    ranks[rank].shard(rank, 3);
    ranks[rank].start_epoch(1);
    EXPECT_EQ(ranks[rank].batches_per_epoch(), whole.batches_per_epoch());
  }
  Tensor images, labels;
  while (whole.next(images, labels)) {
    std::vector<int32_t> joined;
    for (DataLoader& rank : ranks) {
      Tensor rank_images, rank_labels;
      ASSERT_TRUE(rank.next(rank_images, rank_labels));
      EXPECT_EQ(rank.batch_samples(), whole.batch_samples());
      const std::vector<int32_t> part = rank_labels.to_label_vector();
      joined.insert(joined.end(), part.begin(), part.end());
    }
    EXPECT_EQ(joined, labels.to_label_vector());
  }
  for (DataLoader& rank : ranks) EXPECT_FALSE(rank.next(images, labels));
}

TEST(InProcessCommunicator, SumsWeightedBuffersInRankOrderAndBroadcasts) {
  run_on_threads(3, [](Communicator& communicator) {
    const int rank = communicator.rank();
    std::vector<float> values = {float(rank + 1), 10.0f * float(rank + 1)};
    const FloatBuffer bucket[] = {{values.data(), values.size()}};
    communicator.start_sum(bucket, 0.5f * float(rank + 1));
    communicator.finish();
    // 0.5 * (1*1 + 2*2 + 3*3) = 7
    EXPECT_EQ(values, (std::vector<float>{7.0f, 70.0f}));
    std::vector<float> mine = {float(rank), float(-rank)};
    communicator.broadcast({mine.data(), mine.size()}, 2);
    EXPECT_EQ(mine, (std::vector<float>{2.0f, -2.0f}));
    double counts[2] = {1.0, double(rank)};
    communicator.sum_on_host(counts, 2);
    EXPECT_EQ(counts[0], 3.0);
    EXPECT_EQ(counts[1], 3.0);
  });
}

TEST(InProcessCommunicator, AFailingRankStopsTheOthersAtOnce) {
  const auto start = std::chrono::steady_clock::now();
  const std::string message = error_of([] {
    run_on_threads(2, [](Communicator& communicator) {
      if (communicator.rank() == 1) throw Error("rank one could not read its data");
      double flag = 0.0;
      communicator.sum_on_host(&flag, 1);  // would wait the whole timeout for rank 1
    }, 60.0);
  });
  EXPECT_EQ(message, "rank one could not read its data");
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
}

TEST(InProcessCommunicator, AStalledRankTimesOutTheOthers) {
  const std::string message = error_of([] {
    run_on_threads(2, [](Communicator& communicator) {
      if (communicator.rank() == 1) {
        std::this_thread::sleep_for(std::chrono::milliseconds(500));
        return;
      }
      double flag = 0.0;
      communicator.sum_on_host(&flag, 1);
    }, 0.1);
  });
  expect_contains(message, {"rank 0", "0.1 s", "failed or stalled", "--collective-timeout"});
}

std::vector<float> all_weights(Sequential& network) {
  std::vector<float> values;
  for (Parameter* p : network.parameters()) {
    const std::vector<float> v = p->value.to_vector();
    values.insert(values.end(), v.begin(), v.end());
  }
  return values;
}

double relative_difference(const std::vector<float>& a, const std::vector<float>& b) {
  double difference = 0.0, largest = 0.0;
  for (size_t i = 0; i < a.size(); ++i) {
    difference = std::max(difference, double(std::fabs(a[i] - b[i])));
    largest = std::max(largest, double(std::fabs(b[i])));
  }
  return difference / largest;
}

struct Run {
  std::vector<float> weights;
  History history;
};

// 203 samples in batches of 16: the last batch of 11 gives ranks unequal shares.
const std::string kSpec = "12-16-8-3";

FitOptions fit_options(const Dataset& validation) {
  return {.epochs = 2, .batch_size = 16, .seed = 9, .validation_data = &validation};
}

Run train_alone(OptimizerFactory optimizer, Device device = Device::cpu) {
  const Dataset train = toy_data(203, 12, 3, 4), validation = toy_data(37, 12, 3, 5);
  Model model(Sequential::from_spec(kSpec, 3, device));
  model.compile(optimizer);
  History history = model.fit(train, fit_options(validation));
  return {all_weights(model.network()), history};
}

// Every rank starts from other weights: the broadcast of rank 0's must make them one model.
// On the CPU the ranks are threads with in-process collectives; on GPUs, NCCL's.
std::vector<Run> train_on_ranks(int ranks, OptimizerFactory optimizer, Device device = Device::cpu) {
  const Dataset train = toy_data(203, 12, 3, 4), validation = toy_data(37, 12, 3, 5);
  std::vector<Run> runs(static_cast<size_t>(ranks));
  const auto run_ranks = device == Device::cpu ? run_on_threads : run_on_gpus;
  run_ranks(ranks, [&](Communicator& communicator) {
    const int rank = communicator.rank();
    Model model(Sequential::from_spec(kSpec, rank == 0 ? 3 : 100 + rank, device));
    model.compile(optimizer);
    FitOptions options = fit_options(validation);
    options.communicator = &communicator;
    History history = model.fit(train, options);
    runs[size_t(rank)] = {all_weights(model.network()), history};
  }, kDefaultCollectiveTimeout);
  return runs;
}

// fp32 on a GPU: products of other row counts may add in another order (cuBLASLt picks its
// kernel by shape), hence a looser bound there.
void expect_one_process(int ranks, OptimizerFactory optimizer, Device device = Device::cpu) {
  const Run alone = train_alone(optimizer, device);
  const std::vector<Run> shared = train_on_ranks(ranks, optimizer, device);
  const double tolerance = device == Device::cpu ? 1e-5 : 1e-4;
  EXPECT_LT(relative_difference(shared[0].weights, alone.weights), tolerance) << ranks << " ranks";
  for (const Run& replica : shared) EXPECT_EQ(replica.weights, shared[0].weights);
  for (size_t epoch = 0; epoch < alone.history.epochs.size(); ++epoch) {
    const EpochLogs& a = alone.history.epochs[epoch];
    const EpochLogs& b = shared[0].history.epochs[epoch];
    EXPECT_NEAR(b.loss, a.loss, tolerance * a.loss);
    EXPECT_EQ(b.steps, a.steps);
    EXPECT_NEAR(b.val_loss, a.val_loss, tolerance * a.val_loss);
    EXPECT_NEAR(b.accuracy, a.accuracy, 1.5 / 203);  // a sample on the edge may flip
  }
}

TEST(DataParallel, TwoAndThreeRanksTrainToTheWeightsOfOneProcessWithAdam) {
  expect_one_process(2, adam({.lr = 3e-3f}));
  expect_one_process(3, adam({.lr = 3e-3f}));
}

TEST(DataParallel, ThreeRanksTrainToTheWeightsOfOneProcessWithSgdMomentum) {
  expect_one_process(3, sgd({.lr = 0.05f, .momentum = 0.9f}));
}

bool two_gpus() { return nccl_built() && cuda_device_count() >= 2; }

TEST(DataParallelGpu, NcclSumsWeightedBuffersAndBroadcasts) {
  if (!two_gpus()) GTEST_SKIP() << "needs NCCL and two GPUs";
  run_on_gpus(2, [](Communicator& communicator) {
    const int rank = communicator.rank();
    Tensor values = Tensor::from_vector({3}, std::vector<float>{float(rank + 1), 2.0f, -4.0f * float(rank)}, Device::cuda);
    const FloatBuffer bucket[] = {{values.data(), 3}};
    communicator.start_sum(bucket, rank == 0 ? 0.25f : 0.75f);
    communicator.finish();
    // 0.25 * (1, 2, 0) + 0.75 * (2, 2, -4)
    EXPECT_EQ(values.to_vector(), (std::vector<float>{1.75f, 2.0f, -3.0f}));
    Tensor mine = Tensor::from_vector({2}, std::vector<float>{float(rank), 1.0f}, Device::cuda);
    communicator.broadcast({mine.data(), 2}, 1);
    communicator.finish();
    EXPECT_EQ(mine.to_vector(), (std::vector<float>{1.0f, 1.0f}));
  });
}

TEST(DataParallelGpu, TwoGpusOfOneProcessTrainToTheWeightsOfOne) {
  if (!two_gpus()) GTEST_SKIP() << "needs NCCL and two GPUs";
  expect_one_process(2, adam({.lr = 3e-3f}), Device::cuda);
}

TEST(DataParallel, ABatchSmallerThanTheRanksIsRefused) {
  const Dataset train = toy_data(20, 4, 2, 1);
  const std::string message = error_of([&] {
    run_on_threads(3, [&](Communicator& communicator) {
      Model model(Sequential::from_spec("4-2", 0));
      model.compile(adam());
      model.fit(train, {.batch_size = 2, .communicator = &communicator});
    });
  });
  expect_contains(message, {"batch of 2", "3 ranks", "global batch"});
}

// Ranks see a stop request at different steps; they must stop at the same one.
class StopAtStep : public Callback {
 public:
  explicit StopAtStep(int64_t step) : step_(step) {}
  void on_batch_end(int64_t step, int64_t) override {
    if (step == step_) request_stop();
  }

 private:
  int64_t step_;
};

TEST(DataParallel, RanksStopTogetherWhenOneIsAskedTo) {
  clear_stop_request();
  const Dataset train = toy_data(203, 12, 3, 4);
  std::vector<std::string> messages(2);
  run_on_threads(2, [&](Communicator& communicator) {
    Model model(Sequential::from_spec(kSpec, 3));
    model.compile(adam());
    StopAtStep stop(5);
    FitOptions options{.epochs = 2, .batch_size = 16, .communicator = &communicator};
    if (communicator.rank() == 1) options.callbacks = {&stop};
    try {
      model.fit(train, options);
    } catch (const Interrupted& e) {
      messages[size_t(communicator.rank())] = e.what();
    }
  });
  clear_stop_request();
  expect_contains(messages[0], {"after step 6"});
  EXPECT_EQ(messages[0], messages[1]);
}

TEST(DataParallel, EachRankDrawsItsOwnDropoutMasks) {
  Dropout first(0.5f, 7), second(0.5f, 7);
  second.set_stream(1);
  const Tensor ones = Tensor::from_vector({1, 64}, std::vector<float>(64, 1.0f));
  EXPECT_NE(first.forward(ones).to_vector(), second.forward(ones).to_vector());
}

}  // namespace
}  // namespace leap
