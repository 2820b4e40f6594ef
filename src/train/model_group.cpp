#include "train/model_group.h"

#include <atomic>

namespace leap {
namespace {

thread_local ModelGroup* this_thread_group = nullptr;
std::atomic<int64_t> launches_so_far{0}, requests_so_far{0};

}  // namespace

ModelGroup* ModelGroup::current() { return this_thread_group; }
int64_t ModelGroup::launches() { return launches_so_far; }
int64_t ModelGroup::requests() { return requests_so_far; }

void ModelGroup::take_turn(std::unique_lock<std::mutex>& lock) {
  changed_.wait(lock, [&] { return !turn_taken_; });
  turn_taken_ = true;
}

ModelGroup::Member::Member(ModelGroup& group) : group_(group), outer_(this_thread_group) {
  std::unique_lock lock(group_.mutex_);
  group_.take_turn(lock);
  this_thread_group = &group_;
}

// A member that ends (or fails) no longer holds back the others' launch.
ModelGroup::Member::~Member() {
  this_thread_group = outer_;
  std::unique_lock lock(group_.mutex_);
  --group_.training_;
  group_.launch_if_complete();
  group_.turn_taken_ = false;
  group_.changed_.notify_all();
}

void ModelGroup::launch_if_complete() {
  if (gathered_.empty() || gathered_.size() < training_) return;
  const std::vector<const void*> requests = std::move(gathered_);
  gathered_.clear();
  ++generation_;
  ++launches_so_far;
  requests_so_far += int64_t(requests.size());
  // A launch that throws fails every gathering member alike: each rethrows it.
  try {
    launch_all_(requests);
    failure_ = nullptr;
  } catch (...) {
    failure_ = std::current_exception();
  }
}

Tensor ModelGroup::shared_tensor(const void* source, int64_t variant, const std::function<Tensor()>& make) {
  std::unique_lock lock(mutex_);
  const auto key = std::pair(source, variant);
  if (const auto found = shared_.find(key); found != shared_.end()) return found->second;
  Tensor made = make();  // with the turn held: no other member asks meanwhile
  if (made.defined()) shared_.emplace(key, made);
  return made;
}

void ModelGroup::gather(const void* request, const LaunchAll& launch_all) {
  std::unique_lock lock(mutex_);
  launch_all_ = launch_all;
  gathered_.push_back(request);
  const uint64_t mine = generation_;
  launch_if_complete();
  if (generation_ == mine) {
    // Others are still on their way: give them the turn until the launch has run.
    turn_taken_ = false;
    changed_.notify_all();
    changed_.wait(lock, [&] { return generation_ != mine; });
    take_turn(lock);
  }
  changed_.notify_all();
  if (failure_) std::rethrow_exception(failure_);
}

}  // namespace leap
