// The cost of one thread-block cluster barrier (cluster.sync()) on this GPU, for the floor
// of the persistent training kernel: each cluster size runs a kernel of many barriers back to
// back, with 448 threads a block as the training kernel has, and the time per barrier is the
// median over repeats of the kernel's time over the count. A block barrier (__syncthreads)
// is measured the same way for comparison, and a barrier followed by a read of every other
// block's shared memory (what the kernel does once a step), and a barrier without memory
// ordering (arrive.relaxed).
#include <cooperative_groups.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "cuda_check.h"

namespace cg = cooperative_groups;

constexpr int kThreads = 448;
constexpr int kBarriers = 20000;

enum class Kind { block, cluster, cluster_relaxed, cluster_read };

template <Kind kind>
__global__ void barrier_kernel(float* sink) {
  __shared__ float value[kThreads];
  cg::cluster_group cluster = cg::this_cluster();
  value[threadIdx.x] = float(threadIdx.x);
  float total = 0;
  for (int i = 0; i < kBarriers; ++i) {
    if (kind == Kind::block) {
      __syncthreads();
    } else if (kind == Kind::cluster_relaxed) {  // no memory ordering: arrive.relaxed, wait
      __cluster_barrier_arrive_relaxed();
      __cluster_barrier_wait();
    } else {
      cluster.sync();
      if (kind == Kind::cluster_read) {
        const unsigned peer = (cluster.block_rank() + 1 + threadIdx.x % (cluster.num_blocks())) % cluster.num_blocks();
        total += cluster.map_shared_rank(value, peer)[threadIdx.x];
      }
    }
  }
  if (kind == Kind::cluster_read) cluster.sync();
  if (total == -1.0f) *sink = total;  // keeps the reads
}

template <Kind kind>
double time_per_barrier_ns(int cluster_size) {
  auto kernel = barrier_kernel<kind>;
  if (cluster_size > 8) CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeNonPortableClusterSizeAllowed, 1));
  cudaLaunchConfig_t config = {};
  config.gridDim = dim3(cluster_size);
  config.blockDim = dim3(kThreads);
  cudaLaunchAttribute attribute;
  attribute.id = cudaLaunchAttributeClusterDimension;
  attribute.val.clusterDim.x = cluster_size;
  attribute.val.clusterDim.y = 1;
  attribute.val.clusterDim.z = 1;
  config.attrs = &attribute;
  config.numAttrs = 1;
  float* sink = nullptr;
  CHECK(cudaMalloc(&sink, sizeof(float)));
  cudaEvent_t start, stop;
  CHECK(cudaEventCreate(&start));
  CHECK(cudaEventCreate(&stop));
  std::vector<double> times;
  for (int repeat = 0; repeat < 7; ++repeat) {  // the first is a warm-up
    CHECK(cudaEventRecord(start));
    CHECK(cudaLaunchKernelEx(&config, kernel, sink));
    CHECK(cudaEventRecord(stop));
    CHECK(cudaEventSynchronize(stop));
    float ms = 0;
    CHECK(cudaEventElapsedTime(&ms, start, stop));
    if (repeat > 0) times.push_back(ms * 1e6 / kBarriers);
  }
  CHECK(cudaFree(sink));
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

int main() {
  cudaDeviceProp properties;
  CHECK(cudaGetDeviceProperties(&properties, 0));
  int clock_khz = 0;
  CHECK(cudaDeviceGetAttribute(&clock_khz, cudaDevAttrClockRate, 0));
  std::printf("device: %s, %d SMs, %.0f MHz\n", properties.name, properties.multiProcessorCount, clock_khz / 1e3);
  std::printf("%d barriers a kernel, %d threads a block, median of 6 kernels\n", kBarriers, kThreads);
  std::printf("%8s | %16s | %18s | %20s | %24s\n", "blocks", "__syncthreads ns", "cluster.sync() ns",
              "relaxed arrive ns", "cluster.sync()+DSMEM ns");
  for (int size : {1, 2, 4, 8, 16})
    std::printf("%8d | %16.1f | %18.1f | %20.1f | %24.1f\n", size, time_per_barrier_ns<Kind::block>(size),
                time_per_barrier_ns<Kind::cluster>(size), time_per_barrier_ns<Kind::cluster_relaxed>(size),
                time_per_barrier_ns<Kind::cluster_read>(size));
  return 0;
}
