#include <cmath>
#include <cstdio>

#include "leap/callback.h"
#include "leap/callbacks/terminate_on_nan.h"

namespace leap {

bool TerminateOnNaN::on_epoch_end(const EpochLogs& logs) {
  if (std::isfinite(logs.loss)) return false;
  stopped_epoch_ = logs.epoch;
  std::printf("Epoch %d: invalid loss %g, terminating training\n", logs.epoch, logs.loss);
  return true;
}

}  // namespace leap
