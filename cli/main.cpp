// leap: train and evaluate neural networks from the command line.
#include <cstdio>
#include <exception>
#include <map>

#include "commands.h"
#include "leap/backend.h"
#include "leap/checkpoint.h"
#include "leap/error.h"

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

void add_saved_model_options(CLI::App* command, SavedModelOptions& options) {
  command->add_option("--load", options.load, "Weights (safetensors)")->required();
  command->add_option("--model", options.model, "The spec the weights were trained with")->capture_default_str();
  command->add_option("--data", options.data, "Directory with the t10k- IDX files (default: Debian's Fashion-MNIST)");
  command->add_option("--device", options.device)->capture_default_str()->check(CLI::IsMember({"cpu", "cuda", "auto"}));
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
  try {
    app.parse(argc, argv);
    for (auto& [subcommand, command] : commands)
      if (subcommand->parsed()) return command();
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const leap::Error& e) {
    std::fprintf(stderr, "leap: error: %s\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "leap: unexpected error: %s\n", e.what());
    return 2;
  }
  return 1;
}
