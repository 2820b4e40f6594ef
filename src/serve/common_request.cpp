// The common inference request read in place with simdjson's On-Demand parser, which parses
// each value where it lies instead of first building the document's tape and then walking it:
// at batch 1 the 784 numbers of an image were most of a request's parsing time. It reads only
// what it can check whole (the keys it knows, each once, data after its shape and datatype,
// flat data) and declines anything else, so that what it accepts is exactly what the DOM
// reading (parse_infer_request_dom) accepts, with the same values, and every message comes
// from the DOM reading. tests/test_kserve_json.cpp compares the two on random requests.
#include <cfloat>
#include <cmath>
#include <optional>
#include <simdjson.h>
#include <string>
#include <utility>

#include "kserve_json.h"

namespace leap::serve {
namespace {

namespace od = simdjson::ondemand;

// One output the request names: logits or class ids, and its binary_data when it says.
struct NamedOutput {
  bool logits = false;
  std::optional<bool> binary;
};

bool fits_float(double value) { return std::isfinite(value) && std::fabs(value) <= double(FLT_MAX); }

// At most 19 significant digits, counting zeros: simdjson 3.0.1's On-Demand get_double()
// misreads some longer numbers (0.950000000000000000000 as 0.0277; simdjson issue 2093, fixed
// in 3.6.3), which are left to the DOM reading.
bool short_enough(std::string_view number) {
  int digits = 0;
  for (char c : number) {
    if (c >= '0' && c <= '9') {
      ++digits;
    } else if (c != '-' && c != '.') {
      break;  // the exponent, or what follows the number
    }
  }
  return digits <= 19;
}

// The numbers of a flat `data` array, as the DOM reading converts them.
bool read_values(od::value data, bool uint8, size_t count, std::vector<float>& out) {
  od::array values;
  if (data.get_array().get(values)) return false;
  out.reserve(count);
  for (auto item : values) {
    od::value value;
    if (item.get(value) || out.size() >= count) return false;
    if (uint8) {
      uint64_t pixel = 0;
      if (value.get_uint64().get(pixel) || pixel > 255) return false;
      out.push_back(float(pixel) / 255.0f);
      continue;
    }
    // As the DOM's get_double() converts each kind: an integer exactly ("-0" is 0, not -0.0),
    // refusing those past 64 bits, which the DOM refuses. (simdjson 3.0.1's get_number() reads
    // floats of more than 19 digits as 0: not used.)
    od::number_type type;
    if (value.get_number_type().get(type)) return false;
    double real = 0;
    if (type == od::number_type::signed_integer) {
      int64_t whole = 0;
      if (value.get_int64().get(whole)) return false;
      real = double(whole);
    } else if (type == od::number_type::unsigned_integer) {
      uint64_t whole = 0;
      if (value.get_uint64().get(whole)) return false;
      real = double(whole);
    } else if (!short_enough(value.raw_json_token()) || value.get_double().get(real)) {
      return false;
    }
    if (!fits_float(real)) return false;
    out.push_back(float(real));
  }
  return out.size() == count;
}

// Calls take(key, value) on each member of `object` in order; false as soon as a member is
// malformed or take declines it (the common form reads the members it knows, each once).
template <class Take>
bool each_member(od::object& object, Take&& take) {
  for (auto item : object) {
    od::field field;
    std::string_view key;
    if (std::move(item).get(field) || field.unescaped_key().get(key) || !take(key, field.value())) return false;
  }
  return true;
}

// inputs[0]: name, shape and datatype before data, no parameters (binary data).
bool read_input(od::value value, int features, size_t body_bytes, InferRequest& request) {
  od::object input;
  if (value.get_object().get(input)) return false;
  bool named = false, shaped = false, has_data = false;
  std::string_view datatype;
  uint64_t rows = 0;
  const bool read = each_member(input, [&](std::string_view key, od::value& field) {
    if (key == "name" && !named) {
      std::string_view name;
      named = !field.get_string().get(name) && name == kInputName;
      return named;
    }
    if (key == "shape" && !shaped) {
      od::array dims;
      if (field.get_array().get(dims)) return false;
      uint64_t shape[2] = {0, 0};
      size_t rank = 0;
      for (auto dim : dims)
        if (rank >= 2 || dim.get_uint64().get(shape[rank++])) return false;
      rows = shape[0];
      // As the DOM reading checks: a larger shape cannot match the body's values.
      shaped = rank == 2 && shape[1] == uint64_t(features) && rows > 0 && rows <= body_bytes / uint64_t(features) + 1;
      return shaped;
    }
    if (key == "datatype" && datatype.empty())
      return !field.get_string().get(datatype) && (datatype == "FP32" || datatype == "FP64" || datatype == "UINT8");
    if (key == "data" && !has_data && shaped && !datatype.empty()) {
      has_data = read_values(field, datatype == "UINT8", size_t(rows) * size_t(features), request.inputs);
      return has_data;
    }
    return false;
  });
  request.rows = int(rows);
  return read && named && has_data;
}

// Parameters of one boolean, `name`, given at most once: the only parameters the common form
// takes (the request's binary_data_output, an output's binary_data).
bool read_flag(od::value value, std::string_view name, std::optional<bool>& flag) {
  od::object parameters;
  if (value.get_object().get(parameters)) return false;
  return each_member(parameters, [&](std::string_view key, od::value& field) {
    bool given = false;
    if (key != name || flag || field.get_bool().get(given)) return false;
    flag = given;
    return true;
  });
}

// outputs: objects of a name and, optionally, parameters holding binary_data alone.
bool read_outputs(od::value value, std::vector<NamedOutput>& outputs) {
  od::array list;
  if (value.get_array().get(list)) return false;
  for (auto item : list) {
    od::object output;
    if (item.get_object().get(output)) return false;
    std::optional<NamedOutput> named;
    std::optional<bool> binary;
    bool has_parameters = false;
    const bool read = each_member(output, [&](std::string_view key, od::value& field) {
      if (key == "name" && !named) {
        std::string_view name;
        if (field.get_string().get(name) || (name != kLogitsName && name != kClassIdsName)) return false;
        named = NamedOutput{name == kLogitsName, {}};
        return true;
      }
      if (key == "parameters" && !has_parameters) {
        has_parameters = true;
        return read_flag(field, "binary_data", binary);
      }
      return false;
    });
    if (!read || !named) return false;
    named->binary = binary;
    outputs.push_back(*named);
  }
  return true;
}

}  // namespace

std::optional<InferRequest> parse_common_infer_request(std::string_view body, int features) {
  if (body.size() > kCommonRequestBytes) return std::nullopt;
  // On-Demand reads up to SIMDJSON_PADDING bytes past the end: each thread keeps a copy with them.
  thread_local std::string padded;
  thread_local od::parser parser(kCommonRequestBytes);
  padded.assign(body);
  padded.resize(body.size() + simdjson::SIMDJSON_PADDING);
  od::document document;
  od::object root;
  if (parser.iterate(padded.data(), body.size(), padded.size()).get(document) || document.get_object().get(root))
    return std::nullopt;
  InferRequest request;
  bool has_id = false, has_inputs = false, has_outputs = false, has_parameters = false;
  std::vector<NamedOutput> outputs;
  std::optional<bool> binary_output;
  const bool read = each_member(root, [&](std::string_view key, od::value& field) {
    if (key == "id" && !has_id) {
      std::string_view id;
      if (field.get_string().get(id)) return false;
      request.id = id;
      has_id = true;
      return true;
    }
    if (key == "inputs" && !has_inputs) {
      od::array inputs;
      if (field.get_array().get(inputs)) return false;
      size_t count = 0;
      for (auto input : inputs) {
        od::value value;
        if (count++ > 0 || input.get(value) || !read_input(value, features, body.size(), request)) return false;
      }
      has_inputs = count == 1;
      return has_inputs;
    }
    if (key == "outputs" && !has_outputs) {
      has_outputs = true;
      return read_outputs(field, outputs);
    }
    if (key == "parameters" && !has_parameters) {
      has_parameters = true;
      return read_flag(field, "binary_data_output", binary_output);
    }
    return false;
  });
  if (!read) return std::nullopt;
  // Nothing after the object: On-Demand stops at its closing brace.
  if (!has_inputs || document.current_location().error() != simdjson::OUT_OF_BOUNDS) return std::nullopt;
  // The outputs as the DOM reading sets them: the request's binary_data_output, unless an
  // output says otherwise; all outputs when none is named.
  request.logits_binary = request.class_ids_binary = binary_output.value_or(false);
  if (has_outputs) {
    const bool all_binary = request.logits_binary;
    request.logits = request.class_ids = false;
    for (const NamedOutput& output : outputs) {
      (output.logits ? request.logits : request.class_ids) = true;
      (output.logits ? request.logits_binary : request.class_ids_binary) = output.binary.value_or(all_binary);
    }
  }
  return request;
}

}  // namespace leap::serve
