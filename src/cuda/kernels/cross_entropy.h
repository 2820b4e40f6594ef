// Softmax cross-entropy and arg-max accuracy over row-major logits[batch, classes].
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

namespace leap::cuda_detail {

// Adds the summed loss to *loss_sum (when not null) and the rows whose arg-max (first on ties)
// equals the label to *correct; writes d(mean loss)/d(logits) into grad when not null.
void launch_cross_entropy(const float* logits, const int32_t* labels, float* grad,
                          double* loss_sum, int64_t* correct, int batch, int classes,
                          cudaStream_t stream);

// Knowledge distillation (see Backend::distillation_loss), one warp a row.
void launch_distillation(const float* student, const float* teacher, const int32_t* labels,
                         float* grad, double* loss_sum, int64_t* correct, int batch, int classes,
                         float temperature, float alpha, cudaStream_t stream);

}  // namespace leap::cuda_detail
