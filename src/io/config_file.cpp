#include "leap/config_file.h"

#include <cctype>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <optional>

#include "file_bytes.h"
#include "leap/error.h"

namespace leap {
namespace {

constexpr uintmax_t kMaxConfigBytes = 1 << 20;

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_key_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-'; }

// Digits with single underscores between them ("1_000"); false when none start at i.
bool skip_digits(const std::string& s, size_t& i) {
  if (i >= s.size() || !is_digit(s[i])) return false;
  while (i < s.size() && (is_digit(s[i]) || (s[i] == '_' && i + 1 < s.size() && is_digit(s[i + 1]))))
    i += s[i] == '_' ? 2 : 1;
  return true;
}

// The kind of a TOML number, or none; decimal only (0x.., 0o.., 0b.. are not read).
std::optional<ConfigValue::Kind> number_kind(const std::string& s) {
  size_t i = (!s.empty() && (s[0] == '+' || s[0] == '-')) ? 1 : 0;
  const std::string rest = s.substr(i);
  if (rest == "inf" || rest == "nan") return ConfigValue::Kind::floating;
  const size_t start = i;
  if (!skip_digits(s, i)) return std::nullopt;
  if (s[start] == '0' && i - start > 1) return std::nullopt;  // TOML forbids leading zeros
  bool is_float = false;
  if (i < s.size() && s[i] == '.') {
    ++i;
    if (!skip_digits(s, i)) return std::nullopt;
    is_float = true;
  }
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    if (!skip_digits(s, i)) return std::nullopt;
    is_float = true;
  }
  if (i != s.size()) return std::nullopt;
  return is_float ? ConfigValue::Kind::floating : ConfigValue::Kind::integer;
}

void append_utf8(std::string& out, uint32_t code) {
  if (code < 0x80) {
    out += char(code);
  } else if (code < 0x800) {
    out += char(0xC0 | (code >> 6));
    out += char(0x80 | (code & 0x3F));
  } else if (code < 0x10000) {
    out += char(0xE0 | (code >> 12));
    out += char(0x80 | ((code >> 6) & 0x3F));
    out += char(0x80 | (code & 0x3F));
  } else {
    out += char(0xF0 | (code >> 18));
    out += char(0x80 | ((code >> 12) & 0x3F));
    out += char(0x80 | ((code >> 6) & 0x3F));
    out += char(0x80 | (code & 0x3F));
  }
}

// One line of a file; each error names the file and the line.
class LineReader {
 public:
  LineReader(const std::string& line, std::string where) : s_(line), where_(std::move(where)) {}

  [[noreturn]] void fail(const std::string& what) const { throw Error(where_ + ": " + what); }

  void skip_spaces() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t')) ++i_;
  }
  bool at_end_or_comment() const { return i_ >= s_.size() || s_[i_] == '#'; }
  char peek() const { return i_ < s_.size() ? s_[i_] : '\0'; }
  bool at(const char* text) const { return s_.compare(i_, std::strlen(text), text) == 0; }

  // The name of a `[[name]]` header, the reader on its first '['.
  std::string array_header() {
    i_ += 2;
    skip_spaces();
    const size_t start = i_;
    while (i_ < s_.size() && is_key_char(s_[i_])) ++i_;
    if (i_ == start) fail("expected a name between '[[' and ']]' (as in '[[models]]'), found '" + rest() + "'");
    std::string name = s_.substr(start, i_ - start);
    skip_spaces();
    if (peek() == '.') fail("dotted name '[[" + name + ".': leap's lists are all at the top level");
    if (!at("]]")) fail("expected ']]' after '[[" + name + "', found '" + rest() + "'");
    i_ += 2;
    skip_spaces();
    if (!at_end_or_comment()) fail("unexpected '" + rest() + "' after '[[" + name + "]]'");
    return name;
  }

  std::string key() {
    if (peek() == '"' || peek() == '\'')
      fail("quoted keys are not used: write the option's name bare, as in 'epochs = 10'");
    const size_t start = i_;
    while (i_ < s_.size() && is_key_char(s_[i_])) ++i_;
    if (i_ == start) fail("expected a key (an option's name, as in 'epochs = 10'), found '" + rest() + "'");
    std::string name = s_.substr(start, i_ - start);
    if (peek() == '.') fail("dotted key '" + name + ".': leap's options are all at the top level");
    skip_spaces();
    if (peek() != '=') fail("expected '=' after the key '" + name + "', found '" + rest() + "'");
    ++i_;
    skip_spaces();
    return name;
  }

  ConfigValue value(const std::string& key) {
    ConfigValue value{key, ConfigValue::Kind::string, "", 0};
    const char first = peek();
    if (at_end_or_comment()) fail("'" + key + "' has no value");
    if (first == '[' || first == '{') fail("'" + key + "': arrays and inline tables are not used by leap's options");
    if (s_.compare(i_, 3, "\"\"\"") == 0 || s_.compare(i_, 3, "'''") == 0)
      fail("'" + key + "': multi-line strings are not used by leap's options");
    if (first == '"') {
      value.text = basic_string(key);
    } else if (first == '\'') {
      value.text = literal_string(key);
    } else {
      const size_t start = i_;
      while (i_ < s_.size() && s_[i_] != ' ' && s_[i_] != '\t' && s_[i_] != '#') ++i_;
      const std::string token = s_.substr(start, i_ - start);
      if (token == "true" || token == "false") {
        value.kind = ConfigValue::Kind::boolean;
        value.text = token;
      } else if (std::optional<ConfigValue::Kind> kind = number_kind(token)) {
        value.kind = *kind;
        for (char c : token)
          if (c != '_' && !(c == '+' && value.text.empty())) value.text += c;
      } else {
        fail("'" + key + "': " + token + " is not a value leap reads (a string, a decimal number, "
             "true or false; strings need quotes)");
      }
    }
    skip_spaces();
    if (!at_end_or_comment()) fail("unexpected '" + rest() + "' after the value of '" + key + "'");
    return value;
  }

 private:
  std::string rest() const { return i_ < s_.size() ? s_.substr(i_) : "end of line"; }

  std::string basic_string(const std::string& key) {
    std::string out;
    for (++i_; i_ < s_.size() && s_[i_] != '"'; ++i_) {
      if (s_[i_] != '\\') {
        out += s_[i_];
        continue;
      }
      if (++i_ >= s_.size()) break;
      switch (s_[i_]) {
        case 'b': out += '\b'; break;
        case 't': out += '\t'; break;
        case 'n': out += '\n'; break;
        case 'f': out += '\f'; break;
        case 'r': out += '\r'; break;
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case 'u': case 'U': out += unicode_escape(key, s_[i_] == 'u' ? 4 : 8); break;
        default: fail("'" + key + "': unknown escape '\\" + std::string(1, s_[i_]) + "' in a string");
      }
    }
    if (i_ >= s_.size()) fail("'" + key + "': the string has no closing '\"'");
    ++i_;
    return out;
  }

  // The code point of \uXXXX or \UXXXXXXXX; i_ is on the 'u' and ends on the last digit.
  std::string unicode_escape(const std::string& key, int digits) {
    uint32_t code = 0;
    for (int d = 0; d < digits; ++d) {
      const char c = ++i_ < s_.size() ? s_[i_] : '\0';
      if (!std::isxdigit(static_cast<unsigned char>(c)))
        fail("'" + key + "': \\" + std::string(digits == 4 ? "u" : "U") + " needs " +
             std::to_string(digits) + " hexadecimal digits");
      code = code * 16 + uint32_t(std::isdigit(static_cast<unsigned char>(c)) ? c - '0' : std::tolower(c) - 'a' + 10);
    }
    if (code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF))
      fail("'" + key + "': \\u escape of " + std::to_string(code) + " is not a Unicode scalar value");
    std::string out;
    append_utf8(out, code);
    return out;
  }

  std::string literal_string(const std::string& key) {
    const size_t close = s_.find('\'', i_ + 1);
    if (close == std::string::npos) fail("'" + key + "': the string has no closing \"'\"");
    std::string out = s_.substr(i_ + 1, close - i_ - 1);
    i_ = close + 1;
    return out;
  }

  const std::string& s_;
  std::string where_;
  size_t i_ = 0;
};

}  // namespace

const char* describe(ConfigValue::Kind kind) {
  switch (kind) {
    case ConfigValue::Kind::string: return "a string";
    case ConfigValue::Kind::integer: return "an integer";
    case ConfigValue::Kind::floating: return "a float";
    case ConfigValue::Kind::boolean: return "a boolean";
  }
  return "a value";
}

ConfigFile parse_config(const std::string& text, const std::string& file_name) {
  ConfigFile file;
  std::vector<ConfigValue>* scope = &file.values;  // the top level, then the latest [[...]] entry
  std::map<std::string, int> first_line;           // of each key in the scope
  size_t start = text.compare(0, 3, "\xEF\xBB\xBF") == 0 ? 3 : 0;  // a UTF-8 byte-order mark
  for (int number = 1; start <= text.size(); ++number) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(start, end - start);
    start = end + 1;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    LineReader reader(line, file_name + ":" + std::to_string(number));
    for (char c : line)
      if ((static_cast<unsigned char>(c) < 0x20 && c != '\t') || c == 0x7F) {
        char code[8];
        std::snprintf(code, sizeof code, "0x%02X", static_cast<unsigned char>(c));
        reader.fail(std::string("control character ") + code + (c == '\0' ? " (a binary file, not TOML?)" : ""));
      }
    reader.skip_spaces();
    if (reader.at_end_or_comment()) continue;
    if (reader.at("[[")) {
      file.entries.push_back({reader.array_header(), number, {}});
      scope = &file.entries.back().values;
      first_line.clear();
      continue;
    }
    if (reader.peek() == '[')
      reader.fail("tables ('" + line + "') are not used: write the command's options at the top "
                  "level, one 'key = value' a line");
    const std::string key = reader.key();
    auto [seen, fresh] = first_line.emplace(key, number);
    if (!fresh) reader.fail("'" + key + "' is set twice (first on line " + std::to_string(seen->second) + ")");
    ConfigValue value = reader.value(key);
    value.line = number;
    scope->push_back(std::move(value));
  }
  return file;
}

ConfigFile read_config_file(const std::string& path) {
  std::error_code error;
  const uintmax_t size = std::filesystem::file_size(path, error);
  check(error || size <= kMaxConfigBytes,
        path + ": " + std::to_string(size) + " bytes, more than a configuration file of at most " +
            std::to_string(kMaxConfigBytes) + " bytes holds (not a TOML file?)");
  const std::vector<uint8_t> bytes = read_file_bytes(path, "a TOML configuration file");
  return parse_config(std::string(bytes.begin(), bytes.end()), path);
}

std::string toml_string(const std::string& text) {
  std::string out = "\"";
  for (char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (byte < 0x20 || byte == 0x7F) {
      char escape[8];
      std::snprintf(escape, sizeof escape, "\\u%04X", byte);
      out += escape;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

bool is_toml_number(const std::string& text) { return number_kind(text).has_value(); }

}  // namespace leap
