// The subcommands of `leap`, each adding itself to the command-line parser.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <string>

#include "leap/data_files.h"
#include "leap/sequential.h"
#include "leap/tensor.h"

namespace leap::cli {

// Registers a subcommand; the returned callback runs it after parsing.
using Command = std::function<int()>;
Command add_train_command(CLI::App& app);
Command add_eval_command(CLI::App& app);
Command add_predict_command(CLI::App& app);
Command add_distill_command(CLI::App& app);
Command add_inspect_command(CLI::App& app);
Command add_export_command(CLI::App& app);
Command add_plot_command(CLI::App& app);
Command add_info_command(CLI::App& app);
Command add_serve_command(CLI::App& app);
Command add_sweep_command(CLI::App& app);

// "cpu", "cuda" or "auto" (the GPU when one is usable, else the CPU); says which it chose.
Device choose_device(const std::string& name);

// Checks that a float option is a finite number >= 0 (CLI::Range lets NaN through).
extern const CLI::Validator finite_non_negative;
// Checks that an unsigned option is written in digits alone (no sign).
extern const CLI::Validator digits_only;

// --data and the options that say what its files are (format, labels, validation split).
void add_data_options(CLI::App* command, DataFiles& files);

// The options that name saved weights and where to run them, shared by eval and predict.
struct SavedModelOptions {
  std::string model = "784-128-10";
  std::string load, device = "auto";
  DataFiles data;
};
void add_saved_model_options(CLI::App* command, SavedModelOptions& options);
// The network of --model on --device with the weights of --load.
Sequential load_saved_model(const SavedModelOptions& options);
// The data eval and predict work on: the t10k split of an IDX directory, or the CSV/NumPy
// file of --data itself.
Dataset test_data(const DataFiles& files);

}  // namespace leap::cli
