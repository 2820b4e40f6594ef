#include "connection_pool.h"

namespace leap::serve {
namespace {
thread_local bool shedding_thread = false;
}  // namespace

bool ConnectionPool::shedding() { return shedding_thread; }

ConnectionPool::ConnectionPool(int workers, int max_waiting, int shedders) : max_waiting_(max_waiting) {
  for (int i = 0; i < workers; ++i) threads_.emplace_back([this] { serve(work_, false); });
  for (int i = 0; i < shedders; ++i) threads_.emplace_back([this] { serve(shed_, true); });
}

ConnectionPool::~ConnectionPool() {
  if (!threads_.empty()) shutdown();
}

void ConnectionPool::enqueue(std::function<void()> connection) {
  {
    std::lock_guard lock(work_.mutex);
    if (int(work_.jobs.size()) < max_waiting_) {
      work_.jobs.push_back(std::move(connection));
      waiting_.store(int(work_.jobs.size()), std::memory_order_relaxed);
      work_.ready.notify_one();
      return;
    }
  }
  std::lock_guard lock(shed_.mutex);
  shed_.jobs.push_back(std::move(connection));
  shed_.ready.notify_one();
}

void ConnectionPool::serve(Queue& queue, bool shed) {
  shedding_thread = shed;
  for (;;) {
    std::function<void()> connection;
    {
      std::unique_lock lock(queue.mutex);
      queue.ready.wait(lock, [&] { return !queue.jobs.empty() || stopping_; });
      if (queue.jobs.empty()) return;  // stopping, and every connection served
      connection = std::move(queue.jobs.front());
      queue.jobs.pop_front();
      if (!shed) waiting_.store(int(queue.jobs.size()), std::memory_order_relaxed);
    }
    connection();
  }
}

void ConnectionPool::shutdown() {
  for (Queue* queue : {&work_, &shed_}) {
    std::lock_guard lock(queue->mutex);
    stopping_ = true;
    queue->ready.notify_all();
  }
  for (std::thread& thread : threads_) thread.join();
  threads_.clear();
}

}  // namespace leap::serve
