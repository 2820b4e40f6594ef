// The protobuf wire format, the little of it that writing an ONNX model needs: varints,
// length-delimited fields (strings, bytes, nested messages) and packed repeated int64. Fields
// are appended in the order written; a reader accepts any order.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace leap::protobuf {

class Message {
 public:
  Message& varint(int field, uint64_t value);  // int32, int64 (two's complement), enums
  Message& bytes(int field, const std::string& value);  // string and bytes fields
  Message& message(int field, const Message& value);
  Message& packed_int64(int field, const std::vector<int64_t>& values);
  const std::string& encoded() const { return bytes_; }

 private:
  void tag(int field, int wire_type);
  void raw_varint(uint64_t value);
  std::string bytes_;
};

}  // namespace leap::protobuf
