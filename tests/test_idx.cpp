// IDX reading: valid plain and gzipped files, and every way a file can be wrong.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "error_matchers.h"
#include "leap/error.h"
#include "leap/idx.h"

namespace {

namespace fs = std::filesystem;
using Bytes = std::vector<uint8_t>;

void append_big_endian(Bytes& bytes, uint32_t value) {
  for (int shift = 24; shift >= 0; shift -= 8) bytes.push_back((value >> shift) & 0xff);
}

void append_little_endian(Bytes& bytes, uint32_t value, int width) {
  for (int i = 0; i < width; ++i) bytes.push_back((value >> (8 * i)) & 0xff);
}

Bytes image_file(uint32_t count, uint32_t rows, uint32_t cols, const Bytes& pixels) {
  Bytes bytes;
  for (uint32_t word : {0x00000803u, count, rows, cols}) append_big_endian(bytes, word);
  bytes.insert(bytes.end(), pixels.begin(), pixels.end());
  return bytes;
}

Bytes label_file(uint32_t count, const Bytes& labels) {
  Bytes bytes;
  for (uint32_t word : {0x00000801u, count}) append_big_endian(bytes, word);
  bytes.insert(bytes.end(), labels.begin(), labels.end());
  return bytes;
}

uint32_t crc32(const Bytes& bytes) {
  uint32_t crc = 0xffffffffu;
  for (uint8_t byte : bytes) {
    crc ^= byte;
    for (int bit = 0; bit < 8; ++bit) crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1u)));
  }
  return ~crc;
}

// A valid gzip member holding `data` in stored (uncompressed) deflate blocks, so the tests
// need no compressor of their own.
Bytes gzip_stored(const Bytes& data) {
  Bytes out = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff};
  size_t at = 0;
  do {
    const size_t size = std::min<size_t>(data.size() - at, 65535);
    const bool last = at + size == data.size();
    out.push_back(last ? 1 : 0);  // BFINAL, BTYPE 00 (stored)
    append_little_endian(out, static_cast<uint32_t>(size), 2);
    append_little_endian(out, static_cast<uint32_t>(~size & 0xffff), 2);
    out.insert(out.end(), data.begin() + at, data.begin() + at + size);
    at += size;
  } while (at < data.size());
  append_little_endian(out, crc32(data), 4);
  append_little_endian(out, static_cast<uint32_t>(data.size()), 4);
  return out;
}


class IdxTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* test = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ =
        fs::temp_directory_path() / ("leap_idx_" + std::to_string(::getpid()) + "_" + test->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string write(const std::string& name, const Bytes& bytes) {
    const std::string path = (dir_ / name).string();
    std::ofstream(path, std::ios::binary)
        .write(reinterpret_cast<const char*>(bytes.data()), static_cast<long>(bytes.size()));
    return path;
  }

  fs::path dir_;
};

const Bytes kPixels = {0, 255, 51, 102, 1, 2, 3, 4, 10, 20, 30, 40};  // 3 images of 2x2
const Bytes kLabels = {7, 0, 9};

TEST_F(IdxTest, PlainImagesAreScaledToUnitRange) {
  leap::Tensor images = leap::read_idx_images(write("images", image_file(3, 2, 2, kPixels)));
  ASSERT_EQ(images.shape(), (leap::Shape{3, 4}));
  EXPECT_EQ(images.dtype(), leap::DType::float32);
  EXPECT_EQ(images.device(), leap::Device::cpu);
  std::vector<float> values = images.to_vector();
  for (size_t i = 0; i < kPixels.size(); ++i) EXPECT_FLOAT_EQ(values[i], kPixels[i] / 255.0f);
  EXPECT_EQ(values[1], 1.0f);
}

TEST_F(IdxTest, PlainLabelsLoadAsInt32) {
  leap::Tensor labels = leap::read_idx_labels(write("labels", label_file(3, kLabels)));
  ASSERT_EQ(labels.shape(), (leap::Shape{3}));
  EXPECT_EQ(labels.dtype(), leap::DType::int32);
  EXPECT_EQ(labels.to_label_vector(), (std::vector<int32_t>{7, 0, 9}));
}

TEST_F(IdxTest, GzippedPairLoads) {
  leap::Dataset data =
      leap::load_idx_pair(write("images.gz", gzip_stored(image_file(3, 2, 2, kPixels))),
                          write("labels.gz", gzip_stored(label_file(3, kLabels))));
  EXPECT_EQ(data.size(), 3);
  EXPECT_EQ(data.features(), 4);
  EXPECT_EQ(data.classes, 10);
  EXPECT_FLOAT_EQ(data.images.to_vector()[3], 102 / 255.0f);
  EXPECT_EQ(data.labels.to_label_vector(), (std::vector<int32_t>{7, 0, 9}));
}

TEST_F(IdxTest, GzipIsDetectedByMagicNotByName) {
  leap::Tensor packed =
      leap::read_idx_images(write("images", gzip_stored(image_file(3, 2, 2, kPixels))));
  leap::Tensor plain = leap::read_idx_images(write("images.gz", image_file(3, 2, 2, kPixels)));
  EXPECT_EQ(packed.to_vector(), plain.to_vector());
}

TEST_F(IdxTest, LargeGzipSpanningManyBlocksAndMembers) {
  Bytes pixels(5 * 100 * 300);
  for (size_t i = 0; i < pixels.size(); ++i) pixels[i] = static_cast<uint8_t>(i * 7);
  Bytes whole = image_file(5, 100, 300, pixels);
  // Two gzip members back to back, as `cat a.gz b.gz` makes.
  Bytes first(whole.begin(), whole.begin() + 70000), second(whole.begin() + 70000, whole.end());
  Bytes packed = gzip_stored(first), tail = gzip_stored(second);
  packed.insert(packed.end(), tail.begin(), tail.end());
  std::vector<float> values = leap::read_idx_images(write("images.gz", packed)).to_vector();
  ASSERT_EQ(values.size(), pixels.size());
  for (size_t i = 0; i < pixels.size(); i += 997) EXPECT_FLOAT_EQ(values[i], pixels[i] / 255.0f);
}

TEST_F(IdxTest, TruncatedData) {
  Bytes whole = image_file(3, 2, 2, kPixels);
  Bytes bytes(whole.begin(), whole.end() - 5);
  const std::string path = write("images", bytes);
  EXPECT_THROW(leap::read_idx_images(path), leap::Error);
  expect_contains(error_of([&] { leap::read_idx_images(path); }),
                  {path, "truncated", "3 images of 2x2", "12 data bytes", "only 7"});
}

TEST_F(IdxTest, ShorterThanHeader) {
  Bytes image_start = image_file(3, 2, 2, {}), label_start = label_file(3, {});
  const std::string images = write("images", Bytes(image_start.begin(), image_start.begin() + 10));
  const std::string labels = write("labels", Bytes(label_start.begin(), label_start.begin() + 7));
  const std::string tiny = write("tiny", Bytes{0, 0, 8});
  expect_contains(error_of([&] { leap::read_idx_images(images); }),
                  {images, "10 bytes", "16-byte header"});
  expect_contains(error_of([&] { leap::read_idx_labels(labels); }),
                  {labels, "7 bytes", "8-byte header"});
  expect_contains(error_of([&] { leap::read_idx_labels(tiny); }),
                  {tiny, "3 bytes", "8-byte header"});
}

TEST_F(IdxTest, WrongMagicNamesFoundAndExpected) {
  const std::string labels = write("labels", label_file(3, kLabels));
  expect_contains(error_of([&] { leap::read_idx_images(labels); }),
                  {labels, "wrong magic", "found 0x00000801 (2049", "expected 0x00000803 (2051"});
  const std::string text = write("notes.txt", Bytes{'h', 'e', 'l', 'l', 'o', ' ', 'w', 'o', 'r'});
  expect_contains(error_of([&] { leap::read_idx_labels(text); }),
                  {text, "wrong magic", "not an IDX file"});
}

TEST_F(IdxTest, MismatchedImageAndLabelCounts) {
  const std::string images = write("images", image_file(3, 2, 2, kPixels));
  const std::string labels = write("labels", label_file(2, {1, 2}));
  expect_contains(error_of([&] { leap::load_idx_pair(images, labels); }),
                  {images, labels, "3 images", "2 labels"});
}

TEST_F(IdxTest, CorruptGzipIsNamed) {
  Bytes packed = gzip_stored(image_file(3, 2, 2, kPixels));

  Bytes bad_lengths = packed;
  bad_lengths[13] ^= 0xff;  // the stored block's one's-complement length
  const std::string lengths_path = write("lengths.gz", bad_lengths);
  expect_contains(error_of([&] { leap::read_idx_images(lengths_path); }),
                  {lengths_path, "corrupt gzip", "Z_DATA_ERROR"});

  Bytes bad_crc = packed;
  bad_crc[bad_crc.size() - 8] ^= 0x01;
  const std::string crc_path = write("crc.gz", bad_crc);
  expect_contains(error_of([&] { leap::read_idx_images(crc_path); }),
                  {crc_path, "corrupt gzip", "incorrect data check"});

  Bytes cut(packed.begin(), packed.end() - 6);
  const std::string cut_path = write("cut.gz", cut);
  expect_contains(error_of([&] { leap::read_idx_images(cut_path); }), {cut_path, "truncated gzip"});

  Bytes junk = packed;
  junk.insert(junk.end(), {'j', 'u', 'n', 'k'});
  const std::string junk_path = write("junk.gz", junk);
  expect_contains(error_of([&] { leap::read_idx_images(junk_path); }),
                  {junk_path, "4 trailing bytes after the gzip stream"});
}

TEST_F(IdxTest, AbsurdCountFailsBeforeAllocating) {
  // 16 bytes claiming 10^9 images of 28x28: 784 GB that must never be allocated.
  Bytes header = image_file(1000000000, 28, 28, {});
  const std::string plain = write("huge", header);
  const std::string packed = write("huge.gz", gzip_stored(header));
  for (const std::string& path : {plain, packed}) {
    expect_contains(error_of([&] { leap::read_idx_images(path); }),
                    {path, "truncated", "1000000000 images of 28x28", "only 0"});
  }
}

TEST_F(IdxTest, ZeroOrAbsurdDimensions) {
  const std::string zero = write("zero", image_file(3, 0, 2, {}));
  expect_contains(error_of([&] { leap::read_idx_images(zero); }),
                  {zero, "dimension 1 (rows", "is 0"});
  const std::string wide = write("wide", image_file(1, 0x80000000u, 2, {}));
  expect_contains(error_of([&] { leap::read_idx_images(wide); }),
                  {wide, "2147483648", "absurdly large"});
  const std::string big = write("big", image_file(1, 65536, 65536, {}));
  expect_contains(error_of([&] { leap::read_idx_images(big); }),
                  {big, "dimension 2 (columns", "absurdly many"});
  const std::string empty = write("empty", label_file(0, {}));
  expect_contains(error_of([&] { leap::read_idx_labels(empty); }), {empty, "is 0"});
}

TEST_F(IdxTest, TrailingBytes) {
  Bytes labels = label_file(3, kLabels);
  labels.push_back(5);
  labels.push_back(6);
  const std::string path = write("labels", labels);
  expect_contains(error_of([&] { leap::read_idx_labels(path); }),
                  {path, "2 trailing bytes at offset 11", "3 labels"});
}

TEST_F(IdxTest, LabelOutOfRange) {
  const std::string images = write("images", image_file(3, 2, 2, kPixels));
  const std::string labels = write("labels", label_file(3, {1, 10, 2}));
  expect_contains(error_of([&] { leap::load_idx_pair(images, labels); }),
                  {labels, "label 10 at index 1", "outside [0, 10)"});
  EXPECT_NO_THROW(leap::load_idx_pair(images, labels, 11));
}

TEST_F(IdxTest, MissingFile) {
  const std::string path = (dir_ / "absent").string();
  EXPECT_THROW(leap::read_idx_labels(path), leap::Error);
  expect_contains(error_of([&] { leap::read_idx_labels(path); }), {path, "does not exist"});
  expect_contains(error_of([&] { leap::read_idx_images(dir_.string()); }),
                  {dir_.string(), "is a directory"});
}

TEST_F(IdxTest, MnistDirectoryMixesPlainAndGzip) {
  write("train-images-idx3-ubyte", image_file(3, 2, 2, kPixels));
  write("train-labels-idx1-ubyte.gz", gzip_stored(label_file(3, kLabels)));
  write("t10k-images-idx3-ubyte.gz", gzip_stored(image_file(1, 2, 2, {9, 9, 9, 9})));
  write("t10k-labels-idx1-ubyte", label_file(1, {4}));
  leap::MnistSplits splits = leap::load_mnist_dir(dir_.string());
  EXPECT_EQ(splits.train.size(), 3);
  EXPECT_EQ(splits.test.size(), 1);
  EXPECT_EQ(splits.test.labels.to_label_vector(), (std::vector<int32_t>{4}));
}

TEST_F(IdxTest, MnistDirectoryMissingFileNamesWhatWasTried) {
  write("train-images-idx3-ubyte", image_file(3, 2, 2, kPixels));
  write("train-labels-idx1-ubyte", label_file(3, kLabels));
  expect_contains(error_of([&] { leap::load_mnist_dir(dir_.string()); }),
                  {dir_.string(), "t10k-images-idx3-ubyte or t10k-images-idx3-ubyte.gz"});
}

TEST_F(IdxTest, MnistDirectoryFeatureMismatch) {
  write("train-images-idx3-ubyte", image_file(3, 2, 2, kPixels));
  write("train-labels-idx1-ubyte", label_file(3, kLabels));
  write("t10k-images-idx3-ubyte", image_file(1, 3, 3, Bytes(9, 1)));
  write("t10k-labels-idx1-ubyte", label_file(1, {4}));
  expect_contains(error_of([&] { leap::load_mnist_dir(dir_.string()); }),
                  {dir_.string(), "4 pixels", "9"});
}

TEST(IdxDataDir, EnvironmentOverridesDefault) {
  const char* saved = std::getenv("LEAP_DATA_DIR");
  const std::string previous = saved ? saved : "";
  ::unsetenv("LEAP_DATA_DIR");
  EXPECT_EQ(leap::default_data_dir(), "/usr/share/datasets/fashion-mnist");
  ::setenv("LEAP_DATA_DIR", "/somewhere/else", 1);
  EXPECT_EQ(leap::default_data_dir(), "/somewhere/else");
  if (saved) {
    ::setenv("LEAP_DATA_DIR", previous.c_str(), 1);
  } else {
    ::unsetenv("LEAP_DATA_DIR");
  }
}

TEST(IdxDataDir, RealFashionMnistWhenInstalled) {
  const std::string dir = leap::default_data_dir();
  if (!fs::exists(fs::path(dir) / "train-images-idx3-ubyte.gz") &&
      !fs::exists(fs::path(dir) / "train-images-idx3-ubyte")) {
    GTEST_SKIP() << "no MNIST files in " << dir;
  }
  leap::MnistSplits splits = leap::load_mnist_dir(dir);
  EXPECT_EQ(splits.train.size(), 60000);
  EXPECT_EQ(splits.test.size(), 10000);
  EXPECT_EQ(splits.train.features(), 784);
}

}  // namespace
