// Stop requests: SIGINT and SIGTERM set a flag that the training loop reads between steps,
// so that it can finish the step, write a checkpoint and stop cleanly.
#pragma once

namespace leap {

// Routes SIGINT and SIGTERM to request_stop (a second signal of either kills at once).
void install_stop_handlers();
// Gives SIGINT and SIGTERM back their default action (ending the process).
void remove_stop_handlers();

// Stop handlers for the lifetime of a scope (a training run): outside it, SIGINT ends the
// process as usual, since nothing would read the request.
class StopSignalScope {
 public:
  StopSignalScope() { install_stop_handlers(); }
  ~StopSignalScope() { remove_stop_handlers(); }
  StopSignalScope(const StopSignalScope&) = delete;
  StopSignalScope& operator=(const StopSignalScope&) = delete;
};
// Asks training to stop after its current step; `signal` names the cause (0: a caller).
void request_stop(int signal = 0);
bool stop_requested();
// The signal that asked (0 when a caller did), for the message and the exit status.
int stop_signal();
void clear_stop_request();

}  // namespace leap
