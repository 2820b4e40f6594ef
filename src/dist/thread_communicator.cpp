// The CPU communicator of ranks that are threads of this process.
#include <memory>

#include "leap/dist.h"
#include "rank_threads.h"
#include "thread_group.h"

namespace leap {
namespace {

class ThreadCommunicator final : public Communicator {
 public:
  ThreadCommunicator(ThreadGroup& group, int rank) : group_(group), rank_(rank) {}

  int rank() const override { return rank_; }
  int ranks() const override { return group_.ranks(); }
  Device device() const override { return Device::cpu; }
  std::string describe() const override {
    return "threads of one process, rank " + std::to_string(rank_) + " of " + std::to_string(ranks());
  }
  // Sums at once: threads have no transport to overlap with.
  void start_sum(std::span<const FloatBuffer> bucket, float weight) override {
    for (const FloatBuffer& buffer : bucket) group_.sum(rank_, buffer.data, buffer.count, weight);
  }
  void finish() override {}
  void broadcast(FloatBuffer buffer, int root) override {
    group_.broadcast(rank_, buffer.data, buffer.count * sizeof(float), root);
  }
  void sum_on_host(double* values, int count) override { group_.sum(rank_, values, count); }

 private:
  ThreadGroup& group_;
  int rank_;
};

}  // namespace

void run_on_threads(int ranks, const Replica& replica, double timeout_seconds) {
  ThreadGroup group(ranks, timeout_seconds);
  run_rank_threads(group, [&](int rank) {
    ThreadCommunicator communicator(group, rank);
    replica(communicator);
  });
}

}  // namespace leap
