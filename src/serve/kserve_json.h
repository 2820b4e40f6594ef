// The JSON of the Open Inference Protocol (KServe v2 REST): inference requests read into rows
// of floats, answers and model metadata written out. Any request that cannot be served gets a
// ProtocolError with the HTTP status and a message naming what is wrong and where.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "leap/error.h"

namespace leap::serve {

class ProtocolError : public Error {
 public:
  ProtocolError(int status, const std::string& message) : Error(message), status_(status) {}
  int status() const { return status_; }

 private:
  int status_;
};

// The model's one input and two outputs, as the metadata names them.
inline constexpr const char* kInputName = "input";
inline constexpr const char* kLogitsName = "logits";
inline constexpr const char* kClassIdsName = "class_ids";

struct InferRequest {
  std::string id;  // echoed back when given
  int rows = 0;
  std::vector<float> inputs;  // [rows, features]; UINT8 images scaled to [0, 1] as leap trains
  bool logits = true, class_ids = true;  // the outputs asked for (all when none is named)
  bool logits_binary = false, class_ids_binary = false;  // sent as raw bytes after the JSON
};

// Reads the body of POST /v2/models/{name}/infer for a model of `features` inputs. With the
// binary tensor data extension (Triton's, which its clients use by default), the first
// `json_length` bytes are the JSON and the input's raw bytes follow (json_length 0: no extension).
// The common small request takes parse_common_infer_request, any other parse_infer_request_dom.
InferRequest parse_infer_request(std::string_view body, int features, size_t json_length = 0);

// The reading of every request, with every check and message of the protocol (simdjson's DOM:
// the whole document validated, then read).
InferRequest parse_infer_request_dom(std::string_view body, int features, size_t json_length = 0);

// Bodies up to this size may be read by parse_common_infer_request (a batch of a few images).
inline constexpr size_t kCommonRequestBytes = 64 << 10;

// The common request (JSON alone, the keys the protocol defines, each once, the input's data
// flat and after its shape and datatype) read in place, several microseconds faster at batch 1;
// what it returns equals parse_infer_request_dom's answer. Any other body, valid or not, gives
// nullopt and is left to parse_infer_request_dom. (src/serve/common_request.cpp)
std::optional<InferRequest> parse_common_infer_request(std::string_view body, int features);

struct InferResponse {
  std::string body;
  size_t json_length = 0;  // > 0: binary outputs follow the JSON (Inference-Header-Content-Length)
};
// The answer to `request`: logits [rows, classes] (FP32) and/or class ids [rows] (INT64).
InferResponse infer_response(const std::string& model, const InferRequest& request,
                             const float* logits, int classes);

// GET /v2/models/{name}: name, versions, platform, inputs and outputs with shapes and datatypes.
std::string model_metadata(const std::string& model, int features, int classes);
// GET /v2: the server's name, version and protocol extensions.
std::string server_metadata();
// {"error": message}, as the protocol's error responses read.
std::string error_body(const std::string& message);

}  // namespace leap::serve
