#include "cuda/cuda_check.h"
#include "cuda/inference/small_batch_kernel.h"

namespace leap::cuda_detail {
namespace {

__device__ inline float warp_sum(float value) {
  for (int offset = 16; offset > 0; offset >>= 1) value += __shfl_xor_sync(0xffffffffu, value, offset);
  return value;
}

// Each block: the inputs into shared memory (one trip over the bus), its 16 hidden units
// (a warp each, float4 dot products), their share of the logits. The last block to finish
// adds the shares and the bias, writes the logits to the host and then the call number.
__global__ void __launch_bounds__(kSmallBatchUnitsPerBlock * 32) small_batch_kernel(SmallBatchArgs a) {
  extern __shared__ float4 s_inputs[];  // [batch, in / 4]
  __shared__ float s_hidden[kSmallBatchUnitsPerBlock][kSmallBatchMaxRows];
  __shared__ bool s_last;
  const int quads = a.in / 4, warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const float4* inputs = reinterpret_cast<const float4*>(a.inputs);
  for (int i = threadIdx.x; i < a.batch * quads; i += blockDim.x) s_inputs[i] = inputs[i];
  __syncthreads();
  const int unit = blockIdx.x * kSmallBatchUnitsPerBlock + warp;
  if (unit < a.hid) {
    const float4* w = reinterpret_cast<const float4*>(a.w1 + size_t(unit) * a.in);
    float sum[kSmallBatchMaxRows] = {};
#pragma unroll 4
    for (int q = lane; q < quads; q += 32) {
      const float4 wq = __ldg(w + q);
      for (int r = 0; r < a.batch; ++r) {
        const float4 x = s_inputs[r * quads + q];
        sum[r] = fmaf(wq.x, x.x, fmaf(wq.y, x.y, fmaf(wq.z, x.z, fmaf(wq.w, x.w, sum[r]))));
      }
    }
    for (int r = 0; r < a.batch; ++r) {
      const float total = warp_sum(sum[r]);
      if (lane == 0) s_hidden[warp][r] = fmaxf(total + a.b1[unit], 0.0f);
    }
  } else if (lane == 0) {
    for (int r = 0; r < a.batch; ++r) s_hidden[warp][r] = 0.0f;
  }
  __syncthreads();
  const int units = min(kSmallBatchUnitsPerBlock, a.hid - int(blockIdx.x) * kSmallBatchUnitsPerBlock);
  for (int i = threadIdx.x; i < a.batch * a.classes; i += blockDim.x) {
    const int r = i / a.classes, c = i % a.classes;
    const float* w2 = a.w2 + size_t(c) * a.hid + blockIdx.x * kSmallBatchUnitsPerBlock;
    float share = 0.0f;
    for (int u = 0; u < units; ++u) share = fmaf(s_hidden[u][r], w2[u], share);
    a.partial_logits[(size_t(blockIdx.x) * a.batch + r) * a.classes + c] = share;
  }
  __threadfence();
  __syncthreads();
  if (threadIdx.x == 0) s_last = atomicAdd(a.blocks_done, 1u) == gridDim.x - 1;
  __syncthreads();
  if (!s_last) return;
  __threadfence();
  for (int i = threadIdx.x; i < a.batch * a.classes; i += blockDim.x) {
    float z = a.b2[i % a.classes];
    for (int b = 0; b < int(gridDim.x); ++b) z += __ldcg(a.partial_logits + size_t(b) * a.batch * a.classes + i);
    a.logits[i] = z;
  }
  __threadfence_system();  // the logits reach the host before the call number does
  __syncthreads();
  if (threadIdx.x == 0) {
    *a.blocks_done = 0;
    __threadfence_system();
    *a.done_call = a.call;
  }
}

}  // namespace

void launch_small_batch_forward(const SmallBatchArgs& args, cudaStream_t stream) {
  small_batch_kernel<<<small_batch_blocks(args.hid), kSmallBatchUnitsPerBlock * 32,
                       sizeof(float) * args.batch * args.in, stream>>>(args);
  LEAP_CUDA_CHECK_LAUNCH();
}

}  // namespace leap::cuda_detail
