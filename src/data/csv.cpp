#include "leap/csv.h"

#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string_view>
#include <vector>

#include "io/file_bytes.h"
#include "leap/error.h"

namespace leap {
namespace {

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\r'))
    text.remove_suffix(1);
  return text;
}

// Walks the file line by line, counting lines (1-based) for messages.
class Lines {
 public:
  explicit Lines(std::string_view text) : text_(text) {}
  bool next(std::string_view& line) {
    while (position_ < text_.size()) {
      size_t end = text_.find('\n', position_);
      if (end == std::string_view::npos) end = text_.size();
      line = text_.substr(position_, end - position_);
      position_ = end + 1;
      ++number_;
      if (!trim(line).empty()) return true;  // blank lines carry no sample
    }
    return false;
  }
  int64_t number() const { return number_; }

 private:
  std::string_view text_;
  size_t position_ = 0;
  int64_t number_ = 0;
};

std::vector<std::string_view> split_fields(std::string_view line) {
  std::vector<std::string_view> fields;
  size_t start = 0;
  for (;;) {
    size_t comma = line.find(',', start);
    fields.push_back(trim(line.substr(start, comma == std::string_view::npos ? comma : comma - start)));
    if (comma == std::string_view::npos) return fields;
    start = comma + 1;
  }
}

std::string_view unquote(std::string_view name) {
  if (name.size() >= 2 && name.front() == '"' && name.back() == '"') return name.substr(1, name.size() - 2);
  return name;
}

// Printable excerpts only: a binary file's bytes would garble the terminal.
std::string quoted(std::string_view field) {
  std::string text;
  for (char c : field.substr(0, 40)) text += (c >= 32 && c < 127) ? c : '?';
  return "'" + text + (field.size() > 40 ? "...'" : "'");
}

}  // namespace

Dataset read_csv_dataset(const std::string& path, const std::string& label_column) {
  const std::vector<uint8_t> bytes = read_file_bytes(path, "a CSV file");
  const std::string_view text(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  check(text.find('\0') == std::string_view::npos,
        path + ": a NUL byte at offset " + std::to_string(text.find('\0')) +
            ": this is a binary file, not CSV");
  Lines lines(text);
  std::string_view line;
  check(lines.next(line), path + ": empty file; expected a header row naming the columns");
  const std::vector<std::string_view> header = split_fields(line);
  int64_t label_index = -1;
  for (size_t i = 0; i < header.size(); ++i)
    if (unquote(header[i]) == label_column) {
      check(label_index < 0, path + ": line 1: two columns are named '" + label_column + "'");
      label_index = int64_t(i);
    }
  if (label_index < 0) {
    std::string names;
    for (size_t i = 0; i < header.size() && i < 8; ++i) names += (i ? ", " : "") + quoted(unquote(header[i]));
    throw Error(path + ": line 1: no column named '" + label_column + "' (the header has " +
                std::to_string(header.size()) + " columns: " + names +
                (header.size() > 8 ? ", ..." : "") + "); choose it with --label-column");
  }
  const int64_t features = int64_t(header.size()) - 1;
  check(features > 0, path + ": line 1: the label column is the only column; there are no features");

  std::vector<float> values;
  std::vector<int32_t> labels;
  int32_t largest_label = 0;
  while (lines.next(line)) {
    const std::vector<std::string_view> fields = split_fields(line);
    const std::string where = path + ": line " + std::to_string(lines.number());
    check(fields.size() == header.size(), where + " has " + std::to_string(fields.size()) +
                                              " fields, the header has " + std::to_string(header.size()));
    for (size_t i = 0; i < fields.size(); ++i) {
      const std::string_view field = fields[i];
      const std::string column = "column " + std::to_string(i + 1) + " (" + quoted(unquote(header[i])) + ")";
      if (int64_t(i) == label_index) {
        int32_t label = -1;
        auto [end, status] = std::from_chars(field.data(), field.data() + field.size(), label);
        check(status == std::errc() && end == field.data() + field.size() && label >= 0,
              where + ", " + column + ": label " + quoted(field) + " is not a class index (a non-negative integer)");
        labels.push_back(label);
        largest_label = std::max(largest_label, label);
        continue;
      }
      float value = 0;
      auto [end, status] = std::from_chars(field.data(), field.data() + field.size(), value);
      check(!field.empty() && status == std::errc() && end == field.data() + field.size() && std::isfinite(value),
            where + ", " + column + ": " + quoted(field) + " is not a finite number");
      values.push_back(value);
    }
  }
  check(!labels.empty(), path + ": a header but no samples");
  const int64_t samples = int64_t(labels.size());
  check(largest_label < std::numeric_limits<int32_t>::max(), path + ": label too large");
  return {Tensor::from_vector({samples, features}, values), Tensor::from_vector({samples}, labels),
          largest_label + 1, {}};
}

}  // namespace leap
