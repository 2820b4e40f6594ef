// Writes training checkpoints in a loop until killed, or checks that the checkpoint on disk
// is whole: every weight and moment holds the step number its metadata names.
// usage: checkpoint_torture write PATH | checkpoint_torture check PATH
#include <cstdio>
#include <cstring>
#include <string>

#include "leap/leap.h"
#include "leap/training_checkpoint.h"

using namespace leap;

namespace {

// ~12 MB a checkpoint (weights and two Adam moments): a write takes long enough to be hit.
constexpr const char* kSpec = "784-1024-256-10";
const LoaderOptions kLoader{};

void fill_all(Sequential& network, Optimizer& optimizer, float value) {
  for (Parameter* p : network.parameters())
    backend(Device::cpu).fill(p->value.data(), size_t(p->value.numel()), value);
  for (auto& [name, state] : optimizer.state())
    backend(Device::cpu).fill(state->data(), size_t(state->numel()), value);
}

int check_whole(Sequential& network, Optimizer& optimizer, const std::string& path) {
  const TrainingProgress progress = load_training_checkpoint(path, network, optimizer, kLoader);
  const float expected = float(progress.step);
  auto all_equal = [&](const Tensor& tensor) {
    for (float v : tensor.to_vector())
      if (v != expected) return false;
    return true;
  };
  for (Parameter* p : network.parameters())
    if (!all_equal(p->value)) return std::printf("torn: %s differs from step %g\n", p->name.c_str(), expected), 1;
  for (auto& [name, state] : optimizer.state())
    if (!all_equal(*state)) return std::printf("torn: %s differs from step %g\n", name.c_str(), expected), 1;
  std::printf("whole: step %lld\n", static_cast<long long>(progress.step));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3 || (std::strcmp(argv[1], "write") != 0 && std::strcmp(argv[1], "check") != 0)) {
    std::fprintf(stderr, "usage: checkpoint_torture write|check PATH\n");
    return 2;
  }
  const std::string path = argv[2];
  Sequential network = Sequential::from_spec(kSpec);
  Adam optimizer(network.parameters());
  optimizer.prepare_state();
  try {
    if (std::strcmp(argv[1], "check") == 0) return check_whole(network, optimizer, path);
    for (int64_t step = 1;; ++step) {
      fill_all(network, optimizer, float(step));
      save_training_checkpoint(path, network, optimizer, {.step = step}, kLoader);
      if (step == 1) std::fclose(std::fopen((path + ".ready").c_str(), "w"));
    }
  } catch (const Error& e) {
    std::printf("error: %s\n", e.what());
    return 1;
  }
}
