#include "config_options.h"

#include <cstdio>
#include <map>
#include <set>
#include <vector>

#include "leap/config_file.h"
#include "leap/error.h"

namespace leap::cli {
namespace {

// What a TOML value must be to set an option.
enum class OptionKind { text, integer, unsigned_integer, number, flag };

OptionKind kind_of(const CLI::Option* option) {
  if (option->get_expected_min() == 0) return OptionKind::flag;
  const std::string type = option->get_type_name();  // "INT:INT in [1 - 10]" with validators
  const std::string base = type.substr(0, type.find(':'));
  if (base == "INT") return OptionKind::integer;
  if (base == "UINT") return OptionKind::unsigned_integer;
  if (base == "FLOAT") return OptionKind::number;
  return OptionKind::text;
}

bool accepts(OptionKind option, ConfigValue::Kind value) {
  using Kind = ConfigValue::Kind;
  switch (option) {
    case OptionKind::flag: return value == Kind::boolean;
    case OptionKind::integer:
    case OptionKind::unsigned_integer: return value == Kind::integer;
    case OptionKind::number: return value == Kind::integer || value == Kind::floating;
    case OptionKind::text: return value != Kind::boolean;  // `checkpoint-every = 2` is fine
  }
  return false;
}

const char* expected(OptionKind kind) {
  switch (kind) {
    case OptionKind::flag: return "true or false";
    case OptionKind::integer: return "an integer";
    case OptionKind::unsigned_integer: return "a non-negative integer";
    case OptionKind::number: return "a number";
    case OptionKind::text: return "a string";
  }
  return "a value";
}

// The options a configuration holds: the named, single-valued ones other than help and the
// config options themselves.
bool is_configurable(const CLI::Option* option) {
  const std::string name = option->get_single_name();
  return !option->get_lnames().empty() && option->get_items_expected_max() <= 1 && name != "help" &&
         name != "help-all" && name != "config" && name != "print-config";
}

// What add_config_options and add_config_array set up for a command, and what its file held.
struct CommandConfig {
  // Options the command requires, made optional by add_config_options so that the file may
  // give them; apply_config_file checks them once the file is read.
  std::vector<CLI::Option*> required;
  std::set<std::string> arrays;  // the [[...]] lists the command takes
  ConfigEntries entries;         // the file's entries of those lists
};

std::map<const CLI::App*, CommandConfig>& config_of() {
  static std::map<const CLI::App*, CommandConfig> configs;
  return configs;
}

std::string default_text(const CLI::Option* option) {
  if (kind_of(option) == OptionKind::flag && option->get_default_str().empty()) return "false";
  return option->get_default_str();
}

CLI::Option* find_option(CLI::App* command, const std::string& key) {
  for (CLI::Option* option : command->get_options())
    if (is_configurable(option) && option->get_single_name() == key) return option;
  return nullptr;
}

void apply(CLI::App* command, const ConfigValue& value, const std::string& path,
           const std::set<const CLI::Option*>& on_command_line) {
  const std::string where = path + ":" + std::to_string(value.line) + ": ";
  CLI::Option* option = find_option(command, value.key);
  if (!option) {
    std::string dashed = value.key;
    for (char& c : dashed)
      if (c == '_') c = '-';
    const std::string hint = dashed != value.key && find_option(command, dashed)
                                 ? " (did you mean '" + dashed + "'?)"
                                 : " (leap " + command->get_name() + " --print-config lists the keys)";
    throw Error(where + "unknown key '" + value.key + "': leap " + command->get_name() +
                " has no option --" + value.key + hint);
  }
  const OptionKind kind = kind_of(option);
  const std::string shown = value.kind == ConfigValue::Kind::string ? toml_string(value.text) : value.text;
  check(accepts(kind, value.kind), where + "'" + value.key + "' expects " + expected(kind) + ", found " +
                                       describe(value.kind) + " (" + shown + ")");
  if (option->count() > 0) return;  // the command line wins
  // A default leaves the option unset, as on the command line: `no-run-dir = false` beside
  // `run-dir = "x"` is no conflict.
  if (value.text == default_text(option)) return;
  for (const CLI::Option* other : option->get_excludes()) {
    if (on_command_line.count(other)) return;  // `--run-dir x` wins over `no-run-dir = true`
    check(other->count() == 0, where + "'" + value.key + "' cannot go with " + other->get_name());
  }
  option->add_result(value.text);
  try {
    option->run_callback();
  } catch (const CLI::Error& e) {
    throw Error(where + e.what());
  }
}

// The option's value in TOML: the command line's or the file's, else the default.
std::string toml_value(const CLI::Option* option) {
  const bool given = option->count() > 0;
  switch (kind_of(option)) {
    case OptionKind::flag:
      return (given ? option->as<bool>() : option->get_default_str() == "true") ? "true" : "false";
    case OptionKind::integer:
      return given ? std::to_string(option->as<long long>()) : option->get_default_str();
    case OptionKind::unsigned_integer:
      return given ? std::to_string(option->as<unsigned long long>()) : option->get_default_str();
    case OptionKind::number: {
      const std::string text = given ? option->results().back() : option->get_default_str();
      if (is_toml_number(text)) return text;
      // Spelled in a way TOML does not read (".5", "1."): the same value, exactly.
      char exact[40];
      std::snprintf(exact, sizeof exact, "%.17g", given ? option->as<double>() : std::stod(text));
      return exact;
    }
    case OptionKind::text:
      return toml_string(given ? option->results().back() : option->get_default_str());
  }
  return "";
}

}  // namespace

void add_config_options(CLI::App* command) {
  for (CLI::Option* option : command->get_options()) {
    if (!is_configurable(option)) continue;
    option->capture_default_str();  // what --print-config shows for an option left unset
    if (option->get_default_str() == "[]") option->default_str("");  // an empty list: nothing given
    if (option->get_required()) {
      option->required(false);
      config_of()[command].required.push_back(option);
    }
  }
  command->add_option("--config", "Read options from this TOML file (the command line wins over it)")
      ->type_name("FILE");
  command->add_flag("--print-config")->description("Print the resolved options as TOML (for --config) and exit");
}

void add_config_array(CLI::App* command, const std::string& array) { config_of()[command].arrays.insert(array); }

ConfigEntries config_entries(const CLI::App* command, const std::string& array) {
  ConfigEntries found;
  auto config = config_of().find(command);
  if (config == config_of().end()) return found;
  found.path = config->second.entries.path;
  for (const ConfigEntry& entry : config->second.entries.entries)
    if (entry.array == array) found.entries.push_back(entry);
  return found;
}

void apply_config_file(CLI::App* command) {
  const CLI::Option* config = command->get_option_no_throw("--config");
  if (!config) return;
  CommandConfig& setup = config_of()[command];
  if (config->count() > 0) {
    const std::string path = config->as<std::string>();
    std::set<const CLI::Option*> on_command_line;
    for (const CLI::Option* option : command->get_options())
      if (option->count() > 0) on_command_line.insert(option);
    ConfigFile file = read_config_file(path);
    for (const ConfigValue& value : file.values) apply(command, value, path, on_command_line);
    for (const ConfigEntry& entry : file.entries) {
      if (setup.arrays.count(entry.array)) continue;
      std::string taken;
      for (const std::string& array : setup.arrays) taken += (taken.empty() ? "" : ", ") + ("[[" + array + "]]");
      throw Error(path + ":" + std::to_string(entry.line) + ": leap " + command->get_name() + " reads no [[" +
                  entry.array + "]] list" +
                  (taken.empty() ? " (write its options at the top level, one 'key = value' a line)"
                                 : " (it reads " + taken + ")"));
    }
    setup.entries = {path, std::move(file.entries)};
  }
  for (const CLI::Option* option : setup.required)
    if (option->count() == 0) throw CLI::RequiredError(option->get_name());
}

bool print_config_requested(const CLI::App* command) {
  const CLI::Option* flag = command->get_option_no_throw("--print-config");
  return flag && flag->count() > 0;
}

std::string resolved_config(const CLI::App* command) {
  std::string text = "# leap " + command->get_name() + " options; leap " + command->get_name() +
                     " --config FILE reads them back\n";
  for (const CLI::Option* option : command->get_options())
    if (is_configurable(option)) text += option->get_single_name() + " = " + toml_value(option) + "\n";
  auto config = config_of().find(command);
  if (config == config_of().end()) return text;
  for (const ConfigEntry& entry : config->second.entries.entries) {
    text += "\n[[" + entry.array + "]]\n";
    for (const ConfigValue& value : entry.values)
      text += value.key + " = " +
              (value.kind == ConfigValue::Kind::string ? toml_string(value.text) : value.text) + "\n";
  }
  return text;
}

}  // namespace leap::cli
