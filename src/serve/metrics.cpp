#include "metrics.h"

#include <cstdio>

namespace leap::serve {

void Histogram::observe(double value) {
  int i = 0;
  while (i < kBuckets && value > bounds_[i]) ++i;
  counts_[i].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  sum_nanos_.fetch_add(uint64_t(value * 1e9), std::memory_order_relaxed);
}

std::string Histogram::text(const std::string& name, const std::string& help) const {
  std::string out = "# HELP " + name + " " + help + "\n# TYPE " + name + " histogram\n";
  char line[160];
  uint64_t cumulative = 0;
  for (int i = 0; i <= kBuckets; ++i) {
    cumulative += counts_[i].load(std::memory_order_relaxed);
    if (i < kBuckets)
      std::snprintf(line, sizeof line, "%s_bucket{le=\"%g\"} %llu\n", name.c_str(), bounds_[i],
                    static_cast<unsigned long long>(cumulative));
    else
      std::snprintf(line, sizeof line, "%s_bucket{le=\"+Inf\"} %llu\n", name.c_str(),
                    static_cast<unsigned long long>(cumulative));
    out += line;
  }
  std::snprintf(line, sizeof line, "%s_sum %.9g\n%s_count %llu\n", name.c_str(),
                double(sum_nanos_.load(std::memory_order_relaxed)) * 1e-9, name.c_str(),
                static_cast<unsigned long long>(cumulative));
  return out + line;
}

Metrics::Metrics()
    : latency_({25e-6, 50e-6, 100e-6, 250e-6, 500e-6, 1e-3, 2.5e-3, 5e-3, 10e-3, 25e-3, 50e-3,
                0.1, 0.25, 0.5, 1, 5}),
      batch_rows_({1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 65536}) {}

void Metrics::request(int status, double seconds) {
  size_t i = 0;
  while (i + 1 < kCodes.size() && kCodes[i] != status) ++i;
  by_code_[i].fetch_add(1, std::memory_order_relaxed);
  latency_.observe(seconds);
}

uint64_t Metrics::requests(int status) const {
  for (size_t i = 0; i < kCodes.size(); ++i)
    if (kCodes[i] == status) return by_code_[i].load(std::memory_order_relaxed);
  return 0;
}

uint64_t Metrics::total_requests() const {
  uint64_t total = 0;
  for (const auto& count : by_code_) total += count.load(std::memory_order_relaxed);
  return total;
}

std::string Metrics::text() const {
  std::string out =
      "# HELP leap_requests_total HTTP requests answered, by status code.\n"
      "# TYPE leap_requests_total counter\n";
  char line[128];
  for (size_t i = 0; i < kCodes.size(); ++i) {
    const uint64_t count = by_code_[i].load(std::memory_order_relaxed);
    if (kCodes[i] == 0)
      std::snprintf(line, sizeof line, "leap_requests_total{code=\"other\"} %llu\n",
                    static_cast<unsigned long long>(count));
    else
      std::snprintf(line, sizeof line, "leap_requests_total{code=\"%d\"} %llu\n", kCodes[i],
                    static_cast<unsigned long long>(count));
    out += line;
  }
  out += "# HELP leap_errors_total HTTP requests answered with a 4xx or 5xx code.\n"
         "# TYPE leap_errors_total counter\n";
  uint64_t errors = 0;
  for (size_t i = 0; i < kCodes.size(); ++i)
    if (kCodes[i] >= 400 || kCodes[i] == 0) errors += by_code_[i].load(std::memory_order_relaxed);
  out += "leap_errors_total " + std::to_string(errors) + "\n";
  out += "# HELP leap_predictions_total Rows (samples) predicted.\n# TYPE leap_predictions_total counter\n";
  out += "leap_predictions_total " + std::to_string(rows_.load(std::memory_order_relaxed)) + "\n";
  out += "# HELP leap_queue_depth Requests waiting for a batch.\n# TYPE leap_queue_depth gauge\n";
  out += "leap_queue_depth " + std::to_string(queue_depth.load(std::memory_order_relaxed)) + "\n";
  out += latency_.text("leap_request_duration_seconds", "Time from a request's arrival to its answer.");
  out += batch_rows_.text("leap_batch_size", "Rows in each batch run by the dynamic batcher.");
  return out;
}

}  // namespace leap::serve
