// leap::Error: the one exception type of the library. It says what went wrong and where;
// only the command line turns it into a message and an exit code.
#pragma once

#include <stdexcept>
#include <string>

namespace leap {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Throws leap::Error with `message` when `condition` is false.
inline void check(bool condition, const std::string& message) {
  if (!condition) throw Error(message);
}

}  // namespace leap
