#include "leap/idx.h"

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

#include "io/file_bytes.h"
#include "leap/error.h"

namespace leap {
namespace {

using Bytes = std::vector<uint8_t>;

constexpr uint32_t kImagesMagic = 0x00000803;  // unsigned bytes, 3 dimensions
constexpr uint32_t kLabelsMagic = 0x00000801;  // unsigned bytes, 1 dimension
// Counts and widths reach the backends as int, so larger extents cannot be real.
constexpr uint64_t kMaxExtent = std::numeric_limits<int32_t>::max();
// Deflate never expands data more than 1032:1; more output than that is a corrupt stream.
constexpr size_t kDeflateMaxRatio = 1032;
constexpr size_t kInflateSlack = size_t{1} << 16;
// zlib counts in uInt (32 bits): feed and drain it in pieces no larger than this.
constexpr size_t kZlibChunk = size_t{1} << 30;

bool is_gzip(const Bytes& bytes) {
  return bytes.size() >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b;
}

std::string zlib_code_name(int code) {
  switch (code) {
    case Z_DATA_ERROR: return "Z_DATA_ERROR";
    case Z_MEM_ERROR: return "Z_MEM_ERROR";
    case Z_BUF_ERROR: return "Z_BUF_ERROR";
    case Z_STREAM_ERROR: return "Z_STREAM_ERROR";
    case Z_NEED_DICT: return "Z_NEED_DICT";
    case Z_VERSION_ERROR: return "Z_VERSION_ERROR";
    default: return "zlib code " + std::to_string(code);
  }
}

// Owns a zlib inflate stream so every exit path frees it.
class Inflater {
 public:
  explicit Inflater(const std::string& path) {
    // 16 + MAX_WBITS: expect a gzip wrapper and check its CRC and length.
    int code = inflateInit2(&stream_, 16 + MAX_WBITS);
    check(code == Z_OK, path + ": cannot start zlib (" + zlib_code_name(code) + ")");
  }
  ~Inflater() { inflateEnd(&stream_); }
  Inflater(const Inflater&) = delete;
  Inflater& operator=(const Inflater&) = delete;
  z_stream& stream() { return stream_; }

 private:
  z_stream stream_{};
};

// The buffer to inflate into first: the size a gzip stream states in its last 4 bytes
// (ISIZE, the last member's size modulo 2^32, so a guess the loop below grows past when
// wrong) where it is believable, else 4 times the packed size. A guess too large costs its
// zeroing: 4 times Fashion-MNIST's training images was 105 MB for 47.
size_t first_size_guess(const Bytes& packed) {
  const size_t n = packed.size(), fallback = std::max<size_t>(n * 4, size_t{1} << 20);
  if (n < 4) return fallback;
  const size_t stated = size_t(packed[n - 4]) | size_t(packed[n - 3]) << 8 | size_t(packed[n - 2]) << 16 |
                        size_t(packed[n - 1]) << 24;
  const bool believable = stated > 0 && stated <= 64 * n + (size_t{1} << 20);  // a file's word is not trusted blindly
  return believable ? stated + 1 : fallback;  // + 1: room to see the stream's end without growing
}

// Decompresses a gzip file (one or more members) in chunks into a growing buffer, never
// past what deflate could produce from `packed`.
Bytes gunzip(const Bytes& packed, const std::string& path) {
  const size_t cap = packed.size() * kDeflateMaxRatio + kInflateSlack;
  Inflater inflater(path);
  z_stream& stream = inflater.stream();
  Bytes out(std::min(cap, first_size_guess(packed)));
  size_t fed = 0, produced = 0;
  auto consumed = [&] { return fed - stream.avail_in; };
  for (;;) {
    if (stream.avail_in == 0 && fed < packed.size()) {
      stream.next_in = const_cast<Bytef*>(packed.data() + fed);
      stream.avail_in = static_cast<uInt>(std::min(packed.size() - fed, kZlibChunk));
      fed += stream.avail_in;
    }
    if (produced == out.size()) {
      check(out.size() < cap, path + ": gzip data expands past " + std::to_string(cap) +
                                  " bytes, more than deflate allows for " +
                                  std::to_string(packed.size()) + " compressed bytes (corrupt)");
      out.resize(std::min(cap, out.size() * 2));
    }
    stream.next_out = out.data() + produced;
    stream.avail_out = static_cast<uInt>(std::min(out.size() - produced, kZlibChunk));
    const uInt room = stream.avail_out;
    int code = inflate(&stream, Z_NO_FLUSH);
    produced += room - stream.avail_out;
    if (code == Z_STREAM_END) {
      if (consumed() == packed.size()) break;
      // Another gzip member may follow (as `cat a.gz b.gz` makes); anything else is junk.
      size_t at = consumed();
      check(at + 1 < packed.size() && packed[at] == 0x1f && packed[at + 1] == 0x8b,
            path + ": " + std::to_string(packed.size() - at) +
                " trailing bytes after the gzip stream at compressed offset " + std::to_string(at));
      inflateReset(&stream);
      continue;
    }
    if (code == Z_BUF_ERROR && stream.avail_in == 0 && fed == packed.size()) {
      throw Error(path + ": truncated gzip data: the stream ends at compressed offset " +
                  std::to_string(consumed()) + " before its end marker");
    }
    if (code != Z_OK && code != Z_BUF_ERROR) {
      throw Error(path + ": corrupt gzip data near compressed offset " +
                  std::to_string(consumed()) + ": " + zlib_code_name(code) +
                  (stream.msg ? std::string(" (") + stream.msg + ")" : std::string()));
    }
  }
  out.resize(produced);
  return out;
}

// The file's bytes, decompressed when it starts with the gzip magic.
Bytes read_idx_bytes(const std::string& path) {
  Bytes bytes = read_file_bytes(path, "an IDX file");
  return is_gzip(bytes) ? gunzip(bytes, path) : bytes;
}

uint32_t read_big_endian_u32(const Bytes& bytes, size_t offset) {
  return (uint32_t{bytes[offset]} << 24) | (uint32_t{bytes[offset + 1]} << 16) |
         (uint32_t{bytes[offset + 2]} << 8) | uint32_t{bytes[offset + 3]};
}

std::string hex32(uint32_t value) {
  static const char digits[] = "0123456789abcdef";
  std::string text = "0x";
  for (int shift = 28; shift >= 0; shift -= 4) text += digits[(value >> shift) & 0xf];
  return text;
}

std::string describe_magic(uint32_t magic) {
  std::string text = hex32(magic) + " (" + std::to_string(magic);
  if (magic == kImagesMagic) return text + ": an IDX image file)";
  if (magic == kLabelsMagic) return text + ": an IDX label file)";
  if ((magic >> 16) != 0) return text + ": not an IDX file)";
  return text + ": IDX element type " + hex32((magic >> 8) & 0xff).substr(8) + ", " +
         std::to_string(magic & 0xff) + " dimensions)";
}

// Checks magic, dimensions and that exactly the implied amount of data follows the header;
// returns the dimensions. Runs before anything sized by the header is allocated.
std::vector<uint64_t> parse_idx_header(const Bytes& bytes, const std::string& path,
                                       uint32_t expected_magic, const char* kind,
                                       const std::vector<const char*>& dim_names) {
  const size_t header_size = 4 + 4 * dim_names.size();
  const std::string too_short = path + ": " + std::to_string(bytes.size()) +
                                " bytes, shorter than the " + std::to_string(header_size) +
                                "-byte header of an IDX " + kind + " file";
  check(bytes.size() >= 4, too_short);
  // The magic first: a label file passed as images is better told so than "too short".
  uint32_t magic = read_big_endian_u32(bytes, 0);
  check(magic == expected_magic, path + ": wrong magic at offset 0: found " +
                                     describe_magic(magic) + ", expected " +
                                     describe_magic(expected_magic));
  check(bytes.size() >= header_size, too_short);
  std::vector<uint64_t> dims;
  uint64_t per_sample = 1;  // each factor and the product stay below 2^31: no overflow
  for (size_t i = 0; i < dim_names.size(); ++i) {
    uint64_t extent = read_big_endian_u32(bytes, 4 + 4 * i);
    std::string where = path + ": header dimension " + std::to_string(i) + " (" + dim_names[i] +
                        ", offset " + std::to_string(4 + 4 * i) + ") ";
    check(extent > 0, where + "is 0");
    check(extent <= kMaxExtent, where + "is " + std::to_string(extent) + ", absurdly large");
    if (i > 0) per_sample *= extent;
    check(per_sample <= kMaxExtent, where + "makes " + std::to_string(per_sample) + " values per " +
                                        kind + ", absurdly many");
    dims.push_back(extent);
  }
  const uint64_t data_size = dims[0] * per_sample;
  std::string claim = "header says " + std::to_string(dims[0]) + " " + kind + "s";
  if (dims.size() == 3) claim += " of " + std::to_string(dims[1]) + "x" + std::to_string(dims[2]);
  claim += " (" + std::to_string(data_size) + " data bytes after the " +
           std::to_string(header_size) + "-byte header)";
  const uint64_t actual = bytes.size() - header_size;
  check(actual >= data_size,
        path + ": truncated: " + claim + " but only " + std::to_string(actual) + " follow");
  check(actual == data_size, path + ": " + std::to_string(actual - data_size) +
                                 " trailing bytes at offset " +
                                 std::to_string(header_size + data_size) + ": " + claim);
  return dims;
}

std::string find_mnist_file(const std::string& dir, const std::string& name) {
  namespace fs = std::filesystem;
  for (const std::string& candidate : {name, name + ".gz"}) {
    fs::path path = fs::path(dir) / candidate;
    if (fs::exists(path)) return path.string();
  }
  std::string why = fs::is_directory(dir) ? "" : " (the directory does not exist)";
  throw Error(dir + ": no " + name + " or " + name + ".gz" + why +
              "; set LEAP_DATA_DIR to a directory holding the MNIST files");
}

}  // namespace

Tensor read_idx_images(const std::string& path) {
  Bytes bytes = read_idx_bytes(path);
  std::vector<uint64_t> dims =
      parse_idx_header(bytes, path, kImagesMagic, "image", {"images", "rows", "columns"});
  const int64_t count = static_cast<int64_t>(dims[0]);
  const int64_t features = static_cast<int64_t>(dims[1] * dims[2]);
  Tensor images({count, features}, DType::float32, Device::cpu);
  const uint8_t* pixels = bytes.data() + 16;
  float* values = images.data();
  const int64_t total = count * features;
  // u / 255 for each byte value, computed once: the same floats as dividing each pixel.
  float scaled[256];
  for (int u = 0; u < 256; ++u) scaled[u] = static_cast<float>(u) / 255.0f;
#pragma omp parallel for simd if (total > (int64_t{1} << 20))
  for (int64_t i = 0; i < total; ++i) values[i] = scaled[pixels[i]];
  return images;
}

Tensor read_idx_labels(const std::string& path) {
  Bytes bytes = read_idx_bytes(path);
  std::vector<uint64_t> dims = parse_idx_header(bytes, path, kLabelsMagic, "label", {"labels"});
  const int64_t count = static_cast<int64_t>(dims[0]);
  Tensor labels({count}, DType::int32, Device::cpu);
  std::copy(bytes.begin() + 8, bytes.end(), labels.labels());
  return labels;
}

Dataset load_idx_pair(const std::string& images_path, const std::string& labels_path, int classes) {
  check(classes > 0,
        labels_path + ": class count must be positive, got " + std::to_string(classes));
  Dataset data{read_idx_images(images_path), read_idx_labels(labels_path), classes, {}};
  check(data.images.dim(0) == data.labels.dim(0),
        images_path + " has " + std::to_string(data.images.dim(0)) + " images but " + labels_path +
            " has " + std::to_string(data.labels.dim(0)) + " labels");
  const int32_t* labels = data.labels.labels();
  for (int64_t i = 0; i < data.labels.dim(0); ++i) {
    check(labels[i] >= 0 && labels[i] < classes,
          labels_path + ": label " + std::to_string(labels[i]) + " at index " + std::to_string(i) +
              " (offset " + std::to_string(8 + i) + ") is outside [0, " + std::to_string(classes) +
              ")");
  }
  return data;
}

MnistSplits load_mnist_dir(const std::string& dir) {
  // Look for all four before loading any, so a missing file is reported at once.
  const std::string train_images = find_mnist_file(dir, "train-images-idx3-ubyte");
  const std::string train_labels = find_mnist_file(dir, "train-labels-idx1-ubyte");
  const std::string test_images = find_mnist_file(dir, "t10k-images-idx3-ubyte");
  const std::string test_labels = find_mnist_file(dir, "t10k-labels-idx1-ubyte");
  MnistSplits splits;
  splits.train = load_idx_pair(train_images, train_labels);
  splits.test = load_idx_pair(test_images, test_labels);
  check(splits.train.features() == splits.test.features(),
        dir + ": train images have " + std::to_string(splits.train.features()) +
            " pixels each but test images have " + std::to_string(splits.test.features()));
  return splits;
}

std::string default_data_dir() {
  const char* override_dir = std::getenv("LEAP_DATA_DIR");
  if (override_dir && *override_dir) return override_dir;
  return "/usr/share/datasets/fashion-mnist";
}

}  // namespace leap
