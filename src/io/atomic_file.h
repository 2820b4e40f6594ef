// Files that appear whole or not at all: written beside the target, synced, then renamed over
// it, so that a failed save leaves an existing file as it was (weights, ONNX models).
#pragma once

#include <string>

namespace leap {

// A file beside the target that is removed unless commit() renamed it into place.
class TempFile {
 public:
  explicit TempFile(std::string path);
  ~TempFile();
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;

  void write(const void* data, size_t size);
  // Makes the bytes durable, moves them over `target` in one step, and syncs its directory.
  void commit(const std::string& target);

 private:
  std::string path_;
  int fd_ = -1;
  bool committed_ = false;
};

// Writes `bytes` to `path` through a TempFile.
void write_file_atomically(const std::string& path, const std::string& bytes);

}  // namespace leap
