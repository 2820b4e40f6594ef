#include "kserve_json.h"

#include <charconv>
#include <cmath>
#include <memory>
#include <nlohmann/json.hpp>
#include <simdjson.h>

#include "leap/build_info.h"

namespace leap::serve {
namespace {

using json = nlohmann::json;
using simdjson::dom::element;

[[noreturn]] void bad(const std::string& message) { throw ProtocolError(400, message); }

std::string type_name(const element& value) {
  switch (value.type()) {
    case simdjson::dom::element_type::ARRAY: return "an array";
    case simdjson::dom::element_type::OBJECT: return "an object";
    case simdjson::dom::element_type::STRING: return "a string";
    case simdjson::dom::element_type::BOOL: return "a boolean";
    case simdjson::dom::element_type::NULL_VALUE: return "null";
    default: return "a number";
  }
}

std::string shown(const element& value) { return simdjson::minify(value).substr(0, 80); }

// The member `key` of `object`, or a 400 naming what lacks it.
element member(const element& object, const char* key, const std::string& where) {
  element value;
  if (object[key].get(value)) bad(where + " has no \"" + key + "\"");
  return value;
}

// Appends the numbers of `data`, flat or nested row-major, to `out`, checking each.
void read_data(const element& data, bool uint8, std::vector<float>& out, size_t expected) {
  simdjson::dom::array values;
  if (data.get_array().get(values)) bad("inputs[0].data must be an array, not " + type_name(data));
  for (element value : values) {
    if (out.size() >= expected)
      bad("inputs[0].data holds more values than its shape's " + std::to_string(expected));
    if (value.is_array()) {
      read_data(value, uint8, out, expected);
      continue;
    }
    auto where = [&] { return "inputs[0].data[" + std::to_string(out.size()) + "]"; };
    if (!value.is_number()) bad(where() + " is " + type_name(value) + ", not a number");
    if (uint8) {
      uint64_t pixel = 0;
      if (value.get_uint64().get(pixel) || pixel > 255)
        bad(where() + " = " + shown(value) + " is not a UINT8 (0 to 255)");
      out.push_back(float(pixel) / 255.0f);
    } else {
      double number = 0;
      if (value.get_double().get(number) || !std::isfinite(float(number)))
        bad(where() + " = " + shown(value) + " is not a finite FP32");
      out.push_back(float(number));
    }
  }
}

void read_outputs(const element& outputs, InferRequest& request) {
  simdjson::dom::array list;
  if (outputs.get_array().get(list)) bad("outputs must be an array");
  request.logits = request.class_ids = false;
  size_t i = 0;
  for (element output : list) {
    std::string_view name;
    if (!output.is_object() || output["name"].get_string().get(name))
      bad("outputs[" + std::to_string(i) + "] must be an object with a string \"name\"");
    if (name == kLogitsName) request.logits = true;
    else if (name == kClassIdsName) request.class_ids = true;
    else bad("outputs[" + std::to_string(i) + "]: unknown output '" + std::string(name) + "' (the model has '" +
             kLogitsName + "' and '" + kClassIdsName + "')");
    ++i;
  }
}

void append_float(std::string& out, float value) {
  char text[32];
  const auto result = std::to_chars(text, text + sizeof text, value);  // shortest exact form
  out.append(text, result.ptr);
}

}  // namespace

// simdjson (Debian's libsimdjson-dev): a validating parse at gigabytes a second, which keeps
// the 784 numbers of an image to a few microseconds where nlohmann-json took over 30. Its
// parse is iterative, so deep nesting is a depth error (400), not a stack overflow.
InferRequest parse_infer_request(std::string_view body, int features) {
  // Each thread keeps a parser for requests of up to 1 MB; a larger one gets its own, freed with
  // it, so that 64 threads do not each hold buffers the size of the largest body seen.
  thread_local simdjson::dom::parser small_parser(1u << 20);
  std::unique_ptr<simdjson::dom::parser> large_parser;
  if (body.size() > small_parser.max_capacity()) large_parser = std::make_unique<simdjson::dom::parser>(body.size());
  simdjson::dom::parser& parser = large_parser ? *large_parser : small_parser;
  element root;
  if (const auto error = parser.parse(body.data(), body.size()).get(root))
    bad(std::string("malformed JSON: ") + simdjson::error_message(error));
  if (!root.is_object()) bad("the request must be a JSON object, not " + type_name(root));
  InferRequest request;
  element id;
  if (!root["id"].get(id)) {
    std::string_view text;
    if (id.get_string().get(text)) bad("id must be a string");
    request.id = text;
  }
  const element inputs = member(root, "inputs", "the request");
  simdjson::dom::array input_list;
  if (inputs.get_array().get(input_list) || input_list.size() != 1)
    bad("inputs must be an array of one tensor (the model's input '" + std::string(kInputName) + "')");
  const element input = input_list.at(0);
  if (!input.is_object()) bad("inputs[0] must be an object");
  const element name = member(input, "name", "inputs[0]");
  const element shape = member(input, "shape", "inputs[0]");
  const element datatype_value = member(input, "datatype", "inputs[0]");
  const element data = member(input, "data", "inputs[0]");
  if (!name.is_string() || std::string_view(name) != kInputName)
    bad("inputs[0].name is " + shown(name) + ": the model's input is '" + kInputName + "'");
  std::string_view datatype;
  if (datatype_value.get_string().get(datatype)) bad("inputs[0].datatype must be a string");
  if (datatype != "FP32" && datatype != "FP64" && datatype != "UINT8")
    bad("inputs[0].datatype " + std::string(datatype) + " is not supported (FP32, FP64 or UINT8)");
  const std::string expected = "[N, " + std::to_string(features) + "]";
  simdjson::dom::array dims;
  uint64_t rows = 0, width = 0;
  if (shape.get_array().get(dims) || dims.size() != 2 ||
      dims.at(0).get_uint64().get(rows) || dims.at(1).get_uint64().get(width))
    bad("inputs[0].shape is " + shown(shape) + ", expected " + expected);
  if (width != uint64_t(features) || rows == 0)
    bad("inputs[0].shape is " + shown(shape) + ", expected " + expected + " with N >= 1");
  // Every value takes at least two bytes of JSON: a larger shape cannot match its data.
  if (rows > body.size() / 2 / uint64_t(features) + 1)
    bad("inputs[0].shape " + shown(shape) + " promises more values than the body can hold");
  request.rows = int(rows);
  const size_t count = size_t(rows) * size_t(features);
  request.inputs.reserve(count);
  read_data(data, datatype == "UINT8", request.inputs, count);
  if (request.inputs.size() != count)
    bad("inputs[0].data holds " + std::to_string(request.inputs.size()) + " values, its shape " + shown(shape) +
        " needs " + std::to_string(count));
  element outputs;
  if (!root["outputs"].get(outputs)) read_outputs(outputs, request);
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
