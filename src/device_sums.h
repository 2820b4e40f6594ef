// DeviceSums: a loss sum and a correct-prediction count kept in a backend's memory, so a
// loop can accumulate them step after step and read them back once.
#pragma once

#include <cstdint>

#include "leap/backend.h"

namespace leap {

class DeviceSums {
 public:
  explicit DeviceSums(Backend& owner) : owner_(owner) {
    memory_ = static_cast<double*>(owner_.allocate(2 * sizeof(double)));
    reset();
  }
  ~DeviceSums() { owner_.release(memory_); }
  DeviceSums(const DeviceSums&) = delete;
  DeviceSums& operator=(const DeviceSums&) = delete;

  void reset() { owner_.fill(reinterpret_cast<float*>(memory_), 4, 0.0f); }
  double* loss_sum() { return memory_; }
  int64_t* correct() { return reinterpret_cast<int64_t*>(memory_ + 1); }

  struct Values {
    double loss_sum;
    int64_t correct;
  };
  Values read() {
    Values values;
    owner_.copy_to_host(&values, memory_, sizeof(values));
    return values;
  }

 private:
  Backend& owner_;
  double* memory_;
};

}  // namespace leap
