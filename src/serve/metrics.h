// The server's counters in Prometheus' text exposition format: requests by status code,
// a latency histogram, a batch-size histogram and the queue depth. Lock-free to update, so
// that every request can count itself.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <string>

namespace leap::serve {

class Histogram {
 public:
  static constexpr int kBuckets = 16;
  // Upper bounds, ascending; values above the last fall in +Inf.
  explicit Histogram(std::array<double, kBuckets> bounds) : bounds_(bounds) {}
  void observe(double value);
  // The _bucket, _sum and _count lines of `name`.
  std::string text(const std::string& name, const std::string& help) const;
  uint64_t count() const { return count_.load(std::memory_order_relaxed); }

 private:
  std::array<double, kBuckets> bounds_;
  std::array<std::atomic<uint64_t>, kBuckets + 1> counts_{};
  std::atomic<uint64_t> count_{0};
  std::atomic<uint64_t> sum_nanos_{0};  // sum in units of 1e-9, to stay an integer atomic
};

class Metrics {
 public:
  Metrics();
  // One answered HTTP request: its status and seconds from its arrival to its answer.
  void request(int status, double seconds);
  void batch(int rows) { batch_rows_.observe(rows); }
  void rows_predicted(int rows) { rows_.fetch_add(uint64_t(rows), std::memory_order_relaxed); }
  std::atomic<int64_t> queue_depth{0};  // requests waiting for a batch

  uint64_t requests(int status) const;
  uint64_t total_requests() const;
  std::string text() const;

 private:
  // The codes the server answers with; any other counts as the last.
  static constexpr std::array<int, 9> kCodes{200, 400, 404, 405, 408, 413, 500, 503, 0};
  std::array<std::atomic<uint64_t>, kCodes.size()> by_code_{};
  std::atomic<uint64_t> rows_{0};
  Histogram latency_;
  Histogram batch_rows_;
};

}  // namespace leap::serve
