// The CPU communicator of ranks that are threads of this process.
#include <memory>

#include "leap/parallel.h"
#include "parallel/host_plane.h"
#include "parallel/threads/rank_threads.h"
#include "parallel/threads/thread_group.h"

namespace leap {
namespace {

class ThreadCommunicator final : public Communicator {
 public:
  // Its host-side collectives are the thread host plane's; only the weighted sums of
  // gradients go to the group directly.
  ThreadCommunicator(ThreadGroup& group, int rank) : group_(group), host_(thread_host_plane(group, rank)) {}

  int rank() const override { return host_->rank(); }
  int ranks() const override { return host_->ranks(); }
  Device device() const override { return Device::cpu; }
  std::string describe() const override {
    return host_->describe() + ", rank " + std::to_string(rank()) + " of " + std::to_string(ranks());
  }
  // Sums at once: threads have no transport to overlap with.
  void start_sum(std::span<const FloatBuffer> bucket, float weight) override {
    for (const FloatBuffer& buffer : bucket) group_.sum(rank(), buffer.data, buffer.count, weight);
  }
  void finish() override {}
  void broadcast(FloatBuffer buffer, int root) override {
    host_->broadcast(buffer.data, buffer.count * sizeof(float), root);
  }
  void sum_on_host(double* values, int count) override { host_->sum(values, count); }

 private:
  ThreadGroup& group_;
  std::unique_ptr<HostPlane> host_;
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
