#include "batcher.h"

#include <algorithm>
#include <bit>
#include <cstring>

namespace leap::serve {
namespace {

// Requests up to this many rows may take the direct path: the CPU's small-batch predictor
// works a row at a time, so batching them gains nothing there (src/cpu/small_batch_predictor.h).
constexpr int kDirectRows = 16;

}  // namespace

DynamicBatcher::DynamicBatcher(Sequential& network, Sequential& cpu_network, int max_batch,
                               int max_delay_us, int max_queue, int direct_lanes, Metrics& metrics)
    : network_(network),
      features_(network.input_width()),
      classes_(network.output_width()),
      max_batch_(max_batch),
      max_queue_(max_queue),
      max_delay_(max_delay_us),
      metrics_(metrics),
      lane_busy_(new std::atomic<bool>[std::max(direct_lanes, 0)]) {
  check(max_batch >= 1, "serve: --max-batch must be at least 1, not " + std::to_string(max_batch));
  check(max_delay_us >= 0, "serve: --max-delay-us must be >= 0");
  check(max_queue >= 1, "serve: the queue bound must be at least 1");
  for (int i = 0; i < direct_lanes; ++i) {
    lanes_.push_back(std::make_unique<Predictor>(cpu_network, 1));
    lane_busy_[i] = false;
  }
  // Every batch size the worker may run, made now: a CUDA graph is captured once, not on a
  // request's time.
  for (int size = 1; size < max_batch_ * 2; size *= 2)
    predictors_[size] = std::make_unique<Predictor>(network_, size);
  const size_t widest = std::bit_ceil(size_t(max_batch_));
  batch_inputs_.resize(widest * size_t(features_));
  batch_logits_.resize(widest * size_t(classes_));
  worker_ = std::thread([this] { work(); });
}

DynamicBatcher::~DynamicBatcher() { stop(); }

void DynamicBatcher::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  arrived_.notify_all();
  if (worker_.joinable()) worker_.join();
}

bool DynamicBatcher::try_direct(const float* inputs, int rows, float* logits) {
  if (pending_.load(std::memory_order_acquire) > 0) return false;  // busy: join the batch
  for (size_t i = 0; i < lanes_.size(); ++i) {
    bool expected = false;
    if (!lane_busy_[i].compare_exchange_strong(expected, true, std::memory_order_acquire)) continue;
    for (int r = 0; r < rows; ++r)
      lanes_[i]->predict(inputs + size_t(r) * features_, logits + size_t(r) * classes_);
    lane_busy_[i].store(false, std::memory_order_release);
    metrics_.rows_predicted(rows);
    return true;
  }
  return false;
}

void DynamicBatcher::infer(const float* inputs, int rows, float* logits) {
  check(rows >= 1, "serve: a request needs at least one row");
  if (rows <= kDirectRows && try_direct(inputs, rows, logits)) return;
  Request request(inputs, rows, logits);
  {
    std::lock_guard lock(mutex_);
    if (stopping_) throw QueueFull("the server is shutting down");
    if (int(queue_.size()) >= max_queue_)
      throw QueueFull("the queue holds " + std::to_string(queue_.size()) + " requests, its bound");
    queue_.push_back(&request);
    queued_rows_ += rows;
    pending_.fetch_add(1, std::memory_order_release);
    metrics_.queue_depth.fetch_add(1, std::memory_order_relaxed);
  }
  arrived_.notify_one();
  request.done.acquire();
  if (request.error) std::rethrow_exception(request.error);
}

void DynamicBatcher::work() {
  std::unique_lock lock(mutex_);
  for (;;) {
    arrived_.wait(lock, [&] { return !queue_.empty() || stopping_; });
    if (queue_.empty()) return;  // stopping, and all answered
    // Wait for more requests until the batch is full or the first has waited long enough.
    if (max_delay_.count() > 0 && !stopping_)
      arrived_.wait_until(lock, std::chrono::steady_clock::now() + max_delay_,
                          [&] { return queued_rows_ >= max_batch_ || stopping_; });
    std::vector<Request*> batch;
    int rows = 0;
    while (!queue_.empty() && (batch.empty() || rows + queue_.front()->rows <= max_batch_)) {
      batch.push_back(queue_.front());
      rows += queue_.front()->rows;
      queue_.pop_front();
    }
    queued_rows_ -= rows;
    metrics_.queue_depth.fetch_sub(int64_t(batch.size()), std::memory_order_relaxed);
    lock.unlock();
    run_batch(batch, rows);
    lock.lock();
  }
}

// The requests' rows, gathered in order into the batch buffer, padded to the predictor's
// power-of-two batch size, run, and scattered back. A single request of more than max_batch
// rows runs alone, in chunks of max_batch.
void DynamicBatcher::run_batch(std::vector<Request*>& batch, int rows) {
  std::exception_ptr error;
  try {
    if (rows > max_batch_) {
      const Request& r = *batch.front();
      for (int first = 0; first < rows; first += max_batch_) {
        const int chunk = std::min(max_batch_, rows - first);
        std::memcpy(batch_inputs_.data(), r.inputs + size_t(first) * features_, sizeof(float) * size_t(chunk) * features_);
        run_padded(chunk);
        std::memcpy(r.logits + size_t(first) * classes_, batch_logits_.data(), sizeof(float) * size_t(chunk) * classes_);
      }
    } else {
      size_t offset = 0;
      for (const Request* r : batch) {
        std::memcpy(&batch_inputs_[offset * features_], r->inputs, sizeof(float) * size_t(r->rows) * features_);
        offset += size_t(r->rows);
      }
      run_padded(rows);
      offset = 0;
      for (Request* r : batch) {
        std::memcpy(r->logits, &batch_logits_[offset * classes_], sizeof(float) * size_t(r->rows) * classes_);
        offset += size_t(r->rows);
      }
    }
    metrics_.rows_predicted(rows);
  } catch (...) {
    error = std::current_exception();
  }
  pending_.fetch_sub(int(batch.size()), std::memory_order_release);
  for (Request* r : batch) {
    r->error = error;
    r->done.release();
  }
}

// batch_logits_[:rows] for batch_inputs_[:rows], through the predictor of the next power of two.
void DynamicBatcher::run_padded(int rows) {
  Predictor& predictor = *predictors_.at(int(std::bit_ceil(unsigned(rows))));
  std::fill(batch_inputs_.begin() + ptrdiff_t(rows) * features_,
            batch_inputs_.begin() + ptrdiff_t(predictor.batch_size()) * features_, 0.0f);
  predictor.predict(batch_inputs_.data(), batch_logits_.data());
  metrics_.batch(rows);
}

}  // namespace leap::serve
