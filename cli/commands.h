// The subcommands of `leap`, each adding itself to the command-line parser.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <string>

#include "leap/tensor.h"

namespace leap::cli {

// Registers a subcommand; the returned callback runs it after parsing.
using Command = std::function<int()>;
Command add_train_command(CLI::App& app);
Command add_eval_command(CLI::App& app);
Command add_predict_command(CLI::App& app);

// "cpu", "cuda" or "auto" (the GPU when one is usable, else the CPU); says which it chose.
Device choose_device(const std::string& name);

}  // namespace leap::cli
