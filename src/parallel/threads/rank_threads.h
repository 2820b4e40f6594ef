// Ranks as threads of this process (run_on_threads, run_on_gpus): each runs its body; the
// first to fail stops the others' collectives and its error is the one rethrown.
#pragma once

#include <functional>

#include "parallel/threads/thread_group.h"

namespace leap {

void run_rank_threads(ThreadGroup& group, const std::function<void(int rank)>& body);

}  // namespace leap
