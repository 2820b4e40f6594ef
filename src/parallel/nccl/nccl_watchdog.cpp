#include "parallel/nccl/nccl_watchdog.h"

#include <cstdio>
#include <cstdlib>

#include "cuda/cuda_check.h"

namespace leap::cuda_detail {

NcclWatchdog::NcclWatchdog(ncclComm_t comm, int device, int rank, double timeout_seconds)
    : comm_(comm), device_(device), rank_(rank), timeout_seconds_(timeout_seconds),
      thread_([this] { watch(); }) {}

NcclWatchdog::~NcclWatchdog() {
  {
    std::lock_guard lock(mutex_);
    closing_ = true;
  }
  wake_.notify_all();
  thread_.join();
  for (const Pending& pending : pending_) cudaEventDestroy(pending.done);
  for (cudaEvent_t event : spare_) cudaEventDestroy(event);
}

cudaEvent_t NcclWatchdog::record(cudaStream_t stream) {
  std::lock_guard lock(mutex_);
  cudaEvent_t done = nullptr;
  if (spare_.empty()) {
    LEAP_CUDA_CHECK(cudaEventCreateWithFlags(&done, cudaEventDisableTiming));
  } else {
    done = spare_.back();
    spare_.pop_back();
  }
  LEAP_CUDA_CHECK(cudaEventRecord(done, stream));
  pending_.push_back({done, std::chrono::steady_clock::now()});
  return done;
}

void NcclWatchdog::stop_process(const std::string& why) {
  std::fprintf(stderr, "leap: error on rank %d: %s; stopping this process so that the job ends\n",
               rank_, why.c_str());
  std::fflush(stderr);
  ncclCommAbort(comm_);  // frees the peers' kernels that wait for this rank
  std::_Exit(1);
}

void NcclWatchdog::watch() {
  if (cudaSetDevice(device_) != cudaSuccess) return;  // the training thread reports it
  const auto timeout = std::chrono::duration<double>(timeout_seconds_);
  std::unique_lock lock(mutex_);
  while (!wake_.wait_for(lock, std::chrono::milliseconds(200), [this] { return closing_; })) {
    while (!pending_.empty()) {
      const cudaError_t status = cudaEventQuery(pending_.front().done);
      if (status == cudaErrorNotReady) break;
      if (status != cudaSuccess)
        stop_process(std::string("the GPU failed during a collective: ") + cudaGetErrorString(status));
      spare_.push_back(pending_.front().done);
      pending_.pop_front();
    }
    if (!pending_.empty() && std::chrono::steady_clock::now() - pending_.front().since > timeout) {
      char text[160];
      std::snprintf(text, sizeof text,
                    "an NCCL collective has not completed in %g s: another rank has failed or "
                    "stalled (the wait is --collective-timeout)", timeout_seconds_);
      stop_process(text);
    }
    ncclResult_t state = ncclSuccess;
    if (ncclCommGetAsyncError(comm_, &state) == ncclSuccess && state != ncclSuccess &&
        state != ncclInProgress)
      stop_process(std::string("NCCL failed: ") + ncclGetErrorString(state) + " (" +
                   ncclGetLastError(comm_) + ")");
  }
}

}  // namespace leap::cuda_detail
