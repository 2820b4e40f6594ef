// Tensors in the safetensors format: an 8-byte little-endian header length N, N bytes of
// JSON naming each tensor's dtype, shape and data_offsets, then the raw little-endian data.
// Files written here load with the official library (and PyTorch), and the other way round.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "leap/tensor.h"

namespace leap {

using TensorMap = std::map<std::string, Tensor>;

// Writes float32 tensors as F32 and int32 tensors as I32, from any device. Atomic: the
// file is written beside `path`, synced, then renamed over it, so a failed save leaves an
// existing file as it was.
void save_safetensors(const std::string& path, const TensorMap& tensors,
                      const std::map<std::string, std::string>& metadata = {});

// Reads every tensor onto the CPU: F32, F64, F16 and BF16 as float32; I32 and I64 as int32
// (an I64 value that does not fit is an error). Fills `metadata` when it is not null.
TensorMap load_safetensors(const std::string& path,
                           std::map<std::string, std::string>* metadata = nullptr);

// One tensor's entry in a file's header, as stored there (before any conversion).
struct SafetensorsEntry {
  std::string name;
  std::string dtype;  // as the file names it: "F32", "BF16", "I64", "U8", ...
  Shape shape;
  uint64_t numel = 0;
  uint64_t begin = 0, end = 0;  // byte offsets into the data section
};

struct SafetensorsHeader {
  std::vector<SafetensorsEntry> tensors;  // in the order of their data
  std::map<std::string, std::string> metadata;
  uint64_t file_bytes = 0, header_bytes = 0;
};

// Reads and checks a file's header (every dtype of the format, offsets within the file)
// without reading the tensor data: what `leap inspect` shows.
SafetensorsHeader read_safetensors_header(const std::string& path);

// The tensor `name` of `tensors` (loaded from `file`), which must have `shape`.
Tensor require(const TensorMap& tensors, const std::string& name, const Shape& shape,
               const std::string& file);

}  // namespace leap
