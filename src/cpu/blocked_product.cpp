#include "cpu/blocked_product.h"

#include <omp.h>

#include <algorithm>
#include <cstdint>

namespace leap {
namespace {

// A block's least work: below it, waking another thread costs more than the block's share.
constexpr int64_t kBlockMultiplyAdds = int64_t(1) << 20;
constexpr int kMaxBlocks = 64;
// Block widths are multiples of this (a cache line of floats, the kernels' widest unroll).
constexpr int kColumnQuantum = 16;
// Every block packs all of A again: blocks this wide keep that copy a few percent of the
// block's work (measured on one thread: 16-column blocks cost 12% on the seed step).
constexpr int kMinWidth = 128;

}  // namespace

void blocked_product(bool a_trans, bool b_trans, int m, int n, int k, const float* a, int lda,
                     const float* b, int ldb, float beta, float* c, int ldc) {
  const int64_t work = int64_t(m) * n * k;
  const int wanted = int(std::clamp<int64_t>(work / kBlockMultiplyAdds, 1, kMaxBlocks));
  const int share = (n + wanted - 1) / wanted;
  const int width = std::max(kMinWidth, (share + kColumnQuantum - 1) / kColumnQuantum * kColumnQuantum);
  const int blocks = (n + width - 1) / width;
  const CBLAS_TRANSPOSE ta = a_trans ? CblasTrans : CblasNoTrans, tb = b_trans ? CblasTrans : CblasNoTrans;
#pragma omp parallel for schedule(static) if (blocks > 1)
  for (int block = 0; block < blocks; ++block) {
    const int first = block * width, columns = std::min(width, n - first);
    // Columns [first, first + columns) of C take B's columns (rows, when B is transposed).
    const float* b_block = b_trans ? b + int64_t(first) * ldb : b + first;
    // OpenBLAS's OpenMP build follows omp_get_max_threads() outside a parallel region (and
    // ignores openblas_set_num_threads): this thread's count is 1 for the call.
    const int threads = omp_get_max_threads();
    omp_set_num_threads(1);
    cblas_sgemm(CblasRowMajor, ta, tb, m, columns, k, 1.0f, a, lda, b_block, ldb, beta, c + first, ldc);
    omp_set_num_threads(threads);
  }
}

}  // namespace leap
