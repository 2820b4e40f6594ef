// The persistent cluster kernel (src/cuda/kernels/cluster_mlp.cu, run with LEAP_TRAINING_PATH=cluster)
// against a float64 reference and the general GPU path. Skipped without a GPU that runs it
// (Hopper's thread-block clusters).
// Tolerances:
// - one step, in fp32 and in tf32 (the kernel computes both to fp32 accuracy: each operand
//   split into two 11-bit parts, about 22 bits, the bytes exact): the gradients (read back as
//   Adam's first moment, 0.1 g after one step) against a float64 reference that divides by
//   255 after the product, within 1e-5 of the tensor's largest gradient (fp32 accumulation
//   over 784 inputs or 64 rows; an 11-bit operand alone would be off by about 5e-4).
// - 1,000 steps against the general GPU path in fp32: Adam turns small gradient differences
//   into steps of up to lr each, so the trajectories part slowly. The weights must stay within
//   2e-2 relative (L2 norm of the difference over the norm of the weights), the epoch's mean
//   loss within 1e-2 relative and the training accuracy within 1 point.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>

#include "leap/leap.h"
#include "toy_data.h"
#include "path_training.h"
#include "weights_compare.h"

namespace leap {
namespace {

// One epoch of the spec on the GPU (see train_on_path).
Trained train(const Dataset& data, const char* path, bool fast_path = true, Precision precision = Precision::fp32,
              const std::string& spec = "784-128-10", int batch = 64) {
  return train_on_path({.spec = spec, .batch = batch, .precision = precision}, data, path, fast_path);
}

// Whether the kernel runs when asked (LEAP_TRAINING_PATH=cluster): it refuses with an error
// on a GPU without thread-block clusters.
bool cluster_kernel_runs(const Dataset& data) { return path_runs("cluster", {.spec = "784-128-10"}, data); }

// The gradients of one step over one batch, in float64 (x = u / 255 taken after the product).
std::vector<std::vector<double>> reference_gradients(const std::vector<float>& x, const std::vector<int32_t>& y,
                                                     const std::vector<std::vector<float>>& p, int batch,
                                                     int in, int hid, int classes) {
  const std::vector<float>&w1 = p[0], &b1 = p[1], &w2 = p[2], &b2 = p[3];
  std::vector<double> u(x.size()), hidden(batch * hid), grad_hidden(batch * hid), dz(batch * classes);
  for (size_t i = 0; i < x.size(); ++i) u[i] = std::nearbyint(double(x[i]) * 255.0);
  for (int r = 0; r < batch; ++r)
    for (int j = 0; j < hid; ++j) {
      double sum = 0;
      for (int k = 0; k < in; ++k) sum += u[r * in + k] * w1[j * in + k];
      hidden[r * hid + j] = std::max(sum / 255.0 + b1[j], 0.0);
    }
  for (int r = 0; r < batch; ++r) {
    std::vector<double> z(classes);
    double peak = -1e300, total = 0;
    for (int c = 0; c < classes; ++c) {
      z[c] = b2[c];
      for (int j = 0; j < hid; ++j) z[c] += hidden[r * hid + j] * w2[c * hid + j];
      peak = std::max(peak, z[c]);
    }
    for (int c = 0; c < classes; ++c) total += std::exp(z[c] - peak);
    for (int c = 0; c < classes; ++c)
      dz[r * classes + c] = (std::exp(z[c] - peak) / total - (c == y[r] ? 1.0 : 0.0)) / batch;
    for (int j = 0; j < hid; ++j) {
      double sum = 0;
      for (int c = 0; c < classes; ++c) sum += dz[r * classes + c] * w2[c * hid + j];
      grad_hidden[r * hid + j] = hidden[r * hid + j] > 0 ? sum : 0.0;
    }
  }
  std::vector<std::vector<double>> g{std::vector<double>(hid * in), std::vector<double>(hid),
                                     std::vector<double>(classes * hid), std::vector<double>(classes)};
  for (int r = 0; r < batch; ++r) {
    for (int j = 0; j < hid; ++j) {
      const double d = grad_hidden[r * hid + j];
      for (int k = 0; k < in; ++k) g[0][j * in + k] += d * u[r * in + k] / 255.0;
      g[1][j] += grad_hidden[r * hid + j];
    }
    for (int c = 0; c < classes; ++c) {
      for (int j = 0; j < hid; ++j) g[2][c * hid + j] += dz[r * classes + c] * hidden[r * hid + j];
      g[3][c] += dz[r * classes + c];
    }
  }
  return g;
}

TEST(ClusterMlp, OneStepGradientsEqualTheReferenceInBothPrecisions) {
  const Dataset data = byte_pattern_data(64, 784, 10, 21);
  if (!cluster_kernel_runs(data)) GTEST_SKIP() << "no GPU that runs the cluster kernel";
  std::vector<std::vector<float>> initial;
  Sequential network = Sequential::from_spec("784-128-10", 11, Device::cpu);
  for (Parameter* p : network.parameters()) initial.push_back(p->value.to_vector());
  DataLoader loader(data, {.batch_size = 64, .shuffle = true, .seed = 3});
  loader.start_epoch(0);
  Tensor images, labels;
  ASSERT_TRUE(loader.next(images, labels));
  const std::vector<std::vector<double>> expected =
      reference_gradients(images.to_vector(), labels.to_label_vector(), initial, 64, 784, 128, 10);
  for (const Precision precision : {Precision::tf32, Precision::fp32}) {
    const Trained gpu = train(data, "cluster", true, precision);
    ASSERT_EQ(gpu.first_moments.size(), 4u);
    for (size_t k = 0; k < expected.size(); ++k) {
      double largest = 0, worst = 0;
      for (size_t i = 0; i < expected[k].size(); ++i) {
        largest = std::max(largest, std::abs(0.1 * expected[k][i]));
        worst = std::max(worst, std::abs(gpu.first_moments[k][i] - 0.1 * expected[k][i]));
      }
      std::printf("%s, moment %zu: max |gpu - reference| = %.2e of largest %.2e\n", to_string(precision).c_str(), k,
                  worst, largest);
      EXPECT_GT(largest, 0.0);
      EXPECT_LE(worst, 1e-5 * largest) << "parameter " << k << " in " << to_string(precision);
    }
  }
}


TEST(ClusterMlp, ThousandStepsFollowTheGeneralPath) {
  const Dataset data = byte_pattern_data(1000 * 64, 784, 10, 22);
  if (!cluster_kernel_runs(byte_pattern_data(64, 784, 10, 21))) GTEST_SKIP() << "no GPU that runs the cluster kernel";
  Trained general = train(data, nullptr, false);
  Trained fused = train(data, "cluster");
  const EpochLogs& a = general.history.epochs[0];
  const EpochLogs& b = fused.history.epochs[0];
  std::printf("1000 steps: loss %.6f (general) %.6f (cluster); accuracy %.4f %.4f\n", a.loss, b.loss,
              a.accuracy, b.accuracy);
  EXPECT_NEAR(b.loss, a.loss, 1e-2 * a.loss);
  EXPECT_NEAR(b.accuracy, a.accuracy, 0.01);
  expect_close_weights(general.network, fused.network, "after 1000 steps, ", 2e-2, "cluster");
}

// Other widths, batches and class counts: clusters of 1, 3, 5 and 7 blocks, batches of 64,
// 48 and 16 (a block that owns no rows), owners whose rows span two row tiles (7 blocks), 12
// classes, 400 inputs; 100 steps against the general fp32 path.
TEST(ClusterMlp, OtherShapesFollowTheGeneralPath) {
  if (!cluster_kernel_runs(byte_pattern_data(64, 784, 10, 21))) GTEST_SKIP() << "no GPU that runs the cluster kernel";
  struct Shape {
    const char* spec;
    int batch, classes, in;
  };
  for (const Shape& shape : {Shape{"784-8-10", 64, 10, 784}, Shape{"784-24-10", 48, 10, 784},
                             Shape{"784-40-12", 16, 12, 784}, Shape{"400-56-10", 64, 10, 400}}) {
    const Dataset data = byte_pattern_data(100 * shape.batch, shape.in, shape.classes, 25);
    Trained general = train(data, nullptr, false, Precision::fp32, shape.spec, shape.batch);
    Trained fused = train(data, "cluster", true, Precision::fp32, shape.spec, shape.batch);
    EXPECT_NE(fused.path.find("cluster of " + std::to_string(std::stoi(std::string(shape.spec).substr(4)) / 8) +
                              " thread blocks"),
              std::string::npos)
        << fused.path;
    expect_close_weights(general.network, fused.network,
                         std::string(shape.spec) + " batch " + std::to_string(shape.batch) + ", after 100 steps, ", 1e-3,
                         "cluster");
    EXPECT_NEAR(fused.history.epochs[0].loss, general.history.epochs[0].loss, 1e-3 * general.history.epochs[0].loss);
  }
}

// An epoch that ends in a partial batch: 32 rows run in a launch of their own, 24 (not a
// multiple of 16) on the general path; either way the epoch follows the general path.
TEST(ClusterMlp, ALastPartialBatchFollowsTheGeneralPath) {
  if (!cluster_kernel_runs(byte_pattern_data(64, 784, 10, 21))) GTEST_SKIP() << "no GPU that runs the cluster kernel";
  for (const int rest : {32, 24}) {
    const Dataset data = byte_pattern_data(20 * 64 + rest, 784, 10, 26);
    Trained general = train(data, nullptr, false);
    Trained fused = train(data, "cluster");
    ASSERT_EQ(fused.history.epochs[0].steps, 21);
    expect_close_weights(general.network, fused.network, "20 batches and " + std::to_string(rest) + " rows, ", 1e-3, "cluster");
    EXPECT_NEAR(fused.history.epochs[0].loss, general.history.epochs[0].loss, 1e-3 * general.history.epochs[0].loss);
  }
}

// Without LEAP_TRAINING_PATH leap takes the kernel for byte images in fp32 and tf32, and
// says why not when it takes the fused graph instead.
TEST(ClusterMlp, LeapChoosesItForByteImages) {
  const Dataset bytes = byte_pattern_data(128, 784, 10, 24);
  if (!cluster_kernel_runs(bytes)) GTEST_SKIP() << "no GPU that runs the cluster kernel";
  for (const Precision precision : {Precision::fp32, Precision::tf32}) {
    const Trained own = train(bytes, nullptr, true, precision);
    EXPECT_NE(own.path.find("one persistent kernel"), std::string::npos) << own.path;
  }
  Dataset other = byte_pattern_data(128, 784, 10, 24);
  std::vector<float> images = other.images.to_vector();
  images[7] = 0.5f;  // not a byte / 255
  other.images = Tensor::from_vector({128, 784}, images);
  const Trained fused = train(other, nullptr);
  EXPECT_NE(fused.path.find("fused step"), std::string::npos) << fused.path;
  EXPECT_NE(fused.path.find("not the cluster kernel: 1 input values are not bytes / 255"), std::string::npos)
      << fused.path;
}

TEST(ClusterMlp, DataThatAreNotBytesAreRefusedWithTheReason) {
  if (!cluster_kernel_runs(byte_pattern_data(64, 784, 10, 21))) GTEST_SKIP() << "no GPU that runs the cluster kernel";
  Dataset data = byte_pattern_data(128, 784, 10, 23);
  std::vector<float> images = data.images.to_vector();
  images[5] += 1e-3f;
  data.images = Tensor::from_vector({128, 784}, images);
  try {
    train(data, "cluster");
    ADD_FAILURE() << "the kernel took values that are not bytes / 255";
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find("1 input values are not bytes / 255"), std::string::npos) << error.what();
  }
}

}  // namespace
}  // namespace leap
