// Dynamic batching as Triton's: requests that arrive within max_delay_us of the first waiting
// one run as one batch of up to max_batch rows, through a Predictor of the model's device
// (on the GPU its CUDA graph with pinned buffers). A small request on an idle batcher skips
// the queue and runs on the calling thread through the CPU's small-batch SIMD path, the
// lowest latency there is at batch 1. Every request gets its own rows back.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <exception>
#include <map>
#include <memory>
#include <mutex>
#include <semaphore>
#include <thread>
#include <vector>

#include "leap/leap.h"
#include "metrics.h"

namespace leap::serve {

// The queue is full: the client should retry later (HTTP 503).
class QueueFull : public Error {
 public:
  using Error::Error;
};

class DynamicBatcher {
 public:
  // `network` runs the batches (on its device); `cpu_network` (the same weights on the CPU)
  // runs the small requests that find the batcher idle, on `direct_lanes` threads at once.
  DynamicBatcher(Sequential& network, Sequential& cpu_network, int max_batch, int max_delay_us,
                 int max_queue, int direct_lanes, Metrics& metrics);
  ~DynamicBatcher();

  // logits[rows, classes] for inputs[rows, features]; blocks until they are there.
  // Throws QueueFull when max_queue requests are already waiting.
  void infer(const float* inputs, int rows, float* logits);
  // Runs what is queued, then stops the worker; infer() afterwards throws.
  void stop();

  int features() const { return features_; }
  int classes() const { return classes_; }

 private:
  struct Request {
    Request(const float* in, int n, float* out) : inputs(in), rows(n), logits(out) {}
    const float* inputs;
    int rows;
    float* logits;
    std::binary_semaphore done{0};
    std::exception_ptr error;
  };
  bool try_direct(const float* inputs, int rows, float* logits);
  void work();
  void run_batch(std::vector<Request*>& batch, int rows);
  void run_padded(int rows);

  Sequential& network_;
  int features_, classes_, max_batch_, max_queue_;
  std::chrono::microseconds max_delay_;
  Metrics& metrics_;

  // Direct lanes: batch-1 predictors on the CPU, each taken by one thread at a time.
  std::vector<std::unique_ptr<Predictor>> lanes_;
  std::unique_ptr<std::atomic<bool>[]> lane_busy_;

  std::mutex mutex_;
  std::condition_variable arrived_;
  std::deque<Request*> queue_;
  int queued_rows_ = 0;
  bool stopping_ = false;
  std::atomic<int> pending_{0};  // queued or in a running batch: not idle while > 0

  std::map<int, std::unique_ptr<Predictor>> predictors_;  // by batch size, powers of two
  std::vector<float> batch_inputs_, batch_logits_;
  std::thread worker_;
};

}  // namespace leap::serve
