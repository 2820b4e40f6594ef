// A whole file read into memory, for the readers of small formats (IDX, CSV, .npy).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace leap {

// The bytes of `path`; a missing file, a directory or a short read is a leap::Error that
// names the file (`kind` says what it should have been: "an IDX file").
std::vector<uint8_t> read_file_bytes(const std::string& path, const std::string& kind);

}  // namespace leap
