#include "cuda/training/gathered_launch.h"

#include <span>
#include <vector>

#include "cuda/cuda_backend.h"
#include "cuda/cuda_check.h"
#include "train/model_group.h"

namespace leap::cuda_detail {
namespace {

// An event recorded on `stream` now, for other streams to wait on.
cudaEvent_t recorded(cudaStream_t stream) {
  cudaEvent_t event = nullptr;
  LEAP_CUDA_CHECK(cudaEventCreateWithFlags(&event, cudaEventDisableTiming));
  const cudaError_t status = cudaEventRecord(event, stream);
  if (status != cudaSuccess) cudaEventDestroy(event);
  LEAP_CUDA_CHECK(status);
  return event;
}

// `stream` goes on once everything queued on `sides` so far is done. An event may be destroyed
// once waited on: the wait holds what it needs.
void join(cudaStream_t stream, const std::vector<cudaStream_t>& sides) {
  for (cudaStream_t side : sides) {
    const cudaEvent_t done = recorded(side);
    const cudaError_t status = cudaStreamWaitEvent(stream, done, 0);
    cudaEventDestroy(done);
    LEAP_CUDA_CHECK(status);
  }
}

// Every part at once: the persistent kernel's in launch_cluster_mlps on the backend's stream,
// the others each on a side stream that starts after the work queued so far; the backend's
// stream goes on once they are done, also when a part fails to queue (the runners' memory must
// not be handed out again while a side stream still uses it).
void launch_all(CudaBackend& backend, std::span<const void* const> requests) {
  std::vector<ClusterMlpArgs> clusters;
  std::vector<const GatheredLaunch*> beside;
  for (const void* request : requests) {
    const auto* part = static_cast<const GatheredLaunch*>(request);
    if (part->cluster) clusters.push_back(*part->cluster);
    else beside.push_back(part);
  }
  // The last member to gather, or one leaving, launches: its thread may not have chosen this
  // GPU (a worker that took no model).
  LEAP_CUDA_CHECK(cudaSetDevice(backend.device_index()));
  const cudaStream_t stream = backend.stream();
  std::vector<cudaStream_t> sides;
  cudaEvent_t queued = nullptr;
  try {
    if (!beside.empty()) queued = recorded(stream);
    for (size_t i = 0; i < beside.size(); ++i) {
      const cudaStream_t side = backend.side_stream(i);
      LEAP_CUDA_CHECK(cudaStreamWaitEvent(side, queued, 0));
      sides.push_back(side);
      beside[i]->on_stream(side);
    }
    if (!clusters.empty()) launch_cluster_mlps(clusters.data(), int(clusters.size()), stream);
  } catch (...) {
    if (queued) cudaEventDestroy(queued);
    join(stream, sides);
    throw;
  }
  if (queued) cudaEventDestroy(queued);
  join(stream, sides);
}

}  // namespace

void launch_or_gather(CudaBackend& backend, const GatheredLaunch& part) {
  ModelGroup* group = ModelGroup::current();
  if (!group) {
    if (part.cluster) launch_cluster_mlp(*part.cluster, backend.stream());
    else part.on_stream(backend.stream());
    return;
  }
  group->gather(&part, [&backend](std::span<const void* const> requests) { launch_all(backend, requests); });
}

}  // namespace leap::cuda_detail
