#include "parallel/wait_for_peers.h"

#include <chrono>
#include <thread>

#include "format_number.h"
#include "leap/error.h"

namespace leap {

std::string peers_timed_out(const std::string& what, double timeout_seconds) {
  return what + " waited " + format_number("%g", timeout_seconds) +
         " s for the other ranks: one of them has failed or stalled (the wait is "
         "--collective-timeout)";
}

void wait_for_peers(const std::function<bool()>& done, double timeout_seconds,
                    const std::string& what) {
  using Clock = std::chrono::steady_clock;
  const auto deadline = Clock::now() + std::chrono::duration<double>(timeout_seconds);
  // Spin briefly (a collective often completes in microseconds), then give the core away:
  // ranks may share cores with each other and with their compute threads.
  for (int polls = 0; !done(); ++polls) {
    if (polls < 256) continue;
    if (Clock::now() > deadline) throw Error(peers_timed_out(what, timeout_seconds));
    if (polls < 4096)
      std::this_thread::yield();
    else
      std::this_thread::sleep_for(std::chrono::microseconds(50));
  }
}

}  // namespace leap
