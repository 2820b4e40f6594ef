// TerminateOnNaN: Keras' callback that stops after an epoch whose loss is not finite.
#pragma once

#include "leap/callback.h"

namespace leap {

// Keras' TerminateOnNaN: stops training after an epoch whose loss is NaN or infinite. It sees
// the epoch's loss only (reading it every batch would stall the GPU).
class TerminateOnNaN : public Callback {
 public:
  bool on_epoch_end(const EpochLogs& logs) override;
  // The epoch that stopped training, 0 while none did.
  int stopped_epoch() const { return stopped_epoch_; }

 private:
  int stopped_epoch_ = 0;
};

}  // namespace leap
