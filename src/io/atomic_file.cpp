#include "atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "leap/error.h"

namespace leap {
namespace {

std::string errno_text() { return std::strerror(errno); }

// Makes a rename inside `dir` durable.
void sync_directory(const std::string& file) {
  const std::filesystem::path parent = std::filesystem::path(file).parent_path();
  const std::string dir = parent.empty() ? std::string(".") : parent.string();
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  check(fd >= 0, dir + ": cannot open directory to sync " + file + " (" + errno_text() + ")");
  int code = ::fsync(fd);
  int fsync_errno = errno;
  ::close(fd);
  // Some file systems cannot sync a directory (EINVAL); the rename itself has happened.
  check(code == 0 || fsync_errno == EINVAL, dir + ": fsync of directory failed after writing " +
                                                file + " (" + std::strerror(fsync_errno) + ")");
}

}  // namespace

TempFile::TempFile(std::string path) : path_(std::move(path)) {
  fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
  check(fd_ >= 0, path_ + ": cannot create (" + errno_text() + ")");
}

TempFile::~TempFile() {
  if (fd_ >= 0) ::close(fd_);
  if (!committed_) ::unlink(path_.c_str());
}

void TempFile::write(const void* data, size_t size) {
  const char* bytes = static_cast<const char*>(data);
  while (size > 0) {
    ssize_t written = ::write(fd_, bytes, size);
    if (written < 0 && errno == EINTR) continue;
    check(written > 0, path_ + ": write failed (" + errno_text() + ")");
    bytes += written;
    size -= static_cast<size_t>(written);
  }
}

void TempFile::commit(const std::string& target) {
  check(::fsync(fd_) == 0, path_ + ": fsync failed (" + errno_text() + ")");
  int code = ::close(fd_);
  fd_ = -1;
  check(code == 0, path_ + ": close failed (" + errno_text() + ")");
  check(::rename(path_.c_str(), target.c_str()) == 0,
        target + ": cannot rename " + path_ + " over it (" + errno_text() + ")");
  committed_ = true;
  sync_directory(target);
}

void write_file_atomically(const std::string& path, const std::string& bytes) {
  TempFile temp(path + ".tmp");
  temp.write(bytes.data(), bytes.size());
  temp.commit(path);
}

}  // namespace leap
