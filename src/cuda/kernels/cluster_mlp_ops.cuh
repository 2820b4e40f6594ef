// The persistent kernel's device primitives (cluster_mlp.cu): tensor-core products to fp32
// accuracy from fp16 and TF32 operands, barriers, and the cluster's asynchronous stores and
// copies. Included by cluster_mlp.cu alone.
#pragma once

#include <cuda_fp16.h>

#include <cstdint>

#include "cuda/kernels/cluster_mlp_layout.cuh"

namespace leap::cuda_detail {
namespace {

// The first layer's products run on fp16 tensor cores (m16n8k16), where a byte u is exact.
// Two bytes of `word`, picked by `selector` (0x4140: bytes 0 and 1; 0x4342: bytes 2 and 3),
// as a pair of halves: the bits 0x64uu are the half 1024 + u, from which 1024 is taken away.
__device__ inline uint32_t byte_pair(uint32_t word, uint32_t selector) {
  const uint32_t biased = __byte_perm(word, 0x64646464u, selector);
  uint32_t pair;
  asm("sub.rn.f16x2 %0, %1, %2;" : "=r"(pair) : "r"(biased), "r"(0x64006400u));
  return pair;
}

// fp32 values reach fp16 operands to fp32 accuracy in two parts, high + low, after scaling
// by a power of two chosen from `peak`, a bound on their magnitudes (the bound scaled lies in
// [2^14, 2^15), inside fp16's range); `inverse` undoes the scaling of the products exactly.
struct Scale {
  float scale, inverse;
};

__device__ inline float warp_max(float value) {
#pragma unroll
  for (int offset = 16; offset > 0; offset >>= 1) value = fmaxf(value, __shfl_xor_sync(kFull, value, offset));
  return value;
}

__device__ inline Scale scale_for(float peak) {
  const int exponent = max(-100, min(100, int(__float_as_uint(peak) >> 23) - 127));
  return {__uint_as_float(uint32_t(127 + 14 - exponent) << 23), __uint_as_float(uint32_t(127 - 14 + exponent) << 23)};
}

// x0 s and x1 s as high and low pairs of halves: x s = high + low to about 22 bits.
__device__ inline void split_pair(float x0, float x1, float scale, uint32_t& high, uint32_t& low) {
  const float y0 = x0 * scale, y1 = x1 * scale;
  const __half2 h = __floats2half2_rn(y0, y1);
  const float2 back = __half22float2(h);
  const __half2 l = __floats2half2_rn(y0 - back.x, y1 - back.y);
  high = *reinterpret_cast<const uint32_t*>(&h);
  low = *reinterpret_cast<const uint32_t*>(&l);
}

// d += a b for one 16x8x16 tile with fp16 operands (PTX's fragment layout for m16n8k16).
__device__ inline void mma_f16(float (&d)[4], uint32_t a0, uint32_t a1, uint32_t a2, uint32_t a3, uint32_t b0,
                               uint32_t b1) {
  asm volatile(
      "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
      : "r"(a0), "r"(a1), "r"(a2), "r"(a3), "r"(b0), "r"(b1));
}

// The same for a 16x8x8 tile (m16n8k8).
__device__ inline void mma_f16_k8(float (&d)[4], uint32_t a0, uint32_t a1, uint32_t b0) {
  asm volatile("mma.sync.aligned.m16n8k8.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5}, {%6}, {%0,%1,%2,%3};"
               : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
               : "r"(a0), "r"(a1), "r"(b0));
}

// Rounds to TF32 (nearest, ties away from zero) as cvt.rna.tf32.f32 does for finite values,
// in two integer instructions: sm_90 has no such instruction and emulates it in about ten.
__device__ inline uint32_t to_tf32(float value) {
  return (__float_as_uint(value) + 0x1000u) & 0xffffe000u;
}

// d += a b for one 16x8x8 tile (PTX's fragment layout for m16n8k8 with tf32 operands).
__device__ inline void mma_tf32(float (&d)[4], uint32_t a0, uint32_t a1, uint32_t a2, uint32_t a3,
                                uint32_t b0, uint32_t b1) {
  asm volatile(
      "mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, "
      "{%8,%9}, {%0,%1,%2,%3};"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
      : "r"(a0), "r"(a1), "r"(a2), "r"(a3), "r"(b0), "r"(b1));
}

// The same to fp32 accuracy: each operand split into TF32 high and low parts, a b = ah bh +
// al bh + ah bl (al bl lies below fp32's precision), the first product into `high` and the
// others into `low`, so that the two chains overlap. The result is high + low.
__device__ inline void mma_split(float (&high)[4], float (&low)[4], const float (&a)[4], float b0, float b1) {
  uint32_t ah[4], al[4];
#pragma unroll
  for (int i = 0; i < 4; ++i) ah[i] = to_tf32(a[i]), al[i] = to_tf32(a[i] - __uint_as_float(ah[i]));
  const uint32_t bh0 = to_tf32(b0), bh1 = to_tf32(b1);
  const uint32_t bl0 = to_tf32(b0 - __uint_as_float(bh0)), bl1 = to_tf32(b1 - __uint_as_float(bh1));
  mma_tf32(high, ah[0], ah[1], ah[2], ah[3], bh0, bh1);
  mma_tf32(low, al[0], al[1], al[2], al[3], bh0, bh1);
  mma_tf32(low, ah[0], ah[1], ah[2], ah[3], bl0, bl1);
}

__device__ inline void barrier_arrive(int id, int threads) {
  asm volatile("bar.arrive %0, %1;" ::"r"(id), "r"(threads) : "memory");
}

__device__ inline void barrier_sync(int id, int threads) {
  asm volatile("bar.sync %0, %1;" ::"r"(id), "r"(threads) : "memory");
}

// The blocks exchange rows of logits and of their gradients by asynchronous remote stores
// (st.async): each lane stores its pairs of values straight into the receiver's shared
// memory, where they count towards the receiver's transaction barrier (mbarrier) for that
// step. Plain remote stores cost hundreds of cycles each; bulk copies from shared memory
// would have to be staged, fenced and issued one lane at a time.
__device__ inline unsigned shared_address(const void* pointer) {
  return static_cast<unsigned>(__cvta_generic_to_shared(pointer));
}

__device__ inline unsigned in_block(unsigned address, int rank) {
  unsigned remote;
  asm volatile("mapa.shared::cluster.u32 %0, %1, %2;" : "=r"(remote) : "r"(address), "r"(rank));
  return remote;
}

__device__ inline void init_barrier(uint64_t* barrier) {
  asm volatile("mbarrier.init.shared::cta.b64 [%0], 1;" ::"r"(shared_address(barrier)) : "memory");
}

// This step's transfers into the barrier's block will bring `bytes`; its one arrival.
__device__ inline void expect_bytes(uint64_t* barrier, unsigned bytes) {
  asm volatile("mbarrier.arrive.expect_tx.shared::cta.b64 _, [%0], %1;" ::"r"(shared_address(barrier)), "r"(bytes)
               : "memory");
}

// Waits for the barrier's phase `parity` to complete. A phase that never completes (a fault
// in another block) ends the kernel with an error after some seconds rather than hanging.
__device__ inline void wait_barrier(uint64_t* barrier, unsigned parity) {
  const unsigned address = shared_address(barrier);
  const long long start = clock64();
  for (;;) {
    unsigned done;
    asm volatile(
        "{\n .reg .pred p;\n mbarrier.try_wait.parity.acquire.cluster.shared::cta.b64 p, [%1], %2;\n"
        " selp.u32 %0, 1, 0, p;\n}"
        : "=r"(done)
        : "r"(address), "r"(parity)
        : "memory");
    if (done) return;
    if (clock64() - start > (1ll << 35)) __trap();
  }
}

// Makes this thread's writes to shared memory visible to the copy engine.
__device__ inline void fence_for_copies() { asm volatile("fence.proxy.async.shared::cta;" ::: "memory"); }

// Stores the pair (x, y) at `target` (the same offset) in block `rank`, counted by `barrier`
// (the same offset) there: an asynchronous remote store, issued by each lane on its own.
__device__ inline void store_to_block(const float* target, float x, float y, const uint64_t* barrier, int rank) {
  asm volatile("st.async.shared::cluster.mbarrier::complete_tx::bytes.v2.f32 [%0], {%1, %2}, [%3];" ::"r"(
                   in_block(shared_address(target), rank)),
               "f"(x), "f"(y), "r"(in_block(shared_address(barrier), rank))
               : "memory");
}

// Copies one image (`bytes`, a multiple of 16) from global memory into the same offset of
// every block's shared memory in one transfer, counted by `barrier` (the same offset) there.
__device__ inline void multicast_row(void* target, const void* source, unsigned bytes, const uint64_t* barrier,
                                     int blocks) {
  const unsigned short everyone = static_cast<unsigned short>((1u << blocks) - 1);
  asm volatile(
      "cp.async.bulk.shared::cluster.global.mbarrier::complete_tx::bytes.multicast::cluster [%0], [%1], %2, [%3], "
      "%4;" ::"r"(shared_address(target)),
      "l"(source), "r"(bytes), "r"(shared_address(barrier)), "h"(everyone)
      : "memory");
}

__device__ inline long long globaltimer_ns() {
  long long ns;
  asm volatile("mov.u64 %0, %globaltimer;" : "=l"(ns));
  return ns;
}

}  // namespace
}  // namespace leap::cuda_detail
