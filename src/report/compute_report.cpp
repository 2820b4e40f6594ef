#include "leap/compute_report.h"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

#include "format_number.h"
#include "leap/backend.h"
#include "leap/model.h"

namespace leap {
namespace {

// The median of the epochs after the first when there are several: the first also builds
// plans, tunes products and captures graphs.
template <typename Figure>
double median_epoch(const History& history, Figure figure) {
  std::vector<double> values;
  const size_t first = history.epochs.size() > 1 ? 1 : 0;
  for (size_t e = first; e < history.epochs.size(); ++e) values.push_back(figure(history.epochs[e]));
  if (values.empty()) return std::nan("");
  std::sort(values.begin(), values.end());
  const size_t middle = values.size() / 2;
  return values.size() % 2 ? values[middle] : (values[middle - 1] + values[middle]) / 2;
}

}  // namespace

ComputeReport compute_report(Model& model, const History& history, int batch_size) {
  Sequential& network = model.network();
  ComputeReport r;
  r.device = backend(model.device()).describe();
  r.training_path = model.training_path();
  r.precision = model.precision();
  r.batch_size = batch_size;
  r.parameters = network.parameter_count();
  r.flops_per_sample = network.training_flops_per_sample();
  r.flops_per_step = r.flops_per_sample * batch_size;
  r.epochs = int(history.epochs.size());
  r.peak = peak_rates(model.device());
  r.energy_source = model.energy_source();
  if (history.epochs.empty()) return r;
  r.seconds_per_epoch = median_epoch(history, [](const EpochLogs& e) { return e.seconds; });
  r.seconds_per_step = median_epoch(history, [](const EpochLogs& e) { return e.us_per_step; }) / 1e6;
  r.samples_per_second = median_epoch(history, [](const EpochLogs& e) { return double(e.samples) / e.seconds; });
  r.tflops = r.samples_per_second * double(r.flops_per_sample) / 1e12;
  const double peak = r.peak.for_precision(r.precision);
  r.mfu = peak > 0 ? r.tflops / peak : 0;
  // Energy as totals over the same epochs, not a median of ratios: NVML's counter moves in
  // steps of tens of milliseconds, so one short epoch's reading can be far off (measured: a
  // median of 1048 W over 55 ms epochs on a 700 W H100) while the sum over many is not.
  double joules = 0, seconds = 0, samples = 0;
  const size_t first = history.epochs.size() > 1 ? 1 : 0;
  for (size_t e = first; e < history.epochs.size(); ++e) {
    const EpochLogs& logs = history.epochs[e];
    joules += logs.joules;  // NaN when any epoch has no reading
    seconds += std::isnan(logs.energy_seconds) ? logs.seconds : logs.energy_seconds;  // NaN: read from a log
    samples += double(logs.samples);
  }
  if (joules > 0) {
    r.joules_per_epoch = joules / double(history.epochs.size() - first);
    r.watts = joules / seconds;
    r.samples_per_joule = samples / joules;
  } else if (joules == 0) {  // epochs shorter than the counter's update interval
    r.energy_source = format_number("energy: the counter did not move over %.3f s of epochs (", seconds) +
                      r.energy_source + "); train longer epochs to measure it";
  }
  return r;
}

std::string describe(const ComputeReport& r) {
  std::string text = "Compute report (" + r.device + ", " + to_string(r.precision) + ")\n";
  auto line = [&](const std::string& name, const std::string& value) { text += "  " + name + ": " + value + "\n"; };
  line("FLOPs per step", format_number("%.4g", double(r.flops_per_step)) + " (batch " +
                             std::to_string(r.batch_size) +
                             "; 2*m*n*k per product: forward, weight gradients, input gradients but the first layer's)");
  line("time per epoch", format_number("%.3f s", r.seconds_per_epoch) + " (median" +
                             (r.epochs > 1 ? " after the first epoch)" : ")"));
  line("time per step", format_number("%.1f us", r.seconds_per_step * 1e6));
  line("samples per second", format_number("%.0f", r.samples_per_second));
  line("achieved", format_number("%.3f TFLOP/s", r.tflops));
  line("MFU", format_number("%.1f%%", 100 * r.mfu) +
                  format_number(" of %.1f TFLOP/s ", r.peak.for_precision(r.precision)) + to_string(r.precision) +
                  " peak (" + r.peak.source + ")");
  if (std::isnan(r.joules_per_epoch)) {
    // energy_source says why when the device has no meter; else its reads failed.
    text += "  " + (r.energy_source.rfind("energy:", 0) == 0 ? r.energy_source
                                                            : "energy: no reading from " + r.energy_source) + "\n";
  } else {
    line("energy per epoch", format_number("%.1f J", r.joules_per_epoch) +
                                 format_number(" (%.0f W mean; ", r.watts) + r.energy_source + ")");
    line("samples per joule", format_number("%.1f", r.samples_per_joule));
  }
  return text;
}

std::string to_json(const ComputeReport& r) {
  auto number = [](double value) { return std::isfinite(value) ? nlohmann::json(value) : nlohmann::json(); };
  nlohmann::json json = {
      {"device", r.device},
      {"training_path", r.training_path},
      {"precision", to_string(r.precision)},
      {"batch_size", r.batch_size},
      {"parameters", r.parameters},
      {"flop_convention", "2*m*n*k per product; forward, weight gradients, and input gradients of "
                          "every Linear layer but the first"},
      {"flops_per_sample", r.flops_per_sample},
      {"flops_per_step", r.flops_per_step},
      {"epochs", r.epochs},
      {"seconds_per_epoch", number(r.seconds_per_epoch)},
      {"seconds_per_step", number(r.seconds_per_step)},
      {"samples_per_second", number(r.samples_per_second)},
      {"tflops", number(r.tflops)},
      {"peak_tflops", {{"fp32", r.peak.fp32}, {"tf32", r.peak.tf32}, {"bf16", r.peak.bf16}}},
      {"peak_source", r.peak.source},
      {"mfu", number(r.mfu)},
      {"energy_source", r.energy_source},
      {"joules_per_epoch", number(r.joules_per_epoch)},
      {"watts", number(r.watts)},
      {"samples_per_joule", number(r.samples_per_joule)},
  };
  return json.dump();
}

}  // namespace leap
