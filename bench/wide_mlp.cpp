// leap's half of bench/wide_mlp.py: trains a wide MLP with Adam on synthetic data resident on
// the device, through Model::fit (the path `leap train` takes), and reports the median step
// time of the epochs after the first, the achieved TFLOP/s and the device's energy over the
// timed epochs, with their wall-clock interval (for comparing with nvidia-smi's power).
//
// usage: bench_wide_mlp [--model SPEC] [--batch N] [--steps N] [--epochs N]
//                       [--precision fp32|tf32|bf16] [--device cpu|cuda] [--json FILE]
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "leap/compute_report.h"
#include "leap/leap.h"

namespace {

double unix_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// Wall-clock times of each epoch's start and end.
class EpochClock : public leap::Callback {
 public:
  void on_epoch_begin(int, int, int64_t) override { starts.push_back(unix_seconds()); }
  bool on_epoch_end(const leap::EpochLogs&) override {
    ends.push_back(unix_seconds());
    return false;
  }
  std::vector<double> starts, ends;
};

// Uniform pixels and random labels: the speed does not depend on the values, but zeros would
// flatter it (and hide unwritten outputs).
leap::Dataset synthetic(int64_t samples, int features, int classes) {
  leap::Random random(7);
  std::vector<float> images(size_t(samples) * features);
  for (float& pixel : images) pixel = random.uniform();
  std::vector<int32_t> labels(samples);
  for (int32_t& label : labels) label = int32_t(random.below(classes));
  return {leap::Tensor::from_vector({samples, features}, images),
          leap::Tensor::from_vector({samples}, labels), classes};
}

}  // namespace

int main(int argc, char** argv) {
  std::string spec = "784-4096-4096-4096-10", precision = "bf16", device_name = "cuda", json_path;
  int batch = 8192, steps = 16, epochs = 6;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i], value = argv[i + 1];
    if (flag == "--model") spec = value;
    else if (flag == "--batch") batch = std::stoi(value);
    else if (flag == "--steps") steps = std::stoi(value);
    else if (flag == "--epochs") epochs = std::stoi(value);
    else if (flag == "--precision") precision = value;
    else if (flag == "--device") device_name = value;
    else if (flag == "--json") json_path = value;
    else {
      std::fprintf(stderr, "bench_wide_mlp: unknown option %s\n", flag.c_str());
      return 2;
    }
  }
  try {
    const leap::Device device = device_name == "cpu" ? leap::Device::cpu : leap::Device::cuda;
    leap::Model model(leap::Sequential::from_spec(spec, 0, device));
    model.compile(leap::adam({.lr = 1e-4f}));
    const leap::Dataset data = synthetic(int64_t(batch) * steps, model.network().input_width(),
                                         model.network().output_width())
                                   .to(device);
    EpochClock clock;
    leap::FitOptions options{.epochs = epochs, .batch_size = batch, .drop_last = true, .verbose = true};
    options.precision = leap::parse_precision(precision);
    options.callbacks = {&clock};
    const leap::History history = model.fit(data, options);
    const leap::ComputeReport report = leap::compute_report(model, history, batch);
    std::printf("%s", leap::describe(report).c_str());

    nlohmann::json epochs_json = nlohmann::json::array();
    double timed_joules = 0;
    bool energy = true;
    for (size_t e = 0; e < history.epochs.size(); ++e) {
      const leap::EpochLogs& logs = history.epochs[e];
      const bool has_joules = logs.joules == logs.joules;
      if (e > 0) energy = energy && has_joules, timed_joules += has_joules ? logs.joules : 0;
      epochs_json.push_back({{"seconds", logs.seconds}, {"step_seconds", logs.us_per_step / 1e6},
                             {"loss", logs.loss}, {"joules", has_joules ? nlohmann::json(logs.joules) : nlohmann::json()},
                             {"start_unix", clock.starts.at(e)}, {"end_unix", clock.ends.at(e)}});
    }
    nlohmann::json out = {
        {"model", spec}, {"batch", batch}, {"steps_per_epoch", steps}, {"precision", precision},
        {"device", report.device}, {"training_path", report.training_path},
        {"flops_per_step", report.flops_per_step}, {"median_step_seconds", report.seconds_per_step},
        {"tflops", report.tflops}, {"mfu", report.mfu}, {"peak_source", report.peak.source},
        {"energy_source", report.energy_source}, {"epochs", epochs_json},
        // The epochs after the first, as one interval: NVML's energy over it and its clock times.
        {"timed", {{"start_unix", clock.starts.size() > 1 ? clock.starts[1] : 0.0},
                   {"end_unix", clock.ends.back()},
                   {"joules", energy && history.epochs.size() > 1 ? nlohmann::json(timed_joules) : nlohmann::json()}}},
        {"compute_report", nlohmann::json::parse(leap::to_json(report))}};
    if (!json_path.empty()) std::ofstream(json_path) << out.dump(2) << "\n";
    std::printf("%s: %.3f ms a step, %.1f TFLOP/s\n", spec.c_str(), report.seconds_per_step * 1e3, report.tflops);
  } catch (const leap::Error& e) {
    std::fprintf(stderr, "bench_wide_mlp: %s\n", e.what());
    return 1;
  }
  return 0;
}
