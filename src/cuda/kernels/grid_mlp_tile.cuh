// The whole-GPU kernel's matrix product (grid_mlp.cu): one block makes a tile of 16 x 32
// outputs, out(i, j) = sum over r of A(i, r) B(j, r). The block stages 64 reduction indices
// of both operands at a time in shared memory, the next ones on their way meanwhile: through
// registers (one stage ahead), or with asynchronous copies (cp.async, kStages - 1 stages
// ahead, for long sums whose stages would otherwise wait on L2 one after another). Each of
// its 8 warps takes 8 indices of a stage, a lane a 4 x 4 block of outputs; the warps' sums
// are then added in warp order, so the result's bits depend on the shapes alone. Each thread
// gets two outputs back for its epilogue.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

namespace leap::cuda_detail {
namespace {

constexpr int kGridThreads = 256;
constexpr int kGridWarps = kGridThreads / 32;
constexpr int kTileM = 16, kTileN = 32;  // a tile's outputs
constexpr int kChunk = 64;               // reduction indices staged at a time
constexpr int kStrideA = kTileM + 4;     // shared rows padded against bank conflicts,
constexpr int kStrideB = kTileN + 4;     // kept 16-byte aligned for float4 reads
constexpr int kLoadsA = kTileM * kChunk / kGridThreads;
constexpr int kLoadsB = kTileN * kChunk / kGridThreads;
constexpr int kStages = 3;               // stages in shared memory for the asynchronous copies

// An operand: element (i, r), i along the tile's outputs, r along the sum, at
// base[row(i) * stride_i + row(r) * stride_r]; zero outside [0, extent_i) x [0, extent_r).
// row() is the index itself, or for the index that `samples` is set for, the batch's row of
// the data set (shared memory). The data set is read through the read-only cache; what the
// kernel writes (weights, activations, gradients) around L1, which other SMs do not update.
// The asynchronous copies have no such form for 4-byte elements (cp.async.cg copies 16): they
// rely on the grid barrier's acquire, which leaves no stale line in the SM's L1 (the PTX
// memory model's guarantee for weak reads after an acquire); their test compares their bits
// with the register path's.
struct Operand {
  const float* base;
  int64_t stride_i, stride_r;
  int extent_i, extent_r;
  const int* samples_i;
  const int* samples_r;
  bool read_only;
};

struct TileSmem {
  float a[kStages][kChunk * kStrideA];  // [r][i]; the register path uses the first
  float b[kStages][kChunk * kStrideB];  // [r][j]
  float sums[kGridWarps][32][16];
};

__device__ inline float operand_at(const Operand& o, int i, int r) {
  if (i >= o.extent_i || r >= o.extent_r) return 0.0f;
  const int64_t row_i = o.samples_i ? o.samples_i[i] : i;
  const int64_t row_r = o.samples_r ? o.samples_r[r] : r;
  const float* at = o.base + row_i * o.stride_i + row_r * o.stride_r;
  return o.read_only ? __ldg(at) : __ldcg(at);
}

// Element q of a thread's share of a (rows x kChunk) stage: consecutive threads take
// consecutive addresses of whichever index is contiguous in memory.
template <int kRows>
__device__ inline void stage_position(const Operand& o, int q, int* i, int* r) {
  const int e = threadIdx.x + q * kGridThreads;
  if (o.stride_r == 1) {
    *i = e / kChunk, *r = e % kChunk;
  } else {
    *i = e % kRows, *r = e / kRows;
  }
}

template <int kRows, int kLoads>
__device__ inline void load_stage(const Operand& o, int i0, int r0, float (&values)[kLoads]) {
#pragma unroll
  for (int q = 0; q < kLoads; ++q) {
    int i, r;
    stage_position<kRows>(o, q, &i, &r);
    values[q] = operand_at(o, i0 + i, r0 + r);
  }
}

// Copies a (rows x kChunk) stage of the operand into shared memory without passing through
// registers; elements outside the operand are filled with zeros.
template <int kRows, int kLoads, int kStride>
__device__ inline void copy_stage(const Operand& o, int i0, int r0, float* stage) {
#pragma unroll
  for (int q = 0; q < kLoads; ++q) {
    int i, r;
    stage_position<kRows>(o, q, &i, &r);
    const bool inside = i0 + i < o.extent_i && r0 + r < o.extent_r;
    const float* at = o.base;
    if (inside) {
      const int64_t row_i = o.samples_i ? o.samples_i[i0 + i] : i0 + i;
      const int64_t row_r = o.samples_r ? o.samples_r[r0 + r] : r0 + r;
      at = o.base + row_i * o.stride_i + row_r * o.stride_r;
    }
    const unsigned target = unsigned(__cvta_generic_to_shared(stage + r * kStride + i));
    asm volatile("cp.async.ca.shared.global [%0], [%1], 4, %2;" ::"r"(target), "l"(at), "r"(inside ? 4 : 0));
  }
}

__device__ inline void commit_copies() { asm volatile("cp.async.commit_group;"); }
template <int kPending>
__device__ inline void wait_copies() {
  asm volatile("cp.async.wait_group %0;" ::"n"(kPending));
}

template <int kRows, int kLoads, int kStride>
__device__ inline void store_stage(const Operand& o, const float (&values)[kLoads], float* stage) {
#pragma unroll
  for (int q = 0; q < kLoads; ++q) {
    int i, r;
    stage_position<kRows>(o, q, &i, &r);
    stage[r * kStride + i] = values[q];
  }
}

// The outputs a thread finishes of a tile, and where output q lies in the tile: callers load
// what their epilogue needs for those places before the product, so that it arrives meanwhile.
constexpr int kOutputs = kTileM * kTileN / kGridThreads;
__device__ inline int output_row(int q) { return (threadIdx.x + q * kGridThreads) / kTileN; }
__device__ inline int output_column(int q) { return (threadIdx.x + q * kGridThreads) % kTileN; }

struct TileOutputs {
  float value[kOutputs];
};

// A stage's share of the sums: warp w takes indices [8w, 8w + 8) of the stage.
__device__ inline void sum_stage(const float* a_stage, const float* b_stage, float (&acc)[4][4]) {
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int ti = lane / 8 * 4, tj = lane % 8 * 4;
#pragma unroll
  for (int k = 0; k < kChunk / kGridWarps; ++k) {
    const int r = warp * (kChunk / kGridWarps) + k;
    const float4 a = *reinterpret_cast<const float4*>(&a_stage[r * kStrideA + ti]);
    const float4 b = *reinterpret_cast<const float4*>(&b_stage[r * kStrideB + tj]);
    const float av[4] = {a.x, a.y, a.z, a.w}, bv[4] = {b.x, b.y, b.z, b.w};
#pragma unroll
    for (int x = 0; x < 4; ++x)
#pragma unroll
      for (int y = 0; y < 4; ++y) acc[x][y] = fmaf(av[x], bv[y], acc[x][y]);
  }
}

// The sums with the next stage in registers.
__device__ inline void sum_through_registers(const Operand& A, const Operand& B, int i0, int j0, int reduce,
                                             TileSmem& s, float (&acc)[4][4]) {
  float next_a[kLoadsA], next_b[kLoadsB];
  load_stage<kTileM>(A, i0, 0, next_a);
  load_stage<kTileN>(B, j0, 0, next_b);
  for (int r0 = 0; r0 < reduce; r0 += kChunk) {
    store_stage<kTileM, kLoadsA, kStrideA>(A, next_a, s.a[0]);
    store_stage<kTileN, kLoadsB, kStrideB>(B, next_b, s.b[0]);
    __syncthreads();
    if (r0 + kChunk < reduce) {  // in flight while this stage is summed
      load_stage<kTileM>(A, i0, r0 + kChunk, next_a);
      load_stage<kTileN>(B, j0, r0 + kChunk, next_b);
    }
    sum_stage(s.a[0], s.b[0], acc);
    __syncthreads();
  }
}

// The sums with kStages - 1 stages copied ahead. Every iteration commits one group (empty
// past the end), so that waiting for all but kStages - 2 groups waits for this stage.
__device__ inline void sum_through_copies(const Operand& A, const Operand& B, int i0, int j0, int reduce,
                                          TileSmem& s, float (&acc)[4][4]) {
  const int stages = (reduce + kChunk - 1) / kChunk;
  for (int c = 0; c < kStages - 1; ++c) {
    if (c < stages) {
      copy_stage<kTileM, kLoadsA, kStrideA>(A, i0, c * kChunk, s.a[c]);
      copy_stage<kTileN, kLoadsB, kStrideB>(B, j0, c * kChunk, s.b[c]);
    }
    commit_copies();
  }
  for (int c = 0; c < stages; ++c) {
    wait_copies<kStages - 2>();
    __syncthreads();  // stage c is in for every thread, and stage c - 1 is summed
    const int ahead = c + kStages - 1;
    if (ahead < stages) {  // into stage c - 1's buffer
      copy_stage<kTileM, kLoadsA, kStrideA>(A, i0, ahead * kChunk, s.a[ahead % kStages]);
      copy_stage<kTileN, kLoadsB, kStrideB>(B, j0, ahead * kChunk, s.b[ahead % kStages]);
    }
    commit_copies();
    sum_stage(s.a[c % kStages], s.b[c % kStages], acc);
  }
  wait_copies<0>();
  __syncthreads();
}

// This thread's outputs of the tile at (i0, j0), `reduce` indices summed. Every thread of
// the block calls it; it leaves the shared memory free for the next tile.
__device__ TileOutputs tile_product(const Operand& A, const Operand& B, int i0, int j0, int reduce, TileSmem& s,
                                    bool copies) {
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  float acc[4][4] = {};
  if (copies) sum_through_copies(A, B, i0, j0, reduce, s, acc);
  else sum_through_registers(A, B, i0, j0, reduce, s, acc);
#pragma unroll
  for (int x = 0; x < 4; ++x)
#pragma unroll
    for (int y = 0; y < 4; ++y) s.sums[warp][lane][x * 4 + y] = acc[x][y];
  __syncthreads();
  TileOutputs result;
#pragma unroll
  for (int q = 0; q < kOutputs; ++q) {
    const int i = output_row(q), j = output_column(q);
    const int holder = i / 4 * 8 + j / 4, element = i % 4 * 4 + j % 4;
    float total = 0.0f;
    for (int w = 0; w < kGridWarps; ++w) total += s.sums[w][holder][element];
    result.value[q] = total;
  }
  // The next tile writes the sums only after its first stage's barrier, which every thread
  // reaches after reading them here.
  return result;
}

}  // namespace
}  // namespace leap::cuda_detail
