// One model's part of a launch gathered with other models' (ModelGroup, models trained side by
// side on one GPU): the persistent kernel's steps, which run in one launch with the other
// models' (a cluster each), or work that runs beside the others' on a stream of its own (a
// graph runner's replays). Each part does what it would do alone, on its own memory.
#pragma once

#include <cuda_runtime_api.h>

#include <functional>

#include "cuda/kernels/cluster_mlp.h"

namespace leap {

class CudaBackend;

namespace cuda_detail {

struct GatheredLaunch {
  const ClusterMlpArgs* cluster = nullptr;
  std::function<void(cudaStream_t)> on_stream;  // when not the persistent kernel's
};

// In a ModelGroup: hands `part` to the group's next launch and returns once it is queued,
// after the work queued before it and before the work queued after. Alone: queues it on the
// backend's stream.
void launch_or_gather(CudaBackend& backend, const GatheredLaunch& part);

}  // namespace cuda_detail
}  // namespace leap
