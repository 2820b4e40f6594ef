// StepChecker: carries a training epoch's loss sums from the device into its progress and
// checks on the way that every loss and gradient is finite (NanPolicy says what follows).
#pragma once

#include <cstdint>
#include <string>

#include "device_sums.h"
#include "leap/parallel.h"
#include "leap/sequential.h"
#include "leap/model.h"

namespace leap {

class StepChecker {
 public:
  // `last_checkpoint` describes the last checkpoint written, for the message of a stop.
  // With a communicator of several ranks, the sums read are those of all ranks (each rank
  // reads at the same steps, so each decides alike).
  StepChecker(Sequential& network, NanPolicy policy, std::string last_checkpoint,
              Communicator* communicator = nullptr);

  // Where the steps add their summed loss and correct count.
  double* loss_sum() { return sums_.loss_sum(); }
  int64_t* correct() { return sums_.correct(); }

  // After the backward of step progress.step (layer by layer): true when the step may be
  // applied, false when it is to be skipped (policy skip). Reads the device sums every
  // interval() steps, or now when `read_now`; scans gradients in host memory every step.
  bool check_step(TrainingProgress& progress, int64_t batch_samples, bool read_now);
  // After the fast path ran steps [first_step, progress.step]: reads the sums (policy stop
  // only: the fast path cannot undo a step).
  void check_chunk(TrainingProgress& progress, int64_t first_step);
  // Moves what the device still holds into progress (before a checkpoint, at epoch end).
  void settle(TrainingProgress& progress);

 private:
  // The first parameter whose gradient holds a NaN or Inf, described; "" when none does.
  std::string non_finite_gradient();
  // What is broken: the first parameter with non-finite weights, else non_finite_gradient.
  std::string culprit();
  // The sums on the device (all ranks' when shared).
  DeviceSums::Values read_sums();
  // Adds sums read from the device to progress and zeroes them there.
  void absorb(const DeviceSums::Values& added, TrainingProgress& progress);
  [[noreturn]] void stop(const std::string& what, int64_t first_step, const TrainingProgress& progress);

  Sequential& network_;
  NanPolicy policy_;
  std::string last_checkpoint_;
  Communicator* communicator_;
  DeviceSums sums_;
  int64_t interval_;
  int64_t unread_steps_ = 0, unread_samples_ = 0;
};

}  // namespace leap
