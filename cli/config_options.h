// --config FILE and --print-config: a subcommand's options read from a TOML file (the
// command line winning over it) and the resolved options printed as TOML that --config
// reads back. The keys are the options' long names without dashes (`batch-size = 64`).
// CLI11 has a config reader of its own, but it works on the main app only, reads malformed
// lines without a word and names neither file nor line; this one refuses them. A command
// may also take lists from the file as TOML's arrays of tables (leap serve's `[[models]]`).
#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "leap/config_file.h"

namespace leap::cli {

// Adds --config and --print-config to `command`, after all its other options. Options the
// command requires may then come from the file instead of the command line.
void add_config_options(CLI::App* command);

// Lets the --config file of `command` hold `[[array]]` entries, which config_entries gives the
// command to check and use; a file's entries of an array the command does not take are refused.
void add_config_array(CLI::App* command, const std::string& array);

// After apply_config_file: the --config file's path and its `[[array]]` entries in file order
// (none without --config).
struct ConfigEntries {
  std::string path;
  std::vector<ConfigEntry> entries;
};
ConfigEntries config_entries(const CLI::App* command, const std::string& array);

// After parsing: gives the options that the command line left unset the values of --config,
// each checked as the command line would check it (errors name the file, line and key).
// Does nothing for a command without config options.
void apply_config_file(CLI::App* command);

// True when --print-config was given.
bool print_config_requested(const CLI::App* command);

// The command's options as TOML, one `key = value` a line in the order of --help: the
// values given on the command line or in --config, else the defaults; then the file's
// `[[array]]` entries as it gave them.
std::string resolved_config(const CLI::App* command);

}  // namespace leap::cli
