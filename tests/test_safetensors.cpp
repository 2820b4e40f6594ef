// safetensors: round trips, hand-made files from other writers, damaged files, atomic saves.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <string>
#include <vector>

#include "error_matchers.h"
#include "leap/error.h"
#include "leap/safetensors.h"

namespace {

namespace fs = std::filesystem;


std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// A safetensors file as another writer would make it: header JSON, then raw data.
std::string safetensors_bytes(const std::string& header, const std::string& data) {
  std::string bytes(8, '\0');
  uint64_t size = header.size();
  std::memcpy(bytes.data(), &size, 8);  // the tests run on little-endian hosts only
  return bytes + header + data;
}

template <typename T>
std::string raw(const std::vector<T>& values) {
  return std::string(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(T));
}

class SafetensorsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* test = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() /
           ("leap_safetensors_" + std::to_string(::getpid()) + "_" + test->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string path(const std::string& name) const { return (dir_ / name).string(); }

  std::string write(const std::string& name, const std::string& bytes) {
    std::ofstream(path(name), std::ios::binary)
        .write(bytes.data(), static_cast<long>(bytes.size()));
    return path(name);
  }

  leap::TensorMap sample() const {
    return {
        {"fc1.weight",
         leap::Tensor::from_vector({2, 3}, std::vector<float>{1, -2, 3.5f, 0, 1e-7f, -1e30f})},
        {"fc1.bias", leap::Tensor::from_vector({3}, std::vector<float>{0.25f, 0.5f, 0.75f})},
        {"scale", leap::Tensor::from_vector({}, std::vector<float>{42})},
        {"empty", leap::Tensor::zeros({0, 4})},
        {"steps", leap::Tensor::from_vector({2, 2}, std::vector<int32_t>{1, -1, 2147483647, -7})},
    };
  }

  fs::path dir_;
};

TEST_F(SafetensorsTest, RoundTripWithMetadata) {
  const std::string file = path("model.safetensors");
  leap::TensorMap saved = sample();
  leap::save_safetensors(file, saved, {{"format", "pt"}, {"epoch", "3"}});
  EXPECT_FALSE(fs::exists(file + ".tmp"));

  std::map<std::string, std::string> metadata;
  leap::TensorMap loaded = leap::load_safetensors(file, &metadata);
  EXPECT_EQ(metadata, (std::map<std::string, std::string>{{"format", "pt"}, {"epoch", "3"}}));
  ASSERT_EQ(loaded.size(), saved.size());
  for (const auto& [name, tensor] : saved) {
    SCOPED_TRACE(name);
    const leap::Tensor& back = loaded.at(name);
    EXPECT_EQ(back.shape(), tensor.shape());
    EXPECT_EQ(back.dtype(), tensor.dtype());
    if (tensor.dtype() == leap::DType::float32) {
      EXPECT_EQ(back.to_vector(), tensor.to_vector());
    } else {
      EXPECT_EQ(back.to_label_vector(), tensor.to_label_vector());
    }
  }

  // The data section starts 8-byte aligned and the file holds nothing past the tensors.
  const std::string bytes = read_bytes(file);
  uint64_t header_size = 0;
  std::memcpy(&header_size, bytes.data(), 8);
  EXPECT_EQ(header_size % 8, 0u);
  EXPECT_EQ(bytes.size(), 8 + header_size + (6 + 3 + 1 + 0 + 4) * 4);
}

TEST_F(SafetensorsTest, SaveOverwritesAndLeavesNoTemporary) {
  const std::string file = path("model.safetensors");
  leap::save_safetensors(file, sample());
  leap::save_safetensors(file, {{"only", leap::Tensor::from_vector({1}, std::vector<float>{5})}});
  std::map<std::string, std::string> metadata{{"stale", "yes"}};
  leap::TensorMap loaded = leap::load_safetensors(file, &metadata);
  EXPECT_TRUE(metadata.empty());
  ASSERT_EQ(loaded.size(), 1u);
  EXPECT_EQ(loaded.at("only").to_vector(), std::vector<float>{5});
  EXPECT_EQ(std::distance(fs::directory_iterator(dir_), fs::directory_iterator()), 1);
}

TEST_F(SafetensorsTest, RowViewsSaveTheirOwnRows) {
  const std::string file = path("rows.safetensors");
  leap::Tensor table = leap::Tensor::from_vector({3, 2}, std::vector<float>{1, 2, 3, 4, 5, 6});
  leap::save_safetensors(file, {{"middle", table.rows(1, 2)}});
  EXPECT_EQ(leap::load_safetensors(file).at("middle").to_vector(), (std::vector<float>{3, 4}));
}

TEST_F(SafetensorsTest, ReadsWideAndHalfTypesFromOtherWriters) {
  std::string header = R"({"__metadata__":{"source":"numpy"},)"
                       R"("d":{"dtype":"F64","shape":[3],"data_offsets":[0,24]},)"
                       R"("q":{"dtype":"I64","shape":[1,2],"data_offsets":[24,40]},)"
                       R"("h":{"dtype":"F16","shape":[5],"data_offsets":[40,50]},)"
                       R"("b":{"dtype":"BF16","shape":[2],"data_offsets":[50,54]}})";
  header.append((8 - header.size() % 8) % 8, ' ');
  const std::string data = raw(std::vector<double>{0.5, -1.25, 1e300}) +
                           raw(std::vector<int64_t>{-2147483648LL, 2147483647LL}) +
                           raw(std::vector<uint16_t>{0x3c00, 0xc000, 0x3555, 0x0001, 0x7c00}) +
                           raw(std::vector<uint16_t>{0x3f80, 0xc040});
  std::map<std::string, std::string> metadata;
  leap::TensorMap loaded = leap::load_safetensors(
      write("other.safetensors", safetensors_bytes(header, data)), &metadata);
  EXPECT_EQ(metadata.at("source"), "numpy");
  std::vector<float> d = loaded.at("d").to_vector();
  EXPECT_EQ(d[0], 0.5f);
  EXPECT_EQ(d[1], -1.25f);
  EXPECT_TRUE(std::isinf(d[2]));
  EXPECT_EQ(loaded.at("q").shape(), (leap::Shape{1, 2}));
  EXPECT_EQ(loaded.at("q").dtype(), leap::DType::int32);
  EXPECT_EQ(loaded.at("q").to_label_vector(), (std::vector<int32_t>{-2147483647 - 1, 2147483647}));
  std::vector<float> h = loaded.at("h").to_vector();
  EXPECT_EQ(h[0], 1.0f);
  EXPECT_EQ(h[1], -2.0f);
  EXPECT_NEAR(h[2], 1.0f / 3.0f, 1e-3f);
  EXPECT_EQ(h[3], std::ldexp(1.0f, -24));  // the smallest subnormal half
  EXPECT_TRUE(std::isinf(h[4]));
  EXPECT_EQ(loaded.at("b").to_vector(), (std::vector<float>{1.0f, -3.0f}));
}

TEST_F(SafetensorsTest, I64ThatDoesNotFitIsAnError) {
  const std::string header = R"({"big":{"dtype":"I64","shape":[2],"data_offsets":[0,16]}})";
  const std::string file =
      write("big.safetensors", safetensors_bytes(header, raw(std::vector<int64_t>{1, 1LL << 40})));
  expect_contains(error_of([&] { leap::load_safetensors(file); }),
                  {file, "'big'", "1099511627776", "index 1", "does not fit"});
}

TEST_F(SafetensorsTest, TruncatedFile) {
  const std::string file = path("model.safetensors");
  leap::save_safetensors(file, sample());
  fs::resize_file(file, fs::file_size(file) - 6);
  EXPECT_THROW(leap::load_safetensors(file), leap::Error);
  expect_contains(error_of([&] { leap::load_safetensors(file); }),
                  {file, "tensor '", "outside the data section"});
  fs::resize_file(file, 5);
  expect_contains(error_of([&] { leap::load_safetensors(file); }),
                  {file, "5 bytes", "8-byte header length"});
}

TEST_F(SafetensorsTest, HeaderLengthBeyondFile) {
  const std::string header = R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})";
  std::string bytes = safetensors_bytes(header, raw(std::vector<float>{1}));
  const uint64_t claimed = 1000;
  std::memcpy(bytes.data(), &claimed, 8);
  const std::string file = write("long.safetensors", bytes);
  expect_contains(error_of([&] { leap::load_safetensors(file); }),
                  {file, "header length 1000", "runs past the end"});
  const uint64_t absurd = uint64_t{1} << 60;
  std::memcpy(bytes.data(), &absurd, 8);
  const std::string huge = write("huge.safetensors", bytes);
  expect_contains(error_of([&] { leap::load_safetensors(huge); }),
                  {huge, "header length 1152921504606846976", "exceeds"});
}

TEST_F(SafetensorsTest, BadJson) {
  const std::string file =
      write("bad.safetensors", safetensors_bytes(R"({"a": {"dtype": "F32", )", ""));
  expect_contains(error_of([&] { leap::load_safetensors(file); }), {file, "not valid JSON"});
  const std::string list = write("list.safetensors", safetensors_bytes("[1, 2]", ""));
  expect_contains(error_of([&] { leap::load_safetensors(list); }), {list, "not a JSON object"});
}

TEST_F(SafetensorsTest, OffsetsOutOfRange) {
  const std::string data = raw(std::vector<float>{1, 2});
  const std::string past =
      write("past.safetensors",
            safetensors_bytes(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})", data));
  expect_contains(error_of([&] { leap::load_safetensors(past); }),
                  {past, "tensor 'w'", "[4, 12]", "outside the data section of 8 bytes"});
  const std::string reversed =
      write("reversed.safetensors",
            safetensors_bytes(R"({"w":{"dtype":"F32","shape":[0],"data_offsets":[8,0]}})", data));
  expect_contains(error_of([&] { leap::load_safetensors(reversed); }),
                  {reversed, "tensor 'w'", "outside the data section"});
  const std::string mismatch = write(
      "mismatch.safetensors",
      safetensors_bytes(R"({"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", data + data));
  expect_contains(error_of([&] { leap::load_safetensors(mismatch); }),
                  {mismatch, "tensor 'w'", "span 8 bytes", "[3] of F32 needs 12"});
  const std::string overflow = write(
      "overflow.safetensors",
      safetensors_bytes(
          R"({"w":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,8]}})", data));
  expect_contains(error_of([&] { leap::load_safetensors(overflow); }),
                  {overflow, "tensor 'w'", "needs more than the 8 bytes"});
}

TEST_F(SafetensorsTest, MalformedEntries) {
  const std::string data = raw(std::vector<float>{1, 2});
  struct Case {
    const char* header;
    const char* words;
  };
  for (const Case& c : {
           Case{R"({"w":{"dtype":"F32","data_offsets":[0,8]}})", "lacks \"shape\""},
           Case{R"({"w":{"dtype":"Q7","shape":[2],"data_offsets":[0,8]}})",
                "unsupported dtype \"Q7\""},
           Case{R"({"w":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})",
                "not a non-negative integer"},
           Case{R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0]}})", "not [begin, end]"},
           Case{R"({"w":[1,2]})", "not an object"},
           Case{R"({"__metadata__":{"n":3}})", "not a string"},
       }) {
    const std::string file = write("case.safetensors", safetensors_bytes(c.header, data));
    expect_contains(error_of([&] { leap::load_safetensors(file); }), {file, c.words});
  }
}

TEST_F(SafetensorsTest, SaveIntoMissingDirectoryFails) {
  const std::string file = path("no/such/dir/model.safetensors");
  expect_contains(error_of([&] { leap::save_safetensors(file, sample()); }),
                  {file + ".tmp", "cannot create", "No such file or directory"});
  EXPECT_FALSE(fs::exists(path("no")));
}

TEST_F(SafetensorsTest, FailedSaveLeavesExistingFileUntouched) {
  const std::string file = path("model.safetensors");
  leap::save_safetensors(file, sample(), {{"version", "good"}});
  const std::string good = read_bytes(file);

  // A tensor that cannot be written: nothing is created.
  leap::TensorMap broken = sample();
  broken["hole"] = leap::Tensor();
  expect_contains(error_of([&] { leap::save_safetensors(file, broken); }), {file, "'hole'"});
  EXPECT_EQ(read_bytes(file), good);
  EXPECT_FALSE(fs::exists(file + ".tmp"));

  // The temporary cannot be created: the target is never opened.
  fs::create_directory(file + ".tmp");
  EXPECT_THROW(leap::save_safetensors(file, sample()), leap::Error);
  EXPECT_EQ(read_bytes(file), good);
  EXPECT_TRUE(fs::is_directory(file + ".tmp"));  // not ours to remove
  fs::remove(file + ".tmp");

  // The final rename fails (the target is a non-empty directory): the temporary is removed.
  const std::string blocked = path("blocked");
  fs::create_directories(fs::path(blocked) / "inside");
  expect_contains(error_of([&] { leap::save_safetensors(blocked, sample()); }),
                  {blocked, "cannot rename"});
  EXPECT_FALSE(fs::exists(blocked + ".tmp"));
  std::map<std::string, std::string> metadata;
  leap::load_safetensors(file, &metadata);
  EXPECT_EQ(metadata.at("version"), "good");
}

TEST_F(SafetensorsTest, RequireChecksPresenceAndShape) {
  leap::TensorMap tensors = sample();
  EXPECT_EQ(leap::require(tensors, "fc1.bias", {3}, "m.safetensors").to_vector()[2], 0.75f);
  expect_contains(error_of([&] {
                    leap::require(tensors, "fc2.weight", {10, 3}, "m.safetensors");
                  }),
                  {"m.safetensors", "'fc2.weight'", "[10, 3]", "missing", "fc1.weight"});
  expect_contains(error_of([&] {
                    leap::require(tensors, "fc1.weight", {3, 2}, "m.safetensors");
                  }),
                  {"m.safetensors", "'fc1.weight'", "has shape [2, 3]", "expected [3, 2]"});
}

// Files cross between leap and python/safetensors_io.py (the stand-in for the
// official library) in both directions.
TEST_F(SafetensorsTest, PythonWriterAndReaderAgree) {
  if (std::system("/usr/bin/python3 -c 'import numpy' >/dev/null 2>&1") != 0) {
    GTEST_SKIP() << "no /usr/bin/python3 with numpy";
  }
  const std::string from_leap = path("leap.safetensors");
  const std::string from_python = path("python.safetensors");
  leap::save_safetensors(from_leap, sample(), {{"by", "leap"}});
  const std::string script =
      "import sys; sys.path.insert(0, '" LEAP_SOURCE_DIR
      "/python')\n"
      "import numpy as np, safetensors_io as st\n"
      "t, m = st.load_file('" +
      from_leap +
      "', with_metadata=True)\n"
      "assert m == {'by': 'leap'}, m\n"
      "assert t['fc1.weight'].dtype == np.float32 and t['fc1.weight'].shape == (2, 3)\n"
      "assert t['steps'].dtype == np.int32 and t['steps'][1, 0] == 2147483647\n"
      "assert t['scale'].shape == () and t['empty'].shape == (0, 4)\n"
      "t['twice'] = (t['fc1.weight'] * 2).astype(np.float64)\n"
      "t['count'] = np.array([5, -6], dtype=np.int64)\n"
      "st.save_file(t, '" +
      from_python + "', {'by': 'python'})\n";
  const std::string script_path = write("check.py", script);
  ASSERT_EQ(std::system(("/usr/bin/python3 " + script_path).c_str()), 0);
  std::map<std::string, std::string> metadata;
  leap::TensorMap loaded = leap::load_safetensors(from_python, &metadata);
  EXPECT_EQ(metadata.at("by"), "python");
  EXPECT_EQ(loaded.at("twice").to_vector(), (std::vector<float>{2, -4, 7, 0, 2e-7f, -2e30f}));
  EXPECT_EQ(loaded.at("count").to_label_vector(), (std::vector<int32_t>{5, -6}));
  EXPECT_EQ(loaded.at("steps").to_label_vector(), sample().at("steps").to_label_vector());
}

}  // namespace

namespace {

TEST_F(SafetensorsTest, HeaderListsEveryDtypeInDataOrderWithoutLoading) {
  std::string header = R"({"__metadata__":{"spec":"4-3"},)"
                       R"("z.weight":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]},)"
                       R"("a.mask":{"dtype":"U8","shape":[5],"data_offsets":[24,29]}})";
  const std::string file =
      write("mixed.safetensors", safetensors_bytes(header, std::string(29, '\0')));
  const leap::SafetensorsHeader info = leap::read_safetensors_header(file);
  ASSERT_EQ(info.tensors.size(), 2u);
  EXPECT_EQ(info.tensors[0].name, "z.weight");  // data order, not name order
  EXPECT_EQ(info.tensors[0].dtype, "F32");
  EXPECT_EQ(info.tensors[0].shape, (leap::Shape{2, 3}));
  EXPECT_EQ(info.tensors[0].numel, 6u);
  EXPECT_EQ(info.tensors[1].dtype, "U8");
  EXPECT_EQ(info.tensors[1].end - info.tensors[1].begin, 5u);
  EXPECT_EQ(info.metadata.at("spec"), "4-3");
  EXPECT_EQ(info.header_bytes, header.size());
  // Listing is not loading: U8 is a safetensors dtype that leap does not convert.
  expect_contains(error_of([&] { leap::load_safetensors(file); }), {"a.mask", "unsupported dtype \"U8\""});
}

}  // namespace
