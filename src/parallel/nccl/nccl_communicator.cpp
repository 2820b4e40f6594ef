// The GPU communicator: NCCL on a stream of its own beside the backend's, so that the sum
// of one layer's gradients runs while backward computes the layers before it.
#include <nccl.h>

#include <chrono>
#include <cstdlib>
#include <exception>
#include <thread>

#include "cuda/cuda_backend.h"
#include "cuda/cuda_check.h"
#include "parallel/nccl/nccl_check.h"
#include "parallel/nccl/nccl_watchdog.h"
#include "parallel/host_plane.h"
#include "parallel/wait_for_peers.h"
#include "leap/error.h"

namespace leap {
namespace cuda_detail {

void throw_nccl_error(ncclResult_t status, const char* call, const char* file, int line) {
  throw Error(std::string(call) + " failed at " + file + ":" + std::to_string(line) + ": " +
              ncclGetErrorString(status));
}

namespace {

std::string nccl_version() {
  int code = 0;
  if (ncclGetVersion(&code) != ncclSuccess) return "NCCL";
  // Codes are major * 10000 + minor * 100 + patch since 2.9.
  return "NCCL " + std::to_string(code / 10000) + "." + std::to_string(code / 100 % 100) + "." +
         std::to_string(code % 100);
}

class NcclCommunicator final : public Communicator {
 public:
  NcclCommunicator(std::unique_ptr<HostPlane> host, double timeout_seconds)
      : host_(std::move(host)), timeout_seconds_(timeout_seconds),
        gpu_(static_cast<CudaBackend&>(backend(Device::cuda))) {
    keep_nvlink_multicast_off();
    ncclUniqueId id{};
    if (host_->rank() == 0) LEAP_NCCL_CHECK(ncclGetUniqueId(&id));
    host_->broadcast(&id, sizeof id, 0);
    LEAP_CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
    LEAP_CUDA_CHECK(cudaEventCreateWithFlags(&computed_, cudaEventDisableTiming));
    ncclConfig_t config = NCCL_CONFIG_INITIALIZER;
    config.blocking = 0;  // calls return at once; waits below poll, with the timeout
    LEAP_NCCL_CHECK(ncclCommInitRankConfig(&comm_, host_->ranks(), id, host_->rank(), &config));
    wait_ready("NCCL's start");
    watchdog_ = std::make_unique<NcclWatchdog>(comm_, gpu_.device_index(), rank(), timeout_seconds_);
  }

  ~NcclCommunicator() override {
    watchdog_.reset();
    // Leaving on an error, peers may never finish: abort frees their kernels too.
    const bool finished = std::uncaught_exceptions() == 0 && drained();
    const ncclResult_t finalize = finished ? ncclCommFinalize(comm_) : ncclInternalError;
    if ((finalize == ncclSuccess || finalize == ncclInProgress) && settled())
      ncclCommDestroy(comm_);
    else
      ncclCommAbort(comm_);
    cudaEventDestroy(computed_);
    cudaStreamDestroy(stream_);
  }

  int rank() const override { return host_->rank(); }
  int ranks() const override { return host_->ranks(); }
  Device device() const override { return Device::cuda; }
  std::string describe() const override {
    return nccl_version() + " (id sent over " + host_->describe() + "), rank " +
           std::to_string(rank()) + " of " + std::to_string(ranks()) + " on " + gpu_.describe();
  }

  void start_sum(std::span<const FloatBuffer> bucket, float weight) override {
    after_compute();
    ncclRedOp_t op = ncclSum;
    if (weight != 1.0f) {
      LEAP_NCCL_CHECK(ncclRedOpCreatePreMulSum(&op, &weight, ncclFloat32, ncclScalarHostImmediate, comm_));
      wait_ready("rank " + std::to_string(rank()) + "'s weighting of its gradients");
    }
    LEAP_NCCL_CHECK(ncclGroupStart());
    for (const FloatBuffer& buffer : bucket)
      LEAP_NCCL_CHECK(ncclAllReduce(buffer.data, buffer.data, buffer.count, ncclFloat32, op, comm_, stream_));
    LEAP_NCCL_CHECK(ncclGroupEnd());
    wait_ready("rank " + std::to_string(rank()) + "'s gradient sum");
    if (op != ncclSum) LEAP_NCCL_CHECK(ncclRedOpDestroy(op, comm_));
    last_ = watchdog_->record(stream_);
  }

  void finish() override {
    if (last_) LEAP_CUDA_CHECK(cudaStreamWaitEvent(gpu_.stream(), last_, 0));
    last_ = nullptr;
  }

  void broadcast(FloatBuffer buffer, int root) override {
    after_compute();
    LEAP_NCCL_CHECK(ncclBroadcast(buffer.data, buffer.data, buffer.count, ncclFloat32, root, comm_, stream_));
    wait_ready("rank " + std::to_string(rank()) + "'s broadcast");
    last_ = watchdog_->record(stream_);
  }

  void sum_on_host(double* values, int count) override { host_->sum(values, count); }

 private:
  // The communication stream waits for what the backend has queued so far (the gradients).
  void after_compute() {
    LEAP_CUDA_CHECK(cudaEventRecord(computed_, gpu_.stream()));
    LEAP_CUDA_CHECK(cudaStreamWaitEvent(stream_, computed_, 0));
  }

  // A non-blocking communicator may still be starting or queueing the last call.
  void wait_ready(const std::string& what) {
    wait_for_peers([&] {
      ncclResult_t state = ncclSuccess;
      LEAP_NCCL_CHECK(ncclCommGetAsyncError(comm_, &state));
      if (state == ncclInProgress) return false;
      if (state != ncclSuccess) throw_nccl_error(state, what.c_str(), __FILE__, __LINE__);
      return true;
    }, timeout_seconds_, what);
  }

  // Polls until the stream is idle, or gives up after the timeout (false).
  bool drained() {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_seconds_);
    cudaError_t status;
    while ((status = cudaStreamQuery(stream_)) == cudaErrorNotReady) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      std::this_thread::sleep_for(std::chrono::microseconds(100));
    }
    return status == cudaSuccess;
  }

  // After ncclCommFinalize: polls until the communicator has flushed its work.
  bool settled() {
    try {
      wait_ready("NCCL's finalize");
      return true;
    } catch (const Error&) {
      return false;
    }
  }

  std::unique_ptr<HostPlane> host_;
  double timeout_seconds_;
  CudaBackend& gpu_;
  cudaStream_t stream_ = nullptr;
  cudaEvent_t computed_ = nullptr;
  cudaEvent_t last_ = nullptr;  // the end of the last collective, for finish()
  ncclComm_t comm_ = nullptr;
  std::unique_ptr<NcclWatchdog> watchdog_;
};

}  // namespace
}  // namespace cuda_detail

void keep_nvlink_multicast_off() {
  // NVLink multicast (NVLS) stays off unless asked for: it can take shared GPUs out of
  // service, and a data-parallel MLP gains little from it. setenv is not thread-safe: the
  // first call comes before any rank thread starts.
  setenv("NCCL_NVLS_ENABLE", "0", 0);
}

std::unique_ptr<Communicator> nccl_communicator(std::unique_ptr<HostPlane> host,
                                                double timeout_seconds) {
  return std::make_unique<cuda_detail::NcclCommunicator>(std::move(host), timeout_seconds);
}

}  // namespace leap
