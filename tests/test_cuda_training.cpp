// 100 training steps on the GPU equal 100 on the CPU from the same weights and batches,
// through the layer-by-layer path and through the CUDA fast path. Skipped without a GPU.
// Tolerance: fp32 products summed in another order drift apart slowly; after 100 Adam steps
// the weights agree within 2e-4 absolute (weights are O(0.1)) and the losses within 1e-4.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>

#include "leap/leap.h"
#include "toy_data.h"
#include "weights_compare.h"

namespace leap {
namespace {

// A teacher's logits for every sample: random, of a teacher's typical spread.
Dataset with_soft_targets(Dataset data, uint64_t seed) {
  Random random(seed);
  std::vector<float> logits(data.size() * data.classes);
  for (float& z : logits) z = 6.0f * random.uniform() - 3.0f;
  data.soft_targets = Tensor::from_vector({data.size(), int64_t(data.classes)}, logits);
  return data;
}

// Sets LEAP_TRAINING_PATH while it lives (nothing for null).
struct ForcedPath {
  explicit ForcedPath(const char* path) {
    if (path) setenv("LEAP_TRAINING_PATH", path, 1);
  }
  ~ForcedPath() { unsetenv("LEAP_TRAINING_PATH"); }
};

History train(const std::string& spec, Device device, bool fast_path, const Dataset& data,
              Sequential& out_network, std::string* path = nullptr) {
  Model model(Sequential::from_spec(spec, 11, device));
  if (data.soft_targets.defined())
    model.compile(adam({.lr = 1e-3f}), DistillationLoss(2.0f, 0.5f));
  else
    model.compile(adam({.lr = 1e-3f}));
  History history = model.fit(data, {.epochs = 1, .batch_size = 64, .seed = 3, .fast_path = fast_path,
                                     .precision = Precision::fp32});
  if (path) *path = model.training_path();
  out_network = std::move(model.network());
  return history;
}

void expect_same_training(const std::string& spec, bool fast_path, bool distill = false,
                          const char* forced_path = nullptr) {
  if (!available(Device::cuda)) GTEST_SKIP() << "no usable CUDA GPU";
  const ForcedPath forced(forced_path);
  // 100 full batches and one partial batch of 16.
  Dataset data = pattern_data(100 * 64 + 16, 784, 10, 5);
  if (distill) data = with_soft_targets(std::move(data), 6);
  Sequential cpu, gpu;
  std::string path;
  History on_cpu = train(spec, Device::cpu, false, data, cpu);
  History on_gpu = train(spec, Device::cuda, fast_path, data, gpu, &path);
  std::printf("%s on the GPU through: %s\n", spec.c_str(), path.c_str());
  EXPECT_NEAR(on_gpu.epochs[0].loss, on_cpu.epochs[0].loss, 1e-4 * on_cpu.epochs[0].loss);
  EXPECT_EQ(on_gpu.epochs[0].accuracy, on_cpu.epochs[0].accuracy);
  std::vector<Parameter*> a = cpu.parameters(), b = gpu.parameters();
  for (size_t k = 0; k < a.size(); ++k) {
    std::vector<float> x = a[k]->value.to_vector(), y = b[k]->value.to_vector();
    double worst = 0;
    for (size_t i = 0; i < x.size(); ++i) worst = std::max(worst, double(std::abs(x[i] - y[i])));
    EXPECT_LE(worst, 2e-4) << a[k]->name;
    std::printf("%s: max |gpu - cpu| after 101 steps = %.2e\n", a[k]->name.c_str(), worst);
  }
}

TEST(CudaTraining, LayerByLayerEqualsCpu) { expect_same_training("784-128-10", false); }
TEST(CudaTraining, FusedStepEqualsCpu) { expect_same_training("784-128-10", true); }
TEST(CudaTraining, LayerGraphEqualsCpu) { expect_same_training("784-64-32-10", true, false, "layers"); }
TEST(CudaTraining, WholeGpuKernelEqualsCpu) { expect_same_training("784-64-32-10", true, false, "grid"); }
TEST(CudaTraining, FusedDistillationEqualsCpu) { expect_same_training("784-128-10", true, true); }
TEST(CudaTraining, LayerGraphDistillationEqualsCpu) { expect_same_training("784-64-32-10", true, true, "layers"); }
TEST(CudaTraining, WholeGpuKernelDistillationEqualsCpu) { expect_same_training("784-64-32-10", true, true, "grid"); }

TEST(CudaTraining, PredictAndEvaluateEqualCpu) {
  if (!available(Device::cuda)) GTEST_SKIP() << "no usable CUDA GPU";
  const Dataset data = pattern_data(1000, 784, 10, 9);
  Model cpu(Sequential::from_spec("784-128-10", 2, Device::cpu));
  Model gpu(Sequential::from_spec("784-128-10", 2, Device::cuda));
  Evaluation a = cpu.evaluate(data), b = gpu.evaluate(data);
  EXPECT_NEAR(a.loss, b.loss, 1e-5);
  EXPECT_EQ(a.accuracy, b.accuracy);
  std::vector<float> x = cpu.predict(data.images).to_vector(), y = gpu.predict(data.images).to_vector();
  for (size_t i = 0; i < x.size(); ++i) ASSERT_NEAR(x[i], y[i], 1e-4) << i;
}

TEST(CudaTraining, PredictorEqualsCpu) {
  if (!available(Device::cuda)) GTEST_SKIP() << "no usable CUDA GPU";
  Sequential cpu = Sequential::from_spec("784-128-10", 4, Device::cpu);
  Sequential gpu = Sequential::from_spec("784-128-10", 4, Device::cuda);
  for (int batch : {1, 3, 64}) {
    Predictor on_cpu(cpu, batch), on_gpu(gpu, batch);
    std::printf("predictor at batch %d on the GPU: %s\n", batch, on_gpu.describe().c_str());
    Random random(batch);
    for (int call = 0; call < 3; ++call) {  // fresh inputs each call through the same graph
      std::vector<float> x(batch * 784), a(batch * 10), b(batch * 10, std::nanf(""));
      for (float& v : x) v = random.uniform();
      on_cpu.predict(x.data(), a.data());
      on_gpu.predict(x.data(), b.data());
      for (size_t i = 0; i < a.size(); ++i) ASSERT_NEAR(a[i], b[i], 1e-5) << batch << ":" << i;
    }
  }
}

// ---- mixed precision ------------------------------------------------------------------------

struct Trained {
  History history;
  std::vector<float> weights;  // every parameter, joined
  std::string path;
};

// One epoch from the spec's seeded weights in `precision`; relu_mode sets LEAP_BF16_RELU.
Trained train_in(const std::string& spec, Device device, Precision precision, const Dataset& data,
                 int batch = 64, const char* relu_mode = nullptr) {
  struct Unset {
    ~Unset() { unsetenv("LEAP_BF16_RELU"); }
  } unset;
  if (relu_mode) setenv("LEAP_BF16_RELU", relu_mode, 1);
  Model model(Sequential::from_spec(spec, 11, device));
  model.compile(adam({.lr = 1e-3f}));
  Trained out;
  out.history = model.fit(data, {.epochs = 1, .batch_size = batch, .seed = 3, .precision = precision});
  out.path = model.training_path();
  for (Parameter* p : model.network().parameters())
    for (float v : p->value.to_vector()) out.weights.push_back(v);
  return out;
}

// Tolerances for N Adam steps in bf16 against fp32 from the same start (see test_precision.cpp
// for why the weights part faster than the losses): mean loss within 3%, weights within 10%
// relative L2. The training accuracies within 2 points.
void expect_close_to_fp32(const Trained& low, const Trained& fp32, const std::string& what) {
  const double loss = low.history.epochs[0].loss, reference = fp32.history.epochs[0].loss;
  const double weights = relative_l2(low.weights, fp32.weights);
  std::printf("%s: loss %.5f against fp32 %.5f, weights off by %.3e (relative L2); path: %s\n",
              what.c_str(), loss, reference, weights, low.path.c_str());
  EXPECT_NEAR(loss, reference, 0.03 * reference) << what;
  EXPECT_LT(weights, 0.1) << what;
  EXPECT_NEAR(low.history.epochs[0].accuracy, fp32.history.epochs[0].accuracy, 0.02) << what;
}

// The bf16 step (cuBLASLt epilogues, bf16 gradients, Adam writing bf16 weights) for 100 full
// batches and a partial one (trained layer by layer, in bf16 too), against the fp32 GPU path,
// with the ReLU gradient in each place it can go (LEAP_BF16_RELU), and at widths whose ReLU
// mask rows need padding to 128 bits.
TEST(CudaTraining, Bf16StepStaysCloseToFp32) {
  if (!available(Device::cuda)) GTEST_SKIP() << "no usable CUDA GPU";
  const Dataset data = pattern_data(100 * 64 + 16, 784, 10, 5);
  const Dataset wide = pattern_data(40 * 256, 784, 10, 6);
  const Trained fp32 = train_in("784-64-32-10", Device::cuda, Precision::fp32, data);
  const Trained wide_fp32 = train_in("784-264-136-10", Device::cuda, Precision::fp32, wide, 256);
  for (const char* mode : {"drelu_bgradb", "drelu_bgrad", "kernel"}) {
    const Trained bf16 = train_in("784-64-32-10", Device::cuda, Precision::bf16, data, 64, mode);
    EXPECT_NE(bf16.path.find("bf16 step"), std::string::npos) << bf16.path;
    expect_close_to_fp32(bf16, fp32, std::string("784-64-32-10 bf16 step, ") + mode);
    expect_close_to_fp32(train_in("784-264-136-10", Device::cuda, Precision::bf16, wide, 256, mode), wide_fp32,
                         std::string("784-264-136-10 bf16 step, ") + mode);
  }
}

// The fused seed step rounds its operands as the CPU's emulation does (to nearest, ties to
// even), so in tf32 and bf16 the two compute the same function up to the order of the sums;
// an operand that lands on the other side of a rounding boundary still moves a weight's Adam
// step now and then. 100 steps: mean loss within 0.5%, weights within 2% relative L2.
TEST(CudaTraining, FusedStepInTf32AndBf16MatchesTheCpuEmulation) {
  if (!available(Device::cuda)) GTEST_SKIP() << "no usable CUDA GPU";
  const Dataset data = pattern_data(100 * 64 + 16, 784, 10, 7);
  for (Precision precision : {Precision::tf32, Precision::bf16}) {
    // The GPU's fused graph (not the whole-GPU kernel, which computes tf32 in fp32); the CPU
    // on its own path, which emulates both (its fused step computes fp32 only).
    const Trained gpu = [&] {
      const ForcedPath forced("fused");
      return train_in("784-128-10", Device::cuda, precision, data);
    }();
    const Trained cpu = train_in("784-128-10", Device::cpu, precision, data);
    const double loss = gpu.history.epochs[0].loss, reference = cpu.history.epochs[0].loss;
    const double weights = relative_l2(gpu.weights, cpu.weights);
    std::printf("fused %s: loss %.6f against the CPU's %.6f, weights off by %.3e; path: %s\n",
                to_string(precision).c_str(), loss, reference, weights, gpu.path.c_str());
    EXPECT_NE(gpu.path.find("fused step"), std::string::npos) << gpu.path;
    EXPECT_NEAR(loss, reference, 0.005 * reference);
    EXPECT_LT(weights, 0.02);
  }
}

TEST(CudaTraining, DefaultsToFp32) {
  if (!available(Device::cuda)) GTEST_SKIP() << "no usable CUDA GPU";
  const DeviceInfo gpu = backend(Device::cuda).info();
  EXPECT_EQ(backend(Device::cuda).default_precision(), Precision::fp32);
  EXPECT_FALSE(gpu.pci_bus_id.empty());
  std::printf("%s: %d SMs at %d MHz, default %s\n", gpu.name.c_str(), gpu.compute_units, gpu.clock_mhz,
              to_string(backend(Device::cuda).default_precision()).c_str());
}

}  // namespace
}  // namespace leap
