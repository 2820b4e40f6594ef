#include <bit>
#include <cstring>
#include <utility>
#include <vector>

#include "atomic_file.h"
#include "leap/error.h"
#include "leap/linear.h"
#include "leap/relu.h"
#include "leap/dropout.h"
#include "leap/onnx.h"
#include "protobuf_writer.h"

namespace leap {
namespace {

static_assert(std::endian::native == std::endian::little,
              "ONNX raw_data is little-endian; the weights are copied byte for byte");

using protobuf::Message;

// Field numbers of onnx.proto (checked against onnx's own Python descriptors).
namespace field {
constexpr int kModelIrVersion = 1, kModelProducerName = 2, kModelProducerVersion = 3,
              kModelDocString = 6, kModelGraph = 7, kModelOpsetImport = 8;
constexpr int kOpsetVersion = 2;
constexpr int kGraphNode = 1, kGraphName = 2, kGraphInitializer = 5, kGraphInput = 11,
              kGraphOutput = 12;
constexpr int kNodeInput = 1, kNodeOutput = 2, kNodeName = 3, kNodeOpType = 4,
              kNodeAttribute = 5;
constexpr int kAttributeName = 1, kAttributeInt = 3, kAttributeType = 20;
constexpr int kTensorDims = 1, kTensorDataType = 2, kTensorName = 8, kTensorRawData = 9;
constexpr int kValueName = 1, kValueType = 2;
constexpr int kTypeTensor = 1, kTensorTypeElem = 1, kTensorTypeShape = 2;
constexpr int kShapeDim = 1, kDimValue = 1, kDimParam = 2;
}  // namespace field

constexpr int kFloat = 1;          // TensorProto.DataType.FLOAT
constexpr int kIntAttribute = 2;   // AttributeProto.AttributeType.INT
const char* const kBatchAxis = "batch";

Message initializer(const Parameter& parameter) {
  const Tensor host = parameter.value.to(Device::cpu);
  std::string raw(host.bytes(), '\0');
  std::memcpy(raw.data(), host.data(), raw.size());
  Message tensor;
  tensor.packed_int64(field::kTensorDims, host.shape())
      .varint(field::kTensorDataType, kFloat)
      .bytes(field::kTensorName, parameter.name)
      .bytes(field::kTensorRawData, raw);
  return tensor;
}

// A float tensor [batch, width] with a named, dynamic batch axis.
Message value_info(const std::string& name, int64_t width) {
  Message shape;
  shape.message(field::kShapeDim, Message().bytes(field::kDimParam, kBatchAxis))
      .message(field::kShapeDim, Message().varint(field::kDimValue, static_cast<uint64_t>(width)));
  Message tensor_type;
  tensor_type.varint(field::kTensorTypeElem, kFloat).message(field::kTensorTypeShape, shape);
  return Message()
      .bytes(field::kValueName, name)
      .message(field::kValueType, Message().message(field::kTypeTensor, tensor_type));
}

Message node(const std::string& op_type, const std::string& name,
             const std::vector<std::string>& inputs, const std::string& output) {
  Message result;
  for (const std::string& input : inputs) result.bytes(field::kNodeInput, input);
  result.bytes(field::kNodeOutput, output).bytes(field::kNodeName, name).bytes(field::kNodeOpType, op_type);
  return result;
}

Message int_attribute(const std::string& name, int64_t value) {
  return Message()
      .bytes(field::kAttributeName, name)
      .varint(field::kAttributeInt, static_cast<uint64_t>(value))
      .varint(field::kAttributeType, kIntAttribute);
}

// The layers that have a node at inference, each with its index in the network.
std::vector<std::pair<size_t, Module*>> inference_layers(Sequential& network) {
  std::vector<std::pair<size_t, Module*>> layers;
  for (size_t i = 0; i < network.size(); ++i) {
    Module& layer = network[i];
    if (dynamic_cast<Dropout*>(&layer)) continue;  // the identity at inference
    check(dynamic_cast<Linear*>(&layer) || dynamic_cast<ReLU*>(&layer),
          "ONNX export: layer " + std::to_string(i) + " (" + layer.describe() +
              ") has no ONNX form yet");
    layers.emplace_back(i, &layer);
  }
  check(!layers.empty(), "ONNX export: the network has no Linear or ReLU layer");
  return layers;
}

// One node per layer, chained from the input to the output; weights as initializers.
Message graph(Sequential& network, const OnnxExportOptions& options) {
  Message graph;
  const auto layers = inference_layers(network);
  std::string current = options.input_name;
  for (size_t k = 0; k < layers.size(); ++k) {
    const std::string index = std::to_string(layers[k].first);
    const std::string output = k + 1 == layers.size() ? options.output_name : index + ".out";
    if (auto* linear = dynamic_cast<Linear*>(layers[k].second)) {
      graph.message(field::kGraphNode,
                    node("Gemm", index + ".Gemm",
                         {current, linear->weight().name, linear->bias().name}, output)
                        .message(field::kNodeAttribute, int_attribute("transB", 1)));
    } else {
      graph.message(field::kGraphNode, node("Relu", index + ".Relu", {current}, output));
    }
    current = output;
  }
  graph.bytes(field::kGraphName, "leap");
  for (auto& [index, layer] : layers)
    for (Parameter* parameter : layer->parameters())
      graph.message(field::kGraphInitializer, initializer(*parameter));
  graph.message(field::kGraphInput, value_info(options.input_name, network.input_width()))
      .message(field::kGraphOutput, value_info(options.output_name, network.output_width()));
  return graph;
}

}  // namespace

std::string onnx_model_bytes(Sequential& network, const OnnxExportOptions& options) {
  Message model;
  model.varint(field::kModelIrVersion, kOnnxIrVersion)
      .message(field::kModelOpsetImport, Message().varint(field::kOpsetVersion, kOnnxOpset))
      .bytes(field::kModelProducerName, "leap")
      .bytes(field::kModelProducerVersion, LEAP_VERSION);
  if (!options.doc.empty()) model.bytes(field::kModelDocString, options.doc);
  model.message(field::kModelGraph, graph(network, options));
  return model.encoded();
}

void export_onnx(Sequential& network, const std::string& path, const OnnxExportOptions& options) {
  write_file_atomically(path, onnx_model_bytes(network, options));
}

}  // namespace leap
