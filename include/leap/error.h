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

// A device could not allocate: the message says how much was asked and how much is free.
// Its own type so that a caller may choose another device.
class OutOfMemory : public Error {
 public:
  using Error::Error;
};

// Training stopped on request (SIGINT, SIGTERM) after writing a checkpoint; the message
// says how to resume.
class Interrupted : public Error {
 public:
  using Error::Error;
};

// Throws leap::Error with `message` when `condition` is false.
inline void check(bool condition, const std::string& message) {
  if (!condition) throw Error(message);
}

}  // namespace leap
