// Training one epoch through a chosen GPU path (LEAP_TRAINING_PATH), for the tests of the
// persistent kernels against the general path: the recipe, what a run ends with, and whether
// a path runs at all on this machine.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "leap/leap.h"

namespace leap {

struct Recipe {
  std::string spec;
  int batch = 64;
  bool distill = false;
  Precision precision = Precision::fp32;
  float dropout = 0.0f;  // after each hidden ReLU
  std::optional<SgdOptions> sgd;  // else Adam(lr=1e-3)
};

struct Trained {
  History history;
  Sequential network;
  std::vector<std::vector<float>> first_moments;  // Adam's, by parameter
  std::string path;
};

// One epoch on the GPU from the spec's seeded weights; `path` sets LEAP_TRAINING_PATH (null
// for leap's own choice), fast_path=false takes the general layer-by-layer path.
inline Trained train_on_path(const Recipe& recipe, const Dataset& data, const char* path, bool fast_path = true) {
  struct Unset {  // also when training throws
    ~Unset() { unsetenv("LEAP_TRAINING_PATH"); }
  } unset;
  if (path) setenv("LEAP_TRAINING_PATH", path, 1);
  else unsetenv("LEAP_TRAINING_PATH");
  Model model(Sequential::from_spec(recipe.spec, 11, Device::cuda, recipe.dropout));
  const OptimizerFactory optimizer = recipe.sgd ? sgd(*recipe.sgd) : adam({.lr = 1e-3f});
  if (recipe.distill) model.compile(optimizer, DistillationLoss(2.0f, 0.5f));
  else model.compile(optimizer);
  Trained out;
  out.history = model.fit(data, {.epochs = 1, .batch_size = recipe.batch, .seed = 3, .fast_path = fast_path,
                                 .precision = recipe.precision});
  out.path = model.training_path();
  for (auto& [name, tensor] : model.optimizer().state())
    if (name.ends_with(".exp_avg")) out.first_moments.push_back(tensor->to_vector());
  out.network = std::move(model.network());
  return out;
}

// Whether `path` trains the probe recipe on this machine: prints the path taken, or the
// error with which it refused (no GPU of the kind it needs, say).
inline bool path_runs(const char* path, const Recipe& probe, const Dataset& data) {
  if (!available(Device::cuda)) return false;
  try {
    std::printf("path: %s\n", train_on_path(probe, data, path).path.c_str());
    return true;
  } catch (const Error& error) {
    std::printf("%s\n", error.what());
    return false;
  }
}

}  // namespace leap
