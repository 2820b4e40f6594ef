#include "leap/precision.h"

#include "leap/error.h"

namespace leap {

std::string to_string(Precision precision) {
  switch (precision) {
    case Precision::fp32: return "fp32";
    case Precision::tf32: return "tf32";
    case Precision::bf16: return "bf16";
  }
  return "unknown";
}

Precision parse_precision(const std::string& text) {
  for (Precision precision : {Precision::fp32, Precision::tf32, Precision::bf16})
    if (text == to_string(precision)) return precision;
  throw Error("unknown precision '" + text + "' (expected fp32, tf32 or bf16)");
}

}  // namespace leap
