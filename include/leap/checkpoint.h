// Model weights in safetensors with PyTorch state_dict names and layouts, so that
// torch's load_state_dict reads what leap saves and leap reads what torch saves.
#pragma once

#include <map>
#include <string>

#include "leap/module.h"

namespace leap {

// Writes every parameter (atomically: an existing file is replaced only by a complete one).
void save_weights(Module& model, const std::string& path,
                  const std::map<std::string, std::string>& metadata = {});
// Loads every parameter by name; a missing tensor or a shape that differs is an error naming
// the file, the tensor and both shapes. Extra tensors in the file are an error too.
void load_weights(Module& model, const std::string& path);

}  // namespace leap
