// ThreadGroup: ranks that are threads of one process, meeting in collectives on host
// memory. It is how the GPUs of --gpus agree on host values (stop flags, loss sums), and on
// the CPU a whole communicator (run_on_threads).
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <span>
#include <string>
#include <vector>

namespace leap {

class ThreadGroup {
 public:
  ThreadGroup(int ranks, double timeout_seconds);
  int ranks() const { return ranks_; }

  // Every rank's data[count] becomes the sum over ranks of weight * data, added in rank
  // order (so every run adds alike).
  void sum(int rank, float* data, size_t count, float weight);
  void sum(int rank, double* data, int count);
  // Every rank's data[bytes] becomes rank root's.
  void broadcast(int rank, void* data, size_t bytes, int root);
  // Marks the group failed: ranks waiting in a collective, and those arriving later, throw
  // leap::Error with `why` (a failing rank calls it so the others do not wait for it).
  void fail(const std::string& why);

 private:
  // Waits until every rank has brought its contribution; the last to come runs `combine`
  // over all of them, rank by rank, before any rank returns.
  void meet(int rank, void* contribution,
            const std::function<void(std::span<void* const>)>& combine, const char* what);

  const int ranks_;
  const double timeout_seconds_;
  std::mutex mutex_;
  std::condition_variable all_came_;
  std::vector<void*> contributions_;
  int arrived_ = 0;
  uint64_t round_ = 0;
  std::string failure_;
};

}  // namespace leap
