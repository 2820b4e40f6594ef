// Configuration files: a command's options as TOML `key = value` lines. leap reads a strict
// subset of TOML: one pair a line, whose value is a string ("basic", with escapes, or
// 'literal'), a decimal integer, a float or a boolean, with comments and blank lines between,
// and arrays of tables (`[[models]]` headers, each followed by its entry's pairs) for the
// lists a command takes, as leap serve's models. What no command needs (plain tables, arrays,
// dates, multi-line strings) is refused with its line rather than half understood.
#pragma once

#include <string>
#include <vector>

namespace leap {

struct ConfigValue {
  enum class Kind { string, integer, floating, boolean };
  std::string key;
  Kind kind = Kind::string;
  // The value as a command line would spell it: a string unquoted and unescaped, a number
  // without '+' or '_', a boolean as "true" or "false".
  std::string text;
  int line = 0;  // 1-based, for messages
};

// One entry of an array of tables: a `[[name]]` header and the pairs under it, up to the
// next header or the end of the file.
struct ConfigEntry {
  std::string array;  // the name between the brackets
  int line = 0;       // the header's, for messages
  std::vector<ConfigValue> values;
};

struct ConfigFile {
  std::vector<ConfigValue> values;   // the top-level pairs (TOML puts them before any header)
  std::vector<ConfigEntry> entries;  // every [[...]] entry, in file order
};

// "a string", "an integer", "a float", "a boolean".
const char* describe(ConfigValue::Kind kind);

// The pairs of TOML text in file order. Malformed text or a key given twice (at the top level
// or in one entry) is a leap::Error "FILE:LINE: what is wrong", where FILE is `file_name`.
ConfigFile parse_config(const std::string& text, const std::string& file_name);

// parse_config of the file at `path`, which must be a regular file of at most 1 MiB.
ConfigFile read_config_file(const std::string& path);

// `text` as a TOML basic string: in double quotes, with quotes, backslashes and control
// characters escaped.
std::string toml_string(const std::string& text);

// True when `text` is a TOML integer or float as leap writes and reads them (decimal digits,
// optional sign, fraction and exponent; inf and nan).
bool is_toml_number(const std::string& text);

}  // namespace leap
