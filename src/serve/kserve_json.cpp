#include "kserve_json.h"

#include <charconv>
#include <cmath>
#include <nlohmann/json.hpp>

#include "leap/build_info.h"

namespace leap::serve {
namespace {

using json = nlohmann::json;

// Deeper nesting than a [rows, features] tensor needs is refused before parsing: the parser
// recurses, and a body of a million '[' would overflow the stack.
constexpr int kMaxDepth = 32;

void check_depth(std::string_view body) {
  int depth = 0;
  bool in_string = false, escaped = false;
  for (size_t i = 0; i < body.size(); ++i) {
    const char c = body[i];
    if (in_string) {
      if (escaped) escaped = false;
      else if (c == '\\') escaped = true;
      else if (c == '"') in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > kMaxDepth)
        throw ProtocolError(400, "JSON nested deeper than " + std::to_string(kMaxDepth) +
                                     " levels at byte " + std::to_string(i));
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
}

[[noreturn]] void bad(const std::string& message) { throw ProtocolError(400, message); }

// Appends the numbers of `data`, flat or nested row-major, to `out`, checking each.
void read_data(const json& data, const std::string& datatype, std::vector<float>& out,
               size_t expected) {
  if (!data.is_array()) bad("inputs[0].data must be an array, not " + std::string(data.type_name()));
  for (const json& value : data) {
    if (out.size() >= expected) bad("inputs[0].data holds more values than its shape's " + std::to_string(expected));
    if (value.is_array()) {
      read_data(value, datatype, out, expected);
      continue;
    }
    const size_t index = out.size();
    if (!value.is_number())
      bad("inputs[0].data[" + std::to_string(index) + "] is " + std::string(value.type_name()) +
          ", not a number");
    if (datatype == "UINT8") {
      if (!value.is_number_unsigned() || value.get<uint64_t>() > 255)
        bad("inputs[0].data[" + std::to_string(index) + "] = " + value.dump() + " is not a UINT8 (0 to 255)");
      out.push_back(float(value.get<uint64_t>()) / 255.0f);
    } else {
      const double number = value.get<double>();
      const float single = float(number);
      if (!std::isfinite(single))
        bad("inputs[0].data[" + std::to_string(index) + "] = " + value.dump() + " is not a finite " + datatype);
      out.push_back(single);
    }
  }
}

void read_outputs(const json& outputs, InferRequest& request) {
  if (!outputs.is_array()) bad("outputs must be an array");
  request.logits = request.class_ids = false;
  for (size_t i = 0; i < outputs.size(); ++i) {
    const json& output = outputs[i];
    if (!output.is_object() || !output.contains("name") || !output["name"].is_string())
      bad("outputs[" + std::to_string(i) + "] must be an object with a string \"name\"");
    const std::string name = output["name"];
    if (name == kLogitsName) request.logits = true;
    else if (name == kClassIdsName) request.class_ids = true;
    else bad("outputs[" + std::to_string(i) + "]: unknown output '" + name + "' (the model has '" +
             kLogitsName + "' and '" + kClassIdsName + "')");
  }
}

void append_float(std::string& out, float value) {
  char text[32];
  const auto result = std::to_chars(text, text + sizeof text, value);  // shortest exact form
  out.append(text, result.ptr);
}

}  // namespace

InferRequest parse_infer_request(std::string_view body, int features) {
  check_depth(body);
  json root;
  try {
    root = json::parse(body);
  } catch (const json::parse_error& e) {
    bad(std::string("malformed JSON: ") + e.what());
  }
  if (!root.is_object()) bad("the request must be a JSON object, not " + std::string(root.type_name()));
  InferRequest request;
  if (root.contains("id")) {
    if (!root["id"].is_string()) bad("id must be a string");
    request.id = root["id"];
  }
  if (!root.contains("inputs")) bad("the request has no \"inputs\"");
  const json& inputs = root["inputs"];
  if (!inputs.is_array() || inputs.size() != 1)
    bad("inputs must be an array of one tensor (the model's input '" + std::string(kInputName) + "')");
  const json& input = inputs[0];
  if (!input.is_object()) bad("inputs[0] must be an object");
  for (const char* key : {"name", "shape", "datatype", "data"})
    if (!input.contains(key)) bad(std::string("inputs[0] has no \"") + key + "\"");
  if (!input["name"].is_string() || input["name"] != kInputName)
    bad("inputs[0].name is " + input["name"].dump() + ": the model's input is '" + kInputName + "'");
  if (!input["datatype"].is_string()) bad("inputs[0].datatype must be a string");
  const std::string datatype = input["datatype"];
  if (datatype != "FP32" && datatype != "FP64" && datatype != "UINT8")
    bad("inputs[0].datatype " + datatype + " is not supported (FP32, FP64 or UINT8)");
  const json& shape = input["shape"];
  const std::string expected = "[N, " + std::to_string(features) + "]";
  if (!shape.is_array() || shape.size() != 2)
    bad("inputs[0].shape is " + shape.dump() + ", expected " + expected);
  for (const json& dim : shape)
    if (!dim.is_number_unsigned()) bad("inputs[0].shape is " + shape.dump() + ", expected " + expected);
  const uint64_t rows = shape[0], width = shape[1];
  if (width != uint64_t(features) || rows == 0)
    bad("inputs[0].shape is " + shape.dump() + ", expected " + expected + " with N >= 1");
  // Every value takes at least two bytes of JSON: a larger shape cannot match its data.
  if (rows > body.size() / 2 / uint64_t(features) + 1)
    bad("inputs[0].shape " + shape.dump() + " promises more values than the body can hold");
  request.rows = int(rows);
  const size_t count = size_t(rows) * size_t(features);
  request.inputs.reserve(count);
  read_data(input["data"], datatype, request.inputs, count);
  if (request.inputs.size() != count)
    bad("inputs[0].data holds " + std::to_string(request.inputs.size()) + " values, its shape " +
        shape.dump() + " needs " + std::to_string(count));
  if (root.contains("outputs")) read_outputs(root["outputs"], request);
  return request;
}

std::string infer_response(const std::string& model, const InferRequest& request,
                           const float* logits, int classes) {
  std::string out = "{\"model_name\":" + json(model).dump() + ",\"model_version\":\"1\"";
  if (!request.id.empty()) out += ",\"id\":" + json(request.id).dump(-1, ' ', false, json::error_handler_t::replace);
  out += ",\"outputs\":[";
  const std::string rows = std::to_string(request.rows);
  if (request.logits) {
    out += "{\"name\":\"logits\",\"datatype\":\"FP32\",\"shape\":[" + rows + "," +
           std::to_string(classes) + "],\"data\":[";
    out.reserve(out.size() + size_t(request.rows) * classes * 14);
    for (size_t i = 0; i < size_t(request.rows) * classes; ++i) {
      if (i) out += ',';
      append_float(out, logits[i]);
    }
    out += "]}";
  }
  if (request.class_ids) {
    if (request.logits) out += ',';
    out += "{\"name\":\"class_ids\",\"datatype\":\"INT64\",\"shape\":[" + rows + "],\"data\":[";
    for (int r = 0; r < request.rows; ++r) {
      const float* row = logits + size_t(r) * classes;
      int best = 0;
      for (int c = 1; c < classes; ++c)
        if (row[c] > row[best]) best = c;
      if (r) out += ',';
      out += std::to_string(best);
    }
    out += "]}";
  }
  return out + "]}";
}

std::string model_metadata(const std::string& model, int features, int classes) {
  const json metadata = {
      {"name", model},
      {"versions", {"1"}},
      {"platform", "leap"},
      {"inputs", {{{"name", kInputName}, {"datatype", "FP32"}, {"shape", {-1, features}}}}},
      {"outputs",
       {{{"name", kLogitsName}, {"datatype", "FP32"}, {"shape", {-1, classes}}},
        {{"name", kClassIdsName}, {"datatype", "INT64"}, {"shape", {-1}}}}}};
  return metadata.dump();
}

std::string server_metadata() {
  return json{{"name", "leap"}, {"version", build_info().version}, {"extensions", json::array()}}.dump();
}

// Messages may quote a request's bytes, which need not be UTF-8: those are replaced.
std::string error_body(const std::string& message) {
  return json{{"error", message}}.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace leap::serve
