// leap: train and evaluate neural networks from the command line.
#include <cmath>
#include <csignal>
#include <cstdlib>
#include <cstdio>
#include <exception>
#include <map>

#include "commands.h"
#include "config_options.h"
#include "leap/backend.h"
#include "leap/checkpoint.h"
#include "leap/parallel.h"
#include "leap/error.h"
#include "leap/interrupt.h"

namespace leap::cli {

Device choose_device(const std::string& name) {
  if (name == "cpu") return Device::cpu;
  if (name == "cuda") {
    backend(Device::cuda);  // throws with the reason when no GPU is usable
    return Device::cuda;
  }
  if (name == "auto") {
    Device device = available(Device::cuda) ? Device::cuda : Device::cpu;
    // stderr: predict may be writing its CSV to stdout.
    std::fprintf(stderr, "--device auto: %s\n",
                 device == Device::cuda ? "using the GPU" : "no usable GPU, using the CPU");
    return device;
  }
  throw Error("unknown device '" + name + "' (expected cpu, cuda or auto)");
}

// A float that is a finite number >= 0 (CLI::Range lets NaN through).
const CLI::Validator finite_non_negative(
    [](std::string& text) -> std::string {
      char* end = nullptr;
      const double value = std::strtod(text.c_str(), &end);
      if (text.empty() || *end != '\0' || !std::isfinite(value) || value < 0)
        return "'" + text + "' is not a finite number >= 0";
      return "";
    },
    "FLOAT>=0");

// An unsigned integer written in digits (CLI11 would wrap "-1" round to 2^64 - 1).
const CLI::Validator digits_only(
    [](std::string& text) -> std::string {
      if (text.empty() || text.size() > 19 || text.find_first_not_of("0123456789") != std::string::npos)
        return "'" + text + "' is not a whole number from 0 to 9999999999999999999";
      return "";
    },
    "UINT");

void add_data_options(CLI::App* command, DataFiles& files) {
  command->add_option("--data", files.data,
                      "IDX: a directory with train-/t10k- files (default: Debian's Fashion-MNIST); "
                      "CSV: a .csv file; NumPy: a .npy features file");
  command->add_option("--data-format", files.format, "Format of --data (auto: by its extension)")
      ->capture_default_str()->check(CLI::IsMember({"auto", "idx", "csv", "npy"}));
  command->add_option("--label-column", files.label_column, "CSV: the column holding class indices")
      ->capture_default_str();
  command->add_option("--labels", files.labels, "NumPy: the .npy file of training labels");
  command->add_option("--validation-data", files.validation_data,
                      "CSV/NumPy: validation samples in the format of --data");
  command->add_option("--validation-labels", files.validation_labels,
                      "NumPy: the .npy file of validation labels");
}

void add_saved_model_options(CLI::App* command, SavedModelOptions& options) {
  command->add_option("--load", options.load, "Weights (safetensors)")->required();
  command->add_option("--model", options.model, "The spec the weights were trained with")->capture_default_str();
  add_data_options(command, options.data);
  command->add_option("--device", options.device)->capture_default_str()->check(CLI::IsMember({"cpu", "cuda", "auto"}));
}

Dataset test_data(const DataFiles& files) {
  MnistSplits splits = load_data_files(files);
  return data_format(files.format, files.data) == DataFormat::idx ? splits.test : splits.train;
}

Sequential load_saved_model(const SavedModelOptions& options) {
  Sequential network = Sequential::from_spec(options.model, 0, choose_device(options.device));
  load_weights(network, options.load);
  return network;
}

}  // namespace leap::cli

int main(int argc, char** argv) {
  CLI::App app{"leap: fast neural-network training on CPUs and GPUs"};
  app.require_subcommand(1);
  std::map<CLI::App*, leap::cli::Command> commands;
  auto add = [&](auto adder) {
    leap::cli::Command command = adder(app);
    commands[app.get_subcommands({}).back()] = command;
  };
  add(leap::cli::add_train_command);
  add(leap::cli::add_eval_command);
  add(leap::cli::add_predict_command);
  add(leap::cli::add_distill_command);
  add(leap::cli::add_inspect_command);
  add(leap::cli::add_export_command);
  add(leap::cli::add_plot_command);
  add(leap::cli::add_info_command);
  add(leap::cli::add_serve_command);
  add(leap::cli::add_sweep_command);
  try {
    app.parse(argc, argv);
    for (auto& [subcommand, command] : commands) {
      if (!subcommand->parsed()) continue;
      leap::cli::apply_config_file(subcommand);
      if (leap::cli::print_config_requested(subcommand)) {
        std::fputs(leap::cli::resolved_config(subcommand).c_str(), stdout);
        return 0;
      }
      return command();
    }
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const leap::Interrupted& e) {
    std::fprintf(stderr, "leap: %s\n", e.what());
    return 128 + (leap::stop_signal() ? leap::stop_signal() : SIGINT);
  } catch (const leap::Error& e) {
    std::fprintf(stderr, "leap: error: %s\n", e.what());
    leap::abort_mpi_job(1);  // the other ranks would wait for this one
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "leap: unexpected error: %s\n", e.what());
    leap::abort_mpi_job(2);
    return 2;
  }
  return 1;
}
