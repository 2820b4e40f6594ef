#include "parallel/threads/rank_threads.h"

#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#include "leap/error.h"

namespace leap {

void run_rank_threads(ThreadGroup& group, const std::function<void(int rank)>& body) {
  std::mutex mutex;
  std::exception_ptr first_failure;
  std::vector<std::thread> threads;
  for (int rank = 0; rank < group.ranks(); ++rank)
    threads.emplace_back([&, rank] {
      try {
        body(rank);
      } catch (const std::exception& e) {
        {
          std::lock_guard lock(mutex);
          if (!first_failure) first_failure = std::current_exception();
        }
        group.fail("rank " + std::to_string(rank) + " failed: " + e.what());
      }
    });
  for (std::thread& thread : threads) thread.join();
  if (first_failure) std::rethrow_exception(first_failure);
}

}  // namespace leap
