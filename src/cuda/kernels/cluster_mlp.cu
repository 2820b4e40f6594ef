#include <cooperative_groups.h>
#include <cuda_fp16.h>

#include <algorithm>
#include <string>
#include <vector>

#include "cuda/kernels/adam_math.cuh"
#include "cuda/kernels/cluster_mlp.h"
#include "cuda/kernels/cluster_mlp_layout.cuh"
#include "cuda/kernels/cluster_mlp_ops.cuh"
#include "cuda/kernels/cluster_mlp_batch.cuh"
#include "cuda/kernels/cluster_mlp_forward.cuh"
#include "cuda/kernels/cluster_mlp_gradients.cuh"
#include "cuda/kernels/cluster_mlp_phases.cuh"
#include "cuda/kernels/cluster_mlp_state.cuh"
#include "cuda/kernels/cluster_mlp_timer.cuh"
#include "cuda/cuda_check.h"

namespace leap::cuda_detail {
namespace {

// One step, in phases (each line a barrier or an exchange):
//   the batch's arrival (each block copies its owned rows into every block, a step ahead);
//   forward products (each warp over its 56 inputs) -> partial sums in shared memory;
//   4 warps sum them, add b1, apply the ReLU and send each row's share of the logits to
//   the row's owner;
//   each owner (block q owns a run of rows_per_owner rows from q * rows_per_owner) sums the
//   blocks' shares of its rows in rank order, computes softmax cross-entropy and sends
//   d(loss)/d(logits) to every block;
//   in parallel warps, the hidden gradient (with its fp16 halves and b1's column sums) and
//   w2's gradient by row tiles;
//   the small parameters' Adam updates (w2 from its row tiles' sums, b1, b2), and w1's
//   gradient on the tensor cores, each value applied by Adam in the registers that hold the
//   weight.
// kTimed: the instance that times its phases (LEAP_PHASE_TIMING); its counters take
// registers that the plain instance keeps for the loop.
template <bool kTimed>
__device__ __forceinline__ void train_steps(const ClusterMlpArgs& a) {
  extern __shared__ __align__(16) float shared[];
  cg::cluster_group cluster = cg::this_cluster();
  const Block b(a, cluster);
  const int warp = b.warp;
  const Arrays m = arrays_in(shared);
  float2* moments = w1_moments(b, shared);
  float w[kLaneWeights];  // this lane's share of w1, in registers for the whole launch
  load_w1(b, w, moments);
  load_small_parameters(b, m);
  BatchFeed feed(b, shared);
  init_barriers(b, m);
  zero_unwritten(b, m);
  double loss_total = 0;
  int correct_total = 0;
  feed.start(cluster);
  __shared__ long long arrival[kTimed ? kTimedBarriers * kWarps : 1];
  PhaseTimer<kTimed> timer(b, arrival);

  for (int64_t s = 0; s < a.run.steps; ++s) {
    const unsigned parity = unsigned(s & 1);  // of the barriers' phase for this step
    const uint8_t* x = feed.warp_columns(s);
    const float* w2s = m.w2_copies + (s & 1) * kW2Size;  // the step's copy of w2
    adam_scalars_ahead(b, m, s);
    feed.arrive(s, m);
    timer.mark(0);
    forward_products(b, m, x, w);
    timer.mark(1);
    timer.sync_block(0);
    timer.mark(2);
    float inverse_correction2_sqrt;
    const AdamScalars h = adam_scalars_of(b, m, s, inverse_correction2_sqrt);
    unsigned relu_mask = 0;
    hidden_and_logit_shares(b, m, w2s, relu_mask);
    if (warp < kRowTiles) barrier_arrive(kHiddenReady, 2 * kRowTiles * 32);
    timer.mark(3);
    // The softmax warps wait for the blocks' shares of the owned rows' logits; the senders
    // wait for them too before they copy the next batch. The other warps wait for the
    // logits' gradients.
    if (warp == kFirstSoftmaxWarp || warp == kSoftmaxWarp) {
      wait_barrier(m.shares_arrived, parity);
      timer.mark(4);
      softmax_and_exchange(b, m, loss_total, correct_total);
      if (warp == kSoftmaxWarp && s + 2 < a.run.steps) feed.load_samples(a.run.first_batch + s + 2);
    }
    if (s + 1 < a.run.steps && is_sender_warp(warp)) {
      wait_barrier(m.shares_arrived, parity);
      timer.mark(4);
      feed.send_next(s);
    }
    timer.mark(5);
    // The logit gradients' uses, in parallel warps, all to fp32 accuracy on the tensor cores.
    if (warp < kRowTiles) {
      if (warp < b.row_tiles) {
        wait_barrier(m.grads_arrived, parity);
        timer.mark(6);
        hidden_gradient(b, m, w2s, relu_mask);
      }
    } else if (warp < kFirstW2Warp + kRowTiles) {
      wait_barrier(m.grads_arrived, parity);
      barrier_sync(kHiddenReady, 2 * kRowTiles * 32);  // the row tiles' hidden values are in
      timer.mark(6);
      w2_gradient(b, m);
    }
    timer.mark(7);
    timer.sync_block(1);
    timer.mark(8);
    // The small parameters' Adam updates, first needed in the next step; then w1's.
    adam_w2(b, m, s, w2s, h, inverse_correction2_sqrt);
    adam_b1(b, m, h, inverse_correction2_sqrt);
    adam_b2(b, m, parity, h, inverse_correction2_sqrt);
    w1_gradient_and_adam(b, m, x, w, moments, h, inverse_correction2_sqrt);
    timer.mark(9);
  }
  timer.finish();
  store_w1(b, w, moments);
  store_small_parameters(b, m);
  add_loss_totals(b, m, cluster, loss_total, correct_total);
}

template <bool kTimed>
__global__ void __launch_bounds__(kThreads, 1) cluster_mlp_kernel(const ClusterMlpArgs a) {
  train_steps<kTimed>(a);
}

// Several models, one cluster each: cluster k trains model k. The arguments stay in the
// kernel's parameter space (__grid_constant__: read in place, never copied per thread).
__global__ void __launch_bounds__(kThreads, 1) cluster_mlps_kernel(const __grid_constant__ ClusterMlpModels models) {
  train_steps<false>(models.model[blockIdx.x / cg::this_cluster().num_blocks()]);
}

// byte_images[n][stored_column(k)] = u where images[n][k] == u / 255 exactly (0 for k past
// the input width); counts the values that are not of that form.
__global__ void byte_images_kernel(const float* images, int64_t samples, int in, uint8_t* byte_images,
                                   unsigned long long* inexact) {
  unsigned long long misses = 0;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < samples * kMaxIn;
       i += int64_t(gridDim.x) * blockDim.x) {
    const int64_t sample = i / kMaxIn;
    const int column = int(i % kMaxIn);
    uint8_t byte = 0;
    if (column < in) {
      const float x = images[sample * in + column];
      const float u = rintf(x * kByteScale);
      const bool exact = u >= 0.0f && u <= 255.0f && u / kByteScale == x;
      byte = exact ? uint8_t(u) : 0;
      misses += !exact;
    }
    byte_images[sample * kMaxIn + stored_column(column)] = byte;
  }
  if (misses) atomicAdd(inexact, misses);
}

constexpr size_t kSharedBytes = size_t(layout().total_bytes);

// Sets both instances' shared-memory limit and, past 8 blocks, the permission for the cluster.
template <typename Kernel>
void configure(Kernel kernel, int cluster) {
  LEAP_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, int(kSharedBytes)));
  if (cluster > 8) LEAP_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeNonPortableClusterSizeAllowed, 1));
}

void configure(int cluster) {
  configure(cluster_mlp_kernel<false>, cluster);
  configure(cluster_mlp_kernel<true>, cluster);
  configure(cluster_mlps_kernel, cluster);
}

// `clusters` clusters of `cluster` blocks.
cudaLaunchConfig_t launch_config(int cluster, cudaLaunchAttribute* attribute, cudaStream_t stream,
                                 int clusters = 1) {
  cudaLaunchConfig_t config = {};
  config.gridDim = dim3(unsigned(cluster * clusters));
  config.blockDim = dim3(kThreads);
  config.dynamicSmemBytes = kSharedBytes;
  config.stream = stream;
  attribute->id = cudaLaunchAttributeClusterDimension;
  attribute->val.clusterDim.x = unsigned(cluster);
  attribute->val.clusterDim.y = 1;
  attribute->val.clusterDim.z = 1;
  config.attrs = attribute;
  config.numAttrs = 1;
  return config;
}

}  // namespace

std::string cluster_mlp_rejection(int batch, int in, int hid, int classes) {
  if (batch < 16 || batch > kMaxBatch || batch % 16 != 0)
    return "batch " + std::to_string(batch) + " is not 16, 32, 48 or 64";
  if (in < 16 || in > kMaxIn || in % 16 != 0)  // the widths tested
    return "input width " + std::to_string(in) + " is not a multiple of 16 up to " + std::to_string(kMaxIn);
  if (hid < kUnits || hid > kUnits * kMaxCluster || hid % kUnits != 0)
    return "hidden width " + std::to_string(hid) + " is not a multiple of 8 up to " +
           std::to_string(kUnits * kMaxCluster);
  if (classes < 1 || classes > kMaxClasses)
    return std::to_string(classes) + " classes (at most " + std::to_string(kMaxClasses) + ")";
  int device = 0, major = 0, optin = 0;
  LEAP_CUDA_CHECK(cudaGetDevice(&device));
  LEAP_CUDA_CHECK(cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device));
  if (major < 9) return "thread-block clusters need compute capability 9.0";
  LEAP_CUDA_CHECK(cudaDeviceGetAttribute(&optin, cudaDevAttrMaxSharedMemoryPerBlockOptin, device));
  const size_t bytes = kSharedBytes;
  if (bytes > size_t(optin))
    return "it needs " + std::to_string(bytes) + " bytes of shared memory a block, the GPU gives " +
           std::to_string(optin);
  const int cluster = hid / kUnits;
  configure(cluster);
  cudaLaunchAttribute attribute;
  const cudaLaunchConfig_t config = launch_config(cluster, &attribute, nullptr);
  int clusters = 0;
  LEAP_CUDA_CHECK(cudaOccupancyMaxActiveClusters(&clusters, cluster_mlp_kernel<false>, &config));
  if (clusters < 1)
    return "the GPU cannot co-schedule a cluster of " + std::to_string(cluster) + " blocks";
  return "";
}

int64_t make_byte_images(const float* images, int64_t samples, int in, uint8_t* byte_images,
                         unsigned long long* inexact, cudaStream_t stream) {
  LEAP_CUDA_CHECK(cudaMemsetAsync(inexact, 0, sizeof *inexact, stream));
  byte_images_kernel<<<264, 256, 0, stream>>>(images, samples, in, byte_images, inexact);
  LEAP_CUDA_CHECK_LAUNCH();
  unsigned long long misses = 0;
  LEAP_CUDA_CHECK(cudaMemcpyAsync(&misses, inexact, sizeof misses, cudaMemcpyDeviceToHost, stream));
  LEAP_CUDA_CHECK(cudaStreamSynchronize(stream));
  return int64_t(misses);
}

void launch_cluster_mlp(const ClusterMlpArgs& args, cudaStream_t stream) {
  if (args.run.steps <= 0) return;
  const int cluster = args.hid / kUnits;
  cudaLaunchAttribute attribute;
  const cudaLaunchConfig_t config = launch_config(cluster, &attribute, stream);
  if (args.phase_cycles) LEAP_CUDA_CHECK(cudaLaunchKernelEx(&config, cluster_mlp_kernel<true>, args));
  else LEAP_CUDA_CHECK(cudaLaunchKernelEx(&config, cluster_mlp_kernel<false>, args));
}

void launch_cluster_mlps(const ClusterMlpArgs* models, int count, cudaStream_t stream) {
  // A model with no steps left, and one timed by phase, launch alone (the first not at all).
  std::vector<ClusterMlpArgs> together;
  for (int i = 0; i < count; ++i) {
    const ClusterMlpArgs& args = models[i];
    if (args.phase_cycles) launch_cluster_mlp(args, stream);
    else if (args.run.steps > 0) together.push_back(args);
  }
  // One launch for each hidden width (a cluster's size), kMaxClusterModels models at most.
  std::stable_sort(together.begin(), together.end(),
                   [](const ClusterMlpArgs& x, const ClusterMlpArgs& y) { return x.hid < y.hid; });
  for (size_t first = 0; first < together.size();) {
    ClusterMlpModels launch{};
    const int hid = together[first].hid;
    while (first < together.size() && together[first].hid == hid && launch.count < kMaxClusterModels)
      launch.model[launch.count++] = together[first++];
    const int cluster = hid / kUnits;
    cudaLaunchAttribute attribute;
    const cudaLaunchConfig_t config = launch_config(cluster, &attribute, stream, launch.count);
    LEAP_CUDA_CHECK(cudaLaunchKernelEx(&config, cluster_mlps_kernel, launch));
  }
}

}  // namespace leap::cuda_detail
