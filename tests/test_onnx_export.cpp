// ONNX export, as bytes: the parts a reader relies on. tests/python/onnx_export.py checks the
// whole model with onnx's own checker and evaluates it.
#include <gtest/gtest.h>

#include <cstring>
#include <string>

#include "error_matchers.h"
#include "leap/linear.h"
#include "leap/dropout.h"
#include "leap/onnx.h"
#include "leap/sequential.h"

namespace {

TEST(OnnxExport, StartsWithTheIrVersionAndHoldsNodesAndRawWeights) {
  leap::Sequential network = leap::Sequential::from_spec("6-4-3", 1);
  const std::string bytes = leap::onnx_model_bytes(network);
  // Field 1 (ir_version) as a varint: tag 0x08, then the version.
  ASSERT_GE(bytes.size(), 2u);
  EXPECT_EQ(bytes[0], 0x08);
  EXPECT_EQ(bytes[1], leap::kOnnxIrVersion);
  for (const char* text : {"Gemm", "Relu", "transB", "0.weight", "2.bias", "input", "logits", "batch"})
    EXPECT_NE(bytes.find(text), std::string::npos) << text;
  // The weights are stored byte for byte (raw_data), so a reader gets them exactly.
  const std::vector<float> weight = network.parameters()[0]->value.to_vector();
  const std::string raw(reinterpret_cast<const char*>(weight.data()), weight.size() * sizeof(float));
  EXPECT_NE(bytes.find(raw), std::string::npos);
}

TEST(OnnxExport, DropoutIsLeftOutAtInferenceAndNamesKeepTheirIndex) {
  leap::Sequential network = leap::Sequential::from_spec("6-4-3", 1, leap::Device::cpu, 0.5f);
  const std::string bytes = leap::onnx_model_bytes(network);
  EXPECT_EQ(bytes.find("Dropout"), std::string::npos);
  // Sequential(Linear, ReLU, Dropout, Linear): the last Linear is "3", as in torch's state_dict.
  EXPECT_NE(bytes.find("3.weight"), std::string::npos);
  EXPECT_NE(bytes.find("3.Gemm"), std::string::npos);
}

TEST(OnnxExport, EmptyNetworkIsAnError) {
  leap::Sequential empty;
  expect_contains(error_of([&] { leap::onnx_model_bytes(empty); }), {"ONNX export", "no Linear"});
}

}  // namespace
