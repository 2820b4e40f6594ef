#include <cooperative_groups.h>
#include <cuda_fp16.h>

#include <string>

#include "cuda/kernels/adam_math.cuh"
#include "cuda/kernels/cluster_mlp.h"
#include "cuda/kernels/cluster_mlp_layout.cuh"
#include "cuda/kernels/cluster_mlp_ops.cuh"
#include "cuda/kernels/cluster_mlp_phases.cuh"
#include "cuda/cuda_check.h"

namespace leap::cuda_detail {
namespace {

// The samples of rows lane and lane + 32 of a batch (0 past the batch).
__device__ inline void batch_samples(const ClusterMlpArgs& a, int64_t batch_index, int lane, int& low, int& high) {
  const int32_t* rows = a.order + batch_index * a.batch;
  low = lane < a.batch ? __ldg(rows + lane) : 0;
  high = lane + 32 < a.batch ? __ldg(rows + lane + 32) : 0;
}

// One step, in phases (each line a barrier or an exchange):
//   forward product (each warp over its 56 inputs) -> partial sums in shared memory;
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
__global__ void __launch_bounds__(kThreads, 1) cluster_mlp_kernel(const ClusterMlpArgs a) {
  extern __shared__ __align__(16) float shared[];
  cg::cluster_group cluster = cg::this_cluster();
  const Block b(a, cluster);
  const int rank = b.rank, blocks = b.blocks;
  const int tid = b.tid, warp = b.warp, lane = b.lane, g = b.g, t = b.t;
  const int B = b.B, C = b.C, unit0 = b.unit0, row_tiles = b.row_tiles;
  const float inverse_batch = b.inverse_batch;
  constexpr Layout l = layout();
  float4* warp_sums = reinterpret_cast<float4*>(shared + l.warp_sums);
  float* hidden = shared + l.hidden;
  float* grad_logits = shared + l.grad_logits;
  float* shares_in = shared + l.shares_in;
  uint64_t* shares_arrived = reinterpret_cast<uint64_t*>(shared + l.barriers);
  uint64_t* grads_arrived = shares_arrived + 1;
  uint64_t* batch_arrived = shares_arrived + 2;  // [2], one a batch buffer
  int* labels = reinterpret_cast<int*>(shared + l.labels);
  float* adam_step = shared + l.adam_step;  // [kAdamSteps]: the step size and 1 / sqrt(1 - beta2^t)
  float* w2_copies = shared + l.w2;
  float* b1s = shared + l.b1;
  float* b2s = shared + l.b2;
  float2* small_moments = reinterpret_cast<float2*>(shared + l.small_moments);  // w2's, b1's, b2's
  constexpr int w2_size = kMaxClasses * kUnits, b1_moments = w2_size, b2_moments = w2_size + kUnits;
  const int rows_per_owner = b.rows_per_owner, own_rows = b.own_rows;
  // The batches, [2][batch][kMaxIn] bytes, alternating: every block copies a share of the
  // rows into every block. Warp w reads columns [w * kSlice, (w + 1) * kSlice), in the
  // stored order of stored_column().
  const uint8_t* x_buffers = reinterpret_cast<const uint8_t*>(shared) + l.x_bytes + warp * kSlice;
  constexpr int x_buffer_stride = kMaxBatch * kMaxIn;

  // This lane's share of w1 (lane_weight_input), in registers for the whole launch, its Adam
  // moments in shared memory. Past the input width the weights and moments are zeros.
  // Weight i's m and v at moments[i * 32], one 8-byte access each way a step.
  float2* moments = reinterpret_cast<float2*>(shared + l.moments) + warp * kLaneWeights * 32 + lane;
  const Arrays m{shared, warp_sums, hidden, grad_logits, shares_in, shares_arrived, grads_arrived,
                 w2_copies, b1s, b2s, small_moments};
  float w[kLaneWeights];
#pragma unroll
  for (int i = 0; i < kLaneWeights; ++i) {
    const int column = warp * kSlice + lane_weight_input(i, t);
    const int64_t at = int64_t(unit0 + g) * a.in + column;
    const bool valid = column < a.in;
    w[i] = valid ? a.weights.w1[at] : 0.0f;
    moments[i * 32] = valid ? make_float2(a.weights.m_w1[at], a.weights.v_w1[at]) : make_float2(0.0f, 0.0f);
  }
  for (int i = tid; i < w2_size; i += kThreads) {
    const int c = i / kUnits;
    const int64_t at = int64_t(c) * a.hid + unit0 + i % kUnits;
    const bool real = c < C;
    w2_copies[i] = real ? a.weights.w2[at] : 0.0f;
    w2_copies[w2_size + i] = 0.0f;
    small_moments[i] = real ? make_float2(a.weights.m_w2[at], a.weights.v_w2[at]) : make_float2(0.0f, 0.0f);
  }
  if (tid < kUnits) {
    b1s[tid] = a.weights.b1[unit0 + tid];
    small_moments[b1_moments + tid] = make_float2(a.weights.m_b1[unit0 + tid], a.weights.v_b1[unit0 + tid]);
  }
  if (tid < kMaxClasses) {
    const bool real = tid < C;
    b2s[tid] = real ? a.weights.b2[tid] : 0.0f;
    small_moments[b2_moments + tid] =
        real ? make_float2(a.weights.m_b2[tid], a.weights.v_b2[tid]) : make_float2(0.0f, 0.0f);
  }

  // The softmax warp's lanes hold the samples of a batch's rows, loaded a step ahead of their
  // use, so that no load of the epoch order or of a label waits on the critical path.
  int low = 0, high = 0;
  if (warp == kSoftmaxWarp) batch_samples(a, a.first_batch, lane, low, high);
  // The sample of batch row `row`, from the lane holding it (a whole warp calls this).
  auto sample_of = [&](int row) {
    const int from_low = __shfl_sync(kFull, low, row % 32), from_high = __shfl_sync(kFull, high, row % 32);
    return row < 32 ? from_low : from_high;
  };
  if (tid == 0) {
    for (int i = 0; i < 4; ++i) init_barrier(shares_arrived + i);
    asm volatile("fence.mbarrier_init.release.cluster;" ::: "memory");  // before other blocks copy in
  }
  // Block r copies its owned rows of each batch into every block's buffer for it (batch s
  // into buffer s % 2). The warps that would otherwise wait in the exchanges issue the copies,
  // lane j of sender warp i row i + kSenders j, so that they go out in parallel; each such
  // lane loads its row's sample a batch ahead.
  const int send_local = (warp - kFirstSenderWarp) + kSenders * lane;
  const bool sends = warp >= kFirstSenderWarp && warp < kFirstSenderWarp + kSenders && send_local < own_rows;
  auto sample_at = [&](int64_t batch_index) {
    return sends ? __ldg(a.order + batch_index * a.batch + rank * rows_per_owner + send_local) : 0;
  };
  auto send_row = [&](int64_t step, int sample) {
    if (sends)
      multicast_row(reinterpret_cast<uint8_t*>(shared) + l.x_bytes + (step & 1) * x_buffer_stride +
                        (rank * rows_per_owner + send_local) * kMaxIn,
                    a.image_bytes + int64_t(sample) * kMaxIn, unsigned(kMaxIn), batch_arrived + (step & 1), blocks);
  };
  int next_sample = sample_at(a.first_batch);
  // The labels of owned rows lane and lane + 32; only the softmax warp needs them.
  auto owned_labels = [&](int (&label)[2]) {
#pragma unroll
    for (int half = 0; half < 2; ++half) {
      const int local = lane + 32 * half, sample = sample_of(rank * rows_per_owner + local);
      label[half] = local < own_rows ? __ldg(a.labels + sample) : 0;
    }
  };
  int next_labels[2] = {0, 0};
  if (warp == kSoftmaxWarp) owned_labels(next_labels);

  zero_unwritten(b, m);
  double loss_total = 0;
  int correct_total = 0;
  if (tid == 0) expect_bytes(batch_arrived, unsigned(B * kMaxIn));
  cluster.sync();  // every block runs, its barriers ready, before any copies into another
  send_row(0, next_sample);
  if (a.steps > 1) {
    next_sample = sample_at(a.first_batch + 1);
    if (warp == kSoftmaxWarp) batch_samples(a, a.first_batch + 1, lane, low, high);
  }

  // Optional phase timing (args.phase_cycles): the first threads of rank 0's warp 0 (a
  // row-sum warp), of the warp that applies w2's gradient and of the softmax warp count the
  // cycles between the marks of a step.
  const int timer = warp == 0 ? 0 : warp == kFirstW2Warp ? 1 : 2;
  const bool timed = kTimed && rank == 0 && lane == 0 && (warp == 0 || warp == kFirstW2Warp || warp == kSoftmaxWarp);
  long long phase[kPhases] = {}, mark = clock64();
  const long long loop_start_ns = timed ? globaltimer_ns() : 0, loop_start_cycles = mark;
  // Each warp's arrival at the two block barriers (timed instance, block 0), and its
  // lateness behind the first warp, summed.
  __shared__ long long arrival[kTimed ? kTimedBarriers * kWarps : 1];
  long long lateness[kTimedBarriers] = {};
  static_assert(kWarps <= kMaxTimedWarps);
  auto arrive_at = [&](int barrier) {
    if (kTimed && rank == 0 && lane == 0) arrival[barrier * kWarps + warp] = clock64();
  };
  auto count_lateness = [&](int barrier) {
    if (kTimed && rank == 0 && lane == 0) {
      long long first = arrival[barrier * kWarps];
      for (int i = 1; i < kWarps; ++i) first = min(first, arrival[barrier * kWarps + i]);
      lateness[barrier] += arrival[barrier * kWarps + warp] - first;
    }
  };
#define LEAP_PHASE(i)                    \
  if (kTimed && timed) {                 \
    const long long now = clock64();     \
    phase[i] += now - mark;              \
    mark = now;                          \
  }
  for (int64_t s = 0; s < a.steps; ++s) {
    const unsigned parity = unsigned(s & 1);  // of the barriers' phase for this step
    const uint8_t* x = x_buffers + (s & 1) * x_buffer_stride;
    const float* w2s = w2_copies + (s & 1) * w2_size;
    if (tid == 0 && s + 1 < a.steps) expect_bytes(batch_arrived + ((s + 1) & 1), unsigned(B * kMaxIn));
    // Adam's scalars as every other path computes them (the same bits however the steps fall
    // into launches), for the next kAdamSteps steps at once, a thread a step; read by all
    // after the step's first barrier.
    if (s % kAdamSteps == 0 && tid < kAdamSteps && s + tid < a.steps) {
      const AdamScalars step = adam_scalars_for_step(a.adam, a.lr, a.adam_steps + s + tid + 1);
      adam_step[tid * 2] = step.step_size;
      adam_step[tid * 2 + 1] = 1.0f / step.correction2_sqrt;
    }
    if (warp == kSoftmaxWarp) {
      if (lane < own_rows) labels[lane] = next_labels[0];
      if (lane + 32 < own_rows) labels[lane + 32] = next_labels[1];
      if (lane == 0) {  // the step's arrivals: every block's share of the owned rows, every row's gradient
        expect_bytes(shares_arrived, unsigned(blocks * own_rows * kRowStride * 4));
        expect_bytes(grads_arrived, unsigned(B * kRowStride * 4));
      }
    }
    if (warp == kSoftmaxWarp && s + 1 < a.steps) owned_labels(next_labels);
    wait_barrier(batch_arrived + (s & 1), unsigned(s >> 1) & 1);

    LEAP_PHASE(0);
    // Forward: this warp's 56 inputs' share of u w1^T (u the bytes) for every row, on fp16
    // tensor cores: w s = high + low (s the warp's power-of-two scale), u exact, so u w s =
    // u high + u low to fp32 accuracy, the two products accumulating apart. All four row
    // tiles are computed whatever the batch (rows past it are zeros): with no branch the
    // compiler issues the loads together and overlaps the products.
    float acc[kRowTiles][4] = {}, acc_low[kRowTiles][4] = {};
    float w_inverse;
    {
      float peak = 0.0f;
#pragma unroll
      for (int i = 0; i < kLaneWeights; ++i) peak = fmaxf(peak, fabsf(w[i]));
      const Scale scale = scale_for(warp_max(peak));
      w_inverse = scale.inverse;
      uint32_t high[kLaneWeights / 2], low[kLaneWeights / 2];
#pragma unroll
      for (int i = 0; i < kLaneWeights / 2; ++i) split_pair(w[2 * i], w[2 * i + 1], scale.scale, high[i], low[i]);
#pragma unroll
      for (int rt = 0; rt < kRowTiles; ++rt) {
        // A chunk's 4 bytes of a row for this lane are one word (stored_column()).
        const uint8_t* top = x + (rt * 16 + g) * kMaxIn + 4 * t;
        const uint8_t* bottom = top + 8 * kMaxIn;
        uint32_t upper[kChunks + 1], lower[kChunks + 1];
#pragma unroll
        for (int j = 0; j < kChunks; ++j) {
          upper[j] = *reinterpret_cast<const uint32_t*>(top + 16 * j);
          lower[j] = *reinterpret_cast<const uint32_t*>(bottom + 16 * j);
        }
        upper[kChunks] = *reinterpret_cast<const uint16_t*>(top - 2 * t + kHalfChunk);
        lower[kChunks] = *reinterpret_cast<const uint16_t*>(bottom - 2 * t + kHalfChunk);
#pragma unroll
        for (int j = 0; j < kChunks; ++j) {
          const uint32_t a0 = byte_pair(upper[j], 0x4140), a1 = byte_pair(lower[j], 0x4140);
          const uint32_t a2 = byte_pair(upper[j], 0x4342), a3 = byte_pair(lower[j], 0x4342);
          mma_f16(acc[rt], a0, a1, a2, a3, high[2 * j], high[2 * j + 1]);
          mma_f16(acc_low[rt], a0, a1, a2, a3, low[2 * j], low[2 * j + 1]);
        }
        const uint32_t a0 = byte_pair(upper[kChunks], 0x4140), a1 = byte_pair(lower[kChunks], 0x4140);
        mma_f16_k8(acc[rt], a0, a1, high[2 * kChunks]);
        mma_f16_k8(acc_low[rt], a0, a1, low[2 * kChunks]);
      }
    }
#pragma unroll
    for (int rt = 0; rt < kRowTiles; ++rt)
      warp_sums[(warp * kRowTiles + rt) * 32 + lane] =
          make_float4((acc[rt][0] + acc_low[rt][0]) * w_inverse, (acc[rt][1] + acc_low[rt][1]) * w_inverse,
                      (acc[rt][2] + acc_low[rt][2]) * w_inverse, (acc[rt][3] + acc_low[rt][3]) * w_inverse);
    LEAP_PHASE(1);
    arrive_at(0);
    __syncthreads();
    count_lateness(0);
    LEAP_PHASE(2);
    AdamScalars h = a.adam;
    h.step_size = adam_step[(s % kAdamSteps) * 2];
    const float inverse_correction2_sqrt = adam_step[(s % kAdamSteps) * 2 + 1];

    // The hidden values and the rows' shares of the logits, sent to the rows' owners.
    unsigned relu_mask = 0;
    hidden_and_logit_shares(b, m, w2s, relu_mask);
    if (warp < kRowTiles) barrier_arrive(kHiddenReady, 2 * kRowTiles * 32);
    LEAP_PHASE(3);
    // The two softmax warps wait for the blocks' shares of each owned row's logits, sum them
    // in rank order and compute the row's softmax cross-entropy, 16 lanes a row (a class
    // each); d(loss)/d(logits) goes to every block. The other warps wait for those.
    if (warp == kFirstSoftmaxWarp || warp == kSoftmaxWarp) {
      wait_barrier(shares_arrived, parity);
      LEAP_PHASE(4);
      for (int base = (warp - kFirstSoftmaxWarp) * 32; base < own_rows * kSegment; base += 64) {
        const int local = (base + lane) / kSegment, c = lane % kSegment;
        const bool real = local < own_rows && c < C;
        // A row's shares lie block after block, so that the 16 loads go out together at
        // constant offsets; they are added in rank order.
        const float* share = shares_in + local * blocks * kRowStride + c;
        float parts[kMaxCluster];
#pragma unroll
        for (int q = 0; q < kMaxCluster; ++q) parts[q] = real && q < blocks ? share[q * kRowStride] : 0.0f;
        float z = real ? b2s[c] : -INFINITY;
#pragma unroll
        for (int q = 0; q < kMaxCluster; ++q) z += parts[q];
        float peak = z;
        for (int offset = kSegment / 2; offset > 0; offset >>= 1)
          peak = fmaxf(peak, __shfl_xor_sync(kFull, peak, offset, kSegment));
        const float e = real ? __expf(z - peak) : 0.0f;
        float total = e;
        for (int offset = kSegment / 2; offset > 0; offset >>= 1)
          total += __shfl_xor_sync(kFull, total, offset, kSegment);
        const int label = real ? labels[local] : -1;
        // Zero past the classes, so that whole rows travel.
        const float gradient = real ? (__fdividef(e, total) - (c == label ? 1.0f : 0.0f)) * inverse_batch : 0.0f;
        // Each even lane stores its class and the next one's into every block.
        const float next = __shfl_down_sync(kFull, gradient, 1);
        if (local < own_rows && c % 2 == 0)
          for (int q = 0; q < blocks; ++q)
            store_to_block(grad_logits + (rank * rows_per_owner + local) * kRowStride + c, gradient, next,
                           grads_arrived, q);
        // The loss and the prediction (the first of equal maxima) after the stores, off the
        // path to the other blocks.
        const unsigned maxima = __ballot_sync(kFull, real && z == peak) >> (lane & ~(kSegment - 1)) & 0xffffu;
        if (real && c == label) {
          loss_total += double(__logf(total) - (z - peak));
          correct_total += maxima != 0 && __ffs(maxima) - 1 == label;
        }
      }
      if (warp == kSoftmaxWarp && s + 2 < a.steps) batch_samples(a, a.first_batch + s + 2, lane, low, high);
    }
    // Once every block's shares of this step have arrived, each block has finished the last
    // step and its reads of the other batch buffer: this block's rows of the next batch can
    // go there.
    if (s + 1 < a.steps && warp >= kFirstSenderWarp && warp < kFirstSenderWarp + kSenders) {
      wait_barrier(shares_arrived, parity);
      LEAP_PHASE(4);
      send_row(s + 1, next_sample);
      if (s + 2 < a.steps) next_sample = sample_at(a.first_batch + s + 2);
    }
    LEAP_PHASE(5);
    // The logit gradients' uses, in parallel warps, all to fp32 accuracy on the tensor cores.
    if (warp < kRowTiles) {
      if (warp < row_tiles) {
        // The hidden gradient of row tile rt, dh = d(logits) w2 (the old w2) masked by the
        // ReLU: the lane's values are those of its hidden values above. The k dimension runs
        // over the classes in the order that lets each row's four classes 4t..4t+3 be one
        // load: k-step j takes class 4t + 2j as k = t and 4t + 2j + 1 as k = t + 4.
        const int rt = warp, top = rt * 16 + g;
        wait_barrier(grads_arrived, parity);
        LEAP_PHASE(6);
        const float4 upper = *reinterpret_cast<const float4*>(grad_logits + top * kRowStride + 4 * t);
        const float4 lower = *reinterpret_cast<const float4*>(grad_logits + (top + 8) * kRowStride + 4 * t);
        const float* w2_unit = w2s + 4 * t * kUnits + g;
        float high[4] = {}, low[4] = {};
        mma_split(high, low, {upper.x, lower.x, upper.y, lower.y}, w2_unit[0], w2_unit[kUnits]);
        mma_split(high, low, {upper.z, lower.z, upper.w, lower.w}, w2_unit[2 * kUnits], w2_unit[3 * kUnits]);
        float dh[4];  // rows top and top + 8, units 2t and 2t + 1
#pragma unroll
        for (int i = 0; i < 4; ++i) dh[i] = relu_mask >> i & 1 ? high[i] + low[i] : 0.0f;
        // The A fragments of the weight-gradient products: dh s in fp16 high + low halves. The
        // scale s comes from a bound every row tile computes alike, |dh| <= (2 / B) max |w2|
        // (a row of the logits' gradients, softmax minus one-hot over B, sums to at most 2 / B
        // in magnitude). Unit u's rows 2p, 2p + 1 of a tile are lane (u, p % 4)'s register 0
        // (high) and 1 (low) for p < 4, 2 and 3 for the rows 8 further.
        const float4 w2_four = reinterpret_cast<const float4*>(w2s)[lane];
        const float w2_peak = warp_max(fmaxf(fmaxf(fabsf(w2_four.x), fabsf(w2_four.y)),
                                             fmaxf(fabsf(w2_four.z), fabsf(w2_four.w))));
        const Scale dh_scale = scale_for(w2_peak * (2.0f * inverse_batch));
        if (rt == 0 && lane == 0) shared[l.dh_unscale] = dh_scale.inverse;
        uint16_t* dh_halves = reinterpret_cast<uint16_t*>(shared + l.dh_fragments);
#pragma unroll
        for (int i = 0; i < 4; ++i) {
          const int unit = 2 * t + i % 2;
          const int at = ((rt * 32 + unit * 4 + g / 2) * 4 + (i / 2) * 2) * 2 + g % 2;
          const float scaled = dh[i] * dh_scale.scale;
          const __half high_half = __float2half_rn(scaled);
          dh_halves[at] = __half_as_ushort(high_half);
          dh_halves[at + 2] = __half_as_ushort(__float2half_rn(scaled - __half2float(high_half)));
        }
        // The tile's share of b1's gradient, its column sums: lanes 0-3 hold units 2t, 2t + 1.
        float sum0 = dh[0] + dh[2], sum1 = dh[1] + dh[3];
#pragma unroll
        for (int offset = 4; offset < 32; offset <<= 1)
          sum0 += __shfl_xor_sync(kFull, sum0, offset), sum1 += __shfl_xor_sync(kFull, sum1, offset);
        if (lane < 4) *reinterpret_cast<float2*>(shared + l.b1_partials + rt * kUnits + 2 * t) = make_float2(sum0, sum1);
      }
    } else if (warp < kFirstW2Warp + kRowTiles) {
      // w2's gradient, once the row tiles' hidden values are in.
      wait_barrier(grads_arrived, parity);
      barrier_sync(kHiddenReady, 2 * kRowTiles * 32);
      LEAP_PHASE(6);
      w2_gradient(b, m);
    }
    LEAP_PHASE(7);
    arrive_at(1);
    __syncthreads();
    count_lateness(1);
    LEAP_PHASE(8);
    // The small parameters' Adam updates, first needed in the next step; then w1's.
    adam_w2(b, m, s, w2s, h, inverse_correction2_sqrt);
    adam_b1(b, m, h, inverse_correction2_sqrt);
    adam_b2(b, m, parity, h, inverse_correction2_sqrt);
    // w1's gradient, dh^T u / 255, on fp16 tensor cores with the batch as the k dimension:
    // the unit tile is 16 rows tall, rows 0-7 the high part of dh s (split above), rows 8-15
    // its low part, so that their sum is the fp32 product. Rows past the
    // batch have a zero gradient, so every product runs over all 64 rows. Tile k of 8 inputs
    // gives the lane the gradients of its weights 2k and 2k + 1, which Adam then updates.
    {
      uint32_t high[kMaxBatch / 16][2], low[kMaxBatch / 16][2];  // unit g, rows 16kk + 2t + {0, 1} and {8, 9}
#pragma unroll
      for (int kk = 0; kk < kMaxBatch / 16; ++kk) {
        const uint4 fragment = reinterpret_cast<const uint4*>(shared + l.dh_fragments)[kk * 32 + lane];
        high[kk][0] = fragment.x, low[kk][0] = fragment.y, high[kk][1] = fragment.z, low[kk][1] = fragment.w;
      }
      // The B fragments: input g of an 8-input tile in rows 2t, 2t+1, 2t+8, 2t+9 of the 16. In
      // a chunk of 16 the two tiles' bytes are bytes g%2 and 2+g%2 of one word of the row
      // (stored_column()); `merge` interleaves them from two rows' words.
      const uint32_t odd = g & 1, quarter = g & 3;
      const uint32_t merge = odd | (4 + odd) << 4 | (2 + odd) << 8 | (6 + odd) << 12;
      const uint32_t merge_half = quarter | (4 + quarter) << 4;
      float d[2 * kChunks + 1][4] = {};
#pragma unroll
      for (int kk = 0; kk < kMaxBatch / 16; ++kk) {
        const uint8_t* row = x + (16 * kk + 2 * t) * kMaxIn;
#pragma unroll
        for (int j = 0; j < kChunks; ++j) {
          const uint8_t* word = row + 16 * j + 4 * (g / 2);
          const uint32_t pair01 = __byte_perm(*reinterpret_cast<const uint32_t*>(word),
                                              *reinterpret_cast<const uint32_t*>(word + kMaxIn), merge);
          const uint32_t pair89 = __byte_perm(*reinterpret_cast<const uint32_t*>(word + 8 * kMaxIn),
                                              *reinterpret_cast<const uint32_t*>(word + 9 * kMaxIn), merge);
          mma_f16(d[2 * j], high[kk][0], low[kk][0], high[kk][1], low[kk][1], byte_pair(pair01, 0x4140),
                  byte_pair(pair89, 0x4140));
          mma_f16(d[2 * j + 1], high[kk][0], low[kk][0], high[kk][1], low[kk][1], byte_pair(pair01, 0x4342),
                  byte_pair(pair89, 0x4342));
        }
        const uint8_t* word = row + kHalfChunk + 4 * (g / 4);
        const uint32_t pair01 = __byte_perm(*reinterpret_cast<const uint32_t*>(word),
                                            *reinterpret_cast<const uint32_t*>(word + kMaxIn), merge_half);
        const uint32_t pair89 = __byte_perm(*reinterpret_cast<const uint32_t*>(word + 8 * kMaxIn),
                                            *reinterpret_cast<const uint32_t*>(word + 9 * kMaxIn), merge_half);
        mma_f16(d[2 * kChunks], high[kk][0], low[kk][0], high[kk][1], low[kk][1], byte_pair(pair01, 0x4140),
                byte_pair(pair89, 0x4140));
      }
      // Past the input width the inputs, the weights and their moments are zeros, and so
      // stay; no branch keeps the updates free to overlap.
      const float unscale = shared[l.dh_unscale] * kInverseByteScale;
#pragma unroll
      for (int k = 0; k < 2 * kChunks + 1; ++k)
#pragma unroll
        for (int e = 0; e < 2; ++e) {
          const int i = 2 * k + e;
          float2 moment = moments[i * 32];
          adam_apply_fast(w[i], moment.x, moment.y, (d[k][e] + d[k][e + 2]) * unscale, h, inverse_correction2_sqrt);
          moments[i * 32] = moment;
        }
    }
    LEAP_PHASE(9);
  }
#undef LEAP_PHASE
  if (kTimed && timed) {
    unsigned long long* sums = reinterpret_cast<unsigned long long*>(a.phase_cycles);
    for (int i = 0; i < kPhases; ++i) atomicAdd(sums + timer * kPhases + i, (unsigned long long)phase[i]);
    if (tid == 0) {  // the loop's length in ns and in cycles: the SM clock it ran at
      atomicAdd(sums + kTimers * kPhases, (unsigned long long)(globaltimer_ns() - loop_start_ns));
      atomicAdd(sums + kTimers * kPhases + 1, (unsigned long long)(clock64() - loop_start_cycles));
    }
  }
  if (kTimed && rank == 0 && lane == 0) {
    unsigned long long* late = reinterpret_cast<unsigned long long*>(a.phase_cycles) + kTimers * kPhases + 2;
    for (int b = 0; b < kTimedBarriers; ++b) atomicAdd(late + b * kMaxTimedWarps + warp, (unsigned long long)lateness[b]);
  }

  // Everything back to global memory for the next launch and the rest of the library.
#pragma unroll
  for (int i = 0; i < kLaneWeights; ++i) {
    const int column = warp * kSlice + lane_weight_input(i, t);
    if (column < a.in) {
      const int64_t at = int64_t(unit0 + g) * a.in + column;
      a.weights.w1[at] = w[i];
      a.weights.m_w1[at] = moments[i * 32].x;
      a.weights.v_w1[at] = moments[i * 32].y;
    }
  }
  const float* w2_final = w2_copies + (a.steps & 1) * w2_size;  // written by the last step
  for (int i = tid; i < C * kUnits; i += kThreads) {
    const int64_t at = int64_t(i / kUnits) * a.hid + unit0 + i % kUnits;
    a.weights.w2[at] = w2_final[i];
    a.weights.m_w2[at] = small_moments[i].x;
    a.weights.v_w2[at] = small_moments[i].y;
  }
  if (tid < kUnits) {
    a.weights.b1[unit0 + tid] = b1s[tid];
    a.weights.m_b1[unit0 + tid] = small_moments[b1_moments + tid].x;
    a.weights.v_b1[unit0 + tid] = small_moments[b1_moments + tid].y;
  }
  if (rank == 0 && tid < C) {  // every block holds the same b2
    a.weights.b2[tid] = b2s[tid];
    a.weights.m_b2[tid] = small_moments[b2_moments + tid].x;
    a.weights.v_b2[tid] = small_moments[b2_moments + tid].y;
  }
  // The loss and correct count, held by the softmax lanes of the labels: summed over the
  // block's warps, then each block's totals go to rank 0, which adds them in rank order.
  double* loss_parts = reinterpret_cast<double*>(shared + l.totals);
  int* correct_parts = reinterpret_cast<int*>(loss_parts + kMaxCluster);
  for (int offset = 16; offset > 0; offset >>= 1) {
    loss_total += __shfl_xor_sync(kFull, loss_total, offset);
    correct_total += __shfl_xor_sync(kFull, correct_total, offset);
  }
  __syncthreads();
  double* block_loss = reinterpret_cast<double*>(warp_sums);  // free again
  int* block_correct = reinterpret_cast<int*>(block_loss + kWarps);
  if (lane == 0) block_loss[warp] = loss_total, block_correct[warp] = correct_total;
  __syncthreads();
  if (tid == 0) {
    double loss = 0;
    int correct = 0;
    for (int i = 0; i < kWarps; ++i) loss += block_loss[i], correct += block_correct[i];
    cluster.map_shared_rank(loss_parts, 0)[rank] = loss;
    cluster.map_shared_rank(correct_parts, 0)[rank] = correct;
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
void configure(int cluster) {
  for (auto kernel : {cluster_mlp_kernel<false>, cluster_mlp_kernel<true>}) {
    LEAP_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                         int(kSharedBytes)));
    if (cluster > 8)
      LEAP_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeNonPortableClusterSizeAllowed, 1));
  }
}

cudaLaunchConfig_t launch_config(int cluster, cudaLaunchAttribute* attribute,
                                 cudaStream_t stream) {
  cudaLaunchConfig_t config = {};
  config.gridDim = dim3(unsigned(cluster));
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
  if (args.steps <= 0) return;
  const int cluster = args.hid / kUnits;
  cudaLaunchAttribute attribute;
  const cudaLaunchConfig_t config = launch_config(cluster, &attribute, stream);
  if (args.phase_cycles) LEAP_CUDA_CHECK(cudaLaunchKernelEx(&config, cluster_mlp_kernel<true>, args));
  else LEAP_CUDA_CHECK(cudaLaunchKernelEx(&config, cluster_mlp_kernel<false>, args));
}

}  // namespace leap::cuda_detail
