#include "leap/interrupt.h"

#include <atomic>
#include <csignal>

namespace leap {
namespace {

// Lock-free atomics are the only shared state a signal handler may touch.
std::atomic<bool> stop_flag{false};
std::atomic<int> stop_cause{0};

extern "C" void on_stop_signal(int signal) {
  if (stop_flag.load()) {
    // A second signal: the user does not want to wait for the checkpoint.
    std::signal(signal, SIG_DFL);
    std::raise(signal);
    return;
  }
  request_stop(signal);
}

}  // namespace

void install_stop_handlers() {
  std::signal(SIGINT, on_stop_signal);
  std::signal(SIGTERM, on_stop_signal);
}

void remove_stop_handlers() {
  std::signal(SIGINT, SIG_DFL);
  std::signal(SIGTERM, SIG_DFL);
}

void request_stop(int signal) {
  stop_cause.store(signal);
  stop_flag.store(true);
}

bool stop_requested() { return stop_flag.load(std::memory_order_relaxed); }
int stop_signal() { return stop_cause.load(); }

void clear_stop_request() {
  stop_flag.store(false);
  stop_cause.store(0);
}

}  // namespace leap
