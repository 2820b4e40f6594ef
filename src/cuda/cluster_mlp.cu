#include <cooperative_groups.h>

#include <string>

#include "cuda/adam_math.cuh"
#include "cuda/cluster_mlp.h"
#include "cuda/cuda_check.h"

namespace cg = cooperative_groups;

namespace leap::cuda_detail {
namespace {

constexpr int kWarps = 14;
constexpr int kThreads = kWarps * 32;
constexpr int kChunks = 7;               // chunks of 8 inputs that a warp owns
constexpr int kSlice = kChunks * 8;      // inputs a warp owns: its columns of x and of w1
constexpr int kMaxIn = kWarps * kSlice;  // 784
constexpr int kUnits = 8;                // hidden units a block owns
constexpr int kMaxCluster = 16;
constexpr int kMaxBatch = 64;
constexpr int kRowTiles = kMaxBatch / 16;
constexpr int kMaxClasses = 16;
constexpr int kPairs = kWarps / 2;  // the forward sum over warps goes through kPairs buffers
constexpr int kB2Thread = 128;      // first thread of the output bias's owners (rank 0)
constexpr int kSmallSlots = kMaxClasses * kUnits + kUnits + kMaxClasses;  // w2, b1, b2 of a block
constexpr float kByteScale = 255.0f;  // an input x is the byte u with x = u / 255

// Offsets into the dynamic shared memory (floats, but `x` in bytes), the same on host and
// device.
struct Layout {
  int moments, reduce, hidden, grad_hidden, logits, own, inbox_partial, inbox_grad, totals, w2, b1, b2,
      small_grads, x_bytes, total_bytes;
};

__host__ __device__ inline Layout layout(int batch, int classes) {
  Layout l{};
  l.moments = 0;                                      // w1's m then v: [warps][kChunks][2][32 lanes]
  l.reduce = l.moments + 2 * kWarps * kChunks * 2 * 32;  // [kPairs][4 row tiles][32 lanes][4]
  l.hidden = l.reduce + kPairs * kRowTiles * 32 * 4;  // [batch][kUnits], after the ReLU
  l.grad_hidden = l.hidden + batch * kUnits;          // [batch][kUnits]
  l.logits = l.grad_hidden + batch * kUnits;          // [batch][classes]: d(loss)/d(logits)
  l.own = l.logits + batch * classes;                 // [batch][classes]: the rows this block owns
  l.inbox_partial = l.own + batch * classes;          // tagged [blocks][owned rows][classes]
  l.inbox_grad = l.inbox_partial + 2 * (batch + kMaxCluster) * kMaxClasses;  // tagged [batch][classes]
  l.totals = l.inbox_grad + 2 * batch * kMaxClasses;  // [kMaxCluster] doubles, then ints
  l.w2 = l.totals + 3 * kMaxCluster;                  // [classes][kUnits]
  l.b1 = l.w2 + classes * kUnits;                     // [kUnits]
  l.b2 = l.b1 + kUnits;                               // [kMaxClasses]
  l.small_grads = l.b2 + kMaxClasses;                 // [kSmallSlots]: gradients of w2, b1, b2
  l.x_bytes = 4 * (l.small_grads + kSmallSlots);      // [2 buffers][warps][batch][kSlice] bytes
  l.total_bytes = l.x_bytes + 2 * kWarps * batch * kSlice;
  return l;
}

// The tensor cores take a byte u as the float u, exact in TF32: the bits 0x4B0000uu are the
// float 2^23 + u, from which 2^23 is taken away.
__device__ inline uint32_t byte_operand(uint32_t word, int which) {
  return __float_as_uint(__uint_as_float(__byte_perm(word, 0x4B000000u, 0x7440 + which)) - 8388608.0f);
}

__device__ inline uint32_t to_tf32(float value) {
  uint32_t bits;
  asm("cvt.rna.tf32.f32 %0, %1;" : "=r"(bits) : "f"(value));
  return bits;
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

// 8 bytes from global to shared memory without passing through registers; zeros when
// `valid` is false (columns past the input width).
__device__ inline void copy8_async(uint8_t* target, const uint8_t* source, bool valid) {
  const unsigned address = static_cast<unsigned>(__cvta_generic_to_shared(target));
  asm volatile("cp.async.ca.shared.global [%0], [%1], 8, %2;" ::"r"(address), "l"(source),
               "r"(valid ? 8 : 0));
}

__device__ inline void commit_async_copies() { asm volatile("cp.async.commit_group;" ::: "memory"); }
__device__ inline void wait_async_copies() { asm volatile("cp.async.wait_all;" ::: "memory"); }

// The blocks exchange values through each other's shared memory without a cluster barrier
// (whose memory fence costs ~0.6 us): a value travels as one 64-bit word with the step it
// belongs to, stored straight into the receiver's inbox; the receiver waits on its own
// shared memory until the word carries the step. Each inbox is written once a step, and no
// sender can run a step ahead of a receiver that still reads it (see the kernel's loop).
__device__ inline void send_tagged(uint64_t* slot, int rank, float value, unsigned tag) {
  const unsigned local = static_cast<unsigned>(__cvta_generic_to_shared(slot));
  unsigned remote;
  asm volatile("mapa.shared::cluster.u32 %0, %1, %2;" : "=r"(remote) : "r"(local), "r"(rank));
  const uint64_t word = (uint64_t(tag) << 32) | __float_as_uint(value);
  asm volatile("st.relaxed.cluster.shared::cluster.b64 [%0], %1;" ::"r"(remote), "l"(word) : "memory");
}

__device__ inline float receive_tagged(const uint64_t* slot, unsigned tag) {
  const unsigned address = static_cast<unsigned>(__cvta_generic_to_shared(slot));
  uint64_t word;
  do {
    asm volatile("ld.relaxed.cluster.shared.b64 %0, [%1];" : "=l"(word) : "r"(address) : "memory");
  } while (unsigned(word >> 32) != tag);
  return __uint_as_float(unsigned(word));
}

// Starts copying this warp's columns of a batch into its slice of shared memory; lane l
// holds the samples of rows l and l + 32. Only the warp itself reads the slice, so it needs
// no block-wide barrier.
__device__ inline void load_batch_slice(uint8_t* slice, const ClusterMlpArgs& a, int sample_low,
                                        int sample_high, int warp, int lane) {
  constexpr int kPieces = kSlice / 8;  // 8-byte pieces of a row
  for (int first = 0; first < a.batch * kPieces; first += 32) {
    const int i = first + lane, row = i / kPieces, piece = i % kPieces;
    const int low = __shfl_sync(0xffffffffu, sample_low, row % 32);
    const int high = __shfl_sync(0xffffffffu, sample_high, row % 32);
    if (i < a.batch * kPieces) {
      const int column = warp * kSlice + piece * 8;
      const bool valid = column < a.in;
      const uint8_t* source = a.image_bytes + int64_t(row < 32 ? low : high) * a.in + (valid ? column : 0);
      copy8_async(slice + row * kSlice + piece * 8, source, valid);
    }
  }
  commit_async_copies();
}

// The samples of rows lane and lane + 32 of a batch (0 past the batch).
__device__ inline void batch_samples(const ClusterMlpArgs& a, int64_t batch_index, int lane, int& low, int& high) {
  const int32_t* rows = a.order + batch_index * a.batch;
  low = lane < a.batch ? __ldg(rows + lane) : 0;
  high = lane + 32 < a.batch ? __ldg(rows + lane + 32) : 0;
}

// The one small parameter (of w2, b1, b2) a thread owns, if any: w2's slice goes to threads
// [0, C*8), b1's to the last 8 threads, b2 to threads [kB2Thread, kB2Thread + C) of rank 0.
struct SmallParameter {
  int64_t index;  // into the global tensors, or -1
  float *value, *m, *v;
  int shared;     // float offset of its copy in shared memory
  int slot;       // its gradient's place in small_grads
};

__device__ inline SmallParameter small_parameter(const ClusterMlpArgs& a, int tid, int rank, int unit0) {
  const Layout l = layout(a.batch, a.classes);
  const int b1_unit = tid - (kThreads - kUnits), b2_class = tid - kB2Thread;
  const int w2_count = a.classes * kUnits;
  if (tid < w2_count)
    return {int64_t(tid / kUnits) * a.hid + unit0 + tid % kUnits, a.weights.w2, a.weights.m_w2, a.weights.v_w2, l.w2 + tid, tid};
  if (b1_unit >= 0)
    return {unit0 + b1_unit, a.weights.b1, a.weights.m_b1, a.weights.v_b1, l.b1 + b1_unit, w2_count + b1_unit};
  if (rank == 0 && b2_class >= 0 && b2_class < a.classes)
    return {b2_class, a.weights.b2, a.weights.m_b2, a.weights.v_b2, l.b2 + b2_class, w2_count + kUnits + b2_class};
  return {-1, nullptr, nullptr, nullptr, 0, 0};
}

__global__ void __launch_bounds__(kThreads, 1) cluster_mlp_kernel(const ClusterMlpArgs a) {
  extern __shared__ __align__(16) float shared[];
  cg::cluster_group cluster = cg::this_cluster();
  const int rank = int(cluster.block_rank()), blocks = int(cluster.num_blocks());
  const int tid = threadIdx.x, warp = tid / 32, lane = tid % 32, g = lane / 4, t = lane % 4;
  const int B = a.batch, C = a.classes, unit0 = rank * kUnits, row_tiles = B / 16;
  const Layout l = layout(B, C);
  float* moments = shared + l.moments + warp * kChunks * 2 * 32 + lane;  // [kc][j] at (kc*2+j)*32
  const int v_offset = kWarps * kChunks * 2 * 32;
  float4* reduce = reinterpret_cast<float4*>(shared + l.reduce);
  float* hidden = shared + l.hidden;
  float* grad_hidden = shared + l.grad_hidden;
  float* logits = shared + l.logits;
  float* own = shared + l.own;
  uint64_t* inbox_partial = reinterpret_cast<uint64_t*>(shared + l.inbox_partial);
  uint64_t* inbox_grad = reinterpret_cast<uint64_t*>(shared + l.inbox_grad);
  // Block q owns rows q, q + blocks, ...: it sums their logits and computes their loss.
  const int rows_per_owner = (B + blocks - 1) / blocks;
  const int own_rows = (B - rank + blocks - 1) / blocks;
  float* w2s = shared + l.w2;
  float* b1s = shared + l.b1;
  float* b2s = shared + l.b2;
  uint8_t* x_buffers = reinterpret_cast<uint8_t*>(shared) + l.x_bytes + warp * B * kSlice;
  const int x_buffer_stride = kWarps * B * kSlice;

  // This lane's share of w1, in registers for the whole launch (its Adam moments in shared
  // memory). Chunk kc of the warp covers inputs [base, base + 8); the lane holds unit g at
  // inputs base + 2t and base + 2t + 1, which is both its B fragment in the forward product
  // (the chunk's inputs taken in the order 0,2,4,6,1,3,5,7) and its C fragment in the
  // weight-gradient product.
  float w[kChunks][2];
#pragma unroll
  for (int kc = 0; kc < kChunks; ++kc) {
    const int column = warp * kSlice + kc * 8 + 2 * t;
    const int64_t i = int64_t(unit0 + g) * a.in + column;
    const bool valid = column < a.in;  // the input width is even, so column + 1 is valid too
#pragma unroll
    for (int j = 0; j < 2; ++j) {
      w[kc][j] = valid ? a.weights.w1[i + j] : 0.0f;
      moments[(kc * 2 + j) * 32] = valid ? a.weights.m_w1[i + j] : 0.0f;
      moments[v_offset + (kc * 2 + j) * 32] = valid ? a.weights.v_w1[i + j] : 0.0f;
    }
  }
  // The small parameters, one per owning thread.
  float pw = 0, pm = 0, pv = 0;
  const SmallParameter owned = small_parameter(a, tid, rank, unit0);
  if (owned.index >= 0) {
    pw = owned.value[owned.index], pm = owned.m[owned.index], pv = owned.v[owned.index];
    shared[owned.shared] = pw;
  }
  float* small_grads = shared + l.small_grads;
  const int small_slots = C * kUnits + kUnits + (rank == 0 ? C : 0);

  // The samples of the next batches are loaded a step ahead of their use, so that no load of
  // the epoch order or of a label waits on the critical path.
  int low = 0, high = 0;
  batch_samples(a, a.first_batch, lane, low, high);
  load_batch_slice(x_buffers, a, low, high, warp, lane);
  for (int i = tid; i < (B + kMaxCluster) * kMaxClasses; i += kThreads) inbox_partial[i] = 0;
  for (int i = tid; i < B * kMaxClasses; i += kThreads) inbox_grad[i] = 0;
  // The label of owned row tid (row rank + tid * blocks), from the lanes holding the samples.
  auto owned_label = [&](int low_samples, int high_samples) {
    const int row = rank + (tid % 64) * blocks;
    const int from_low = __shfl_sync(0xffffffffu, low_samples, row % 32);
    const int from_high = __shfl_sync(0xffffffffu, high_samples, row % 32);
    return tid < own_rows ? __ldg(a.labels + (row < 32 ? from_low : from_high)) : 0;
  };
  int next_label = warp < 2 ? owned_label(low, high) : 0;
  if (a.steps > 1) batch_samples(a, a.first_batch + 1, lane, low, high);
  double loss_total = 0;
  int correct_total = 0;
  cluster.sync();  // every block runs before any reads another's shared memory

  // Optional phase timing (args.phase_cycles): thread 0 of rank 0 and of the last warp
  // count the cycles between the marks of each step.
  const bool timed = a.phase_cycles && rank == 0 && (tid == 0 || tid == kThreads - 32);
  long long phase[kPhases] = {}, mark = clock64();
#define LEAP_PHASE(i)                    \
  if (timed) {                           \
    const long long now = clock64();     \
    phase[i] += now - mark;              \
    mark = now;                          \
  }
  for (int64_t s = 0; s < a.steps; ++s) {
    const AdamScalars h = adam_scalars_for_step(a.adam, a.lr, a.adam_steps + s + 1);
    const int label = next_label;
    const uint8_t* x = x_buffers + (s & 1) * x_buffer_stride;
    wait_async_copies();
    __syncwarp();
    // The next batch streams in while this one is computed.
    if (s + 1 < a.steps) {
      load_batch_slice(x_buffers + ((s + 1) & 1) * x_buffer_stride, a, low, high, warp, lane);
      if (warp < 2) next_label = owned_label(low, high);
      if (s + 2 < a.steps) batch_samples(a, a.first_batch + s + 2, lane, low, high);
    }

    LEAP_PHASE(0);
    // Forward: this warp's 56 inputs' share of u w1^T (u the bytes) for every row.
    float acc[kRowTiles][4] = {};
#pragma unroll
    for (int kc = 0; kc < kChunks; ++kc) {
      const uint32_t b0 = to_tf32(w[kc][0]), b1 = to_tf32(w[kc][1]);
#pragma unroll
      for (int rt = 0; rt < kRowTiles; ++rt) {
        if (rt < row_tiles) {
          const uint8_t* top = x + (rt * 16 + g) * kSlice + kc * 8 + 2 * t;
          const uint32_t upper = *reinterpret_cast<const uint16_t*>(top);
          const uint32_t lower = *reinterpret_cast<const uint16_t*>(top + 8 * kSlice);
          mma_tf32(acc[rt], byte_operand(upper, 0), byte_operand(lower, 0), byte_operand(upper, 1),
                   byte_operand(lower, 1), b0, b1);
        }
      }
    }
    LEAP_PHASE(1);
    // Sum over the warps in a fixed order: warp w + 7 into warp w, then the 7 in turn.
    if (warp >= kPairs)
#pragma unroll
      for (int rt = 0; rt < kRowTiles; ++rt)
        reduce[((warp - kPairs) * kRowTiles + rt) * 32 + lane] =
            make_float4(acc[rt][0], acc[rt][1], acc[rt][2], acc[rt][3]);
    __syncthreads();
    if (warp < kPairs)
#pragma unroll
      for (int rt = 0; rt < kRowTiles; ++rt) {
        float4& slot = reduce[(warp * kRowTiles + rt) * 32 + lane];
        const float4 other = slot;
        slot = make_float4(acc[rt][0] + other.x, acc[rt][1] + other.y, acc[rt][2] + other.z,
                           acc[rt][3] + other.w);
      }
    __syncthreads();
    for (int e = tid; e < B * kUnits; e += kThreads) {
      const int r = e / kUnits, u = e % kUnits, rt = r / 16, row = r % 16;
      const int owner = (row % 8) * 4 + u / 2, slot = (row / 8) * 2 + u % 2;
      float sum = 0;
      for (int p = 0; p < kPairs; ++p)
        sum += reinterpret_cast<const float*>(&reduce[(p * kRowTiles + rt) * 32 + owner])[slot];
      hidden[e] = fmaxf(sum / kByteScale + b1s[u], 0.0f);
    }
    __syncthreads();

    LEAP_PHASE(2);
    // This block's share of the logits (rank 0 adds the bias), sent to each row's owner.
    const unsigned tag = unsigned(a.adam_steps + s + 1);
    for (int e = tid; e < B * C; e += kThreads) {
      const int r = e / C, c = e % C;
      float z = rank == 0 ? b2s[c] : 0.0f;
      for (int u = 0; u < kUnits; ++u) z = fmaf(hidden[r * kUnits + u], w2s[c * kUnits + u], z);
      send_tagged(inbox_partial + (rank * rows_per_owner + r / blocks) * C + c, r % blocks, z, tag);
    }
    LEAP_PHASE(3);
    // The owned rows' logits: the blocks' shares summed in rank order.
    for (int e = tid; e < own_rows * C; e += kThreads) {
      const int local = e / C, c = e % C;
      float z = 0;
      for (int q = 0; q < blocks; ++q) z += receive_tagged(inbox_partial + (q * rows_per_owner + local) * C + c, tag);
      own[e] = z;
    }
    __syncthreads();
    LEAP_PHASE(4);
    // Softmax cross-entropy of each owned row, and d(loss)/d(logits) in place of its logits.
    if (tid < own_rows) {
      float* z = own + tid * C;
      float peak = z[0];
      int predicted = 0;
      for (int c = 1; c < C; ++c)
        if (z[c] > peak) peak = z[c], predicted = c;
      float total = 0;
      for (int c = 0; c < C; ++c) total += expf(z[c] - peak);
      loss_total += double(logf(total) - (z[label] - peak));
      correct_total += predicted == label;
      for (int c = 0; c < C; ++c) z[c] = (expf(z[c] - peak) / total - (c == label ? 1.0f : 0.0f)) / B;
    }
    __syncthreads();
    LEAP_PHASE(5);
    // Every block gets every row's gradient.
    for (int e = tid; e < blocks * own_rows * C; e += kThreads) {
      const int target = e / (own_rows * C), i = e % (own_rows * C);
      send_tagged(inbox_grad + (rank + i / C * blocks) * C + i % C, target, own[i], tag);
    }
    for (int e = tid; e < B * C; e += kThreads) logits[e] = receive_tagged(inbox_grad + e, tag);
    __syncthreads();

    LEAP_PHASE(6);
    // Hidden gradient through the old w2, masked by the ReLU; the small parameters' gradients.
    for (int e = tid; e < B * kUnits; e += kThreads) {
      const int r = e / kUnits, u = e % kUnits;
      float sum = 0;
      for (int c = 0; c < C; ++c) sum = fmaf(logits[r * C + c], w2s[c * kUnits + u], sum);
      grad_hidden[e] = hidden[e] > 0.0f ? sum : 0.0f;
    }
    // The small parameters' gradients: a warp per gradient, its lanes over the rows.
    for (int slot = warp; slot < small_slots; slot += kWarps) {
      float sum = 0;
      for (int r = lane; r < B; r += 32) {
        if (slot < C * kUnits) {  // w2[c][u]
          sum = fmaf(logits[r * C + slot / kUnits], hidden[r * kUnits + slot % kUnits], sum);
        } else if (slot < C * kUnits + kUnits) {  // b1[u], through the old w2 and the ReLU
          const int u = slot - C * kUnits;
          float through = 0;
          for (int c = 0; c < C; ++c) through = fmaf(logits[r * C + c], w2s[c * kUnits + u], through);
          sum += hidden[r * kUnits + u] > 0.0f ? through : 0.0f;
        } else {  // b2[c]
          sum += logits[r * C + slot - C * kUnits - kUnits];
        }
      }
      for (int offset = 16; offset > 0; offset >>= 1) sum += __shfl_xor_sync(0xffffffffu, sum, offset);
      if (lane == 0) small_grads[slot] = sum;
    }
    __syncthreads();
    if (owned.index >= 0) {
      adam_apply(pw, pm, pv, small_grads[owned.slot], h);
      shared[owned.shared] = pw;
    }

    LEAP_PHASE(7);
    // w1's gradient, dh^T u / 255, one chunk of 8 inputs at a time, each applied by Adam at
    // once. The unit tile is 16 rows tall; rows 8-15 are zero.
    uint32_t dh[kMaxBatch / 8][2];
#pragma unroll
    for (int kt = 0; kt < kMaxBatch / 8; ++kt)
      if (kt < B / 8) {
        dh[kt][0] = to_tf32(grad_hidden[(kt * 8 + t) * kUnits + g]);
        dh[kt][1] = to_tf32(grad_hidden[(kt * 8 + t + 4) * kUnits + g]);
      }
    // The products of up to 4 chunks at a time, so that their mma chains overlap, then those
    // chunks' Adam updates.
#pragma unroll
    for (int first = 0; first < kChunks; first += 4) {
      float d[4][4] = {};
#pragma unroll
      for (int kt = 0; kt < kMaxBatch / 8; ++kt)
        if (kt < B / 8)
#pragma unroll
          for (int i = 0; i < 4; ++i)
            if (first + i < kChunks) {
              const uint8_t* column = x + (first + i) * 8 + g;
              mma_tf32(d[i], dh[kt][0], 0u, dh[kt][1], 0u, byte_operand(column[(kt * 8 + t) * kSlice], 0),
                       byte_operand(column[(kt * 8 + t + 4) * kSlice], 0));
            }
#pragma unroll
      for (int i = 0; i < 4; ++i)
        if (first + i < kChunks)
#pragma unroll
          for (int j = 0; j < 2; ++j) {
            const int kc = first + i;
            adam_apply(w[kc][j], moments[(kc * 2 + j) * 32], moments[v_offset + (kc * 2 + j) * 32],
                       d[i][j] / kByteScale, h);
          }
    }
    LEAP_PHASE(8);
    __syncwarp();  // the warp is done with this batch's columns before they are refilled
    LEAP_PHASE(9);
  }
#undef LEAP_PHASE
  if (timed)
    for (int i = 0; i < kPhases; ++i) atomicAdd(reinterpret_cast<unsigned long long*>(a.phase_cycles) + (tid == 0 ? 0 : kPhases) + i, (unsigned long long)phase[i]);

  // Everything back to global memory for the next launch and the rest of the library.
#pragma unroll
  for (int kc = 0; kc < kChunks; ++kc) {
    const int column = warp * kSlice + kc * 8 + 2 * t;
    if (column < a.in) {
      const int64_t i = int64_t(unit0 + g) * a.in + column;
#pragma unroll
      for (int j = 0; j < 2; ++j) {
        a.weights.w1[i + j] = w[kc][j];
        a.weights.m_w1[i + j] = moments[(kc * 2 + j) * 32];
        a.weights.v_w1[i + j] = moments[v_offset + (kc * 2 + j) * 32];
      }
    }
  }
  if (owned.index >= 0) owned.value[owned.index] = pw, owned.m[owned.index] = pm, owned.v[owned.index] = pv;
  // The loss and correct count: warps 0 and 1 hold the owned rows; each block's totals go to
  // rank 0, which adds them in rank order.
  double* loss_parts = reinterpret_cast<double*>(shared + l.totals);
  int* correct_parts = reinterpret_cast<int*>(loss_parts + kMaxCluster);
  __syncthreads();
  double* block_loss = reinterpret_cast<double*>(reduce);  // free again
  int* block_correct = reinterpret_cast<int*>(block_loss + 2);
  if (warp < 2) {
    for (int offset = 16; offset > 0; offset >>= 1) {
      loss_total += __shfl_xor_sync(0xffffffffu, loss_total, offset);
      correct_total += __shfl_xor_sync(0xffffffffu, correct_total, offset);
    }
    if (lane == 0) block_loss[warp] = loss_total, block_correct[warp] = correct_total;
  }
  __syncthreads();
  if (tid == 0) {
    cluster.map_shared_rank(loss_parts, 0)[rank] = block_loss[0] + block_loss[1];
    cluster.map_shared_rank(correct_parts, 0)[rank] = block_correct[0] + block_correct[1];
  }
  cluster.sync();
  if (rank == 0 && tid == 0) {
    double loss = 0;
    int correct = 0;
    for (int q = 0; q < blocks; ++q) loss += loss_parts[q], correct += correct_parts[q];
    *a.loss_sum += loss;
    *a.correct += correct;
  }
}

// byte_images[i] = u where images[i] == u / 255 exactly; counts the values that are not.
__global__ void byte_images_kernel(const float* images, int64_t count, uint8_t* byte_images,
                                   unsigned long long* inexact) {
  unsigned long long misses = 0;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < count;
       i += int64_t(gridDim.x) * blockDim.x) {
    const float x = images[i];
    const float u = rintf(x * kByteScale);
    const bool exact = u >= 0.0f && u <= 255.0f && u / kByteScale == x;
    byte_images[i] = exact ? uint8_t(u) : 0;
    misses += !exact;
  }
  if (misses) atomicAdd(inexact, misses);
}

size_t shared_bytes(int batch, int classes) { return size_t(layout(batch, classes).total_bytes); }

// Sets the kernel's shared-memory limit and cluster permission for this shape.
void configure(int batch, int classes, int cluster) {
  LEAP_CUDA_CHECK(cudaFuncSetAttribute(cluster_mlp_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                       int(shared_bytes(batch, classes))));
  if (cluster > 8)
    LEAP_CUDA_CHECK(cudaFuncSetAttribute(cluster_mlp_kernel,
                                         cudaFuncAttributeNonPortableClusterSizeAllowed, 1));
}

cudaLaunchConfig_t launch_config(int batch, int classes, int cluster, cudaLaunchAttribute* attribute,
                                 cudaStream_t stream) {
  cudaLaunchConfig_t config = {};
  config.gridDim = dim3(unsigned(cluster));
  config.blockDim = dim3(kThreads);
  config.dynamicSmemBytes = shared_bytes(batch, classes);
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
  if (in < 8 || in > kMaxIn || in % 8 != 0)
    return "input width " + std::to_string(in) + " is not a multiple of 8 up to " + std::to_string(kMaxIn);
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
  const size_t bytes = shared_bytes(batch, classes);
  if (bytes > size_t(optin))
    return "it needs " + std::to_string(bytes) + " bytes of shared memory a block, the GPU gives " +
           std::to_string(optin);
  const int cluster = hid / kUnits;
  configure(batch, classes, cluster);
  cudaLaunchAttribute attribute;
  const cudaLaunchConfig_t config = launch_config(batch, classes, cluster, &attribute, nullptr);
  int clusters = 0;
  LEAP_CUDA_CHECK(cudaOccupancyMaxActiveClusters(&clusters, cluster_mlp_kernel, &config));
  if (clusters < 1)
    return "the GPU cannot co-schedule a cluster of " + std::to_string(cluster) + " blocks";
  return "";
}

int64_t make_byte_images(const float* images, int64_t count, uint8_t* byte_images,
                         unsigned long long* inexact, cudaStream_t stream) {
  LEAP_CUDA_CHECK(cudaMemsetAsync(inexact, 0, sizeof *inexact, stream));
  byte_images_kernel<<<264, 256, 0, stream>>>(images, count, byte_images, inexact);
  LEAP_CUDA_CHECK_LAUNCH();
  unsigned long long misses = 0;
  LEAP_CUDA_CHECK(cudaMemcpyAsync(&misses, inexact, sizeof misses, cudaMemcpyDeviceToHost, stream));
  LEAP_CUDA_CHECK(cudaStreamSynchronize(stream));
  return int64_t(misses);
}

void launch_cluster_mlp(const ClusterMlpArgs& args, cudaStream_t stream) {
  if (args.steps <= 0) return;
  const int cluster = args.hid / kUnits;
  cudaLaunchAttribute attribute;
  const cudaLaunchConfig_t config = launch_config(args.batch, args.classes, cluster, &attribute, stream);
  LEAP_CUDA_CHECK(cudaLaunchKernelEx(&config, cluster_mlp_kernel, args));
}

}  // namespace leap::cuda_detail
