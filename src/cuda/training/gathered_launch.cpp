#include "cuda/training/gathered_launch.h"

#include <span>
#include <vector>

#include "cuda/cuda_backend.h"
#include "cuda/cuda_check.h"
#include "train/model_group.h"

namespace leap::cuda_detail {
namespace {

// Every part at once: the persistent kernel's in launch_cluster_mlps on the backend's stream,
// the others each on a side stream; the side streams start after the work queued so far and
// the backend's stream goes on once they are done.
void launch_all(CudaBackend& backend, std::span<const void* const> requests) {
  std::vector<ClusterMlpArgs> clusters;
  std::vector<const GatheredLaunch*> beside;
  for (const void* request : requests) {
    const auto* part = static_cast<const GatheredLaunch*>(request);
    if (part->cluster) clusters.push_back(*part->cluster);
    else beside.push_back(part);
  }
  const cudaStream_t stream = backend.stream();
  cudaEvent_t queued = nullptr;
  LEAP_CUDA_CHECK(cudaEventCreateWithFlags(&queued, cudaEventDisableTiming));
  LEAP_CUDA_CHECK(cudaEventRecord(queued, stream));
  std::vector<cudaEvent_t> done;
  for (size_t i = 0; i < beside.size(); ++i) {
    const cudaStream_t side = backend.side_stream(i);
    LEAP_CUDA_CHECK(cudaStreamWaitEvent(side, queued, 0));
    beside[i]->on_stream(side);
    cudaEvent_t event = nullptr;
    LEAP_CUDA_CHECK(cudaEventCreateWithFlags(&event, cudaEventDisableTiming));
    LEAP_CUDA_CHECK(cudaEventRecord(event, side));
    done.push_back(event);
  }
  if (!clusters.empty()) launch_cluster_mlps(clusters.data(), int(clusters.size()), stream);
  // Events may be destroyed once recorded and waited on: the waits hold what they need.
  for (cudaEvent_t event : done) {
    LEAP_CUDA_CHECK(cudaStreamWaitEvent(stream, event, 0));
    LEAP_CUDA_CHECK(cudaEventDestroy(event));
  }
  LEAP_CUDA_CHECK(cudaEventDestroy(queued));
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
