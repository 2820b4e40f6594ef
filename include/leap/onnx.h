// ONNX export of a Sequential network for inference elsewhere (onnxruntime, TensorRT, ...):
// each Linear becomes a Gemm with its PyTorch-layout weight ([out, in], transB=1), each ReLU a
// Relu; Dropout, an identity at inference, is left out. The batch axis is dynamic ("batch").
// Written by leap's own protobuf encoder: no protobuf or onnx library is needed.
#pragma once

#include <string>

#include "leap/sequential.h"

namespace leap {

// The operator set the graph is written against, and the IR version that goes with it.
constexpr int kOnnxOpset = 13;
constexpr int kOnnxIrVersion = 7;

struct OnnxExportOptions {
  std::string input_name = "input";    // float [batch, inputs]
  std::string output_name = "logits";  // float [batch, classes]
  std::string doc;                     // free text kept in the model, e.g. the spec
};

// The model's bytes; weights are copied from whatever device the network is on.
std::string onnx_model_bytes(Sequential& network, const OnnxExportOptions& options = {});
// Writes them to `path` (atomically: an existing file is replaced only by a complete one).
void export_onnx(Sequential& network, const std::string& path, const OnnxExportOptions& options = {});

}  // namespace leap
