// Learning-rate schedules, stepped once per epoch like torch.optim.lr_scheduler.
#pragma once

#include <memory>
#include <string>

namespace leap {

class LrSchedule {
 public:
  virtual ~LrSchedule() = default;
  // The learning rate for `epoch` (0-based) given the initial rate.
  virtual float lr(int epoch, float base_lr) const = 0;
};

// lr = base * gamma^(epoch / step_size), as StepLR.
class StepLR : public LrSchedule {
 public:
  StepLR(int step_size, float gamma = 0.1f);
  float lr(int epoch, float base_lr) const override;

 private:
  int step_size_;
  float gamma_;
};

// lr = min + (base - min) * (1 + cos(pi * epoch / t_max)) / 2, as CosineAnnealingLR.
class CosineLR : public LrSchedule {
 public:
  explicit CosineLR(int t_max, float min_lr = 0.0f);
  float lr(int epoch, float base_lr) const override;

 private:
  int t_max_;
  float min_lr_;
};

// "none", "step" (every third of the run, gamma 0.1) or "cosine" over `epochs`.
std::shared_ptr<LrSchedule> schedule_by_name(const std::string& name, int epochs);

}  // namespace leap
