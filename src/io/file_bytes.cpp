#include "file_bytes.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "leap/error.h"

namespace leap {

std::vector<uint8_t> read_file_bytes(const std::string& path, const std::string& kind) {
  namespace fs = std::filesystem;
  std::error_code error;
  fs::file_status status = fs::status(path, error);
  check(fs::exists(status), path + ": file does not exist");
  check(!fs::is_directory(status), path + ": is a directory, not " + kind);
  // A FIFO or device would block the open or never end: only files have a length to trust.
  check(fs::is_regular_file(status), path + ": not a regular file (a pipe or device?), not " + kind);
  std::ifstream in(path, std::ios::binary);
  check(in.is_open(), path + ": cannot open for reading (" + std::strerror(errno) + ")");
  uintmax_t size = fs::file_size(path, error);
  check(!error, path + ": cannot read its size (" + error.message() + ")");
  std::vector<uint8_t> bytes(size);
  in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(size));
  check(static_cast<uintmax_t>(in.gcount()) == size,
        path + ": read " + std::to_string(in.gcount()) + " of " + std::to_string(size) + " bytes");
  return bytes;
}

}  // namespace leap
