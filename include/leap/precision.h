// Precision of matrix products. Every format accumulates in fp32 and keeps fp32 master
// weights and fp32 optimizer state; only the operands of the products are narrowed. bf16
// keeps fp32's exponent range, so no format here needs loss scaling.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>

namespace leap {

enum class Precision {
  fp32,  // 24-bit significands: plain fp32 products
  tf32,  // operands rounded to 11-bit significands (tensor cores' TF32 mode)
  bf16,  // operands rounded to 8-bit significands (bfloat16)
};

std::string to_string(Precision precision);
// "fp32", "tf32" or "bf16"; throws leap::Error naming the text otherwise.
Precision parse_precision(const std::string& text);

// `value` rounded to the precision's significand, to nearest with ties to even: the operand
// a tensor core multiplies. The product of two rounded operands is exact in fp32 (at most 22
// significant bits), so fp32 arithmetic on rounded operands computes what the matrix units
// do, up to the order of the sums. NaN and infinities pass through.
inline float round_operand(float value, Precision precision) {
  if (precision == Precision::fp32) return value;
  const int dropped = precision == Precision::bf16 ? 16 : 13;
  uint32_t bits;
  std::memcpy(&bits, &value, 4);
  if ((bits & 0x7f800000u) == 0x7f800000u) return value;  // NaN, Inf
  const uint32_t half = 1u << (dropped - 1);
  const uint32_t lowest_kept = (bits >> dropped) & 1u;
  bits += half - 1 + lowest_kept;
  bits &= ~((1u << dropped) - 1);
  std::memcpy(&value, &bits, 4);
  return value;
}

// bf16 values are kept as their 16 bits: the upper half of the fp32 pattern.
inline uint16_t to_bf16_bits(float value) {
  const float rounded = round_operand(value, Precision::bf16);
  uint32_t bits;
  std::memcpy(&bits, &rounded, 4);
  return uint16_t(bits >> 16);
}

inline float from_bf16_bits(uint16_t bits) {
  const uint32_t wide = uint32_t(bits) << 16;
  float value;
  std::memcpy(&value, &wide, 4);
  return value;
}

}  // namespace leap
