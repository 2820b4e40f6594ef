// Which BLAS the CPU backend uses, chosen by measurement: the matrix products of the seed
// step (784-128-10, batch 64) through OpenBLAS and through oneDNN, median of 3000 calls.
// Built only when oneDNN (libdnnl-dev) is installed.
#include <cblas.h>
#include <oneapi/dnnl/dnnl.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <vector>

namespace {

struct Shape {
  char trans_a, trans_b;
  int m, n, k;
  const char* name;
};

template <typename Product>
double median_us(Product product) {
  std::vector<double> samples;
  for (int i = 0; i < 3300; ++i) {
    const auto start = std::chrono::steady_clock::now();
    product();
    if (i >= 300) samples.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count());
  }
  std::sort(samples.begin(), samples.end());
  return samples[samples.size() / 2];
}

}  // namespace

int main() {
  const Shape shapes[] = {{'N', 'T', 64, 128, 784, "forward x w1^T"},
                          {'T', 'N', 128, 784, 64, "grad w1 = dy^T x"},
                          {'N', 'T', 64, 10, 128, "forward h w2^T"},
                          {'T', 'N', 10, 128, 64, "grad w2"},
                          {'N', 'N', 64, 128, 10, "grad h = dy w2"}};
  std::vector<float> a(1 << 20, 0.5f), b(1 << 20, 0.25f), c(1 << 20);
  double totals[2] = {0, 0};
  std::printf("%-18s %12s %12s\n", "product", "OpenBLAS us", "oneDNN us");
  for (const Shape& s : shapes) {
    const int lda = s.trans_a == 'N' ? s.k : s.m, ldb = s.trans_b == 'N' ? s.n : s.k;
    const double openblas = median_us([&] {
      cblas_sgemm(CblasRowMajor, s.trans_a == 'N' ? CblasNoTrans : CblasTrans,
                  s.trans_b == 'N' ? CblasNoTrans : CblasTrans, s.m, s.n, s.k, 1.0f, a.data(), lda,
                  b.data(), ldb, 0.0f, c.data(), s.n);
    });
    const double onednn = median_us([&] {
      dnnl_sgemm(s.trans_a, s.trans_b, s.m, s.n, s.k, 1.0f, a.data(), lda, b.data(), ldb, 0.0f,
                 c.data(), s.n);
    });
    totals[0] += openblas;
    totals[1] += onednn;
    std::printf("%-18s %12.1f %12.1f\n", s.name, openblas, onednn);
  }
  std::printf("%-18s %12.1f %12.1f\n", "step total", totals[0], totals[1]);
  return 0;
}
