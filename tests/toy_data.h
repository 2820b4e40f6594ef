// A small learnable problem for training tests: the label is the arg-max of the first
// `classes` features, which are uniform in [-1, 1).
#pragma once

#include <algorithm>
#include <vector>

#include "leap/data.h"
#include "leap/random.h"

namespace leap {

inline Dataset toy_data(int64_t samples, int features, int classes, uint64_t seed) {
  Random random(seed);
  std::vector<float> x(samples * features);
  std::vector<int32_t> y(samples);
  for (int64_t i = 0; i < samples; ++i) {
    for (int j = 0; j < features; ++j) x[i * features + j] = random.uniform(-1, 1);
    y[i] = int32_t(std::max_element(&x[i * features], &x[i * features] + classes) - &x[i * features]);
  }
  return {Tensor::from_vector({samples, features}, x), Tensor::from_vector({samples}, y), classes};
}

}  // namespace leap
