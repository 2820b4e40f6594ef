#include "leap/schedule.h"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "leap/error.h"

namespace leap {

StepLR::StepLR(int step_size, float gamma) : step_size_(step_size), gamma_(gamma) {
  check(step_size > 0, "StepLR: step_size must be positive");
}

float StepLR::lr(int epoch, float base_lr) const {
  return base_lr * std::pow(gamma_, float(epoch / step_size_));
}

CosineLR::CosineLR(int t_max, float min_lr) : t_max_(t_max), min_lr_(min_lr) {
  check(t_max > 0, "CosineLR: t_max must be positive");
}

float CosineLR::lr(int epoch, float base_lr) const {
  const double phase = std::numbers::pi * std::min(epoch, t_max_) / t_max_;
  return float(min_lr_ + (base_lr - min_lr_) * (1.0 + std::cos(phase)) / 2.0);
}

std::shared_ptr<LrSchedule> schedule_by_name(const std::string& name, int epochs) {
  if (name == "none" || name.empty()) return nullptr;
  if (name == "step") return std::make_shared<StepLR>(std::max(1, epochs / 3));
  if (name == "cosine") return std::make_shared<CosineLR>(std::max(1, epochs));
  throw Error("unknown schedule '" + name + "' (expected none, step or cosine)");
}

}  // namespace leap
