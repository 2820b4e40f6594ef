// The CPU's fused training step (src/cpu/fused_mlp_step.h) against its references:
// - its AVX-512 kernels against the plain loops, on odd shapes (tails of every width): within
//   1e-5 of the largest magnitude of each result (fp32 sums in another order);
// - one step against float64: the gradients (read back as Adam's first moment, 0.1 g after one
//   step) within 1e-5 of the tensor's largest gradient;
// - about 1,000 steps against the general layer-by-layer path (OpenBLAS), last partial batches
//   included: Adam turns rounding differences into steps of up to lr each, so the weights
//   must stay within 2e-2 relative (L2 norm of the difference over the weights' norm) and the
//   last epoch's loss within 1e-2 relative, as the GPU persistent kernel's test asks;
// - the same bits on 1, 2 and 3 threads, with Adam and with SGD.
#include <gtest/gtest.h>
#include <omp.h>

#include <cmath>
#include <cstdlib>
#include <optional>
#include <tuple>

#include "cpu/mlp_step_kernels.h"
#include "leap/leap.h"
#include "toy_data.h"
#include "weights_compare.h"

namespace leap {
namespace {

struct Trained {
  History history;
  std::vector<std::vector<float>> weights, first_moments;
  std::string path;
};

// Trains from the spec's seeded weights with Adam, or SGD when given; `path` sets
// LEAP_TRAINING_PATH ("fused" or "layers").
Trained train(const std::string& spec, const Dataset& data, int batch, int epochs, const char* path,
              float dropout = 0.0f, std::optional<SgdOptions> sgd_options = std::nullopt) {
  struct Unset {  // also when training throws
    ~Unset() { unsetenv("LEAP_TRAINING_PATH"); }
  } unset;
  setenv("LEAP_TRAINING_PATH", path, 1);
  Model model(Sequential::from_spec(spec, 11, Device::cpu, dropout));
  if (sgd_options) model.compile(sgd(*sgd_options));
  else model.compile(adam({.lr = 1e-3f}));
  Trained out;
  out.history = model.fit(data, {.epochs = epochs, .batch_size = batch, .seed = 3});
  out.path = model.training_path();
  for (Parameter* p : model.network().parameters()) out.weights.push_back(p->value.to_vector());
  for (auto& [name, tensor] : model.optimizer().state())
    if (name.ends_with(".exp_avg") || name.ends_with(".momentum_buffer")) out.first_moments.push_back(tensor->to_vector());
  return out;
}

// The gradients of the mean cross-entropy over all of `data`, in float64: weight then bias of
// each layer, as parameters() lists them.
std::vector<std::vector<double>> reference_gradients(const std::vector<int>& width, const Dataset& data,
                                                     const std::vector<std::vector<float>>& p) {
  const int rows = int(data.size()), layers = int(width.size()) - 1;
  const std::vector<float> x = data.images.to_vector();
  const int32_t* y = data.labels.labels();
  std::vector<std::vector<double>> act(layers + 1), grads(2 * layers);
  act[0].assign(x.begin(), x.end());
  for (int l = 0; l < layers; ++l) {
    const int in = width[l], out = width[l + 1];
    act[l + 1].assign(size_t(rows) * out, 0.0);
    for (int b = 0; b < rows; ++b)
      for (int j = 0; j < out; ++j) {
        double sum = p[2 * l + 1][j];
        for (int k = 0; k < in; ++k) sum += act[l][size_t(b) * in + k] * p[2 * l][size_t(j) * in + k];
        act[l + 1][size_t(b) * out + j] = l + 1 < layers ? std::max(sum, 0.0) : sum;
      }
  }
  const int classes = width.back();
  std::vector<double> dy(size_t(rows) * classes);
  for (int b = 0; b < rows; ++b) {
    const double* z = &act[layers][size_t(b) * classes];
    const double peak = *std::max_element(z, z + classes);
    double total = 0.0;
    for (int j = 0; j < classes; ++j) total += std::exp(z[j] - peak);
    for (int j = 0; j < classes; ++j)
      dy[size_t(b) * classes + j] = (std::exp(z[j] - peak) / total - (j == int(y[b]))) / rows;
  }
  for (int l = layers - 1; l >= 0; --l) {
    const int in = width[l], out = width[l + 1];
    std::vector<double>&gw = grads[2 * l], &gb = grads[2 * l + 1];
    gw.assign(size_t(out) * in, 0.0);
    gb.assign(out, 0.0);
    std::vector<double> dx(size_t(rows) * in, 0.0);
    for (int b = 0; b < rows; ++b)
      for (int j = 0; j < out; ++j) {
        const double d = dy[size_t(b) * out + j];
        gb[j] += d;
        for (int k = 0; k < in; ++k) {
          gw[size_t(j) * in + k] += d * act[l][size_t(b) * in + k];
          dx[size_t(b) * in + k] += d * p[2 * l][size_t(j) * in + k];
        }
      }
    for (size_t i = 0; i < dx.size(); ++i) dx[i] = act[l][i] > 0.0 ? dx[i] : 0.0;
    dy = std::move(dx);
  }
  return grads;
}

struct Shape {
  std::string spec;
  int batch;
};

void PrintTo(const Shape& shape, std::ostream* out) { *out << shape.spec << " at batch " << shape.batch; }

class FusedCpuStepShapes : public ::testing::TestWithParam<Shape> {};

TEST_P(FusedCpuStepShapes, OneStepMatchesFloat64) {
  const Shape shape = GetParam();
  const std::vector<int> width = parse_spec(shape.spec);
  const Dataset data = pattern_data(shape.batch, width.front(), width.back(), 5);
  const Trained fused = train(shape.spec, data, shape.batch, 1, "fused");
  ASSERT_NE(fused.path.find("fused CPU step"), std::string::npos) << fused.path;
  Model initial(Sequential::from_spec(shape.spec, 11, Device::cpu));
  std::vector<std::vector<float>> p;
  for (Parameter* parameter : initial.network().parameters()) p.push_back(parameter->value.to_vector());
  const auto reference = reference_gradients(width, data, p);
  ASSERT_EQ(fused.first_moments.size(), reference.size());
  for (size_t t = 0; t < reference.size(); ++t) {
    double largest = 0.0, worst = 0.0;
    for (double g : reference[t]) largest = std::max(largest, std::abs(g));
    for (size_t i = 0; i < reference[t].size(); ++i)
      worst = std::max(worst, std::abs(fused.first_moments[t][i] / (1.0f - 0.9f) - reference[t][i]));
    EXPECT_LE(worst, 1e-5 * largest) << shape.spec << " parameter " << t;
  }
}

TEST_P(FusedCpuStepShapes, ThousandStepsFollowTheGeneralPath) {
  const Shape shape = GetParam();
  const std::vector<int> width = parse_spec(shape.spec);
  // Samples that leave a last partial batch of about a third.
  const int per_epoch = 64, samples = per_epoch * shape.batch + shape.batch / 3 + 1;
  const Dataset data = pattern_data(samples, width.front(), width.back(), 7);
  const int epochs = 1000 / (per_epoch + 1) + 1;
  const Trained fused = train(shape.spec, data, shape.batch, epochs, "fused");
  const Trained general = train(shape.spec, data, shape.batch, epochs, "layers");
  ASSERT_NE(fused.path.find("fused CPU step"), std::string::npos) << fused.path;
  ASSERT_EQ(general.path.find("fused"), std::string::npos) << general.path;
  for (size_t t = 0; t < fused.weights.size(); ++t)
    EXPECT_LE(relative_l2(fused.weights[t], general.weights[t]), 2e-2) << shape.spec << " parameter " << t;
  const double loss = fused.history.epochs.back().loss, general_loss = general.history.epochs.back().loss;
  EXPECT_NEAR(loss, general_loss, 1e-2 * general_loss);
  EXPECT_NEAR(fused.history.epochs.back().accuracy, general.history.epochs.back().accuracy, 0.01);
}

INSTANTIATE_TEST_SUITE_P(Shapes, FusedCpuStepShapes,
                         ::testing::Values(Shape{"784-128-10", 64}, Shape{"37-19-13-5", 23},
                                           Shape{"50-70-41-33-6", 16}, Shape{"20-300-3", 1}),
                         [](const auto& info) { return "shape" + std::to_string(info.index); });

TEST(FusedCpuStep, SameBitsOnAnyNumberOfThreads) {
  const int before = omp_get_max_threads();
  for (const Shape& shape : {Shape{"784-128-10", 64}, Shape{"37-19-13-5", 23}}) {
    const std::vector<int> width = parse_spec(shape.spec);
    const Dataset data = pattern_data(20 * shape.batch + 5, width.front(), width.back(), 9);
    for (const std::optional<SgdOptions>& sgd_options :
         {std::optional<SgdOptions>{}, std::optional<SgdOptions>{{.lr = 0.02f, .momentum = 0.9f}}}) {
      std::vector<Trained> runs;
      for (int threads : {1, 2, 3}) {
        omp_set_num_threads(threads);
        runs.push_back(train(shape.spec, data, shape.batch, 2, "fused", 0.0f, sgd_options));
      }
      const std::string label = shape.spec + (sgd_options ? " with SGD" : " with Adam");
      for (size_t r = 1; r < runs.size(); ++r) {
        EXPECT_EQ(runs[r].weights, runs[0].weights) << label << ", run " << r;
        EXPECT_EQ(runs[r].first_moments, runs[0].first_moments) << label << ", run " << r;
        EXPECT_EQ(runs[r].history.epochs.back().loss, runs[0].history.epochs.back().loss) << label;
      }
    }
  }
  omp_set_num_threads(before);
}

// Dropout after the hidden ReLUs: the step draws the layers' own masks, and counts them, so a
// second epoch's masks are the layers' too. Two epochs with partial batches against the
// layer-by-layer path: only the sums' order differs, so the weights stay within 1e-3
// relative; and the same bits on 1 and 2 threads.
TEST(FusedCpuStep, DropoutDrawsTheLayersMasks) {
  const int before = omp_get_max_threads();
  for (const auto& [spec, batch, p] : {std::tuple{"784-64-32-10", 32, 0.2f}, std::tuple{"37-19-13-5", 23, 0.5f}}) {
    const std::vector<int> width = parse_spec(spec);
    const Dataset data = pattern_data(30 * batch + 7, width.front(), width.back(), 12);
    const Trained fused = train(spec, data, batch, 2, "fused", p);
    const Trained general = train(spec, data, batch, 2, "layers", p);
    EXPECT_NE(fused.path.find("dropout"), std::string::npos) << fused.path;
    for (size_t t = 0; t < fused.weights.size(); ++t)
      EXPECT_LE(relative_l2(fused.weights[t], general.weights[t]), 1e-3) << spec << " parameter " << t;
    EXPECT_NEAR(fused.history.epochs.back().loss, general.history.epochs.back().loss,
                1e-3 * general.history.epochs.back().loss);
    omp_set_num_threads(1);
    const Trained one = train(spec, data, batch, 2, "fused", p);
    omp_set_num_threads(2);
    const Trained two = train(spec, data, batch, 2, "fused", p);
    EXPECT_EQ(one.weights, two.weights) << spec;
  }
  omp_set_num_threads(before);
}

TEST(FusedCpuStep, ForcedPathThatCannotRunIsAnError) {
  setenv("LEAP_TRAINING_PATH", "fused", 1);
  Model model(Sequential::from_spec("8-4-3", 1, Device::cpu));
  model.compile(adam({}));
  const Dataset data = toy_data(10, 8, 3, 1);
  EXPECT_THROW(model.fit(data, {.batch_size = 4, .precision = Precision::tf32}), Error);
  unsetenv("LEAP_TRAINING_PATH");
}

// SGD as PyTorch's (plain, with momentum and dampening, with Nesterov momentum and weight
// decay), a last partial batch in each epoch: the weights and momentum buffers follow the
// general path's.
TEST(FusedCpuStep, SgdFollowsTheGeneralPath) {
  const Dataset data = pattern_data(100 * 32 + 11, 60, 7, 9);
  for (const SgdOptions& options :
       {SgdOptions{.lr = 0.05f}, SgdOptions{.lr = 0.02f, .momentum = 0.9f, .dampening = 0.1f},
        SgdOptions{.lr = 0.01f, .momentum = 0.9f, .weight_decay = 1e-3f, .nesterov = true}}) {
    const std::string label = "SGD momentum " + std::to_string(options.momentum) + (options.nesterov ? " nesterov" : "");
    const Trained fused = train("60-40-24-7", data, 32, 2, "fused", 0.0f, options);
    const Trained general = train("60-40-24-7", data, 32, 2, "layers", 0.0f, options);
    ASSERT_NE(fused.path.find("and SGD"), std::string::npos) << fused.path;
    ASSERT_EQ(fused.weights.size(), general.weights.size());
    for (size_t t = 0; t < fused.weights.size(); ++t)
      EXPECT_LE(relative_l2(fused.weights[t], general.weights[t]), 1e-4) << label << ", parameter " << t;
    ASSERT_EQ(fused.first_moments.size(), general.first_moments.size()) << label;
    for (size_t t = 0; t < fused.first_moments.size(); ++t) {
      ASSERT_EQ(fused.first_moments[t].size(), general.first_moments[t].size()) << label << ", buffer " << t;
      if (options.momentum == 0.0f) continue;  // no buffers
      EXPECT_LE(relative_l2(fused.first_moments[t], general.first_moments[t]), 1e-4) << label << ", buffer " << t;
    }
    EXPECT_NEAR(fused.history.epochs.back().loss, general.history.epochs.back().loss,
                1e-4 * general.history.epochs.back().loss) << label;
  }
}

// Where the fused step is not taken, leap's own choice says why: its precision here (with
// AVX-512), or the missing AVX-512.
TEST(FusedCpuStep, TheLayerPathSaysWhyNotTheFusedStep) {
  Model model(Sequential::from_spec("8-4-3", 1, Device::cpu));
  model.compile(adam({}));
  model.fit(toy_data(10, 8, 3, 1), {.batch_size = 4, .precision = Precision::tf32});
  const std::string reason = cpu_detail::avx512_step_kernels() ? "not the fused CPU step: it computes in fp32 only, not tf32"
                                                               : "not the fused CPU step: without AVX-512";
  EXPECT_NE(model.training_path().find(reason), std::string::npos) << model.training_path();
}

// The AVX-512 kernels against the plain loops on fresh random inputs, with rows a padded
// stride apart (as the fused step keeps its own buffers) and dense, with partial tiles of rows
// and of outputs.
TEST(FusedCpuStepKernels, Avx512MatchesPlainLoops) {
  const cpu_detail::MlpStepKernels* fast = cpu_detail::avx512_step_kernels();
  if (!fast) GTEST_SKIP() << "no AVX-512 on this CPU";
  const cpu_detail::MlpStepKernels& plain = cpu_detail::plain_step_kernels();
  Random random(17);
  auto fill = [&](std::vector<float>& v, size_t n) {
    v.resize(n);
    for (float& e : v) e = random.uniform(-1, 1);
  };
  auto close = [](const std::vector<float>& a, const std::vector<float>& b, const char* what) {
    float largest = 0.0f;
    for (float e : b) largest = std::max(largest, std::abs(e));
    for (size_t i = 0; i < a.size(); ++i) ASSERT_NEAR(a[i], b[i], 1e-5f * largest) << what << " at " << i;
  };
  // 130 rows: the forward's blocks of 64 rows, the last one partial.
  for (auto [rows, in, out, pad] : {std::tuple{7, 37, 13, 0}, {64, 784, 128, 16}, {5, 200, 97, 3}, {1, 16, 1, 0},
                                    {9, 15, 6, 1}, {130, 40, 21, 5}}) {
    const int in_stride = in + pad, out_stride = out + pad;
    std::vector<float> x, w, bias, dy, h;
    fill(x, size_t(rows) * in), fill(w, size_t(out) * in), fill(bias, out), fill(dy, size_t(rows) * out_stride);
    fill(h, size_t(rows) * in_stride);
    std::vector<const float*> x_rows(rows);
    for (int b = 0; b < rows; ++b) x_rows[b] = x.data() + size_t(b) * in;
    std::vector<float> y_fast(size_t(rows) * out_stride), y_plain(y_fast.size());
    // Split ranges, as threads take them.
    fast->forward(x_rows.data(), w.data(), bias.data(), y_fast.data(), out_stride, in, true, 0, rows, 0, out / 2);
    fast->forward(x_rows.data(), w.data(), bias.data(), y_fast.data(), out_stride, in, true, 0, rows, out / 2, out);
    plain.forward(x_rows.data(), w.data(), bias.data(), y_plain.data(), out_stride, in, true, 0, rows, 0, out);
    close(y_fast, y_plain, "forward");
    std::vector<float> dx_fast(size_t(rows) * in_stride), dx_plain(dx_fast.size());
    fast->input_gradient(dy.data(), out_stride, w.data(), h.data(), dx_fast.data(), in_stride, in, out, 0, rows / 2, 0, in);
    fast->input_gradient(dy.data(), out_stride, w.data(), h.data(), dx_fast.data(), in_stride, in, out, rows / 2, rows,
                         0, in);
    plain.input_gradient(dy.data(), out_stride, w.data(), h.data(), dx_plain.data(), in_stride, in, out, 0, rows, 0, in);
    close(dx_fast, dx_plain, "input gradient");
    std::vector<float> m, v, bm, bv;
    fill(m, w.size()), fill(v, w.size()), fill(bm, out), fill(bv, out);
    for (float& e : v) e = std::abs(e);
    for (float& e : bv) e = std::abs(e);
    // Adam, then SGD (its buffer in the first moment's place): with Nesterov momentum and decay,
    // with dampening on its first step (the buffer seeded with the gradient) and on a later one,
    // and without momentum (no buffer at all).
    const cpu_detail::UpdateRule rules[] = {
        {.adam = cpu_detail::adam_step(1e-2f, 0.9f, 0.999f, 1e-8f, 1e-3f, 3)},
        {.sgd = true, .sgd_step = {0.05f, 0.9f, 0.0f, 1e-3f, true, false}},
        {.sgd = true, .sgd_step = {0.05f, 0.9f, 0.1f, 0.0f, false, true}},
        {.sgd = true, .sgd_step = {0.05f, 0.9f, 0.1f, 0.0f, false, false}},
        {.sgd = true, .sgd_step = {0.05f, 0.0f, 0.0f, 0.0f, false, false}}};
    for (const cpu_detail::UpdateRule& rule : rules) {
      const bool adam = !rule.sgd, buffer = adam || rule.sgd_step.momentum != 0.0f;
      std::vector<float> w2 = w, m2 = m, v2 = v, bias2 = bias, bm2 = bm, bv2 = bv;
      // (in and out are structured bindings, which a lambda cannot capture before C++20's last revision.)
      const int layer_in = in, layer_out = out;
      auto layer_of = [&](std::vector<float>& weight, std::vector<float>& b, std::vector<float>& first,
                          std::vector<float>& second, std::vector<float>& b_first, std::vector<float>& b_second) {
        return MlpLayer{weight.data(), b.data(), nullptr, nullptr, buffer ? first.data() : nullptr,
                        adam ? second.data() : nullptr, buffer ? b_first.data() : nullptr,
                        adam ? b_second.data() : nullptr, layer_in, layer_out, false};
      };
      const MlpLayer fast_layer = layer_of(w, bias, m, v, bm, bv), plain_layer = layer_of(w2, bias2, m2, v2, bm2, bv2);
      fast->weight_update(dy.data(), out_stride, x_rows.data(), rows, fast_layer, rule, 0, out / 3);
      fast->weight_update(dy.data(), out_stride, x_rows.data(), rows, fast_layer, rule, out / 3, out);
      plain.weight_update(dy.data(), out_stride, x_rows.data(), rows, plain_layer, rule, 0, out);
      close(m, m2, "first moment or momentum buffer"), close(v, v2, "second moment"), close(w, w2, "weights");
      close(bm, bm2, "bias first moment"), close(bias, bias2, "bias");
    }
  }
}

}  // namespace
}  // namespace leap
