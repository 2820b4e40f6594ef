// Waiting on the other ranks with a deadline: a rank that failed or stalled must stop the
// job with a message, not leave the others waiting forever.
#pragma once

#include <functional>
#include <string>

namespace leap {

// Polls `done` (yielding the core between polls) until it returns true. After
// timeout_seconds throws leap::Error saying that `what` waited that long for the others.
void wait_for_peers(const std::function<bool()>& done, double timeout_seconds,
                    const std::string& what);

// The message of a collective that timed out; shared so every transport says it alike.
std::string peers_timed_out(const std::string& what, double timeout_seconds);

}  // namespace leap
