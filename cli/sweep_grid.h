// The grid of `leap sweep`: each option a comma-separated list of values (seeds also as
// ranges, "0-19" or "0-4,10"), expanded to every combination. A configuration is one
// combination of everything but the seed; each of its seeds trains a model.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace leap::cli {

struct SweepGridOptions {
  std::string model = "784-128-10", seeds = "0", lr = "1e-3", batch_size = "64", epochs = "10",
              optimizer = "adam", schedule = "none", weight_decay = "0", dropout = "0";
};

struct SweepConfiguration {
  std::string model, optimizer, schedule;
  float lr = 1e-3f, weight_decay = 0, dropout = 0;
  int batch_size = 64, epochs = 10;
  std::string name;  // the values that vary across the grid ("784-128-10 lr=0.001"), else the model
};

struct SweepGrid {
  std::vector<SweepConfiguration> configurations;
  std::vector<uint64_t> seeds;
  size_t models() const { return configurations.size() * seeds.size(); }
};

// Throws leap::Error naming the option and the value: an empty list or value, a value out
// of its range or of the wrong kind, a bad model spec, a backwards seed range, a value given
// twice, or a grid of more than `max_models` models.
SweepGrid parse_sweep_grid(const SweepGridOptions& options, size_t max_models = 100000);

// A configuration's name as a directory name: spaces to '_', '/' to '-'.
std::string directory_name(const std::string& name);

}  // namespace leap::cli
