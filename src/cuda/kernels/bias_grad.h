// The bias gradient of a linear layer: column sums of dy.
#pragma once

#include <cuda_runtime_api.h>

namespace leap::cuda_detail {

// grad_b[j] = (accumulate ? grad_b[j] : 0) + sum over rows of dy[row, j], dy being [batch, out].
void launch_bias_grad(const float* dy, float* grad_b, int batch, int out, bool accumulate,
                      cudaStream_t stream);

}  // namespace leap::cuda_detail
