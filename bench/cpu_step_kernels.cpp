// The fused CPU step's three kernels, each on one thread, for the layers of the MLP grid: the
// best and the median of 200 calls (the best is what the code can do; the median what a shared
// machine gave), their GFLOP/s against this core's FMA peak measured in the same run, and the
// weight update's Adam traffic (24 bytes a parameter) as a rate. Inputs are rows picked at
// random from a data-set-sized array, as a shuffled epoch reads them, a padded row apart as the
// fused step keeps its hidden layers (784 floats, 49 lines, need no padding).
//   bench_cpu_step_kernels [rows=64] [in x out ...]
#include <immintrin.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "cpu/mlp_step_kernels.h"

namespace {

using leap::MlpLayer;
using leap::cpu_detail::MlpStepKernels;

// One core's fp32 FMA rate: 12 independent chains of 16-lane FMAs (enough to fill two pipes
// of 4-cycle latency), best of 3.
__attribute__((target("avx512f,fma"))) double fma_peak_gflops() {
  double best = 0;
  for (int round = 0; round < 3; ++round) {
    __m512 a[12];
    for (int i = 0; i < 12; ++i) a[i] = _mm512_set1_ps(0.001f * float(i));
    const __m512 m = _mm512_set1_ps(0.999f), c = _mm512_set1_ps(0.001f);
    const long n = 20'000'000;
    const auto start = std::chrono::steady_clock::now();
    for (long i = 0; i < n; ++i)
#pragma GCC unroll 12
      for (auto& e : a) e = _mm512_fmadd_ps(e, m, c);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    float sink = 0;
    for (auto& e : a) sink += _mm512_reduce_add_ps(e);
    if (sink == 12345.0f) std::puts("");  // keeps the chains
    best = std::max(best, double(n) * 12 * 32 / seconds / 1e9);
  }
  return best;
}

struct Timing {
  double best_us, median_us;
};

template <typename Call>
Timing time_calls(Call call) {
  std::vector<double> us;
  for (int i = 0; i < 220; ++i) {
    const auto start = std::chrono::steady_clock::now();
    call(i);
    if (i >= 20) us.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count());
  }
  std::sort(us.begin(), us.end());
  return {us.front(), us[us.size() / 2]};
}

void run(const MlpStepKernels& kernels, int rows, int in, int out, double peak) {
  std::mt19937 random(1);
  std::uniform_real_distribution<float> uniform(-1, 1);
  auto filled = [&](size_t n, float scale) {
    std::vector<float> v(n);
    for (float& e : v) e = scale * uniform(random);
    return v;
  };
  const int samples = std::max(rows, int(60000L * 784 / in));  // about a data set's size
  const int stride = leap::cpu_detail::padded_row_floats(in), out_stride = leap::cpu_detail::padded_row_floats(out);
  std::vector<float> data = filled(size_t(samples) * stride, 1), w = filled(size_t(out) * in, 0.05f), bias(out);
  std::vector<float> m(w.size()), v(w.size()), mb(out), vb(out);
  std::vector<float> dy = filled(size_t(rows) * out_stride, 0.1f), y(dy.size()), dx(size_t(rows) * stride);
  MlpLayer layer{w.data(), bias.data(), nullptr, nullptr, m.data(), v.data(), mb.data(), vb.data(), in, out, false};
  std::vector<const float*> x(rows);
  auto pick_rows = [&] {
    for (auto& row : x) row = data.data() + size_t(random() % samples) * stride;
  };
  const Timing forward = time_calls([&](int) {
    pick_rows();
    kernels.forward(x.data(), w.data(), bias.data(), y.data(), out_stride, in, true, 0, rows, 0, out);
  });
  const Timing input_gradient = time_calls([&](int) {
    kernels.input_gradient(dy.data(), out_stride, w.data(), nullptr, dx.data(), stride, in, out, 0, rows, 0, in);
  });
  const Timing update = time_calls([&](int i) {
    pick_rows();
    const leap::cpu_detail::UpdateRule adam{.adam = leap::cpu_detail::adam_step(1e-3f, 0.9f, 0.999f, 1e-8f, 0, i + 1)};
    kernels.weight_update(dy.data(), out_stride, x.data(), rows, layer, adam, 0, out);
  });
  const double flop = 2.0 * rows * in * out, bytes = 24.0 * (double(in) + 1) * out;
  auto rate = [&](const Timing& t) {
    char text[96];
    std::snprintf(text, sizeof text, "%8.1f %8.1f %6.1f %4.0f%%", t.best_us, t.median_us, flop / t.best_us / 1e3,
                  100 * flop / t.best_us / 1e3 / peak);
    return std::string(text);
  };
  std::printf("%5dx%-5d | %s | %s | %s %6.1f\n", in, out, rate(forward).c_str(), rate(input_gradient).c_str(),
              rate(update).c_str(), bytes / update.best_us / 1e3);
}

}  // namespace

int main(int argc, char** argv) {
  const int rows = argc > 1 ? std::atoi(argv[1]) : 64;
  if (rows < 1) {
    std::fprintf(stderr, "usage: %s [rows] [INxOUT ...]: rows must be a positive count, not '%s'\n", argv[0], argv[1]);
    return 2;
  }
  std::vector<std::pair<int, int>> shapes;
  for (int i = 2; i < argc; ++i) {
    int in = 0, out = 0;
    if (std::sscanf(argv[i], "%dx%d", &in, &out) != 2 || in < 1 || out < 1) {
      std::fprintf(stderr, "usage: %s [rows] [INxOUT ...]: '%s' is not a layer shape\n", argv[0], argv[i]);
      return 2;
    }
    shapes.emplace_back(in, out);
  }
  if (shapes.empty()) shapes = {{784, 128}, {784, 256}, {784, 512}, {784, 1024}, {128, 128}, {256, 256}, {512, 256}, {1024, 1024}};
  const MlpStepKernels& kernels = leap::cpu_detail::best_step_kernels();
  const double peak = fma_peak_gflops();
  std::printf("%s kernels, 1 thread, %d rows; FMA peak of this core %.1f GFLOP/s (measured now)\n", kernels.name, rows,
              peak);
  std::printf("each kernel: best us, median us, GFLOP/s at the best, %% of the FMA peak; the update adds Adam's GB/s\n");
  std::printf("  layer     |              forward              |          input gradient           |"
              "      weight gradient + Adam         GB/s\n");
  for (auto [in, out] : shapes) run(kernels, rows, in, out, peak);
}
