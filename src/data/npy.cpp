#include "leap/npy.h"

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string_view>
#include <vector>

#include "io/file_bytes.h"
#include "leap/error.h"

namespace leap {
namespace {

constexpr std::string_view kMagic = "\x93NUMPY";
constexpr size_t kMaxDims = 32;  // NumPy's own limit

struct NpyHeader {
  std::string descr;
  bool fortran_order = false;
  std::vector<uint64_t> shape;
  size_t data_offset = 0;
};

// The header is a Python dict literal: {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }
// This parser reads exactly that grammar and names the offset of anything else.
class DictParser {
 public:
  DictParser(std::string_view text, size_t base, const std::string& path)
      : text_(text), base_(base), path_(path) {}

  NpyHeader parse() {
    NpyHeader header;
    bool seen_descr = false, seen_order = false, seen_shape = false;
    expect('{');
    while (skip_space(), peek() != '}') {
      const std::string key = string_literal();
      expect(':');
      if (key == "descr") {
        header.descr = string_literal();
        seen_descr = true;
      } else if (key == "fortran_order") {
        header.fortran_order = boolean();
        seen_order = true;
      } else if (key == "shape") {
        header.shape = tuple();
        seen_shape = true;
      } else {
        fail("unknown header key '" + key + "'");
      }
      skip_space();
      if (peek() == ',') ++at_;
    }
    check(seen_descr && seen_order && seen_shape,
          path_ + ": the header lacks one of 'descr', 'fortran_order', 'shape'");
    return header;
  }

 private:
  [[noreturn]] void fail(const std::string& what) {
    throw Error(path_ + ": malformed header at offset " + std::to_string(base_ + at_) + ": " + what);
  }
  char peek() {
    if (at_ >= text_.size()) fail("it ends too early");
    return text_[at_];
  }
  void skip_space() {
    while (at_ < text_.size() && (text_[at_] == ' ' || text_[at_] == '\n')) ++at_;
  }
  void expect(char wanted) {
    skip_space();
    if (peek() != wanted) fail(std::string("expected '") + wanted + "'");
    ++at_;
  }
  std::string string_literal() {
    skip_space();
    const char quote = peek();
    if (quote != '\'' && quote != '"') fail("expected a quoted string");
    const size_t end = text_.find(quote, at_ + 1);
    if (end == std::string_view::npos) fail("unterminated string");
    std::string value(text_.substr(at_ + 1, end - at_ - 1));
    at_ = end + 1;
    return value;
  }
  bool boolean() {
    skip_space();
    for (auto [word, value] : {std::pair{std::string_view("True"), true}, {"False", false}})
      if (text_.substr(at_, word.size()) == word) {
        at_ += word.size();
        return value;
      }
    fail("expected True or False");
  }
  std::vector<uint64_t> tuple() {
    expect('(');
    std::vector<uint64_t> values;
    while (skip_space(), peek() != ')') {
      if (peek() < '0' || peek() > '9') fail("expected a dimension (a non-negative integer)");
      uint64_t value = 0;
      while (at_ < text_.size() && text_[at_] >= '0' && text_[at_] <= '9') {
        if (value > (std::numeric_limits<uint64_t>::max() - 9) / 10) fail("a dimension overflows");
        value = value * 10 + uint64_t(text_[at_++] - '0');
      }
      if (values.size() == kMaxDims) fail("more than " + std::to_string(kMaxDims) + " dimensions");
      values.push_back(value);
      skip_space();
      if (peek() == ',') ++at_;
    }
    ++at_;
    return values;
  }

  std::string_view text_;
  size_t base_;
  const std::string& path_;
  size_t at_ = 0;
};

NpyHeader parse_header(const std::vector<uint8_t>& bytes, const std::string& path) {
  const std::string_view file(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  check(file.substr(0, kMagic.size()) == kMagic,
        path + ": not a .npy file (it does not start with \\x93NUMPY)");
  check(bytes.size() >= 10, path + ": " + std::to_string(bytes.size()) + " bytes, shorter than a .npy preamble");
  const int major = bytes[6];
  check(major >= 1 && major <= 3, path + ": .npy format version " + std::to_string(major) +
                                      " at offset 6 (leap reads versions 1 to 3)");
  // Version 1 counts the header in 2 bytes, later versions in 4 (little-endian).
  const size_t length_size = major == 1 ? 2 : 4;
  check(bytes.size() >= 8 + length_size, path + ": truncated in the header length");
  uint64_t header_length = 0;
  for (size_t i = 0; i < length_size; ++i) header_length |= uint64_t(bytes[8 + i]) << (8 * i);
  const size_t start = 8 + length_size;
  check(header_length <= bytes.size() - start,
        path + ": header length " + std::to_string(header_length) + " at offset 8 runs past the end of the file (" +
            std::to_string(bytes.size()) + " bytes)");
  NpyHeader header = DictParser(file.substr(start, header_length), start, path).parse();
  header.data_offset = start + header_length;
  return header;
}

std::string shape_text(const std::vector<uint64_t>& shape) {
  std::string text = "(";
  for (size_t i = 0; i < shape.size(); ++i) text += (i ? ", " : "") + std::to_string(shape[i]);
  return text + ")";
}

struct Element {
  char kind;  // 'f', 'u' or 'i'
  size_t size;
};

Element element_of(const std::string& descr, const std::string& path) {
  check(descr != "|O" && descr.find('O') == std::string::npos,
        path + ": an object array (dtype '" + descr + "', pickled Python objects): leap never unpickles; save a numeric array");
  check(descr.size() >= 3 && (descr[0] == '<' || descr[0] == '|' || descr[0] == '='),
        path + ": dtype '" + descr + "' is not little-endian (save with .astype('<f4') or similar)");
  const std::string type = descr.substr(1);
  for (auto [name, element] : {std::pair{"f4", Element{'f', 4}}, {"f8", Element{'f', 8}},
                               {"u1", Element{'u', 1}}, {"i4", Element{'i', 4}}, {"i8", Element{'i', 8}}})
    if (type == name) return element;
  throw Error(path + ": dtype '" + descr + "' is not supported (leap reads f4, f8, u1, i4, i8)");
}

// A checked array: header, dtype and a data section of exactly the size the shape implies.
struct NpyArray {
  std::vector<uint8_t> bytes;
  NpyHeader header;
  Element element;
  uint64_t count = 1;
};

NpyArray read_npy(const std::string& path) {
  NpyArray array;
  array.bytes = read_file_bytes(path, "a .npy file");
  array.header = parse_header(array.bytes, path);
  array.element = element_of(array.header.descr, path);
  check(!array.header.fortran_order || array.header.shape.size() <= 1,
        path + ": Fortran (column-major) order; save with np.ascontiguousarray");
  const uint64_t data_size = array.bytes.size() - array.header.data_offset;
  // Bounding the count by the data's length keeps the product from overflowing.
  const uint64_t max_count = data_size / array.element.size;
  for (uint64_t extent : array.header.shape) {
    if (extent == 0) {
      array.count = 0;
      break;
    }
    check(extent <= max_count / array.count,
          path + ": shape " + shape_text(array.header.shape) + " needs more than the " +
              std::to_string(data_size) + " data bytes the file holds (truncated?)");
    array.count *= extent;
  }
  const uint64_t expected = array.count * array.element.size;
  check(data_size == expected, path + ": " + std::to_string(data_size) + " data bytes after the header at offset " +
                                   std::to_string(array.header.data_offset) + ", the shape needs " +
                                   std::to_string(expected));
  check(array.count > 0, path + ": the array is empty");
  return array;
}

double element_at(const NpyArray& array, uint64_t index) {
  const uint8_t* at = array.bytes.data() + array.header.data_offset + index * array.element.size;
  switch (array.element.kind * 16 + int(array.element.size)) {
    case 'f' * 16 + 4: { float v; std::memcpy(&v, at, 4); return v; }
    case 'f' * 16 + 8: { double v; std::memcpy(&v, at, 8); return v; }
    case 'u' * 16 + 1: return *at;
    case 'i' * 16 + 4: { int32_t v; std::memcpy(&v, at, 4); return v; }
    default: { int64_t v; std::memcpy(&v, at, 8); return double(v); }
  }
}

}  // namespace

Tensor read_npy_features(const std::string& path) {
  const NpyArray array = read_npy(path);
  const std::vector<uint64_t>& shape = array.header.shape;
  check(shape.size() >= 2, path + ": features need an array of shape (samples, features...), found " + shape_text(shape));
  const uint64_t samples = shape[0], features = array.count / samples;
  check(samples < uint64_t(INT32_MAX) && features < uint64_t(INT32_MAX),
        path + ": shape " + shape_text(shape) + " is too large");
  std::vector<float> values(array.count);
  for (uint64_t i = 0; i < array.count; ++i) {
    values[i] = float(element_at(array, i));
    if (!std::isfinite(values[i]))
      throw Error(path + ": non-finite value " + std::to_string(values[i]) + " at sample " +
                  std::to_string(i / features) + ", feature " + std::to_string(i % features) +
                  " (as float32)");
  }
  return Tensor::from_vector({int64_t(samples), int64_t(features)}, values);
}

Tensor read_npy_labels(const std::string& path) {
  const NpyArray array = read_npy(path);
  const std::vector<uint64_t>& shape = array.header.shape;
  check(shape.size() == 1, path + ": labels need a one-dimensional array, found shape " + shape_text(shape));
  check(array.element.kind != 'f', path + ": labels are floating point ('" + array.header.descr +
                                       "'); save class indices as integers (u1, i4, i8)");
  check(array.count < uint64_t(INT32_MAX), path + ": too many labels");
  std::vector<int32_t> labels(array.count);
  for (uint64_t i = 0; i < array.count; ++i) {
    const double label = element_at(array, i);
    check(label >= 0 && label < INT32_MAX,
          path + ": label " + std::to_string(int64_t(label)) + " at index " + std::to_string(i) + " is not a class index");
    labels[i] = int32_t(label);
  }
  return Tensor::from_vector({int64_t(array.count)}, labels);
}

}  // namespace leap
