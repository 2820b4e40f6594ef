#include "parallel/threads/thread_group.h"

#include <algorithm>
#include <chrono>
#include <cstring>

#include "leap/error.h"
#include "parallel/wait_for_peers.h"

namespace leap {

ThreadGroup::ThreadGroup(int ranks, double timeout_seconds)
    : ranks_(ranks), timeout_seconds_(timeout_seconds), contributions_(size_t(ranks)) {
  check(ranks > 0, "a thread group needs at least one rank, got " + std::to_string(ranks));
}

void ThreadGroup::fail(const std::string& why) {
  std::lock_guard lock(mutex_);
  if (failure_.empty()) failure_ = why;
  all_came_.notify_all();
}

void ThreadGroup::meet(int rank, void* contribution,
                       const std::function<void(std::span<void* const>)>& combine,
                       const char* what) {
  std::unique_lock lock(mutex_);
  if (!failure_.empty()) throw Error(failure_);
  contributions_.at(size_t(rank)) = contribution;
  const uint64_t round = round_;
  if (++arrived_ == ranks_) {
    // Every other rank waits with its buffer: the combination may write into them all.
    combine(contributions_);
    arrived_ = 0;
    ++round_;
    all_came_.notify_all();
    return;
  }
  const auto timeout = std::chrono::duration<double>(timeout_seconds_);
  all_came_.wait_for(lock, timeout, [&] { return round_ != round || !failure_.empty(); });
  if (round_ != round) return;
  if (failure_.empty())
    failure_ = peers_timed_out("rank " + std::to_string(rank) + "'s " + what, timeout_seconds_);
  all_came_.notify_all();
  throw Error(failure_);
}

namespace {

struct WeightedFloats {
  float* data;
  float weight;
};

}  // namespace

void ThreadGroup::sum(int rank, float* data, size_t count, float weight) {
  WeightedFloats mine{data, weight};
  meet(rank, &mine, [count](std::span<void* const> all) {
    std::vector<float> total(count, 0.0f);
    for (void* p : all) {
      const auto& part = *static_cast<WeightedFloats*>(p);
      for (size_t i = 0; i < count; ++i) total[i] += part.weight * part.data[i];
    }
    for (void* p : all)
      std::copy(total.begin(), total.end(), static_cast<WeightedFloats*>(p)->data);
  }, "sum");
}

void ThreadGroup::sum(int rank, double* data, int count) {
  meet(rank, data, [count](std::span<void* const> all) {
    std::vector<double> total(size_t(count), 0.0);
    for (void* p : all)
      for (int i = 0; i < count; ++i) total[size_t(i)] += static_cast<const double*>(p)[i];
    for (void* p : all)
      std::copy(total.begin(), total.end(), static_cast<double*>(p));
  }, "sum of host values");
}

void ThreadGroup::broadcast(int rank, void* data, size_t bytes, int root) {
  meet(rank, data, [bytes, root](std::span<void* const> all) {
    const void* source = all[size_t(root)];
    for (void* p : all)
      if (p != source && bytes) std::memcpy(p, source, bytes);
  }, "broadcast");
}

}  // namespace leap
