// What the training-path tests share: how far one path's weights are from another's (the L2
// norm of the difference over the reference's norm).
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "leap/sequential.h"

namespace leap {

// ||a - b|| / ||b||
inline double relative_l2(const std::vector<float>& a, const std::vector<float>& b) {
  double difference = 0, norm = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    difference += (double(a[i]) - b[i]) * (double(a[i]) - b[i]);
    norm += double(b[i]) * b[i];
  }
  return std::sqrt(difference / norm);
}

// Each parameter of `path` against `general`, relative_l2, printed after `label` (naming the
// path as `path_name`) and expected within `tolerance`.
inline void expect_close_weights(Sequential& general, Sequential& path, const std::string& label, double tolerance,
                                 const char* path_name) {
  std::vector<Parameter*> x = general.parameters(), y = path.parameters();
  for (size_t k = 0; k < x.size(); ++k) {
    const double relative = relative_l2(y[k]->value.to_vector(), x[k]->value.to_vector());
    std::printf("%s%s: |%s - general| / |general| = %.2e\n", label.c_str(), x[k]->name.c_str(), path_name, relative);
    EXPECT_LE(relative, tolerance) << label << x[k]->name;
  }
}

}  // namespace leap
