// Matrix products whose bits do not depend on the number of threads. OpenBLAS's result for an
// element depends on how a call is cut up (its threads' shares, and with the kernels it picks
// even the shape of a single-threaded call), so a product run on 1 thread and on 3 differs in
// the last bits. Here OpenBLAS runs single-threaded, and each product is cut into column
// blocks whose bounds follow from its shape alone; OpenMP's threads share the blocks. Every
// block is then the same single-threaded call on any number of threads, and a model trained
// on one core (a sweep's) ends with the bits of one trained on all of them.
#pragma once

#include <cblas.h>

namespace leap {

// C[m, n] = A[m, k] B[k, n] + beta C, row-major, A and B as cblas_sgemm takes them (transposed
// when `a_trans` / `b_trans`). On the calling thread alone inside a parallel region.
void blocked_product(bool a_trans, bool b_trans, int m, int n, int k, const float* a, int lda,
                     const float* b, int ldb, float beta, float* c, int ldc);

}  // namespace leap
