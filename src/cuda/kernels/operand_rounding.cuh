// The operand a tensor core multiplies in each precision, for kernels that multiply with FMA
// instructions yet must compute what the matrix units compute (the fused MLP step). Rounds
// as leap::round_operand does on the host: to nearest, ties to even.
#pragma once

#include <cuda_runtime.h>

#include "leap/precision.h"

namespace leap::cuda_detail {

// Low significand bits a precision drops: 0 (fp32), 13 (tf32), 16 (bf16).
constexpr int dropped_bits(Precision precision) {
  return precision == Precision::bf16 ? 16 : precision == Precision::tf32 ? 13 : 0;
}

template <int kDropped>
__device__ __forceinline__ float rounded(float value) {
  if constexpr (kDropped == 0) {
    return value;
  } else {
    unsigned bits = __float_as_uint(value);
    if ((bits & 0x7f800000u) == 0x7f800000u) return value;  // NaN, Inf
    bits += (1u << (kDropped - 1)) - 1 + ((bits >> kDropped) & 1u);
    return __uint_as_float(bits & ~((1u << kDropped) - 1));
  }
}

}  // namespace leap::cuda_detail
