// Models that train side by side on one GPU, each on a host thread of its own, with their
// launches gathered into one. The threads take turns: a member holds the turn while its host
// code runs and queues work on the device's one stream, so the backend sees one caller at a
// time, as with one model. A member whose runner would launch its steps gathers instead: it
// hands over its launch and gives up the turn until every member still training has done the
// same (or ended); the last one launches them all at once (on a GPU: the persistent kernel's
// in one launch, a cluster a model, and the graphs' beside it on streams of their own, in
// cuda/training/gathered_launch.h). Each model's work is what it would have been alone.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <map>
#include <mutex>
#include <span>
#include <utility>
#include <vector>

#include "leap/tensor.h"

namespace leap {

class ModelGroup {
 public:
  // Runs every requests' launch at once; the requests are the gathering members' arguments.
  using LaunchAll = std::function<void(std::span<const void* const> requests)>;

  explicit ModelGroup(size_t members) : training_(members) {}

  // The group of the calling thread's model (set by Member), or null when it trains alone.
  static ModelGroup* current();

  // A member's turn for its thread's lifetime: taken on construction (the group becomes the
  // thread's current()), given back when the member ends, even by an exception.
  class Member {
   public:
    explicit Member(ModelGroup& group);
    ~Member();
    Member(const Member&) = delete;
    Member& operator=(const Member&) = delete;

   private:
    ModelGroup& group_;
    ModelGroup* outer_;  // the thread's group before, again its own once this member ends
  };

  // Called with the turn held: adds `request` (which must live until this returns) to the
  // next gathered launch and returns once that launch is queued. The last member to gather
  // calls `launch_all` with every request; all members pass the same kind of request.
  void gather(const void* request, const LaunchAll& launch_all);

  // A tensor made once for the group from `source` (`variant` telling apart what is made from
  // one source), by the first member that asks, with `make`; an undefined tensor from `make`
  // is not kept. The persistent kernel's byte copy of the data set is one: every member reads
  // the same data, which lives as long as the group.
  Tensor shared_tensor(const void* source, int64_t variant, const std::function<Tensor()>& make);

  // The gathered launches that ran in this process, and the requests they took in all.
  static int64_t launches();
  static int64_t requests();

 private:
  void take_turn(std::unique_lock<std::mutex>& lock);
  // With the turn held: launches what is gathered once no training member is left out.
  void launch_if_complete();

  std::mutex mutex_;
  std::condition_variable changed_;
  bool turn_taken_ = false;
  size_t training_;  // members not yet ended
  std::vector<const void*> gathered_;
  LaunchAll launch_all_;
  uint64_t generation_ = 0;  // launches so far: a gathering member waits for the next
  std::exception_ptr failure_;  // the last launch's error, rethrown by each of its members
  std::map<std::pair<const void*, int64_t>, Tensor> shared_;
};

}  // namespace leap
