#include <cstdlib>
#include <string>

#include "cuda/cuda_check.h"
#include "cuda/kernels/adam_math.cuh"
#include "cuda/kernels/grid_barrier.cuh"
#include "cuda/kernels/grid_mlp.h"
#include "cuda/kernels/grid_mlp_loss.cuh"
#include "cuda/kernels/grid_mlp_tile.cuh"
#include "cuda/kernels/sgd_math.cuh"
#include "leap/dropout_mask.h"

namespace leap::cuda_detail {
namespace {

struct Shared {
  TileSmem tile;
  int samples[kGridMaxBatch];             // the batch's rows of the data set
  float logits[kTileM][kGridMaxClasses];  // a row tile's logits, for the loss
};

__device__ inline int tiles(int extent, int tile) { return (extent + tile - 1) / tile; }

// Layer l's input as the left operand of its forward product (element (row, input)), or as
// the right operand of its weight gradient (element (input, row)).
__device__ inline Operand layer_input(const GridMlpArgs& a, int l, const Shared& s, bool transposed) {
  const int in = a.layers[l].in;
  const float* base = l == 0 ? a.images : a.activations[l];
  const int* samples = l == 0 ? s.samples : nullptr;
  if (!transposed) return {base, in, 1, a.batch, in, samples, nullptr, l == 0};
  return {base, 1, in, in, a.batch, nullptr, samples, l == 0};
}

__device__ inline void load_batch(const GridMlpArgs& a, int64_t step, Shared& s) {
  const int32_t* rows = a.run.order + (a.run.first_batch + step) * a.batch;
  for (int r = threadIdx.x; r < a.batch; r += kGridThreads) s.samples[r] = rows[r];
  __syncthreads();
}

// The mask of the Dropout after layer l in step `step` of the launch, as the layer draws it:
// apply(x, e) is element e of the [rows, width] activations through it.
struct DropoutMask {
  uint64_t key;
  float p, scale;
  __device__ DropoutMask(const GridLayer& layer, int64_t step)
      : key(dropout_key(layer.dropout_base, layer.dropout_calls + uint64_t(step) + 1)),
        p(layer.dropout),
        scale(dropout_scale(layer.dropout)) {}
  __device__ float apply(float x, int64_t element) const { return dropout_apply(x, key, uint64_t(element), p, scale); }
};

// activations[l + 1] = relu(input W^T + b) for a hidden layer l, through its Dropout if any.
__device__ void forward_phase(const GridMlpArgs& a, int l, int64_t step, Shared& s) {
  const GridLayer& layer = a.layers[l];
  const Operand x = layer_input(a, l, s, false);
  const Operand w{layer.weight, layer.in, 1, layer.out, layer.in, nullptr, nullptr, false};
  float* y = a.activations[l + 1];
  const int column_tiles = tiles(layer.out, kTileN), count = tiles(a.batch, kTileM) * column_tiles;
  for (int t = blockIdx.x; t < count; t += gridDim.x) {
    const int i0 = t / column_tiles * kTileM, j0 = t % column_tiles * kTileN;
    float bias[kOutputs];
#pragma unroll
    for (int q = 0; q < kOutputs; ++q) {
      const int j = j0 + output_column(q);
      bias[q] = j < layer.out ? __ldcg(layer.bias + j) : 0.0f;
    }
    const TileOutputs z = tile_product(x, w, i0, j0, layer.in, s.tile, a.async_copies);
#pragma unroll
    for (int q = 0; q < kOutputs; ++q) {
      const int i = i0 + output_row(q), j = j0 + output_column(q);
      if (i >= a.batch || j >= layer.out) continue;
      float value = fmaxf(z.value[q] + bias[q], 0.0f);
      if (layer.dropout > 0.0f) {
        const DropoutMask mask(layer, step);
        value = mask.apply(value, i * layer.out + j);
      }
      y[i * layer.out + j] = value;
    }
  }
}

// The last layer, a tile of 16 rows by all the classes at a time, then each row's loss and
// d(loss)/d(logits) into gradients[depth].
__device__ void logits_phase(const GridMlpArgs& a, Shared& s) {
  const int l = a.depth - 1;
  const GridLayer& layer = a.layers[l];
  const int classes = layer.out, warp = threadIdx.x / 32;
  const Operand x = layer_input(a, l, s, false);
  const Operand w{layer.weight, layer.in, 1, classes, layer.in, nullptr, nullptr, false};
  for (int t = blockIdx.x; t < tiles(a.batch, kTileM); t += gridDim.x) {
    const int i0 = t * kTileM;
    for (int j0 = 0; j0 < classes; j0 += kTileN) {
      const TileOutputs z = tile_product(x, w, i0, j0, layer.in, s.tile, a.async_copies);
#pragma unroll
      for (int q = 0; q < kOutputs; ++q) {
        const int j = j0 + output_column(q);
        if (j < classes) s.logits[output_row(q)][j] = z.value[q] + __ldcg(layer.bias + j);
      }
    }
    __syncthreads();  // the row tile's logits are in
    for (int row = warp; row < kTileM; row += kGridWarps) {
      const int r = i0 + row;
      if (r >= a.batch) break;
      const int sample = s.samples[r];
      const float* teacher = a.soft_targets ? a.soft_targets + int64_t(sample) * classes : nullptr;
      const RowLoss loss = row_loss(s.logits[row], classes, a.labels[sample], teacher, a.temperature, a.alpha, a.batch,
                                    a.gradients[a.depth] + r * classes);
      if (threadIdx.x % 32 == 0) a.row_loss[r] = loss.loss, a.row_correct[r] = loss.correct;
    }
    __syncthreads();  // the logits are read before the next row tile writes them
  }
}

// Block 0 adds the step's rows' losses and correct counts to its totals, in row order.
__device__ void count_loss(const GridMlpArgs& a, double* loss, long long* correct) {
  if (blockIdx.x != 0 || threadIdx.x >= 32) return;
  double sum = 0;
  long long hits = 0;
  for (int r = threadIdx.x; r < a.batch; r += 32) sum += __ldcg(a.row_loss + r), hits += __ldcg(a.row_correct + r);
  for (int offset = 16; offset > 0; offset >>= 1) {
    sum += __shfl_xor_sync(0xffffffffu, sum, offset);
    hits += __shfl_xor_sync(0xffffffffu, hits, offset);
  }
  *loss += sum, *correct += hits;
}

// A tile of gradients[l] = (gradients[l + 1] W[l]) masked by activations[l] > 0 (the ReLU's
// mask and the Dropout's, whose kept elements the layer scales as it did going forward).
__device__ void input_gradient_tile(const GridMlpArgs& a, int l, int t, Shared& s) {
  const GridLayer& layer = a.layers[l];
  const float p = a.layers[l - 1].dropout, scale = dropout_scale(p);
  const Operand g{a.gradients[l + 1], layer.out, 1, a.batch, layer.out, nullptr, nullptr, false};
  const Operand w{layer.weight, 1, layer.in, layer.in, layer.out, nullptr, nullptr, false};
  const int column_tiles = tiles(layer.in, kTileN);
  const int i0 = t / column_tiles * kTileM, j0 = t % column_tiles * kTileN;
  bool active[kOutputs];
#pragma unroll
  for (int q = 0; q < kOutputs; ++q) {
    const int i = i0 + output_row(q), j = j0 + output_column(q);
    active[q] = i < a.batch && j < layer.in && __ldcg(a.activations[l] + i * layer.in + j) > 0.0f;
  }
  const TileOutputs d = tile_product(g, w, i0, j0, layer.out, s.tile, a.async_copies);
#pragma unroll
  for (int q = 0; q < kOutputs; ++q) {
    const int i = i0 + output_row(q), j = j0 + output_column(q);
    if (i < a.batch && j < layer.in)
      a.gradients[l][i * layer.in + j] = active[q] ? (p > 0.0f ? d.value[q] * scale : d.value[q]) : 0.0f;
  }
}

__device__ inline int input_gradient_tiles(const GridMlpArgs& a, int l) {
  return tiles(a.batch, kTileM) * tiles(a.layers[l].in, kTileN);
}

// The step's update rule: Adam with the step's scalars, or SGD as PyTorch's (the momentum
// buffer seeded with the first gradient), as the multi-tensor kernels apply them.
struct StepOptimizer {
  AdamScalars adam;
  bool sgd;
  SgdScalars sgd_scalars;

  __device__ StepOptimizer(const GridMlpArgs& a, int64_t step)
      : adam(adam_scalars_for_step(a.adam, a.run.lr, a.run.adam_steps + step + 1)),
        sgd(a.sgd),
        sgd_scalars{a.run.lr, a.momentum, a.dampening, a.adam.weight_decay, a.nesterov, a.run.adam_steps + step == 0} {}
  // Which states it keeps: m (Adam's first moment or SGD's momentum buffer) and v.
  __device__ bool keeps_m() const { return !sgd || sgd_scalars.momentum != 0.0f; }
  __device__ bool keeps_v() const { return !sgd; }
  __device__ void apply(float& value, float& m, float& v, float grad) const {
    if (!sgd) return adam_apply(value, m, v, grad, adam);
    sgd_apply(value, m, grad, sgd_scalars);
  }
  // value, m and v at `at` of the three arrays: loaded, updated by `grad`, stored.
  __device__ void load(const float* value, const float* m, const float* v, int64_t at, float* values) const {
    values[0] = __ldcg(value + at);
    values[1] = keeps_m() ? __ldcg(m + at) : 0.0f;
    values[2] = keeps_v() ? __ldcg(v + at) : 0.0f;
  }
  __device__ void store(float* value, float* m, float* v, int64_t at, const float* values) const {
    value[at] = values[0];
    if (keeps_m()) m[at] = values[1];
    if (keeps_v()) v[at] = values[2];
  }
};

// Layer l's bias rows [o0, o0 + 16): the gradient sums the batch in 16 slices a row, the
// slices added in a fixed tree, then the update.
static_assert(kGridThreads / 16 == kTileM, "bias_update gives each of a tile's rows 16 threads");
__device__ void bias_update(const GridMlpArgs& a, int l, int o0, const StepOptimizer& optimizer) {
  const GridLayer& layer = a.layers[l];
  const int o = o0 + threadIdx.x / 16, slice = threadIdx.x % 16;
  float g = 0.0f;
  if (o < layer.out)
    for (int r = slice; r < a.batch; r += 16) g += __ldcg(a.gradients[l + 1] + r * layer.out + o);
  for (int offset = 8; offset > 0; offset >>= 1) g += __shfl_xor_sync(0xffffffffu, g, offset);
  if (slice != 0 || o >= layer.out) return;
  float state[3];
  optimizer.load(layer.bias, layer.m_bias, layer.v_bias, o, state);
  optimizer.apply(state[0], state[1], state[2], g);
  optimizer.store(layer.bias, layer.m_bias, layer.v_bias, o, state);
}

// A tile of layer l's weight gradient, gradients[l + 1]^T input, applied as it is made (the
// weights and their state loaded before the product); the tiles of the first column also
// update the bias.
__device__ void update_tile(const GridMlpArgs& a, int l, int t, const StepOptimizer& optimizer, Shared& s) {
  const GridLayer& layer = a.layers[l];
  const Operand g{a.gradients[l + 1], 1, layer.out, layer.out, a.batch, nullptr, nullptr, false};
  const Operand x = layer_input(a, l, s, true);
  const int column_tiles = tiles(layer.in, kTileN);
  const int o0 = t / column_tiles * kTileM, k0 = t % column_tiles * kTileN;
  float state[kOutputs][3];
  int64_t at[kOutputs];
#pragma unroll
  for (int q = 0; q < kOutputs; ++q) {
    const int o = o0 + output_row(q), k = k0 + output_column(q);
    at[q] = o < layer.out && k < layer.in ? int64_t(o) * layer.in + k : -1;
    if (at[q] >= 0) optimizer.load(layer.weight, layer.m_weight, layer.v_weight, at[q], state[q]);
  }
  const TileOutputs grad = tile_product(g, x, o0, k0, a.batch, s.tile, a.async_copies);
#pragma unroll
  for (int q = 0; q < kOutputs; ++q) {
    if (at[q] < 0) continue;
    optimizer.apply(state[q][0], state[q][1], state[q][2], grad.value[q]);
    optimizer.store(layer.weight, layer.m_weight, layer.v_weight, at[q], state[q]);
  }
  if (k0 == 0) bias_update(a, l, o0, optimizer);
}

__device__ inline int update_tiles(const GridMlpArgs& a, int l) {
  return tiles(a.layers[l].out, kTileM) * tiles(a.layers[l].in, kTileN);
}

// The tiles of a phase's jobs, dealt to the blocks in turn.
__device__ void run_phase(const GridMlpArgs& a, const GridPhase& phase, int64_t step, const StepOptimizer& optimizer,
                          Shared& s) {
  if (phase.jobs[0].kind == GridJobKind::forward) return forward_phase(a, phase.jobs[0].layer, step, s);
  if (phase.jobs[0].kind == GridJobKind::logits) return logits_phase(a, s);
  int counts[2] = {0, 0};
  for (int j = 0; j < phase.count; ++j)
    counts[j] = phase.jobs[j].kind == GridJobKind::update ? update_tiles(a, phase.jobs[j].layer)
                                                          : input_gradient_tiles(a, phase.jobs[j].layer);
  for (int t = blockIdx.x; t < counts[0] + counts[1]; t += gridDim.x) {
    const GridJob& job = phase.jobs[t < counts[0] ? 0 : 1];
    const int tile = t < counts[0] ? t : t - counts[0];
    if (job.kind == GridJobKind::update)
      update_tile(a, job.layer, tile, optimizer, s);
    else
      input_gradient_tile(a, job.layer, tile, s);
  }
}

// Block 0's clock for LEAP_PHASE_TIMING: the time since the last call goes to phase_ns[phase].
struct PhaseClock {
  long long* phase_ns;
  unsigned long long last = 0;
  __device__ explicit PhaseClock(long long* ns) : phase_ns(blockIdx.x == 0 && threadIdx.x == 0 ? ns : nullptr) {
    if (phase_ns) last = now();
  }
  __device__ static unsigned long long now() {
    unsigned long long t;
    asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t));
    return t;
  }
  __device__ void lap(int phase) {
    if (!phase_ns) return;
    const unsigned long long t = now();
    phase_ns[phase] += (long long)(t - last);
    last = t;
  }
};

// The step, `steps` times: its phases in grid_mlp_schedule.h's order, a barrier after each.
template <int kBlocksPerSm>
__global__ void __launch_bounds__(kGridThreads, kBlocksPerSm) grid_mlp_kernel(const __grid_constant__ GridMlpArgs a) {
  extern __shared__ __align__(16) unsigned char memory[];
  Shared& s = *reinterpret_cast<Shared*>(memory);
  double loss = 0;
  long long correct = 0;
  PhaseClock clock(a.phase_ns);
  for (int64_t step = 0; step < a.run.steps; ++step) {
    load_batch(a, step, s);
    const StepOptimizer optimizer(a, step);
    for (int p = 0; p < 2 * a.depth; ++p) {
      run_phase(a, grid_phase(a.depth, p), step, optimizer, s);
      if (p + 1 < 2 * a.depth || step + 1 < a.run.steps) grid_barrier(a.barrier);
      clock.lap(p);
      if (p == a.depth - 1) count_loss(a, &loss, &correct);  // the rows' losses are in
    }
  }
  if (blockIdx.x == 0 && threadIdx.x == 0) *a.loss_sum += loss, *a.correct += correct;
}

// Blocks an SM: 1, or 2 with LEAP_GRID_BLOCKS_PER_SM=2 (registers capped at 128 a thread).
int blocks_per_sm() {
  const char* setting = std::getenv("LEAP_GRID_BLOCKS_PER_SM");
  return setting && std::string(setting) == "2" ? 2 : 1;
}

// The kernel for blocks_per_sm(), its shared memory allowed on the current device (the
// attribute is a device's: set at every launch, which costs far less than the launch).
const void* prepared_kernel() {
  const void* kernel = blocks_per_sm() == 2 ? reinterpret_cast<const void*>(grid_mlp_kernel<2>)
                                            : reinterpret_cast<const void*>(grid_mlp_kernel<1>);
  LEAP_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, int(sizeof(Shared))));
  return kernel;
}

}  // namespace

int grid_mlp_blocks() {
  int device = 0, sms = 0;
  LEAP_CUDA_CHECK(cudaGetDevice(&device));
  LEAP_CUDA_CHECK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device));
  return sms * blocks_per_sm();
}

std::string grid_mlp_rejection(const int* widths, int depth, int batch) {
  if (depth < 2 || depth > kGridMaxLayers) return "it takes 2 to 5 Linear layers";
  if (batch < 1 || batch > kGridMaxBatch) return "it takes batches of 1 to 1024 rows";
  for (int l = 0; l < depth; ++l)
    if (widths[l] < 1 || widths[l] > kGridMaxWidth) return "it takes inputs and hidden layers up to 4096 wide";
  if (widths[depth] < 1 || widths[depth] > kGridMaxClasses) return "it takes up to 256 classes";
  int device = 0, cooperative = 0, l2_bytes = 0, blocks = 0;
  LEAP_CUDA_CHECK(cudaGetDevice(&device));
  LEAP_CUDA_CHECK(cudaDeviceGetAttribute(&cooperative, cudaDevAttrCooperativeLaunch, device));
  if (!cooperative) return "the GPU has no cooperative launch";
  LEAP_CUDA_CHECK(cudaDeviceGetAttribute(&l2_bytes, cudaDevAttrL2CacheSize, device));
  double parameters = 0;
  for (int l = 0; l < depth; ++l) parameters += double(widths[l] + 1) * widths[l + 1];
  if (3 * 4 * parameters > l2_bytes)
    return "the weights and their Adam moments (" + std::to_string(int64_t(12 * parameters) >> 20) +
           " MiB) do not fit the GPU's L2 cache (" + std::to_string(l2_bytes >> 20) + " MiB)";
  LEAP_CUDA_CHECK(
      cudaOccupancyMaxActiveBlocksPerMultiprocessor(&blocks, prepared_kernel(), kGridThreads, sizeof(Shared)));
  if (blocks < blocks_per_sm()) return "not " + std::to_string(blocks_per_sm()) + " of its blocks fit an SM";
  return "";
}

void launch_grid_mlp(const GridMlpArgs& args, cudaStream_t stream) {
  void* parameters[] = {const_cast<GridMlpArgs*>(&args)};
  LEAP_CUDA_CHECK(cudaLaunchCooperativeKernel(prepared_kernel(), grid_mlp_blocks(), kGridThreads, parameters,
                                              sizeof(Shared), stream));
}

}  // namespace leap::cuda_detail
