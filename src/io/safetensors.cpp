#include "leap/safetensors.h"

#include <fcntl.h>
#include <unistd.h>

#include <bit>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "leap/error.h"

namespace leap {
namespace {

// Tensor storage is copied to and from the file byte for byte.
static_assert(std::endian::native == std::endian::little,
              "safetensors data is little-endian; this reader assumes a little-endian host");

using Json = nlohmann::json;

// The reference implementation refuses larger headers; real ones are kilobytes.
constexpr uint64_t kMaxHeaderBytes = 100'000'000;
constexpr const char* kMetadataKey = "__metadata__";

std::string errno_text() { return std::strerror(errno); }

// ---- saving ----

const char* dtype_name(DType dtype) { return dtype == DType::float32 ? "F32" : "I32"; }

const void* raw_bytes(const Tensor& tensor) {
  return tensor.dtype() == DType::float32 ? static_cast<const void*>(tensor.data())
                                          : tensor.labels();
}

// The JSON header, padded with spaces so the data section starts 8-byte aligned.
std::string make_header(const std::string& path, const TensorMap& tensors,
                        const std::map<std::string, std::string>& metadata) {
  Json header = Json::object();
  if (!metadata.empty()) header[kMetadataKey] = metadata;
  uint64_t offset = 0;
  for (const auto& [name, tensor] : tensors) {
    check(name != kMetadataKey, path + ": a tensor may not be named " + kMetadataKey);
    check(tensor.defined(), path + ": tensor '" + name + "' is empty (never allocated)");
    header[name] = {{"dtype", dtype_name(tensor.dtype())},
                    {"shape", tensor.shape()},
                    {"data_offsets", {offset, offset + tensor.bytes()}}};
    offset += tensor.bytes();
  }
  std::string text;
  try {
    text = header.dump();
  } catch (const Json::exception& e) {
    throw Error(path + ": cannot write the header (" + e.what() + ")");
  }
  text.append((8 - text.size() % 8) % 8, ' ');
  return text;
}

// A file beside the target that is removed unless commit() renamed it into place.
class TempFile {
 public:
  explicit TempFile(std::string path) : path_(std::move(path)) {
    fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    check(fd_ >= 0, path_ + ": cannot create (" + errno_text() + ")");
  }
  ~TempFile() {
    if (fd_ >= 0) ::close(fd_);
    if (!committed_) ::unlink(path_.c_str());
  }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;

  void write(const void* data, size_t size) {
    const char* bytes = static_cast<const char*>(data);
    while (size > 0) {
      ssize_t written = ::write(fd_, bytes, size);
      if (written < 0 && errno == EINTR) continue;
      check(written > 0, path_ + ": write failed (" + errno_text() + ")");
      bytes += written;
      size -= static_cast<size_t>(written);
    }
  }

  // Makes the bytes durable, then moves them over `target` in one step.
  void commit(const std::string& target) {
    check(::fsync(fd_) == 0, path_ + ": fsync failed (" + errno_text() + ")");
    int code = ::close(fd_);
    fd_ = -1;
    check(code == 0, path_ + ": close failed (" + errno_text() + ")");
    check(::rename(path_.c_str(), target.c_str()) == 0,
          target + ": cannot rename " + path_ + " over it (" + errno_text() + ")");
    committed_ = true;
  }

 private:
  std::string path_;
  int fd_ = -1;
  bool committed_ = false;
};

// Makes a rename inside `dir` durable.
void sync_directory(const std::string& file) {
  std::string dir = std::filesystem::path(file).parent_path().string();
  if (dir.empty()) dir = ".";
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  check(fd >= 0, dir + ": cannot open directory to sync " + file + " (" + errno_text() + ")");
  int code = ::fsync(fd);
  int fsync_errno = errno;
  ::close(fd);
  // Some file systems cannot sync a directory (EINVAL); the rename itself has happened.
  check(code == 0 || fsync_errno == EINVAL, dir + ": fsync of directory failed after writing " +
                                                file + " (" + std::strerror(fsync_errno) + ")");
}

// ---- loading ----

struct DtypeInfo {
  std::string name;
  size_t itemsize;
};

DtypeInfo parse_dtype(const std::string& where, const Json& value) {
  check(value.is_string(), where + ": \"dtype\" is not a string");
  const std::string name = value.get<std::string>();
  for (const DtypeInfo& known : {DtypeInfo{"F32", 4}, DtypeInfo{"I32", 4}, DtypeInfo{"F64", 8},
                                 DtypeInfo{"I64", 8}, DtypeInfo{"F16", 2}, DtypeInfo{"BF16", 2}}) {
    if (known.name == name) return known;
  }
  throw Error(where + ": unsupported dtype \"" + name +
              "\" (leap reads F32, F64, F16, BF16, I32, I64)");
}

uint64_t json_count(const std::string& where, const Json& value, const char* what) {
  check(value.is_number_unsigned(),
        where + ": " + what + " holds " + value.dump() + ", not a non-negative integer");
  return value.get<uint64_t>();
}

// One tensor's entry in the header, checked against the data section.
struct Entry {
  DtypeInfo dtype;
  Shape shape;
  uint64_t numel = 1;
  uint64_t begin = 0, end = 0;
};

Entry parse_entry(const std::string& where, const Json& info, uint64_t data_size) {
  check(info.is_object(), where + ": entry is " + info.dump() + ", not an object");
  for (const char* key : {"dtype", "shape", "data_offsets"}) {
    check(info.contains(key), where + ": entry lacks \"" + std::string(key) + "\"");
  }
  Entry entry;
  entry.dtype = parse_dtype(where, info["dtype"]);
  const Json& shape = info["shape"];
  check(shape.is_array(), where + ": \"shape\" is " + shape.dump() + ", not an array");
  bool empty = false;
  for (const Json& extent : shape) {
    uint64_t value = json_count(where, extent, "\"shape\"");
    check(value <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max()),
          where + ": shape extent " + std::to_string(value) + " is too large");
    entry.shape.push_back(static_cast<int64_t>(value));
    empty = empty || value == 0;
  }
  // Bounding the element count by the data section keeps the products below overflow.
  const uint64_t max_numel = data_size / entry.dtype.itemsize;
  entry.numel = empty ? 0 : 1;
  for (int64_t extent : entry.shape) {
    if (empty) break;
    check(static_cast<uint64_t>(extent) <= max_numel / entry.numel,
          where + ": shape " + to_string(entry.shape) + " of " + entry.dtype.name +
              " needs more than the " + std::to_string(data_size) + " bytes of the data section");
    entry.numel *= static_cast<uint64_t>(extent);
  }
  const Json& offsets = info["data_offsets"];
  check(offsets.is_array() && offsets.size() == 2,
        where + ": \"data_offsets\" is " + offsets.dump() + ", not [begin, end]");
  entry.begin = json_count(where, offsets[0], "\"data_offsets\"");
  entry.end = json_count(where, offsets[1], "\"data_offsets\"");
  check(entry.begin <= entry.end && entry.end <= data_size,
        where + ": data_offsets [" + std::to_string(entry.begin) + ", " +
            std::to_string(entry.end) + "] fall outside the data section of " +
            std::to_string(data_size) + " bytes");
  const uint64_t expected = entry.numel * entry.dtype.itemsize;
  check(entry.end - entry.begin == expected,
        where + ": data_offsets [" + std::to_string(entry.begin) + ", " +
            std::to_string(entry.end) + "] span " + std::to_string(entry.end - entry.begin) +
            " bytes, but shape " + to_string(entry.shape) + " of " + entry.dtype.name + " needs " +
            std::to_string(expected));
  return entry;
}

float half_to_float(uint16_t half) {
  const uint32_t sign = uint32_t{half & 0x8000u} << 16;
  const uint32_t exponent = (half >> 10) & 0x1f;
  const uint32_t mantissa = half & 0x3ff;
  if (exponent == 0) {  // zero or subnormal: mantissa * 2^-24
    float magnitude = std::ldexp(static_cast<float>(mantissa), -24);
    return sign ? -magnitude : magnitude;
  }
  uint32_t bits = exponent == 31 ? sign | 0x7f800000u | (mantissa << 13)
                                 : sign | ((exponent + 112) << 23) | (mantissa << 13);
  return std::bit_cast<float>(bits);
}

template <typename T>
T load_little_endian(const char* bytes) {
  T value;
  std::memcpy(&value, bytes, sizeof(T));
  return value;
}

// Builds the leap tensor from one entry's raw bytes, converting wider or narrower types.
Tensor convert(const std::string& where, const Entry& entry, const std::vector<char>& bytes) {
  const std::string& dtype = entry.dtype.name;
  const bool integer = dtype == "I32" || dtype == "I64";
  Tensor tensor(entry.shape, integer ? DType::int32 : DType::float32, Device::cpu);
  const size_t count = entry.numel;
  if (count == 0) return tensor;
  if (dtype == "F32" || dtype == "I32") {
    std::memcpy(const_cast<void*>(raw_bytes(tensor)), bytes.data(), bytes.size());
  } else if (dtype == "F64") {
    float* out = tensor.data();
    for (size_t i = 0; i < count; ++i) {
      out[i] = static_cast<float>(load_little_endian<double>(&bytes[i * 8]));
    }
  } else if (dtype == "I64") {
    int32_t* out = tensor.labels();
    for (size_t i = 0; i < count; ++i) {
      int64_t value = load_little_endian<int64_t>(&bytes[i * 8]);
      check(value >= std::numeric_limits<int32_t>::min() &&
                value <= std::numeric_limits<int32_t>::max(),
            where + ": I64 value " + std::to_string(value) + " at index " + std::to_string(i) +
                " does not fit in int32");
      out[i] = static_cast<int32_t>(value);
    }
  } else {
    float* out = tensor.data();
    const bool brain = dtype == "BF16";  // bfloat16 is the top half of a float32
    for (size_t i = 0; i < count; ++i) {
      uint16_t half = load_little_endian<uint16_t>(&bytes[i * 2]);
      out[i] = brain ? std::bit_cast<float>(uint32_t{half} << 16) : half_to_float(half);
    }
  }
  return tensor;
}

void read_exactly(std::ifstream& in, const std::string& path, uint64_t offset, char* target,
                  uint64_t size) {
  in.seekg(static_cast<std::streamoff>(offset));
  in.read(target, static_cast<std::streamsize>(size));
  check(in.good() && static_cast<uint64_t>(in.gcount()) == size,
        path + ": cannot read " + std::to_string(size) + " bytes at offset " +
            std::to_string(offset) + " (file changed or unreadable)");
}

std::map<std::string, std::string> parse_metadata(const std::string& path, const Json& value) {
  const std::string where = path + ": " + kMetadataKey;
  check(value.is_object(), where + " is " + value.dump() + ", not an object");
  std::map<std::string, std::string> metadata;
  for (const auto& [key, text] : value.items()) {
    check(text.is_string(), where + " entry \"" + key + "\" is " + text.dump() + ", not a string");
    metadata[key] = text.get<std::string>();
  }
  return metadata;
}

}  // namespace

void save_safetensors(const std::string& path, const TensorMap& tensors,
                      const std::map<std::string, std::string>& metadata) {
  TensorMap host;
  for (const auto& [name, tensor] : tensors) {
    host[name] = tensor.defined() ? tensor.to(Device::cpu) : tensor;
  }
  const std::string header = make_header(path, host, metadata);
  TempFile temp(path + ".tmp");
  const uint64_t header_size = header.size();
  temp.write(&header_size, sizeof(header_size));
  temp.write(header.data(), header.size());
  for (const auto& [name, tensor] : host) temp.write(raw_bytes(tensor), tensor.bytes());
  temp.commit(path);
  sync_directory(path);
}

TensorMap load_safetensors(const std::string& path, std::map<std::string, std::string>* metadata) {
  if (metadata) metadata->clear();
  namespace fs = std::filesystem;
  std::error_code error;
  fs::file_status status = fs::status(path, error);
  check(fs::exists(status), path + ": file does not exist");
  check(!fs::is_directory(status), path + ": is a directory, not a safetensors file");
  check(fs::is_regular_file(status), path + ": not a regular file (a pipe or device?)");
  const uint64_t file_size = fs::file_size(path, error);
  check(!error, path + ": cannot read its size (" + error.message() + ")");
  std::ifstream in(path, std::ios::binary);
  check(in.is_open(), path + ": cannot open for reading (" + errno_text() + ")");

  check(file_size >= 8,
        path + ": " + std::to_string(file_size) + " bytes, shorter than the 8-byte header length");
  uint64_t header_size = 0;
  read_exactly(in, path, 0, reinterpret_cast<char*>(&header_size), 8);
  check(header_size <= kMaxHeaderBytes,
        path + ": header length " + std::to_string(header_size) + " at offset 0 exceeds " +
            std::to_string(kMaxHeaderBytes) + " bytes (not a safetensors file?)");
  check(header_size <= file_size - 8, path + ": header length " + std::to_string(header_size) +
                                          " at offset 0 runs past the " + "end of the file (" +
                                          std::to_string(file_size) + " bytes): truncated");
  std::string text(header_size, '\0');
  read_exactly(in, path, 8, text.data(), header_size);
  Json header;
  try {
    header = Json::parse(text);
  } catch (const Json::exception& e) {
    throw Error(path + ": header (bytes 8 to " + std::to_string(8 + header_size) +
                ") is not valid JSON: " + e.what());
  }
  check(header.is_object(), path + ": header is not a JSON object");

  const uint64_t data_start = 8 + header_size;
  const uint64_t data_size = file_size - data_start;
  TensorMap tensors;
  for (const auto& [name, info] : header.items()) {
    if (name == kMetadataKey) {
      std::map<std::string, std::string> values = parse_metadata(path, info);
      if (metadata) *metadata = std::move(values);
      continue;
    }
    const std::string where = path + ": tensor '" + name + "'";
    Entry entry = parse_entry(where, info, data_size);
    std::vector<char> bytes(entry.end - entry.begin);
    read_exactly(in, path, data_start + entry.begin, bytes.data(), bytes.size());
    tensors[name] = convert(where, entry, bytes);
  }
  return tensors;
}

Tensor require(const TensorMap& tensors, const std::string& name, const Shape& shape,
               const std::string& file) {
  auto found = tensors.find(name);
  if (found == tensors.end()) {
    std::string names;
    for (const auto& [present, tensor] : tensors) names += (names.empty() ? "" : ", ") + present;
    throw Error(file + ": tensor '" + name + "' (expected shape " + to_string(shape) +
                ") is missing; the file holds: " + (names.empty() ? "nothing" : names));
  }
  check(found->second.shape() == shape, file + ": tensor '" + name + "' has shape " +
                                            to_string(found->second.shape()) + ", expected " +
                                            to_string(shape));
  return found->second;
}

}  // namespace leap
