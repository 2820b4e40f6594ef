// The training options that several commands take (train, distill), declared once so that
// their names, ranges and help stay the same everywhere.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <string>

namespace leap::cli {

CLI::Option* add_epochs_option(CLI::App* command, int& epochs, const std::string& help = "",
                               const std::string& name = "--epochs");
CLI::Option* add_batch_size_option(CLI::App* command, int& batch_size, const std::string& help = "");
CLI::Option* add_lr_option(CLI::App* command, float& lr);
CLI::Option* add_weight_decay_option(CLI::App* command, float& weight_decay, const std::string& help = "");
CLI::Option* add_schedule_option(CLI::App* command, std::string& schedule, const std::string& help,
                                 const std::string& name = "--schedule");
CLI::Option* add_device_option(CLI::App* command, std::string& device);
CLI::Option* add_seed_option(CLI::App* command, uint64_t& seed, const std::string& help);

}  // namespace leap::cli
