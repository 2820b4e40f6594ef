// The compute report: FLOPs counted from the model by the stated convention, rates and
// energy from the epochs' figures, the median after the first epoch, JSON with nulls for
// what was not measured; the device list and build description `leap info` prints.
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "leap/build_info.h"
#include "leap/compute_report.h"
#include "leap/leap.h"

namespace leap {
namespace {

TEST(ComputeReport, CountsTrainingFlopsFromTheModel) {
  // 784-128-10: forward 2*(784*128 + 128*10); the weight gradients the same again; the input
  // gradient of the second layer only (2*128*10).
  const Sequential seed = Sequential::from_spec("784-128-10");
  EXPECT_EQ(seed.forward_flops_per_sample(), 2 * (784 * 128 + 128 * 10));
  EXPECT_EQ(seed.training_flops_per_sample(), 2 * 2 * (784 * 128 + 128 * 10) + 2 * 128 * 10);
  // The wide benchmark model: every layer but the first has three products.
  const Sequential wide = Sequential::from_spec("784-4096-4096-4096-10");
  const int64_t first = 2LL * 784 * 4096, hidden = 2LL * 4096 * 4096, last = 2LL * 4096 * 10;
  EXPECT_EQ(wide.training_flops_per_sample(), 2 * first + 3 * (2 * hidden + last));
  EXPECT_EQ(wide.training_flops_per_sample() * 8192, 1756507406336LL);  // 1.757 TFLOP a step
  // Dropout and ReLU count nothing.
  EXPECT_EQ(Sequential::from_spec("784-128-10", 0, Device::cpu, 0.5f).training_flops_per_sample(),
            seed.training_flops_per_sample());
}

EpochLogs epoch(double seconds, int64_t samples, double joules) {
  EpochLogs logs;
  logs.seconds = seconds;
  logs.samples = samples;
  logs.steps = samples / 100;
  logs.us_per_step = seconds * 1e6 / double(logs.steps);
  logs.joules = joules;
  logs.energy_seconds = seconds;
  return logs;
}

TEST(ComputeReport, TakesTheMedianEpochAfterTheFirst) {
  Model model(Sequential::from_spec("100-50-10"));
  model.compile(adam());
  History history;
  // The first epoch is slow (it warms up) and must not count; the others' median is 2 s.
  for (double seconds : {9.0, 2.0, 1.0, 3.0}) history.epochs.push_back(epoch(seconds, 1000, 50.0 * seconds));
  const ComputeReport r = compute_report(model, history, 100);
  EXPECT_EQ(r.flops_per_sample, 2 * 2 * (100 * 50 + 50 * 10) + 2 * 50 * 10);
  EXPECT_EQ(r.flops_per_step, 100 * r.flops_per_sample);
  EXPECT_DOUBLE_EQ(r.seconds_per_epoch, 2.0);
  EXPECT_DOUBLE_EQ(r.samples_per_second, 500.0);
  EXPECT_DOUBLE_EQ(r.seconds_per_step, 0.2);
  EXPECT_DOUBLE_EQ(r.tflops, 500.0 * double(r.flops_per_sample) / 1e12);
  EXPECT_DOUBLE_EQ(r.joules_per_epoch, 100.0);
  EXPECT_DOUBLE_EQ(r.watts, 50.0);
  EXPECT_DOUBLE_EQ(r.samples_per_joule, 10.0);
  EXPECT_GT(r.peak.fp32, 0.0);  // the CPU's, measured
  EXPECT_NE(r.peak.source.find("measured"), std::string::npos);
  EXPECT_NEAR(r.mfu, r.tflops / r.peak.fp32, 1e-12);
  const nlohmann::json json = nlohmann::json::parse(to_json(r));
  EXPECT_EQ(json["flops_per_step"], r.flops_per_step);
  EXPECT_EQ(json["precision"], "fp32");
  EXPECT_NE(describe(r).find("samples per joule: 10.0"), std::string::npos) << describe(r);
}

TEST(ComputeReport, SaysWhenTheDeviceReportsNoEnergy) {
  Model model(Sequential::from_spec("100-50-10"));
  model.compile(adam());
  std::vector<float> x(200 * 100, 0.1f);
  std::vector<int32_t> y(200, 3);
  const History history = model.fit({Tensor::from_vector({200, 100}, x), Tensor::from_vector({200}, y), 10},
                                    {.epochs = 2, .batch_size = 50});
  const ComputeReport r = compute_report(model, history, 50);
  EXPECT_EQ(r.epochs, 2);
  EXPECT_EQ(history.epochs[1].samples, 200);
  if (!energy_meter(Device::cpu)) {
    EXPECT_TRUE(std::isnan(r.joules_per_epoch));
    EXPECT_NE(describe(r).find("energy: not reported by this device"), std::string::npos) << describe(r);
    EXPECT_TRUE(nlohmann::json::parse(to_json(r))["joules_per_epoch"].is_null());
  } else {  // epochs this short may not move the counter
    EXPECT_TRUE(r.joules_per_epoch > 0.0 || describe(r).find("did not move") != std::string::npos) << describe(r);
  }
}

// Epochs shorter than the counter's update interval read 0 J: no energy figures, a reason.
TEST(ComputeReport, SaysWhenTheEnergyCounterDidNotMove) {
  Model model(Sequential::from_spec("100-50-10"));
  model.compile(adam());
  History history;
  for (int e = 0; e < 3; ++e) history.epochs.push_back(epoch(0.002, 1000, 0.0));
  const ComputeReport r = compute_report(model, history, 100);
  EXPECT_TRUE(std::isnan(r.joules_per_epoch));
  EXPECT_TRUE(std::isnan(r.samples_per_joule));
  EXPECT_NE(describe(r).find("energy: the counter did not move over 0.004 s of epochs"), std::string::npos)
      << describe(r);
}

TEST(ComputeReport, KnowsDatasheetPeaksByName) {
  DeviceInfo h100{.device = Device::cuda, .name = "NVIDIA H100 80GB HBM3"};
  EXPECT_DOUBLE_EQ(datasheet_peak(h100)->bf16, 989.4);
  DeviceInfo pcie{.device = Device::cuda, .name = "NVIDIA H100 PCIe"};
  EXPECT_DOUBLE_EQ(datasheet_peak(pcie)->bf16, 756.0);
  DeviceInfo l40s{.device = Device::cuda, .name = "NVIDIA L40S"};
  EXPECT_DOUBLE_EQ(datasheet_peak(l40s)->tf32, 183.0);
  DeviceInfo unknown{.device = Device::cuda, .name = "Some Future GPU"};
  EXPECT_FALSE(datasheet_peak(unknown));
  EXPECT_FALSE(datasheet_peak(DeviceInfo{.device = Device::cpu, .name = "H100 lookalike CPU"}));
}

TEST(ComputeReport, ListsDevicesAndTheBuild) {
  const std::vector<DeviceInfo> devices = list_devices();
  ASSERT_FALSE(devices.empty());
  EXPECT_EQ(devices[0].device, Device::cpu);
  EXPECT_GT(devices[0].compute_units, 0);
  EXPECT_GT(devices[0].memory_bytes, 0);
  EXPECT_EQ(devices.size() > 1, available(Device::cuda));
  const BuildInfo build = build_info();
  EXPECT_FALSE(build.version.empty());
  EXPECT_FALSE(build.compiler.empty());
  EXPECT_FALSE(build.cuda.empty());
}

}  // namespace
}  // namespace leap
