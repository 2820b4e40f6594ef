// The step's kernels in AVX-512 (compiled for it whatever the build's target, chosen at run
// time). Each keeps a tile of sums in 24 of the 32 vector registers: 4 x 6 sums in the forward
// product (dot products along the inputs, reduced at the end), 4 rows x 96 columns in the
// two gradient products. Tails are masked loads and stores, so any width runs.
#include <immintrin.h>

#include <algorithm>
#include <type_traits>

#include "cpu/mlp_step_kernels.h"

// Every function here (lambdas included) is compiled for AVX-512, whatever the build's target.
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx512f,avx512dq,fma"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx512f,avx512dq,fma")
// GCC 12 warns inside its own masked-load intrinsics (their _mm512_undefined_ps source).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

namespace leap::cpu_detail {
namespace {

constexpr int kRows = 4;     // rows of a tile
constexpr int kColumns = 6;  // forward: outputs of a tile; gradients: 16-wide vectors
constexpr int kWidth = 16 * kColumns;

// Lanes of the vector at column `k` that lie below `end`.
inline __mmask16 lanes_below(int k, int end) {
  const int valid = std::clamp(end - k, 0, 16);
  return __mmask16((1u << valid) - 1u);
}

// A tile of sums, kept in vector registers (indexed by constants only, after unrolling).
using Tile = __m512[kRows][kColumns];

inline void zero(Tile& acc) {
#pragma GCC unroll 8
  for (auto& row : acc)
#pragma GCC unroll 8
    for (auto& a : row) a = _mm512_setzero_ps();
}

// acc[r][v] += scalars[r] * vectors[v]: the gradient products' step, one rank-1 update.
inline void add_outer_product(Tile& acc, const float (&scalars)[kRows], const __m512 (&vectors)[kColumns]) {
#pragma GCC unroll 8
  for (int r = 0; r < kRows; ++r) {
    const __m512 d = _mm512_set1_ps(scalars[r]);
#pragma GCC unroll 8
    for (int v = 0; v < kColumns; ++v) acc[r][v] = _mm512_fmadd_ps(d, vectors[v], acc[r][v]);
  }
}

// The 16-lane sums of the tile's dot products, in two vectors: first[4c + r] for outputs
// c < 4, second[4(c - 4) + r] for the other two (rows r). Four vectors at a time are folded into
// one, each 128-bit lane holding the four's partial sums, then the lanes are added across:
// ~70 instructions where a reduction per vector took ~190.
struct TileSums {
  __m512 first, second;
};

inline TileSums sum_tile(const Tile& acc) {
  static_assert(kRows == 4 && kColumns == 6);
  auto fold4 = [](__m512 a, __m512 b, __m512 c, __m512 d) {
    const __m512d ab = _mm512_castps_pd(_mm512_add_ps(_mm512_unpacklo_ps(a, b), _mm512_unpackhi_ps(a, b)));
    const __m512d cd = _mm512_castps_pd(_mm512_add_ps(_mm512_unpacklo_ps(c, d), _mm512_unpackhi_ps(c, d)));
    return _mm512_add_ps(_mm512_castpd_ps(_mm512_unpacklo_pd(ab, cd)), _mm512_castpd_ps(_mm512_unpackhi_pd(ab, cd)));
  };
  // [x0 + x1, x2 + x3, y0 + y1, y2 + y3] over 128-bit lanes.
  auto pair_lanes = [](__m512 x, __m512 y) {
    return _mm512_add_ps(_mm512_shuffle_f32x4(x, y, _MM_SHUFFLE(2, 0, 2, 0)), _mm512_shuffle_f32x4(x, y, _MM_SHUFFLE(3, 1, 3, 1)));
  };
  __m512 column[kColumns];
#pragma GCC unroll 8
  for (int c = 0; c < kColumns; ++c) column[c] = fold4(acc[0][c], acc[1][c], acc[2][c], acc[3][c]);
  const __m512 last = pair_lanes(column[4], column[5]);
  return {pair_lanes(pair_lanes(column[0], column[1]), pair_lanes(column[2], column[3])), pair_lanes(last, last)};
}

void forward_rows(const float* const* x, const float* w, const float* bias, float* y, int y_stride, int in, bool relu,
                  int b0, int b1, int j0, int j1) {
  const int full = in / 16 * 16;
  const __mmask16 tail = lanes_below(full, in);
  for (int jb = j0; jb < j1; jb += kColumns)
    for (int bb = b0; bb < b1; bb += kRows) {
      // Rows and outputs past the range repeat the last one: computed, never stored.
      const float* xr[kRows];
      const float* wr[kColumns];
#pragma GCC unroll 8
      for (int r = 0; r < kRows; ++r) xr[r] = x[std::min(bb + r, b1 - 1)];
#pragma GCC unroll 8
      for (int c = 0; c < kColumns; ++c) wr[c] = w + size_t(std::min(jb + c, j1 - 1)) * in;
      Tile acc;
      zero(acc);
      auto accumulate = [&](int k, __mmask16 lanes) {
        __m512 xv[kRows];
  #pragma GCC unroll 8
        for (int r = 0; r < kRows; ++r) xv[r] = _mm512_maskz_loadu_ps(lanes, xr[r] + k);
  #pragma GCC unroll 8
        for (int c = 0; c < kColumns; ++c) {
          __m512 wv = _mm512_maskz_loadu_ps(lanes, wr[c] + k);
          // Held in a register: folded into each row's FMA, the load would be repeated 4 times,
          // and the loads (28 for 24 FMAs) would bound the loop.
          asm("" : "+v"(wv));
    #pragma GCC unroll 8
          for (int r = 0; r < kRows; ++r) acc[r][c] = _mm512_fmadd_ps(xv[r], wv, acc[r][c]);
        }
      };
      for (int k = 0; k < full; k += 16) accumulate(k, 0xFFFF);
      if (tail) accumulate(full, tail);
      // Each row's outputs gathered from the sums, biased, through the ReLU (max with zero
      // first keeps a NaN) and stored in one masked store.
      const TileSums sums = sum_tile(acc);
      const __mmask16 outputs = lanes_below(jb, j1) & 0x3F;
      const __m512 biases = _mm512_maskz_loadu_ps(outputs, bias + jb);
#pragma GCC unroll 8
      for (int r = 0; r < kRows; ++r) {
        if (bb + r >= b1) break;
        const __m512i lanes = _mm512_setr_epi32(r, 4 + r, 8 + r, 12 + r, 16 + r, 20 + r, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
        const __m512 row = _mm512_permutex2var_ps(sums.first, lanes, sums.second);
        __m512 value = _mm512_add_ps(row, biases);
        if (relu) value = _mm512_max_ps(_mm512_setzero_ps(), value);
        _mm512_mask_storeu_ps(y + size_t(bb + r) * y_stride + jb, outputs, value);
      }
    }
}

// Blocks of 64 rows (200 KB of 784-wide inputs, within L2) each through all the outputs: one
// pass over all the rows a tile of outputs would stream them from L3 once per tile at large
// batches (the 784x512 forward at batch 1024: 87 GFLOP/s, against 101 at 256).
void forward(const float* const* x, const float* w, const float* bias, float* y, int y_stride, int in, bool relu,
             int b0, int b1, int j0, int j1) {
  constexpr int kRowBlock = 64;
  for (int b = b0; b < b1; b += kRowBlock)
    forward_rows(x, w, bias, y, y_stride, in, relu, b, std::min(b + kRowBlock, b1), j0, j1);
}

void input_gradient(const float* dy, int dy_stride, const float* w, const float* h, float* dx, int dx_stride, int in,
                    int out, int b0, int b1, int k0, int k1) {
  for (int kb = k0; kb < k1; kb += kWidth) {
    __mmask16 lanes[kColumns];
    #pragma GCC unroll 8
    for (int v = 0; v < kColumns; ++v) lanes[v] = lanes_below(kb + 16 * v, k1);
    for (int bb = b0; bb < b1; bb += kRows) {
      const float* dyr[kRows];
#pragma GCC unroll 8
      for (int r = 0; r < kRows; ++r) dyr[r] = dy + size_t(std::min(bb + r, b1 - 1)) * dy_stride;
      Tile acc;
      zero(acc);
      for (int j = 0; j < out; ++j) {
        const float* w_row = w + size_t(j) * in + kb;
        __m512 wv[kColumns];
  #pragma GCC unroll 8
        for (int v = 0; v < kColumns; ++v) wv[v] = _mm512_maskz_loadu_ps(lanes[v], w_row + 16 * v);
        float d[kRows];
  #pragma GCC unroll 8
        for (int r = 0; r < kRows; ++r) d[r] = dyr[r][j];
        add_outer_product(acc, d, wv);
      }
#pragma GCC unroll 8
      for (int r = 0; r < kRows; ++r)
  #pragma GCC unroll 8
        for (int v = 0; v < kColumns; ++v) {
          if (bb + r >= b1) continue;
          const size_t at = size_t(bb + r) * dx_stride + kb + 16 * v;
          __mmask16 keep = lanes[v];
          if (h) keep = _mm512_mask_cmp_ps_mask(keep, _mm512_maskz_loadu_ps(keep, h + at), _mm512_setzero_ps(), _CMP_GT_OQ);
          _mm512_mask_storeu_ps(dx + at, lanes[v], _mm512_maskz_mov_ps(keep, acc[r][v]));
        }
    }
  }
}

// Adam on 16 lanes of a parameter row, the formula of CpuBackend::adam_update.
inline void adam_lanes(float* w, float* m, float* v, __m512 grad, __mmask16 lanes, const AdamStep& a) {
  const __m512 value = _mm512_maskz_loadu_ps(lanes, w);
  const __m512 g = _mm512_fmadd_ps(_mm512_set1_ps(a.weight_decay), value, grad);
  const __m512 first = _mm512_fmadd_ps(_mm512_set1_ps(a.beta1), _mm512_maskz_loadu_ps(lanes, m),
                                       _mm512_mul_ps(_mm512_set1_ps(1.0f - a.beta1), g));
  const __m512 second = _mm512_fmadd_ps(_mm512_set1_ps(a.beta2), _mm512_maskz_loadu_ps(lanes, v),
                                        _mm512_mul_ps(_mm512_mul_ps(_mm512_set1_ps(1.0f - a.beta2), g), g));
  const __m512 denominator = _mm512_add_ps(_mm512_div_ps(_mm512_sqrt_ps(second), _mm512_set1_ps(a.correction2_sqrt)),
                                           _mm512_set1_ps(a.eps));
  const __m512 step = _mm512_div_ps(_mm512_mul_ps(_mm512_set1_ps(a.step_size), first), denominator);
  _mm512_mask_storeu_ps(m, lanes, first);
  _mm512_mask_storeu_ps(v, lanes, second);
  _mm512_mask_storeu_ps(w, lanes, _mm512_sub_ps(value, step));
}

// SGD on 16 lanes of a parameter row, the formula of CpuBackend::sgd_update; `buffer` (the
// momentum buffer) is untouched without momentum.
inline void sgd_lanes(float* w, float* buffer, __m512 grad, __mmask16 lanes, const SgdHyper& s) {
  const __m512 value = _mm512_maskz_loadu_ps(lanes, w);
  __m512 g = _mm512_fmadd_ps(_mm512_set1_ps(s.weight_decay), value, grad);
  if (s.momentum != 0.0f) {
    const __m512 momentum = _mm512_set1_ps(s.momentum);
    const __m512 b = s.first_step ? g
                                  : _mm512_fmadd_ps(momentum, _mm512_maskz_loadu_ps(lanes, buffer),
                                                    _mm512_mul_ps(_mm512_set1_ps(1.0f - s.dampening), g));
    _mm512_mask_storeu_ps(buffer, lanes, b);
    g = s.nesterov ? _mm512_fmadd_ps(momentum, b, g) : b;
  }
  _mm512_mask_storeu_ps(w, lanes, _mm512_sub_ps(value, _mm512_mul_ps(_mm512_set1_ps(s.lr), g)));
}

// Lanes [at, at + 16) of a tensor (weights or biases) with their state, by the rule.
inline void update_lanes(float* w, float* m, float* v, size_t at, __m512 grad, __mmask16 lanes, const UpdateRule& rule) {
  if (rule.sgd) sgd_lanes(w + at, m ? m + at : nullptr, grad, lanes, rule.sgd_step);
  else adam_lanes(w + at, m + at, v + at, grad, lanes, rule.adam);
}

// Asks L2 for the weights and state of rows [j0, j1), columns [kb, kb + 96) of the layer: the
// next tile's, whose update would otherwise wait on them (3% off the update of a 784x1024 layer).
inline void prefetch_tile(const MlpLayer& layer, int j0, int j1, int kb) {
  for (const float* tensor : {layer.weight, layer.exp_avg_weight, layer.exp_avg_sq_weight}) {
    if (!tensor) continue;  // SGD keeps one buffer, or none
    for (int j = j0; j < j1; ++j)
      for (int k = kb; k < std::min(kb + kWidth, layer.in); k += 16)
        _mm_prefetch(reinterpret_cast<const char*>(tensor + size_t(j) * layer.in + k), _MM_HINT_T1);
  }
}

void weight_update(const float* dy, int dy_stride, const float* const* x, int rows, const MlpLayer& layer,
                   const UpdateRule& rule, int j0, int j1) {
  const int in = layer.in;
  // Columns outer: the inputs' slab (rows x 96 floats) stays in L1 across the output rows.
  for (int kb = 0; kb < in; kb += kWidth) {
    __mmask16 lanes[kColumns];
    #pragma GCC unroll 8
    for (int v = 0; v < kColumns; ++v) lanes[v] = lanes_below(kb + 16 * v, in);
    for (int jb = j0; jb < j1; jb += kRows) {
      int jr[kRows];
#pragma GCC unroll 8
      for (int c = 0; c < kRows; ++c) jr[c] = std::min(jb + c, j1 - 1);
      prefetch_tile(layer, std::min(jb + kRows, j1), std::min(jb + 2 * kRows, j1), kb);
      Tile acc;
      zero(acc);
      // A whole tile of outputs reads dy at fixed offsets from one pointer (fewer registers
      // in the loop); the last, partial one repeats its last output.
      auto products = [&](auto whole) {
        for (int b = 0; b < rows; ++b) {
          const float* xb = x[b] + kb;
          // Rows come from anywhere in the data set, where the hardware prefetcher cannot follow:
          // at large batches the slab outgrows L1 (784x512 update at batch 1024: 10.5 to 8.7 ms).
          if (b + 8 < rows) {
            const char* next = reinterpret_cast<const char*>(x[b + 8] + kb);
#pragma GCC unroll 8
            for (int v = 0; v < kColumns; ++v) _mm_prefetch(next + 64 * v, _MM_HINT_T0);
          }
          __m512 xv[kColumns];
  #pragma GCC unroll 8
          for (int v = 0; v < kColumns; ++v) xv[v] = _mm512_maskz_loadu_ps(lanes[v], xb + 16 * v);
          const float* dy_row = dy + size_t(b) * dy_stride;
          float d[kRows];
  #pragma GCC unroll 8
          for (int c = 0; c < kRows; ++c) d[c] = whole ? dy_row[jb + c] : dy_row[jr[c]];
          add_outer_product(acc, d, xv);
        }
      };
      if (jb + kRows <= j1) products(std::true_type{});
      else products(std::false_type{});
#pragma GCC unroll 8
      for (int c = 0; c < kRows; ++c)
  #pragma GCC unroll 8
        for (int v = 0; v < kColumns; ++v) {
          if (jb + c >= j1 || !lanes[v]) continue;
          update_lanes(layer.weight, layer.exp_avg_weight, layer.exp_avg_sq_weight, size_t(jb + c) * in + kb + 16 * v,
                       acc[c][v], lanes[v], rule);
        }
    }
  }
  // The bias gradients 16 at a time along a row of dy (a column walk would read lines a row
  // apart, in a chain of dependent additions); each still sums its rows in order.
  for (int j = j0; j < j1; j += 16) {
    const __mmask16 lanes = lanes_below(j, j1);
    __m512 sum = _mm512_setzero_ps();
    for (int b = 0; b < rows; ++b) sum = _mm512_add_ps(sum, _mm512_maskz_loadu_ps(lanes, dy + size_t(b) * dy_stride + j));
    update_lanes(layer.bias, layer.exp_avg_bias, layer.exp_avg_sq_bias, j, sum, lanes, rule);
  }
}

}  // namespace
}  // namespace leap::cpu_detail

#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC diagnostic pop
#pragma GCC pop_options
#endif

namespace leap::cpu_detail {

const MlpStepKernels* avx512_step_kernels() {
  static const MlpStepKernels kernels{"AVX-512", forward, input_gradient, weight_update};
  static const bool supported = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq");
  return supported ? &kernels : nullptr;
}

}  // namespace leap::cpu_detail
