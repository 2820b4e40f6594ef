// What a training run computed and what it cost, printed at the end of `leap train` and
// written to its metrics file. The conventions: a product of [m,k] by [k,n] counts 2*m*n*k
// FLOPs; a step counts the forward products, the weight gradients, and the input gradients
// of every Linear layer but the first (its input is data: no gradient is computed for it);
// biases, ReLU, the loss and the optimizer are not counted. Rates take the median epoch
// after the first (which also builds plans and captures graphs) when there are several;
// energy figures the totals over those epochs.
#pragma once

#include <cstdint>
#include <limits>
#include <string>

#include "leap/callback.h"
#include "leap/device_info.h"
#include "leap/precision.h"

namespace leap {

class Model;

struct ComputeReport {
  std::string device;         // Backend::describe()
  std::string training_path;  // Model::training_path()
  Precision precision = Precision::fp32;
  int batch_size = 0;
  int64_t parameters = 0;
  int64_t flops_per_sample = 0;  // one training step's, per sample
  int64_t flops_per_step = 0;    // times the batch size
  int epochs = 0;
  double seconds_per_epoch = 0, seconds_per_step = 0, samples_per_second = 0;
  double tflops = 0;  // achieved, TFLOP/s
  PeakRates peak;     // the device's, with its source
  double mfu = 0;     // tflops over the peak of `precision`
  std::string energy_source;  // the meter, or why there is none
  double joules_per_epoch = std::numeric_limits<double>::quiet_NaN();
  double watts = std::numeric_limits<double>::quiet_NaN();
  double samples_per_joule = std::numeric_limits<double>::quiet_NaN();
};

// The report of a fit that produced `history` with this batch size.
ComputeReport compute_report(Model& model, const History& history, int batch_size);
// Lines for a terminal, each "  figure: value".
std::string describe(const ComputeReport& report);
// One JSON object; NaN figures are null.
std::string to_json(const ComputeReport& report);

}  // namespace leap
