// leap: train and evaluate neural networks from the command line.
#include <cstdio>
#include <exception>
#include <map>

#include "commands.h"
#include "leap/backend.h"
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
    std::printf("--device auto: %s\n", device == Device::cuda ? "using the GPU" : "no usable GPU, using the CPU");
    return device;
  }
  throw Error("unknown device '" + name + "' (expected cpu, cuda or auto)");
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
