#include "leap/sweep.h"

#include <omp.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <exception>
#include <fstream>
#include <mutex>
#include <set>
#include <thread>
#include <tuple>

#include "leap/backend.h"
#include "leap/error.h"
#include "leap/sequential.h"
#include "train/model_group.h"

namespace leap {
namespace {

// What the device has free for new models: the CPU's MemAvailable (page cache included, as
// the kernel counts it), a GPU's whole memory (the sweep is what runs there).
int64_t free_bytes(Device device) {
  if (device != Device::cpu) return backend(device).info().memory_bytes;
  std::ifstream meminfo("/proc/meminfo");
  std::string key;
  int64_t kib = 0;
  while (meminfo >> key >> kib)
    if (key == "MemAvailable:") return kib * 1024;
  return int64_t(sysconf(_SC_AVPHYS_PAGES)) * sysconf(_SC_PAGESIZE);
}

// Trains the models one after another, each with every core (or the GPU) to itself.
void fit_one_after_another(std::span<SweepMember> members, const std::function<void(size_t)>& fit_member) {
  for (size_t i = 0; i < members.size(); ++i) fit_member(i);
}

// The members' queue that workers take models from, one at a time, until it is empty or a
// model has failed: the others end the model they train and take no new one.
class MemberQueue {
 public:
  explicit MemberQueue(size_t models) : failures_(models), models_(models) {}
  // Trains the models this worker takes, each with fit_member(index).
  void work(const std::function<void(size_t)>& fit_member) {
    for (size_t i; !failed_.load() && (i = next_.fetch_add(1)) < models_;) {
      try {
        fit_member(i);
      } catch (...) {
        failures_[i] = std::current_exception();
        failed_ = true;
      }
    }
  }
  // The first failure in the members' order, rethrown once every worker has ended.
  void rethrow_first() const {
    for (const std::exception_ptr& failure : failures_)
      if (failure) std::rethrow_exception(failure);
  }

 private:
  std::vector<std::exception_ptr> failures_;
  const size_t models_;
  std::atomic<size_t> next_{0};
  std::atomic<bool> failed_{false};
};

// Trains `workers` models at once, one a core: each worker is a thread of OpenMP's pool, and
// inside a parallel region OpenBLAS and leap's own loops run on the calling thread alone.
void fit_side_by_side(std::span<SweepMember> members, int workers,
                      const std::function<void(size_t)>& fit_member) {
  MemberQueue queue(members.size());
#pragma omp parallel num_threads(workers)
  {
    omp_set_num_threads(1);  // this worker's nested loops: its own thread only
    queue.work(fit_member);
  }
  queue.rethrow_first();
}

// Trains `workers` models at once on a GPU, a host thread each, their step launches gathered
// into one (ModelGroup): the persistent kernel runs them a cluster each. Models on other
// paths take the device in turns.
void fit_in_one_group(std::span<SweepMember> members, int workers,
                      const std::function<void(size_t)>& fit_member) {
  ModelGroup group{size_t(workers)};
  const int gpu = current_cuda_device();
  MemberQueue queue(members.size());
  std::vector<std::thread> threads;
  for (int w = 0; w < workers; ++w)
    threads.emplace_back([&] {
      ModelGroup::Member member(group);
      queue.work([&](size_t i) {
        use_cuda_device(gpu);  // this thread's Device::cuda: the sweep's GPU
        fit_member(i);
      });
    });
  for (std::thread& thread : threads) thread.join();
  queue.rethrow_first();
}

// Checks every member's training and validation data before any model trains, each data set
// once for each pair of input width and classes that reads it: a check reads every value (on a
// GPU, after a copy to the host), tens of milliseconds for Fashion-MNIST.
void check_data_once(std::span<SweepMember> members, const Dataset& train) {
  std::set<std::tuple<const Dataset*, int64_t, int>> checked;
  auto check_once = [&](const Dataset& data, Model& model, const std::string& what) {
    const int64_t width = model.network().input_width();
    const int classes = model.network().output_width();
    if (checked.insert({&data, width, classes}).second) check_dataset(data, width, classes, what);
  };
  for (size_t i = 0; i < members.size(); ++i) {
    SweepMember& member = members[i];
    const std::string which = "model " + std::to_string(i) + "'s ";
    check_once(member.train ? *member.train : train, *member.model, which + "training data");
    if (member.fit.validation_data) check_once(*member.fit.validation_data, *member.model, which + "validation data");
  }
}

}  // namespace

// Model::fit on data that check_data_once has checked.
class SweepFit {
 public:
  static History fit(Model& model, const Dataset& train, const FitOptions& options) {
    return model.fit(train, options, Model::DataChecked::yes);
  }
};

// On a GPU, models side by side (ModelGroup, gathered_launch) only when a worker count asks
// for them, until that path has run on a GPU: its tests and benchmark are written and wait
// for one (bench/gpu_runs.sh second).
constexpr bool kSideBySideOnGpuByDefault = false;

int sweep_workers(Device device, size_t models, int requested) {
  size_t wanted = size_t(std::max(requested, 1));
  if (requested == 0)
    wanted = device == Device::cpu ? size_t(std::max(1, omp_get_max_threads()))
             : kSideBySideOnGpuByDefault ? models
                                         : 1;
  return int(std::max<size_t>(1, std::min(models, wanted)));
}

std::vector<History> fit_many(std::span<SweepMember> members, const Dataset& train,
                              const SweepOptions& options) {
  check(!members.empty(), "fit_many: no models to train");
  check(options.workers >= 0, "fit_many: workers must not be negative, got " + std::to_string(options.workers));
  for (size_t i = 0; i < members.size(); ++i) {
    check(members[i].model != nullptr, "fit_many: model " + std::to_string(i) + " is null");
    for (size_t j = 0; j < i; ++j)
      check(members[j].model != members[i].model, "fit_many: model " + std::to_string(i) + " is model " +
                                                      std::to_string(j) + " (each model trains once)");
  }
  const Device device = members[0].model->device();
  for (size_t i = 0; i < members.size(); ++i) {
    check(members[i].model->device() == device,
          "fit_many: model " + std::to_string(i) + " is on " + to_string(members[i].model->device()) +
              ", model 0 on " + to_string(device) + " (a sweep trains on one device)");
    members[i].model->optimizer();  // throws when a model is not compiled, before any trains
    check(members[i].fit.communicator == nullptr,
          "fit_many: model " + std::to_string(i) + " has a communicator (a sweep trains each model alone)");
  }
  check_data_once(members, train);
  backend(device);  // set up once, on this thread, before any worker uses it
  const Dataset shared = train.to(device);  // one resident copy for every member without its own

  std::vector<History> histories(members.size());
  std::mutex ended;
  auto fit_member = [&](size_t i) {
    SweepMember& member = members[i];
    histories[i] = SweepFit::fit(*member.model, member.train ? *member.train : shared, member.fit);
    if (options.on_model_end) {
      std::lock_guard<std::mutex> lock(ended);
      options.on_model_end(i, histories[i]);
    }
  };
  const int workers = sweep_workers(device, members.size(), options.workers);
  if (workers <= 1) fit_one_after_another(members, fit_member);
  else if (device == Device::cpu) fit_side_by_side(members, workers, fit_member);
  else fit_in_one_group(members, workers, fit_member);
  return histories;
}

int64_t training_bytes(const std::string& spec, int batch, int64_t samples) {
  const std::vector<int> widths = parse_spec(spec);
  int64_t parameters = 0, units = 0;
  for (size_t i = 0; i < widths.size(); ++i) {
    units += widths[i];
    if (i + 1 < widths.size()) parameters += int64_t(widths[i]) * widths[i + 1] + widths[i + 1];
  }
  const int64_t rows = std::max<int64_t>(batch, 1024);  // evaluation runs batches of 1024
  // Values, gradients and two moments; each layer's output, its gradient and a ReLU mask
  // or scratch copy; the shuffled order and its sort keys.
  return 4 * (4 * parameters + 3 * rows * units + 3 * samples);
}

int64_t shared_data_bytes(Device device, int64_t samples, int features) {
  return device == Device::cpu ? 0 : samples * features;
}

void check_sweep_fits(Device device, int64_t needs, int64_t largest_model_bytes, size_t models) {
  const int64_t available = free_bytes(device);
  if (needs <= available) return;
  const int64_t would_fit = largest_model_bytes > 0 ? available / largest_model_bytes : 0;
  throw OutOfMemory("a sweep of " + std::to_string(models) + " models needs about " +
                    std::to_string(needs >> 20) + " MiB on the " + to_string(device) + ", which has " +
                    std::to_string(available >> 20) + " MiB free: about " + std::to_string(would_fit) +
                    " models of the largest would fit (fewer seeds or values, or --workers)");
}

Spread spread_of(std::span<const double> values) {
  Spread s{.count = values.size()};
  if (values.empty()) return s;
  for (double v : values) s.mean += v;
  s.mean /= double(values.size());
  if (values.size() < 2) return s;
  double squares = 0;
  for (double v : values) squares += (v - s.mean) * (v - s.mean);
  s.std_dev = std::sqrt(squares / double(values.size() - 1));
  s.std_error = s.std_dev / std::sqrt(double(values.size()));
  return s;
}

SeedSummary summarize_seeds(std::span<const History> histories) {
  std::vector<double> final_acc, best_acc, final_loss, best_loss, train_acc, train_loss;
  double steps_per_second = 0;
  for (const History& history : histories) {
    if (history.epochs.empty()) continue;
    const EpochLogs& last = history.epochs.back();
    final_acc.push_back(last.val_accuracy);
    final_loss.push_back(last.val_loss);
    train_acc.push_back(last.accuracy);
    train_loss.push_back(last.loss);
    double best_a = -INFINITY, best_l = INFINITY, seconds = 0;
    int64_t steps = 0;
    for (const EpochLogs& logs : history.epochs) {
      best_a = std::max(best_a, logs.val_accuracy);  // max and min skip NaN on this side
      best_l = std::min(best_l, logs.val_loss);
      seconds += logs.seconds;
      steps += logs.steps;
    }
    best_acc.push_back(std::isfinite(best_a) ? best_a : NAN);
    best_loss.push_back(std::isfinite(best_l) ? best_l : NAN);
    if (seconds > 0) steps_per_second += double(steps) / seconds;
  }
  SeedSummary summary{spread_of(final_acc), spread_of(best_acc), spread_of(final_loss),
                      spread_of(best_loss), spread_of(train_acc), spread_of(train_loss), 0};
  if (!final_acc.empty()) summary.steps_per_second = steps_per_second / double(final_acc.size());
  return summary;
}

void mean_curves(std::span<const History> histories, std::vector<EpochLogs>& mean,
                 std::vector<EpochLogs>& spread) {
  mean.clear();
  spread.clear();
  if (histories.empty()) return;
  size_t epochs = SIZE_MAX;
  for (const History& history : histories) epochs = std::min(epochs, history.epochs.size());
  for (size_t e = 0; e < epochs; ++e) {
    // The figures a chart draws, each averaged over the models.
    double EpochLogs::*figures[] = {&EpochLogs::loss, &EpochLogs::accuracy, &EpochLogs::val_loss,
                                    &EpochLogs::val_accuracy, &EpochLogs::us_per_step, &EpochLogs::seconds};
    EpochLogs m = histories[0].epochs[e], s = m;
    for (double EpochLogs::*figure : figures) {
      std::vector<double> values;
      for (const History& history : histories) values.push_back(history.epochs[e].*figure);
      const Spread spread_here = spread_of(values);
      m.*figure = spread_here.mean;
      s.*figure = spread_here.std_dev;
    }
    double lr = 0;
    for (const History& history : histories) lr += history.epochs[e].lr;
    m.lr = float(lr / double(histories.size()));
    s.lr = 0;
    mean.push_back(m);
    spread.push_back(s);
  }
}

}  // namespace leap
