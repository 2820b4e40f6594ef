// NcclWatchdog: a thread beside training that stops this process, with a message, when a
// collective it was told of has not completed within the timeout (another rank failed or
// stalled: the GPU would otherwise wait for it forever) or when NCCL reports an error.
#pragma once

#include <cuda_runtime_api.h>
#include <nccl.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace leap::cuda_detail {

class NcclWatchdog {
 public:
  NcclWatchdog(ncclComm_t comm, int device, int rank, double timeout_seconds);
  ~NcclWatchdog();
  NcclWatchdog(const NcclWatchdog&) = delete;
  NcclWatchdog& operator=(const NcclWatchdog&) = delete;

  // Marks the end of a collective just queued on `stream` and returns the event recorded
  // there: the watchdog expects it to complete within the timeout.
  cudaEvent_t record(cudaStream_t stream);

 private:
  struct Pending {
    cudaEvent_t done;
    std::chrono::steady_clock::time_point since;
  };
  void watch();
  [[noreturn]] void stop_process(const std::string& why);

  ncclComm_t comm_;
  int device_, rank_;
  double timeout_seconds_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool closing_ = false;
  std::deque<Pending> pending_;     // oldest first
  std::vector<cudaEvent_t> spare_;  // completed, to record again
  std::thread thread_;
};

}  // namespace leap::cuda_detail
