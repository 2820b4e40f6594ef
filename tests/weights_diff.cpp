// weights_diff A.safetensors B.safetensors TOLERANCE: for each tensor, the largest
// difference relative to the largest magnitude, max|a - b| / max|b| (and, for information,
// the relative difference of the whole, |a - b| / |b|); exits 1 when a tensor is missing or
// its largest difference is above TOLERANCE. The data-parallel checks compare runs by it.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <exception>

#include "leap/safetensors.h"

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: weights_diff A.safetensors B.safetensors TOLERANCE\n");
    return 2;
  }
  try {
    const leap::TensorMap a = leap::load_safetensors(argv[1]), b = leap::load_safetensors(argv[2]);
    const double tolerance = std::atof(argv[3]);
    double worst = 0.0;
    bool same_names = a.size() == b.size();
    for (const auto& [name, tensor] : a) {
      auto other = b.find(name);
      if (other == b.end() || other->second.shape() != tensor.shape()) {
        std::printf("%-12s missing or of another shape in %s\n", name.c_str(), argv[2]);
        same_names = false;
        continue;
      }
      const std::vector<float> x = tensor.to_vector(), y = other->second.to_vector();
      double largest = 0.0, difference = 0.0, squares = 0.0, difference_squares = 0.0;
      for (size_t i = 0; i < x.size(); ++i) {
        const double d = double(x[i]) - double(y[i]);
        largest = std::max(largest, double(std::fabs(y[i])));
        difference = std::max(difference, std::fabs(d));
        squares += double(y[i]) * y[i];
        difference_squares += d * d;
      }
      const double relative = largest > 0.0 ? difference / largest : difference;
      const double whole = squares > 0.0 ? std::sqrt(difference_squares / squares) : std::sqrt(difference_squares);
      worst = std::max(worst, relative);
      std::printf("%-12s max|a-b|/max|b| = %.3g   |a-b|/|b| = %.3g\n", name.c_str(), relative, whole);
    }
    const bool pass = same_names && worst <= tolerance;
    std::printf("%s: largest relative difference %.3g (tolerance %g)\n", pass ? "PASS" : "FAIL",
                worst, tolerance);
    return pass ? 0 : 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "weights_diff: %s\n", e.what());
    return 2;
  }
}
