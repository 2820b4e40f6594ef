#include "kserve_json.h"

#include <algorithm>
#include <charconv>
#include <cfloat>
#include <cmath>
#include <cstring>
#include <memory>
#include <nlohmann/json.hpp>
#include <simdjson.h>

#include "leap/build_info.h"

namespace leap::serve {
namespace {

using json = nlohmann::json;
using simdjson::dom::element;

[[noreturn]] void bad(const std::string& message) { throw ProtocolError(400, message); }

// Finite and within float's range (converting a larger double is undefined behaviour).
bool fits_float(double value) { return std::isfinite(value) && std::fabs(value) <= double(FLT_MAX); }

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

[[noreturn]] void bad_value(const element& value, size_t index, bool uint8) {
  const std::string where = "inputs[0].data[" + std::to_string(index) + "]";
  if (!value.is_number()) bad(where + " is " + type_name(value) + ", not a number");
  bad(where + " = " + shown(value) + (uint8 ? " is not a UINT8 (0 to 255)" : " is not a finite FP32"));
}

// Appends the numbers of `data`, flat or nested row-major, to `out`, checking each. One
// switch on the tape's type a value: the 784 values of an image are most of a request's
// parsing time, and the checked getters cost several times more.
void read_data(const element& data, bool uint8, std::vector<float>& out, size_t expected) {
  using simdjson::dom::element_type;
  simdjson::dom::array values;
  if (data.get_array().get(values)) bad("inputs[0].data must be an array, not " + type_name(data));
  for (element value : values) {
    if (out.size() >= expected)
      bad("inputs[0].data holds more values than its shape's " + std::to_string(expected));
    const element_type type = value.type();
    if (type == element_type::ARRAY) {
      read_data(value, uint8, out, expected);
      continue;
    }
    double number;  // as get_double() gives it, so that FP32 rounds once from the JSON's value
    switch (type) {
      case element_type::INT64: {
        const int64_t whole = value.get_int64().value_unsafe();
        if (uint8) {
          if (whole < 0 || whole > 255) bad_value(value, out.size(), uint8);
          out.push_back(float(whole) / 255.0f);
          continue;
        }
        number = double(whole);
        break;
      }
      case element_type::UINT64: number = double(value.get_uint64().value_unsafe()); break;
      case element_type::DOUBLE: number = value.get_double().value_unsafe(); break;
      default: bad_value(value, out.size(), uint8);
    }
    if (uint8 || !fits_float(number)) bad_value(value, out.size(), uint8);
    out.push_back(float(number));
  }
}

// The input's raw little-endian bytes (binary tensor data extension), checked and converted.
void read_binary(const element& size_value, std::string_view binary, std::string_view datatype, size_t count,
                 std::vector<float>& out) {
  uint64_t size = 0;
  if (size_value.get_uint64().get(size)) bad("inputs[0].parameters.binary_data_size must be a whole number");
  const size_t width = datatype == "UINT8" ? 1 : datatype == "FP32" ? 4 : 8;
  if (size != count * width || size != binary.size())
    bad("inputs[0].parameters.binary_data_size is " + std::to_string(size) + ": its shape and datatype need " +
        std::to_string(count * width) + " bytes, and " + std::to_string(binary.size()) + " follow the JSON");
  out.resize(count);
  const auto* bytes = reinterpret_cast<const unsigned char*>(binary.data());
  for (size_t i = 0; i < count; ++i) {
    if (width == 1) {
      out[i] = float(bytes[i]) / 255.0f;
      continue;
    }
    double value;
    if (width == 4) {
      float single;
      std::memcpy(&single, bytes + 4 * i, 4);
      value = single;
    } else {
      std::memcpy(&value, bytes + 8 * i, 8);
    }
    if (!fits_float(value))
      bad("inputs[0] binary value " + std::to_string(i) + " is not a finite " + std::string(datatype));
    out[i] = float(value);
  }
}

void read_outputs(const element& outputs, InferRequest& request) {
  simdjson::dom::array list;
  if (outputs.get_array().get(list)) bad("outputs must be an array");
  request.logits = request.class_ids = false;
  const bool all_binary = request.logits_binary;
  size_t i = 0;
  for (element output : list) {
    std::string_view name;
    if (!output.is_object() || output["name"].get_string().get(name))
      bad("outputs[" + std::to_string(i) + "] must be an object with a string \"name\"");
    bool binary = all_binary;  // the request's binary_data_output, unless the output says
    element parameters;
    if (!output["parameters"].get(parameters) && parameters["binary_data"].get_bool().get(binary) &&
        parameters["binary_data"].error() != simdjson::NO_SUCH_FIELD)
      bad("outputs[" + std::to_string(i) + "].parameters.binary_data must be true or false");
    if (name == kLogitsName) request.logits = true, request.logits_binary = binary;
    else if (name == kClassIdsName) request.class_ids = true, request.class_ids_binary = binary;
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

void append_integer(std::string& out, uint64_t value) {
  char text[24];
  const auto result = std::to_chars(text, text + sizeof text, value);
  out.append(text, result.ptr);
}

// `text` as a JSON string: printable ASCII as it is, anything else through nlohmann-json
// (escapes; bytes that are not UTF-8, which a request's id may hold, replaced).
void append_json_string(std::string& out, const std::string& text) {
  const bool plain = std::all_of(text.begin(), text.end(),
                                 [](char c) { return c >= 0x20 && c < 0x7F && c != '"' && c != '\\'; });
  if (!plain) {
    out += json(text).dump(-1, ' ', false, json::error_handler_t::replace);
    return;
  }
  out += '"';
  out += text;
  out += '"';
}

}  // namespace

InferRequest parse_infer_request(std::string_view message, int features, size_t json_length) {
  if (json_length == 0)
    if (std::optional<InferRequest> common = parse_common_infer_request(message, features)) return std::move(*common);
  return parse_infer_request_dom(message, features, json_length);
}

// simdjson (Debian's libsimdjson-dev): a validating parse at gigabytes a second, which keeps
// the 784 numbers of an image to a few microseconds where nlohmann-json took over 30. Its
// parse is iterative, so deep nesting is a depth error (400), not a stack overflow.
InferRequest parse_infer_request_dom(std::string_view message, int features, size_t json_length) {
  if (json_length > message.size())
    bad("Inference-Header-Content-Length " + std::to_string(json_length) + " is larger than the body's " +
        std::to_string(message.size()) + " bytes");
  const std::string_view body = json_length ? message.substr(0, json_length) : message;
  const std::string_view binary = json_length ? message.substr(json_length) : std::string_view();
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
  element data, binary_size_value;
  element input_parameters;
  const bool binary_input = !input["parameters"].get(input_parameters) &&
                            !input_parameters["binary_data_size"].get(binary_size_value);
  if (!binary_input) data = member(input, "data", "inputs[0]");
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
  if (rows > message.size() / uint64_t(features) + 1)
    bad("inputs[0].shape " + shown(shape) + " promises more values than the body can hold");
  request.rows = int(rows);
  const size_t count = size_t(rows) * size_t(features);
  request.inputs.reserve(count);
  if (binary_input) {
    read_binary(binary_size_value, binary, datatype, count, request.inputs);
  } else {
    read_data(data, datatype == "UINT8", request.inputs, count);
  }
  if (request.inputs.size() != count)
    bad("inputs[0].data holds " + std::to_string(request.inputs.size()) + " values, its shape " + shown(shape) +
        " needs " + std::to_string(count));
  element parameters;
  if (!root["parameters"].get(parameters) && parameters["binary_data_output"].error() != simdjson::NO_SUCH_FIELD &&
      parameters["binary_data_output"].get_bool().get(request.logits_binary))
    bad("parameters.binary_data_output must be true or false");
  request.class_ids_binary = request.logits_binary;
  element outputs;
  if (!root["outputs"].get(outputs)) read_outputs(outputs, request);
  return request;
}

// The answer is built in one string reserved at its full size: at batch 1 the few small
// strings and nlohmann-json calls it was joined from took longer than writing its numbers.
InferResponse infer_response(const std::string& model, const InferRequest& request,
                             const float* logits, int classes) {
  const size_t values = size_t(request.rows) * classes;
  InferResponse response;
  std::string& out = response.body;
  out.reserve(200 + model.size() + request.id.size() + (request.logits && !request.logits_binary ? values * 16 : 0) +
              (request.class_ids && !request.class_ids_binary ? size_t(request.rows) * 4 : 0));
  std::string binary;
  out += "{\"model_name\":";
  append_json_string(out, model);
  out += ",\"model_version\":\"1\"";
  if (!request.id.empty()) {
    out += ",\"id\":";
    append_json_string(out, request.id);
  }
  out += ",\"outputs\":[";
  if (request.logits) {
    out += "{\"name\":\"logits\",\"datatype\":\"FP32\",\"shape\":[";
    append_integer(out, uint64_t(request.rows));
    out += ',';
    append_integer(out, uint64_t(classes));
    out += "],";
    if (request.logits_binary) {
      out += "\"parameters\":{\"binary_data_size\":";
      append_integer(out, values * 4);
      out += "}}";
      binary.append(reinterpret_cast<const char*>(logits), values * 4);
    } else {
      out += "\"data\":[";
      for (size_t i = 0; i < values; ++i) {
        if (i) out += ',';
        append_float(out, logits[i]);
      }
      out += "]}";
    }
  }
  if (request.class_ids) {
    if (request.logits) out += ',';
    out += "{\"name\":\"class_ids\",\"datatype\":\"INT64\",\"shape\":[";
    append_integer(out, uint64_t(request.rows));
    out += "],";
    std::vector<int64_t> class_ids;
    for (int r = 0; r < request.rows; ++r) {
      const float* row = logits + size_t(r) * classes;
      class_ids.push_back(std::max_element(row, row + classes) - row);
    }
    if (request.class_ids_binary) {
      out += "\"parameters\":{\"binary_data_size\":";
      append_integer(out, class_ids.size() * 8);
      out += "}}";
      binary.append(reinterpret_cast<const char*>(class_ids.data()), class_ids.size() * 8);
    } else {
      out += "\"data\":[";
      for (size_t r = 0; r < class_ids.size(); ++r) {
        if (r) out += ',';
        append_integer(out, uint64_t(class_ids[r]));
      }
      out += "]}";
    }
  }
  out += "]}";
  if (!binary.empty()) {
    response.json_length = out.size();
    out += binary;
  }
  return response;
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
