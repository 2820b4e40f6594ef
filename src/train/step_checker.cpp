#include "step_checker.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>

#include "leap/error.h"

namespace leap {
namespace {

// A GPU under `stop` is asked for its sums this often: waiting for it every step would
// cost more than the step.
constexpr int64_t kDeviceCheckInterval = 64;

// NaN and Inf are the floats whose magnitude bits are at least those of Inf. The largest
// magnitude is an integer max, which vectorizes (a float test would not: its order is fixed
// without -ffast-math); it runs every step on the CPU, so it must cost little.
bool all_finite(const float* values, size_t count) {
  constexpr uint32_t kMagnitude = 0x7fffffffu, kInfinity = 0x7f800000u;
  uint32_t largest = 0;
  for (size_t i = 0; i < count; ++i)
    largest = std::max(largest, std::bit_cast<uint32_t>(values[i]) & kMagnitude);
  return largest < kInfinity;
}

std::string layer_of(Sequential& network, const std::string& parameter_name) {
  const size_t layer = std::stoul(parameter_name.substr(0, parameter_name.find('.')));
  return "layer " + std::to_string(layer) + " (" + network[layer].describe() + ")";
}

}  // namespace

StepChecker::StepChecker(Sequential& network, NanPolicy policy, std::string last_checkpoint,
                         Communicator* communicator)
    : network_(network),
      policy_(policy),
      last_checkpoint_(std::move(last_checkpoint)),
      communicator_(communicator && communicator->ranks() > 1 ? communicator : nullptr),
      sums_(backend(network.device())),
      interval_(network.device() == Device::cpu || policy == NanPolicy::skip ? 1
                                                                             : kDeviceCheckInterval) {}

std::string StepChecker::non_finite_gradient() {
  for (Parameter* p : network_.parameters()) {
    if (!p->grad.defined()) continue;
    const Tensor host = p->grad.to(Device::cpu);
    if (!all_finite(host.data(), size_t(host.numel())))
      return "the gradient of " + p->name + " in " + layer_of(network_, p->name);
  }
  return "";
}

std::string StepChecker::culprit() {
  // Weights already broken explain a NaN better than the gradients they spoil.
  for (Parameter* p : network_.parameters()) {
    const Tensor host = p->value.to(Device::cpu);
    if (!all_finite(host.data(), size_t(host.numel())))
      return "non-finite weights in " + p->name + " of " + layer_of(network_, p->name);
  }
  const std::string gradient = non_finite_gradient();
  return gradient.empty() ? "" : "a non-finite value in " + gradient;
}

void StepChecker::stop(const std::string& what, int64_t first_step,
                       const TrainingProgress& progress) {
  const std::string steps = first_step == progress.step
                                ? "step " + std::to_string(progress.step)
                                : "steps " + std::to_string(first_step) + " to " +
                                      std::to_string(progress.step);
  throw Error(what + " at " + steps + " (epoch " + std::to_string(progress.epoch + 1) +
              ", batch " + std::to_string(progress.batch) + "); the weights are not saved; " +
              (last_checkpoint_.empty() ? "no checkpoint was written"
                                        : "the last good checkpoint is " + last_checkpoint_) +
              " (try a lower learning rate, or --on-nan skip to skip such batches)");
}

bool StepChecker::check_step(TrainingProgress& progress, int64_t batch_samples, bool read_now) {
  ++unread_steps_;
  unread_samples_ += batch_samples;
  const bool host = network_.device() == Device::cpu;
  std::string bad_gradient = host ? non_finite_gradient() : "";
  if (bad_gradient.empty() && !read_now && unread_steps_ < interval_) return true;
  const DeviceSums::Values added = read_sums();
  const bool finite_loss = std::isfinite(added.loss_sum);
  if (!finite_loss && !host) bad_gradient = non_finite_gradient();
  if (finite_loss && bad_gradient.empty()) {
    absorb(added, progress);
    return true;
  }
  if (policy_ == NanPolicy::skip) {  // interval 1: only this step's sums are on the device
    sums_.reset();
    unread_steps_ = unread_samples_ = 0;
    return false;
  }
  const std::string found = culprit();
  const std::string what = finite_loss ? found
                                       : "the loss became " + std::to_string(added.loss_sum) +
                                             (found.empty() ? "" : "; first found: " + found);
  stop(what, progress.step - unread_steps_ + 1, progress);
}

void StepChecker::check_chunk(TrainingProgress& progress, int64_t first_step) {
  const DeviceSums::Values added = read_sums();
  if (!std::isfinite(added.loss_sum)) {
    const std::string found = culprit();
    stop("the loss became " + std::to_string(added.loss_sum) +
             (found.empty() ? "" : "; first found after the chunk's last step: " + found),
         first_step, progress);
  }
  absorb(added, progress);
}

void StepChecker::settle(TrainingProgress& progress) { absorb(read_sums(), progress); }

DeviceSums::Values StepChecker::read_sums() {
  DeviceSums::Values values = sums_.read();
  if (!communicator_) return values;
  double both[2] = {values.loss_sum, double(values.correct)};  // counts below 2^53: exact
  communicator_->sum_on_host(both, 2);
  return {both[0], int64_t(both[1])};
}

void StepChecker::absorb(const DeviceSums::Values& added, TrainingProgress& progress) {
  progress.loss_sum += added.loss_sum;
  progress.correct += added.correct;
  progress.seen += unread_samples_;
  unread_steps_ = unread_samples_ = 0;
  sums_.reset();
}

}  // namespace leap
