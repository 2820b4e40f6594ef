#include "parallel/host_plane.h"

namespace leap {
namespace {

class ThreadHostPlane final : public HostPlane {
 public:
  ThreadHostPlane(ThreadGroup& group, int rank) : group_(group), rank_(rank) {}
  int rank() const override { return rank_; }
  int ranks() const override { return group_.ranks(); }
  std::string describe() const override { return "threads of one process"; }
  void sum(double* values, int count) override { group_.sum(rank_, values, count); }
  void broadcast(void* data, size_t bytes, int root) override {
    group_.broadcast(rank_, data, bytes, root);
  }

 private:
  ThreadGroup& group_;
  int rank_;
};

}  // namespace

std::unique_ptr<HostPlane> thread_host_plane(ThreadGroup& group, int rank) {
  return std::make_unique<ThreadHostPlane>(group, rank);
}

}  // namespace leap
