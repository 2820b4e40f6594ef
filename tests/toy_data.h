// Small learnable problems for training tests, the same for a seed on every platform.
#pragma once

#include <algorithm>
#include <vector>

#include "leap/data.h"
#include "leap/random.h"

namespace leap {

// The label is the arg-max of the first `classes` features, which are uniform in [-1, 1).
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

// A random label a sample; the features of its class (f % classes == label) are brighter, so
// that training makes progress. pixel(random, bright) draws each feature.
template <typename Pixel>
Dataset class_pattern_data(int64_t samples, int features, int classes, uint64_t seed, Pixel pixel) {
  Random random(seed);
  std::vector<float> images(samples * features);
  std::vector<int32_t> labels(samples);
  for (int64_t i = 0; i < samples; ++i) {
    labels[i] = int32_t(random.below(classes));
    for (int f = 0; f < features; ++f) images[i * features + f] = pixel(random, f % classes == labels[i]);
  }
  return {Tensor::from_vector({samples, features}, images), Tensor::from_vector({samples}, labels), classes};
}

// Pixels uniform in [0, 1), scaled by 0.3 outside the class's features.
inline Dataset pattern_data(int64_t samples, int features, int classes, uint64_t seed) {
  return class_pattern_data(samples, features, classes, seed, [](Random& random, bool bright) {
    return random.uniform() * (bright ? 1.0f : 0.3f);
  });
}

// Pixels that are bytes / 255, as IDX images give them; a third of the byte outside the
// class's features.
inline Dataset byte_pattern_data(int64_t samples, int features, int classes, uint64_t seed) {
  return class_pattern_data(samples, features, classes, seed, [](Random& random, bool bright) {
    const int byte = int(random.below(256));
    return float(bright ? byte : byte / 3) / 255.0f;
  });
}

}  // namespace leap
