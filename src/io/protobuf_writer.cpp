#include "protobuf_writer.h"

namespace leap::protobuf {
namespace {
constexpr int kVarint = 0, kLengthDelimited = 2;
}  // namespace

void Message::raw_varint(uint64_t value) {
  while (value >= 0x80) {
    bytes_ += static_cast<char>((value & 0x7f) | 0x80);
    value >>= 7;
  }
  bytes_ += static_cast<char>(value);
}

void Message::tag(int field, int wire_type) {
  raw_varint((static_cast<uint64_t>(field) << 3) | static_cast<uint64_t>(wire_type));
}

Message& Message::varint(int field, uint64_t value) {
  tag(field, kVarint);
  raw_varint(value);
  return *this;
}

Message& Message::bytes(int field, const std::string& value) {
  tag(field, kLengthDelimited);
  raw_varint(value.size());
  bytes_ += value;
  return *this;
}

Message& Message::message(int field, const Message& value) { return bytes(field, value.bytes_); }

Message& Message::packed_int64(int field, const std::vector<int64_t>& values) {
  Message packed;
  for (int64_t value : values) packed.raw_varint(static_cast<uint64_t>(value));
  return bytes(field, packed.bytes_);
}

}  // namespace leap::protobuf
