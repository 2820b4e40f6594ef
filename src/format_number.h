// A number as text through a printf pattern ("%.3f", "%.9g", ...): the one helper for the
// figures of reports, logs and checkpoints.
#pragma once

#include <cstdio>
#include <string>

namespace leap {

inline std::string format_number(const char* pattern, double value) {
  char text[64];
  std::snprintf(text, sizeof text, pattern, value);
  return text;
}

}  // namespace leap
