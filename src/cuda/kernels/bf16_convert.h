// Conversions to bf16 on the GPU (round to nearest even, as leap::to_bf16_bits).
#pragma once

#include <cuda_bf16.h>
#include <cuda_runtime_api.h>

#include <cstddef>

namespace leap::cuda_detail {

// y[r, c] = bf16(x[r, c]) for c < columns, 0 for columns <= c < y_stride; x is [rows, columns].
void launch_to_bf16(const float* x, __nv_bfloat16* y, size_t rows, int columns, int y_stride,
                    cudaStream_t stream);

}  // namespace leap::cuda_detail
