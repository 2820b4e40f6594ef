// 100 training steps on the GPU equal 100 on the CPU from the same weights and batches,
// through the layer-by-layer path and through the CUDA fast path. Skipped without a GPU.
// Tolerance: fp32 products summed in another order drift apart slowly; after 100 Adam steps
// the weights agree within 2e-4 absolute (weights are O(0.1)) and the losses within 1e-4.
#include <gtest/gtest.h>

#include <cmath>

#include "leap/leap.h"

namespace leap {
namespace {

Dataset synthetic_data(int64_t samples, int features, int classes, uint64_t seed) {
  Random random(seed);
  std::vector<float> images(samples * features);
  std::vector<int32_t> labels(samples);
  for (int64_t i = 0; i < samples; ++i) {
    labels[i] = int32_t(random.below(classes));
    // Class-dependent pixels, so that training makes progress and the loss moves.
    for (int f = 0; f < features; ++f)
      images[i * features + f] = random.uniform() * (f % classes == labels[i] ? 1.0f : 0.3f);
  }
  return {Tensor::from_vector({samples, features}, images), Tensor::from_vector({samples}, labels), classes};
}

// A teacher's logits for every sample: random, of a teacher's typical spread.
Dataset with_soft_targets(Dataset data, uint64_t seed) {
  Random random(seed);
  std::vector<float> logits(data.size() * data.classes);
  for (float& z : logits) z = 6.0f * random.uniform() - 3.0f;
  data.soft_targets = Tensor::from_vector({data.size(), int64_t(data.classes)}, logits);
  return data;
}

History train(const std::string& spec, Device device, bool fast_path, const Dataset& data,
              Sequential& out_network, std::string* path = nullptr) {
  Model model(Sequential::from_spec(spec, 11, device));
  if (data.soft_targets.defined())
    model.compile(adam({.lr = 1e-3f}), DistillationLoss(2.0f, 0.5f));
  else
    model.compile(adam({.lr = 1e-3f}));
  History history = model.fit(data, {.epochs = 1, .batch_size = 64, .seed = 3, .fast_path = fast_path});
  if (path) *path = model.training_path();
  out_network = std::move(model.network());
  return history;
}

void expect_same_training(const std::string& spec, bool fast_path, bool distill = false) {
  if (!available(Device::cuda)) GTEST_SKIP() << "no usable CUDA GPU";
  // 100 full batches and one partial batch of 16.
  Dataset data = synthetic_data(100 * 64 + 16, 784, 10, 5);
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
TEST(CudaTraining, LayerGraphEqualsCpu) { expect_same_training("784-64-32-10", true); }
TEST(CudaTraining, FusedDistillationEqualsCpu) { expect_same_training("784-128-10", true, true); }
TEST(CudaTraining, LayerGraphDistillationEqualsCpu) { expect_same_training("784-64-32-10", true, true); }

TEST(CudaTraining, PredictAndEvaluateEqualCpu) {
  if (!available(Device::cuda)) GTEST_SKIP() << "no usable CUDA GPU";
  const Dataset data = synthetic_data(1000, 784, 10, 9);
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

}  // namespace
}  // namespace leap
