// Running out of memory is a typed error saying what was asked and what is available, so a
// caller (the command line's --cpu-fallback) can react to it. The GPU cases are skipped
// without a GPU.
#include <gtest/gtest.h>

#include <vector>
#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "error_matchers.h"
#include "leap/leap.h"

namespace leap {
namespace {

namespace fs = std::filesystem;

TEST(OutOfMemory, SaysWhatWasAskedAndWhatIsAvailable) {
  try {
    Tensor huge({int64_t(1) << 40}, DType::float32, Device::cpu);  // 4 TiB
    FAIL() << "a 4 TiB tensor was allocated";
  } catch (const OutOfMemory& e) {
    expect_contains(e.what(), {"out of host memory allocating 4398046511104 bytes", "bytes available"});
  }
}

TEST(OutOfMemory, AModelTooLargeFailsBeforeTraining) {
  EXPECT_THROW(Sequential::from_spec("784-1048576-1048576-10"), OutOfMemory);
}

TEST(OutOfMemory, OnTheGpuSaysWhatWasAskedAndWhatIsFree) {
  if (!available(Device::cuda)) GTEST_SKIP() << "no usable CUDA GPU";
  // 2^40 weights (4 TiB), more than any GPU holds: refused on the GPU before any host work.
  try {
    Sequential::from_spec("1048576-1048576", 0, Device::cuda);
    FAIL() << "a 4 TiB model was built on the GPU";
  } catch (const OutOfMemory& e) {
    std::printf("%s\n", e.what());
    expect_contains(e.what(), {"out of GPU memory allocating 4398046511104 bytes (", " GiB free of ", " GiB)"});
  }
}

// The free GPU memory in GiB, as an out-of-memory error reports it: "(X GiB free of Y GiB)".
double free_gpu_gib() {
  try {
    Tensor too_big({int64_t(1) << 42}, DType::float32, Device::cuda);  // 16 TiB
  } catch (const OutOfMemory& e) {
    const std::string message = e.what();
    return std::stod(message.substr(message.rfind('(') + 1));
  }
  ADD_FAILURE() << "a 16 TiB tensor was allocated on the GPU";
  return 0;
}

// The leap command beside this test program (build/leap for build/tests/leap_tests, or in
// the same folder where bench/pack_gpu_build.sh packs them).
std::string leap_binary() {
  const fs::path here = fs::read_symlink("/proc/self/exe").parent_path();
  for (const fs::path& candidate : {here / "leap", here.parent_path() / "leap"})
    if (fs::is_regular_file(candidate)) return candidate.string();
  return "";
}

struct CommandResult {
  int status = -1;
  std::string output;  // stdout and stderr
};

CommandResult run(const std::string& command) {
  CommandResult result;
  std::FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  if (!pipe) return result;
  char buffer[4096];
  while (size_t n = std::fread(buffer, 1, sizeof buffer, pipe)) result.output.append(buffer, n);
  const int status = pclose(pipe);
  result.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

TEST(OutOfMemory, DeviceAutoFallsBackToTheCpuOnlyWhenAllowed) {
  if (!available(Device::cuda)) GTEST_SKIP() << "no usable CUDA GPU";
  const std::string leap = leap_binary();
  ASSERT_FALSE(leap.empty()) << "the leap command is not beside " << fs::read_symlink("/proc/self/exe");
  // This process holds all but 3 to 4 GiB of the GPU. The leap process below (its CUDA context
  // takes under 1 GiB) then cannot fit 512-1048576-2, whose weights and gradients take
  // 4.3 GB; its host memory (8.6 GB with Adam's moments) is plenty.
  const double free_gib = free_gpu_gib();
  ASSERT_GT(free_gib, 4.0) << "too little free GPU memory for this test";
  // Held in whole GiB pieces, sizes the caching allocator does not round up.
  std::vector<Tensor> held;
  for (int i = 0; i < int(free_gib - 3.0); ++i) held.emplace_back(Shape{int64_t(1) << 28}, DType::float32, Device::cuda);

  const fs::path dir = fs::temp_directory_path() / ("leap_oom_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const fs::path csv = dir / "wide.csv";
  {
    std::ofstream out(csv);
    out << "label";
    for (int j = 0; j < 512; ++j) out << ",f" << j;
    out << "\n";
    for (int i = 0; i < 8; ++i) {
      out << i % 2;
      for (int j = 0; j < 512; ++j) out << "," << (j % 7) / 7.0;
      out << "\n";
    }
  }
  const std::string command = leap + " train --no-run-dir --model 512-1048576-2 --epochs 1 --batch-size 8 --data " +
                              csv.string() + " --device ";

  const CommandResult refused = run(command + "auto");
  std::printf("without --cpu-fallback (status %d):\n%s\n", refused.status, refused.output.c_str());
  EXPECT_EQ(refused.status, 1);
  expect_contains(refused.output, {"--device auto: using the GPU", "out of GPU memory allocating", " GiB free of ",
                                   "with --device auto, --cpu-fallback trains on the CPU instead"});

  const CommandResult fell_back = run(command + "auto --cpu-fallback");
  std::printf("with --cpu-fallback (status %d):\n%s\n", fell_back.status, fell_back.output.c_str());
  EXPECT_EQ(fell_back.status, 0);
  expect_contains(fell_back.output, {"out of GPU memory allocating", "--cpu-fallback: training on the CPU from the start",
                                     "Device: cpu", "Epoch 1/1"});

  // --device cuda asked for the GPU: the flag does not move it.
  const CommandResult cuda_only = run(command + "cuda --cpu-fallback");
  EXPECT_EQ(cuda_only.status, 1) << cuda_only.output;
  expect_contains(cuda_only.output, {"out of GPU memory allocating"});
  fs::remove_all(dir);
}

}  // namespace
}  // namespace leap
