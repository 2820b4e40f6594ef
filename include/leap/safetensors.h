// Tensors in the safetensors format: an 8-byte little-endian header length N, N bytes of
// JSON naming each tensor's dtype, shape and data_offsets, then the raw little-endian data.
// Files written here load with the official library (and PyTorch), and the other way round.
#pragma once

#include <map>
#include <string>

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

// The tensor `name` of `tensors` (loaded from `file`), which must have `shape`.
Tensor require(const TensorMap& tensors, const std::string& name, const Shape& shape,
               const std::string& file);

}  // namespace leap
