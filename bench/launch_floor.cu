// The floor of one kernel launch a call on this GPU and host, for the batch-1 latency of the
// small-batch serving path (src/cuda/inference/small_batch_inference.*), which launches one kernel a
// call and spins on a completion word in mapped host memory. Measured three ways, 20000
// calls each after 2000 of warm-up, p50 and p99 of the call as the host sees it:
//   sync:   an empty kernel, then cudaStreamSynchronize;
//   mapped: a one-thread kernel that writes the call number to mapped host memory, the host
//           spinning on it (the serving path's mechanism, with no work);
//   read:   the same after reading 784 floats from mapped host memory with 8 blocks (the
//           serving path's input, without its products);
//   param:  the 784 floats passed in the launch's parameters instead (and `param4096`: a
//           parameter block of 4096 floats, four such inputs), 8 blocks staging them.
#include <cuda_runtime.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "cuda_check.h"

constexpr int kCalls = 20000, kWarmUp = 2000, kInputs = 784, kBlocks = 8;

__global__ void empty_kernel() {}

__global__ void answer_kernel(volatile unsigned* done, unsigned call) { *done = call; }

// The last block to finish writes the call number to mapped host memory.
__device__ void answer_when_last(float* sink, const float* staged, unsigned* finished, volatile unsigned* done,
                                 unsigned call) {
  __syncthreads();
  if (threadIdx.x == 0) sink[blockIdx.x] = staged[blockIdx.x];
  __threadfence();
  if (threadIdx.x == 0 && atomicAdd(finished, 1u) == gridDim.x - 1) {
    *finished = 0;
    __threadfence_system();
    *done = call;
  }
}

// Every block reads the inputs; the last one to finish answers.
__global__ void read_and_answer_kernel(const float* inputs, float* sink, unsigned* finished,
                                       volatile unsigned* done, unsigned call) {
  __shared__ float staged[kInputs];
  for (int i = threadIdx.x; i < kInputs; i += blockDim.x) staged[i] = inputs[i];
  answer_when_last(sink, staged, finished, done, call);
}

template <int kFloats>
struct Inputs {
  float values[kFloats];
};

template <int kFloats>
__global__ void param_and_answer_kernel(const Inputs<kFloats> inputs, float* sink, unsigned* finished,
                                        volatile unsigned* done, unsigned call) {
  __shared__ float staged[kFloats];
  for (int i = threadIdx.x; i < kFloats; i += blockDim.x) staged[i] = inputs.values[i];
  answer_when_last(sink, staged, finished, done, call);
}

template <typename Call>
void measure(const char* name, Call call) {
  std::vector<double> us;
  for (int i = 0; i < kWarmUp + kCalls; ++i) {
    const auto start = std::chrono::steady_clock::now();
    call(unsigned(i + 1));
    const double elapsed = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count();
    if (i >= kWarmUp) us.push_back(elapsed);
  }
  std::sort(us.begin(), us.end());
  std::printf("%-8s %8.2f %8.2f\n", name, us[us.size() / 2], us[us.size() * 99 / 100]);
}

int main() {
  cudaDeviceProp properties{};
  CHECK(cudaGetDeviceProperties(&properties, 0));
  cudaStream_t stream;
  CHECK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
  unsigned* done_host;
  float* inputs_host;
  CHECK(cudaHostAlloc(reinterpret_cast<void**>(&done_host), 64, cudaHostAllocMapped));
  CHECK(cudaHostAlloc(reinterpret_cast<void**>(&inputs_host), kInputs * sizeof(float),
                      cudaHostAllocMapped | cudaHostAllocWriteCombined));
  unsigned* done_device;
  float* inputs_device;
  CHECK(cudaHostGetDevicePointer(reinterpret_cast<void**>(&done_device), done_host, 0));
  CHECK(cudaHostGetDevicePointer(reinterpret_cast<void**>(&inputs_device), inputs_host, 0));
  float* sink;
  unsigned* finished;
  CHECK(cudaMalloc(&sink, kBlocks * sizeof(float)));
  CHECK(cudaMalloc(&finished, sizeof(unsigned)));
  CHECK(cudaMemset(finished, 0, sizeof(unsigned)));
  volatile unsigned* done = done_host;
  *done = 0;

  std::printf("launch floor on %s, %d calls each (p50, p99 in us)\n", properties.name, kCalls);
  measure("sync", [&](unsigned) {
    empty_kernel<<<1, 32, 0, stream>>>();
    CHECK(cudaStreamSynchronize(stream));
  });
  // Measures calls of `launch(call number)`, each waiting for its number in mapped memory.
  auto measure_answered = [&](const char* name, auto launch) {
    CHECK(cudaStreamSynchronize(stream));
    const unsigned base = *done;
    measure(name, [&](unsigned call) {
      launch(base + call);
      while (*done != base + call) {
      }
    });
  };
  measure_answered("mapped", [&](unsigned call) { answer_kernel<<<1, 32, 0, stream>>>(done_device, call); });
  measure_answered("read", [&](unsigned call) {
    read_and_answer_kernel<<<kBlocks, 512, 0, stream>>>(inputs_device, sink, finished, done_device, call);
  });
  static Inputs<kInputs> small;
  static Inputs<4096> large;
  for (int i = 0; i < kInputs; ++i) small.values[i] = float(i);
  measure_answered("param", [&](unsigned call) {
    param_and_answer_kernel<<<kBlocks, 512, 0, stream>>>(small, sink, finished, done_device, call);
  });
  measure_answered("param4096", [&](unsigned call) {
    param_and_answer_kernel<<<kBlocks, 512, 0, stream>>>(large, sink, finished, done_device, call);
  });
  CHECK(cudaStreamSynchronize(stream));
  CHECK(cudaGetLastError());
  return 0;
}
