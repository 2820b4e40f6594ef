// kd_tool IN OUT: reads "student", "teacher" [batch, classes], "labels" [batch] and
// "settings" [temperature, alpha] from IN, writes leap's distillation "loss" [1] and "grad"
// to OUT. kd_parity.py compares them with PyTorch.
#include <cstdio>

#include "leap/leap.h"

int main(int argc, char** argv) try {
  if (argc != 3) {
    std::fprintf(stderr, "usage: kd_tool IN.safetensors OUT.safetensors\n");
    return 2;
  }
  using namespace leap;
  TensorMap in = load_safetensors(argv[1]);
  const std::vector<float> settings = in.at("settings").to_vector();
  Sequential unused;
  LossValue loss = DistillationLoss(settings.at(0), settings.at(1))(unused, in.at("student"), in.at("teacher"), in.at("labels"));
  save_safetensors(argv[2], {{"loss", Tensor::from_vector({1}, std::vector<float>{float(loss.item())})},
                             {"grad", loss.grad()}});
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "kd_tool: %s\n", e.what());
  return 1;
}
