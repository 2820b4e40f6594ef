// .npy arrays: each supported dtype, and each way a file can be wrong, with its message.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include "error_matchers.h"
#include "leap/npy.h"

namespace leap {
namespace {

namespace fs = std::filesystem;

// A version-1 .npy file: magic, version, header length, the dict padded to 64 bytes, data.
std::string npy_file(const std::string& dict, const std::string& data, int version = 1) {
  std::string header = dict;
  const size_t preamble = version == 1 ? 10 : 12;
  while ((preamble + header.size() + 1) % 64 != 0) header += ' ';
  header += '\n';
  std::string file = "\x93NUMPY";
  file += char(version);
  file += char(0);
  const uint32_t length = uint32_t(header.size());
  for (size_t i = 0; i < preamble - 8; ++i) file += char((length >> (8 * i)) & 0xff);
  return file + header + data;
}

template <typename T>
std::string raw(std::vector<T> values) {
  return std::string(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(T));
}

std::string write_file(const std::string& name, const std::string& bytes) {
  const fs::path path = fs::temp_directory_path() / ("leap_npy_" + std::to_string(::getpid()) + "_" + name);
  std::ofstream(path, std::ios::binary) << bytes;
  return path.string();
}

TEST(Npy, ReadsEachDtype) {
  const std::string f4 = write_file("f4.npy", npy_file("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }",
                                                        raw<float>({1, 2, 3, 4})));
  EXPECT_EQ(read_npy_features(f4).to_vector(), (std::vector<float>{1, 2, 3, 4}));
  const std::string f8 = write_file("f8.npy", npy_file("{'descr': '<f8', 'fortran_order': False, 'shape': (1, 2, 2), }",
                                                        raw<double>({0.5, 2, 3, 4}), 2));
  Tensor images = read_npy_features(f8);
  EXPECT_EQ(images.shape(), (Shape{1, 4}));
  EXPECT_EQ(images.to_vector()[0], 0.5f);
  const std::string u1 = write_file("u1.npy", npy_file("{'descr': '|u1', 'fortran_order': False, 'shape': (3,), }", std::string("\x01\x00\x09", 3)));
  EXPECT_EQ(read_npy_labels(u1).to_label_vector(), (std::vector<int32_t>{1, 0, 9}));
  const std::string i8 = write_file("i8.npy", npy_file("{'descr': '<i8', 'fortran_order': False, 'shape': (2,), }", raw<int64_t>({7, 3})));
  EXPECT_EQ(read_npy_labels(i8).to_label_vector(), (std::vector<int32_t>{7, 3}));
  for (const std::string& path : {f4, f8, u1, i8}) fs::remove(path);
}

TEST(Npy, RejectsMalformedFilesNamingWhatIsWrong) {
  const std::string good_data = raw<float>({1, 2, 3, 4});
  auto dict = [](const std::string& descr, const std::string& shape, const std::string& order = "False") {
    return "{'descr': '" + descr + "', 'fortran_order': " + order + ", 'shape': " + shape + ", }";
  };
  struct Case {
    std::string bytes;
    std::vector<std::string> words;
  };
  std::string long_header = npy_file(dict("<f4", "(2, 2)"), good_data);
  long_header[8] = char(0xff), long_header[9] = char(0x7f);
  const std::vector<Case> cases = {
      {"", {"does not start with \\x93NUMPY"}},
      {"PK\x03\x04", {"not a .npy file"}},
      {"\x93NUMPY\x01", {"shorter than a .npy preamble"}},
      {std::string("\x93NUMPY\x07\x00\x10\x00{}", 12), {"format version 7 at offset 6"}},
      {long_header, {"header length 32767 at offset 8 runs past the end"}},
      {npy_file(dict("|O", "(1,)"), "\x80\x04"), {"object array", "never unpickles"}},
      {npy_file(dict(">f4", "(2, 2)"), good_data), {"'>f4' is not little-endian"}},
      {npy_file(dict("<c8", "(2,)"), good_data), {"'<c8' is not supported", "f4, f8, u1, i4, i8"}},
      {npy_file(dict("<f4", "(2, 2)", "True"), good_data), {"Fortran"}},
      {npy_file(dict("<f4", "(2, 3)"), good_data), {"shape (2, 3) needs more than the 16 data bytes"}},
      {npy_file(dict("<f4", "(1, 2)"), good_data), {"16 data bytes", "the shape needs 8"}},
      {npy_file(dict("<f4", "(4294967296, 4294967296)"), good_data), {"shape (4294967296, 4294967296) needs more than the 16 data bytes"}},
      {npy_file(dict("<f4", "(99999999999999999999999, 1)"), good_data), {"a dimension overflows"}},
      {npy_file(dict("<f4", "(0, 2)"), ""), {"empty"}},
      {npy_file(dict("<f4", "(4,)"), good_data), {"features need an array of shape (samples, features...), found (4)"}},
      {npy_file("{'descr': '<f4', 'shape': (2, 2)}", good_data), {"lacks one of"}},
      {npy_file("{'descr': '<f4', 'fortran_order': Maybe, 'shape': (2, 2)}", good_data), {"malformed header at offset", "True or False"}},
      {npy_file("{'descr': '<f4', 'fortran_order': False, 'shape': (2, -2)}", good_data), {"expected a dimension"}},
      {npy_file("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), 'x': 1}", good_data), {"unknown header key 'x'"}},
      {npy_file("{'descr: '<f4'", good_data), {"malformed header"}},
      {npy_file("{", good_data).substr(0, 64), {"malformed header", "ends too early"}},
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    const std::string path = write_file("bad" + std::to_string(i) + ".npy", cases[i].bytes);
    std::vector<std::string> words = cases[i].words;
    words.push_back(path);
    expect_contains(error_of([&] { read_npy_features(path); }), words);
    fs::remove(path);
  }
}

TEST(Npy, LabelsMustBeOneDimensionalIntegers) {
  const std::string floats = write_file("fl.npy", npy_file("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", raw<float>({1, 2})));
  expect_contains(error_of([&] { read_npy_labels(floats); }), {"labels are floating point ('<f4')"});
  const std::string matrix = write_file("m.npy", npy_file("{'descr': '<i8', 'fortran_order': False, 'shape': (1, 2), }", raw<int64_t>({1, 2})));
  expect_contains(error_of([&] { read_npy_labels(matrix); }), {"one-dimensional", "(1, 2)"});
  const std::string negative = write_file("n.npy", npy_file("{'descr': '<i8', 'fortran_order': False, 'shape': (2,), }", raw<int64_t>({1, -4})));
  expect_contains(error_of([&] { read_npy_labels(negative); }), {"label -4 at index 1 is not a class index"});
  for (const std::string& path : {floats, matrix, negative}) fs::remove(path);
}

}  // namespace
}  // namespace leap
