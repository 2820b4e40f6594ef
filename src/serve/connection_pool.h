// The HTTP server's worker threads, a thread per keep-alive connection. The connections that
// wait for a worker are bounded: past the bound, a connection goes to a shedding thread whose
// requests are answered 503 with Retry-After (shedding() is true there), so that a burst far
// above capacity costs a fast refusal instead of unbounded memory and latency.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace leap::serve {

class ConnectionPool {
 public:
  ConnectionPool(int workers, int max_waiting, int shedders);
  ~ConnectionPool();
  void enqueue(std::function<void()> connection);
  // Serves every connection already accepted, then joins the threads.
  void shutdown();

  // True on a shedding thread: its requests are to be refused.
  static bool shedding();
  int waiting() const { return waiting_.load(std::memory_order_relaxed); }

 private:
  struct Queue {
    std::mutex mutex;
    std::condition_variable ready;
    std::deque<std::function<void()>> jobs;
  };
  void serve(Queue& queue, bool shed);

  int max_waiting_;
  std::atomic<int> waiting_{0};
  std::atomic<bool> stopping_{false};  // set under each queue's mutex in turn
  Queue work_, shed_;
  std::vector<std::thread> threads_;
};

}  // namespace leap::serve
