// leap eval: test loss and accuracy of saved weights.
#include <cstdio>
#include <memory>

#include "commands.h"
#include "leap/checkpoint.h"
#include "leap/idx.h"
#include "leap/trainer.h"

namespace leap::cli {
namespace {

struct EvalOptions {
  std::string model = "784-128-10";
  std::string data, load, device = "auto";
};

int evaluate(const EvalOptions& o) {
  const Device device = choose_device(o.device);
  Model model(Sequential::from_spec(o.model, 0, device));
  load_weights(model.network(), o.load);
  const std::string dir = o.data.empty() ? default_data_dir() : o.data;
  MnistSplits data = load_mnist_dir(dir);
  check_dataset(data.test, model.network().input_width(), model.network().output_width(), "test data");
  Evaluation result = model.evaluate(data.test);
  std::printf("test_loss: %.4f - test_accuracy: %.4f (%lld samples)\n", result.loss,
              result.accuracy, static_cast<long long>(result.samples));
  return 0;
}

}  // namespace

Command add_eval_command(CLI::App& app) {
  auto options = std::make_shared<EvalOptions>();
  CLI::App* cmd = app.add_subcommand("eval", "Test loss and accuracy of saved weights");
  cmd->add_option("--load", options->load, "Weights to evaluate (safetensors)")->required();
  cmd->add_option("--model", options->model, "The spec the weights were trained with")->capture_default_str();
  cmd->add_option("--data", options->data, "Directory with the t10k- IDX files");
  cmd->add_option("--device", options->device)->capture_default_str()->check(CLI::IsMember({"cpu", "cuda", "auto"}));
  return [options] { return evaluate(*options); };
}

}  // namespace leap::cli
