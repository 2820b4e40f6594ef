// Batch-1 inference latency of an MLP (default 784-128-10) through leap::Predictor, the
// serving path: host input in, host logits out, on every available device. Prints p50/p99 over many single-sample predictions and writes
// JSON to the path given by --json.
//
// usage: bench_latency [--model SPEC] [--iterations N] [--json FILE]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "leap/leap.h"
#include "leap/predictor.h"

namespace {

struct Latency {
  std::string device;
  double p50_us, p99_us, mean_us;
};

Latency measure(leap::Device device, const std::string& spec, int iterations) {
  using Clock = std::chrono::steady_clock;
  leap::Sequential network = leap::Sequential::from_spec(spec, 0, device);
  leap::Predictor predictor(network, 1);
  leap::Random random(1);
  std::vector<float> input(network.input_width()), logits(network.output_width());
  std::vector<double> samples;
  for (int i = -iterations / 10; i < iterations; ++i) {  // the first tenth warms up
    for (float& v : input) v = random.uniform();
    const auto start = Clock::now();
    predictor.predict(input.data(), logits.data());
    const double us = std::chrono::duration<double, std::micro>(Clock::now() - start).count();
    if (i >= 0) samples.push_back(us);
  }
  std::sort(samples.begin(), samples.end());
  double mean = 0;
  for (double s : samples) mean += s / samples.size();
  return {leap::backend(device).describe() + ", " + predictor.describe(), samples[samples.size() / 2], samples[samples.size() * 99 / 100], mean};
}

}  // namespace

int main(int argc, char** argv) {
  std::string spec = "784-128-10", json;
  int iterations = 20000;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--model")) spec = argv[i + 1];
    else if (!std::strcmp(argv[i], "--iterations")) iterations = std::stoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--json")) json = argv[i + 1];
  }
  std::vector<Latency> results;
  for (leap::Device device : {leap::Device::cpu, leap::Device::cuda})
    if (leap::available(device)) results.push_back(measure(device, spec, iterations));
  std::printf("batch-1 inference of %s, %d runs each (host input to host logits)\n", spec.c_str(), iterations);
  std::printf("%-100s %9s %9s %9s\n", "device", "p50 us", "p99 us", "mean us");
  for (const Latency& r : results)
    std::printf("%-100s %9.2f %9.2f %9.2f\n", r.device.c_str(), r.p50_us, r.p99_us, r.mean_us);
  if (!json.empty()) {
    std::FILE* out = std::fopen(json.c_str(), "w");
    if (!out) return 1;
    std::fprintf(out, "{\"benchmark\": \"latency\", \"model\": \"%s\", \"iterations\": %d, \"results\": [", spec.c_str(), iterations);
    for (size_t i = 0; i < results.size(); ++i)
      std::fprintf(out, "%s{\"device\": \"%s\", \"p50_us\": %.3f, \"p99_us\": %.3f, \"mean_us\": %.3f}", i ? ", " : "",
                   results[i].device.c_str(), results[i].p50_us, results[i].p99_us, results[i].mean_us);
    std::fprintf(out, "]}\n");
    std::fclose(out);
  }
  return 0;
}
