#include "leap/safetensors.h"

#include <algorithm>
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

#include "atomic_file.h"
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

// ---- loading ----

// Every dtype of the format and its item size; leap converts only some of them (convert()).
size_t parse_dtype_size(const std::string& where, const Json& value) {
  const std::string name = value.get<std::string>();
  static const std::map<std::string, size_t> kSizes = {
      {"BOOL", 1}, {"U8", 1},  {"I8", 1},  {"F8_E4M3", 1}, {"F8_E5M2", 1}, {"I16", 2},
      {"U16", 2},  {"F16", 2}, {"BF16", 2}, {"I32", 4},    {"U32", 4},     {"F32", 4},
      {"I64", 8},  {"U64", 8}, {"F64", 8}};
  auto found = kSizes.find(name);
  check(found != kSizes.end(), where + ": unsupported dtype \"" + name +
                                   "\" (not a safetensors dtype; leap reads F32, F64, F16, BF16, I32, I64)");
  return found->second;
}

uint64_t json_count(const std::string& where, const Json& value, const char* what) {
  check(value.is_number_unsigned(),
        where + ": " + what + " holds " + value.dump() + ", not a non-negative integer");
  return value.get<uint64_t>();
}

// One tensor's entry in the header, checked against the data section.
SafetensorsEntry parse_entry(const std::string& where, const Json& info, uint64_t data_size) {
  check(info.is_object(), where + ": entry is " + info.dump() + ", not an object");
  for (const char* key : {"dtype", "shape", "data_offsets"}) {
    check(info.contains(key), where + ": entry lacks \"" + std::string(key) + "\"");
  }
  check(info["dtype"].is_string(), where + ": \"dtype\" is not a string");
  SafetensorsEntry entry;
  entry.dtype = info["dtype"].get<std::string>();
  const size_t itemsize = parse_dtype_size(where, info["dtype"]);
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
  const uint64_t max_numel = data_size / itemsize;
  entry.numel = empty ? 0 : 1;
  for (int64_t extent : entry.shape) {
    if (empty) break;
    check(static_cast<uint64_t>(extent) <= max_numel / entry.numel,
          where + ": shape " + to_string(entry.shape) + " of " + entry.dtype +
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
  const uint64_t expected = entry.numel * itemsize;
  check(entry.end - entry.begin == expected,
        where + ": data_offsets [" + std::to_string(entry.begin) + ", " +
            std::to_string(entry.end) + "] span " + std::to_string(entry.end - entry.begin) +
            " bytes, but shape " + to_string(entry.shape) + " of " + entry.dtype + " needs " +
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
Tensor convert(const std::string& where, const SafetensorsEntry& entry,
               const std::vector<char>& bytes) {
  const std::string& dtype = entry.dtype;
  check(dtype == "F32" || dtype == "I32" || dtype == "F64" || dtype == "I64" || dtype == "F16" ||
            dtype == "BF16",
        where + ": unsupported dtype \"" + dtype + "\" (leap reads F32, F64, F16, BF16, I32, I64)");
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
}

SafetensorsHeader read_safetensors_header(const std::string& path) {
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

  SafetensorsHeader result;
  result.file_bytes = file_size;
  result.header_bytes = header_size;
  const uint64_t data_size = file_size - 8 - header_size;
  for (const auto& [name, info] : header.items()) {
    if (name == kMetadataKey) {
      result.metadata = parse_metadata(path, info);
      continue;
    }
    result.tensors.push_back(parse_entry(path + ": tensor '" + name + "'", info, data_size));
    result.tensors.back().name = name;
  }
  std::stable_sort(result.tensors.begin(), result.tensors.end(),
                   [](const SafetensorsEntry& a, const SafetensorsEntry& b) { return a.begin < b.begin; });
  return result;
}

TensorMap load_safetensors(const std::string& path, std::map<std::string, std::string>* metadata) {
  SafetensorsHeader header = read_safetensors_header(path);
  if (metadata) *metadata = header.metadata;
  std::ifstream in(path, std::ios::binary);
  check(in.is_open(), path + ": cannot open for reading (" + errno_text() + ")");
  const uint64_t data_start = 8 + header.header_bytes;
  TensorMap tensors;
  for (const SafetensorsEntry& entry : header.tensors) {
    std::vector<char> bytes(entry.end - entry.begin);
    read_exactly(in, path, data_start + entry.begin, bytes.data(), bytes.size());
    tensors[entry.name] = convert(path + ": tensor '" + entry.name + "'", entry, bytes);
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
