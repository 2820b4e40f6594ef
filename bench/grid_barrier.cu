// The cost of one grid-wide barrier, for the floor of the whole-GPU training kernel
// (src/cuda/kernels/grid_mlp.cu): a cooperative launch of one 256-thread block an SM runs
// many barriers back to back, and the time per barrier is the median over repeats of the
// kernel's time over the count. leap's barrier (kernels/grid_barrier.cuh) beside cooperative
// groups' grid.sync(), and beside a block barrier. Then the rate at which the SMs read and
// write a buffer that stays in L2 (8 MiB, the size of a wide MLP's weights and moments), the
// other term of the kernel's floor. First, a check that leap's barrier orders what it must:
// the program fails if any block reads a value its neighbour wrote before the barrier stale.
#include <cooperative_groups.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdio>
#include <vector>

#include "cuda/kernels/grid_barrier.cuh"
#include "cuda_check.h"

namespace cg = cooperative_groups;

constexpr int kThreads = 256;
constexpr int kBarriers = 20000;

enum class Kind { block, leap, cooperative_groups };

template <Kind kind>
__global__ void barrier_kernel(unsigned* words) {
  for (int i = 0; i < kBarriers; ++i) {
    if (kind == Kind::block) __syncthreads();
    else if (kind == Kind::leap) leap::cuda_detail::grid_barrier(words);
    else cg::this_grid().sync();
  }
}

template <Kind kind>
double time_per_barrier_ns(int blocks) {
  unsigned* words = nullptr;
  CHECK(cudaMalloc(&words, 2 * sizeof(unsigned)));
  CHECK(cudaMemset(words, 0, 2 * sizeof(unsigned)));
  cudaEvent_t start, stop;
  CHECK(cudaEventCreate(&start));
  CHECK(cudaEventCreate(&stop));
  std::vector<double> times;
  void* arguments[] = {&words};
  for (int repeat = 0; repeat < 7; ++repeat) {  // the first is a warm-up
    CHECK(cudaEventRecord(start));
    CHECK(cudaLaunchCooperativeKernel(reinterpret_cast<const void*>(barrier_kernel<kind>), blocks, kThreads,
                                      arguments, 0, nullptr));
    CHECK(cudaEventRecord(stop));
    CHECK(cudaEventSynchronize(stop));
    float ms = 0;
    CHECK(cudaEventElapsedTime(&ms, start, stop));
    if (repeat > 0) times.push_back(ms * 1e6 / kBarriers);
  }
  CHECK(cudaFree(words));
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

// Each pass reads and rewrites every float4 of the buffer (grid-strided).
__global__ void l2_pass_kernel(float4* buffer, int count, int passes) {
  for (int pass = 0; pass < passes; ++pass)
    for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < count; i += gridDim.x * blockDim.x) {
      float4 v = __ldcg(buffer + i);
      v.x += 1.0f;
      __stcg(buffer + i, v);
    }
}

// Round r: every thread of block b writes r to its slot, a barrier, then reads the slot of
// the same thread of block b + 1 (and counts a value other than r), a barrier again, so that
// the next round's writes come after every read of this one.
__global__ void barrier_check_kernel(unsigned* word, int* slots, int rounds, unsigned long long* stale) {
  const int threads = blockDim.x, next = (blockIdx.x + 1) % gridDim.x;
  unsigned long long wrong = 0;
  for (int round = 1; round <= rounds; ++round) {
    __stcg(slots + blockIdx.x * threads + threadIdx.x, round);
    leap::cuda_detail::grid_barrier(word);
    // A plain load, which may hit a line this SM's L1 kept from the round before: the
    // barrier's acquire must leave none stale (the kernel's cp.async.ca reads rely on it).
    wrong += slots[next * threads + threadIdx.x] != round;
    leap::cuda_detail::grid_barrier(word);
  }
  if (wrong) atomicAdd(stale, wrong);
}

// Stale reads over `rounds` rounds of the check above, at `blocks` blocks.
unsigned long long barrier_stale_reads(int blocks, int rounds) {
  unsigned* word = nullptr;
  int* slots = nullptr;
  unsigned long long* stale = nullptr;
  CHECK(cudaMalloc(&word, sizeof(unsigned)));
  CHECK(cudaMalloc(&slots, size_t(blocks) * kThreads * sizeof(int)));
  CHECK(cudaMalloc(&stale, sizeof(unsigned long long)));
  CHECK(cudaMemset(word, 0, sizeof(unsigned)));
  CHECK(cudaMemset(slots, 0, size_t(blocks) * kThreads * sizeof(int)));
  CHECK(cudaMemset(stale, 0, sizeof(unsigned long long)));
  void* arguments[] = {&word, &slots, &rounds, &stale};
  CHECK(cudaLaunchCooperativeKernel(reinterpret_cast<const void*>(barrier_check_kernel), blocks, kThreads,
                                    arguments, 0, nullptr));
  unsigned long long count = 0;
  CHECK(cudaMemcpy(&count, stale, sizeof count, cudaMemcpyDeviceToHost));
  CHECK(cudaFree(word));
  CHECK(cudaFree(slots));
  CHECK(cudaFree(stale));
  return count;
}

double l2_bytes_per_second(int blocks) {
  const int count = (8 << 20) / 16, passes = 200;
  float4* buffer = nullptr;
  CHECK(cudaMalloc(&buffer, count * sizeof(float4)));
  CHECK(cudaMemset(buffer, 0, count * sizeof(float4)));
  cudaEvent_t start, stop;
  CHECK(cudaEventCreate(&start));
  CHECK(cudaEventCreate(&stop));
  std::vector<double> rates;
  for (int repeat = 0; repeat < 7; ++repeat) {
    CHECK(cudaEventRecord(start));
    l2_pass_kernel<<<blocks, 1024>>>(buffer, count, passes);
    CHECK(cudaEventRecord(stop));
    CHECK(cudaEventSynchronize(stop));
    float ms = 0;
    CHECK(cudaEventElapsedTime(&ms, start, stop));
    if (repeat > 0) rates.push_back(2.0 * count * sizeof(float4) * passes / (ms * 1e-3));
  }
  CHECK(cudaFree(buffer));
  std::sort(rates.begin(), rates.end());
  return rates[rates.size() / 2];
}

int main() {
  cudaDeviceProp properties;
  CHECK(cudaGetDeviceProperties(&properties, 0));
  const int sms = properties.multiProcessorCount;
  std::printf("device: %s, %d SMs\n", properties.name, sms);
  const int rounds = 20000;
  const unsigned long long stale = barrier_stale_reads(sms, rounds);
  std::printf("leap's barrier, checked: %llu stale reads in %d rounds of %d blocks x %d threads\n", stale, rounds,
              sms, kThreads);
  if (stale) return 1;
  std::printf("%d barriers a kernel, %d threads a block, median of 6 kernels\n", kBarriers, kThreads);
  std::printf("%8s | %16s | %20s | %20s\n", "blocks", "__syncthreads ns", "leap grid_barrier ns", "grid.sync() ns");
  for (int blocks : {sms / 4, sms / 2, sms})
    std::printf("%8d | %16.1f | %20.1f | %20.1f\n", blocks, time_per_barrier_ns<Kind::block>(blocks),
                time_per_barrier_ns<Kind::leap>(blocks), time_per_barrier_ns<Kind::cooperative_groups>(blocks));
  std::printf("L2-resident 8 MiB buffer, read and written by %d blocks of 1024 threads: %.2f TB/s (median of 6)\n",
              sms, l2_bytes_per_second(sms) / 1e12);
  return 0;
}
