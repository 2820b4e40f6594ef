// leap export: saved weights as a model another runtime runs (ONNX, opset in leap/onnx.h).
#include <cstdio>
#include <memory>

#include "commands.h"
#include "config_options.h"
#include "leap/checkpoint.h"
#include "leap/onnx.h"

namespace leap::cli {
namespace {

struct ExportOptions {
  std::string format = "onnx", load, model = "784-128-10", output;
};

int export_model(const ExportOptions& o) {
  Sequential network = Sequential::from_spec(o.model, 0, Device::cpu);
  load_weights(network, o.load);
  export_onnx(network, o.output, {.doc = "leap model " + o.model + " from " + o.load});
  std::printf("wrote %s: ONNX opset %d, input \"input\" [batch, %d], output \"logits\" [batch, %d]\n",
              o.output.c_str(), kOnnxOpset, network.input_width(), network.output_width());
  return 0;
}

}  // namespace

Command add_export_command(CLI::App& app) {
  auto options = std::make_shared<ExportOptions>();
  CLI::App* cmd = app.add_subcommand("export", "Export saved weights for another runtime (ONNX)");
  cmd->add_option("--format", options->format)->capture_default_str()->check(CLI::IsMember({"onnx"}));
  cmd->add_option("--load", options->load, "Weights (safetensors)")->required();
  cmd->add_option("--model", options->model, "The spec the weights were trained with")->capture_default_str();
  cmd->add_option("-o,--output", options->output, "The model file to write")->required();
  add_config_options(cmd);
  return [options] { return export_model(*options); };
}

}  // namespace leap::cli
