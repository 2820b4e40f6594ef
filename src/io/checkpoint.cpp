#include "leap/checkpoint.h"

#include "leap/error.h"
#include "leap/safetensors.h"
#include "leap/training_checkpoint.h"

namespace leap {

void save_weights(Module& model, const std::string& path,
                  const std::map<std::string, std::string>& metadata) {
  TensorMap tensors;
  for (Parameter* p : model.parameters()) tensors[p->name] = p->value;
  save_safetensors(path, tensors, metadata);
}

void load_weights(Module& model, const std::string& path) {
  std::map<std::string, std::string> metadata;
  TensorMap tensors = load_safetensors(path, &metadata);
  // A training checkpoint holds the weights too; its optimizer state is not for this use.
  if (is_training_checkpoint(metadata))
    std::erase_if(tensors, [](const auto& entry) { return entry.first.starts_with("optimizer."); });
  for (Parameter* p : model.parameters()) {
    Tensor loaded = require(tensors, p->name, p->value.shape(), path);
    check(loaded.dtype() == DType::float32, path + ": tensor '" + p->name + "' is not floating point");
    p->value.copy_from(loaded);
    tensors.erase(p->name);
  }
  if (!tensors.empty())
    throw Error(path + ": tensor '" + tensors.begin()->first +
                "' does not belong to this model (is --model the one it was saved with?)");
}

}  // namespace leap
