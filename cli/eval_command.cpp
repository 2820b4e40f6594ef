// leap eval: test loss and accuracy of saved weights.
#include <cstdio>
#include <memory>

#include "commands.h"
#include "config_options.h"
#include "leap/idx.h"
#include "leap/model.h"

namespace leap::cli {
namespace {

int evaluate(const SavedModelOptions& o) {
  Model model(load_saved_model(o));
  const Dataset test = test_data(o.data);
  check_dataset(test, model.network().input_width(), model.network().output_width(), "test data");
  Evaluation result = model.evaluate(test);
  std::printf("test_loss: %.4f - test_accuracy: %.4f (%lld samples)\n", result.loss,
              result.accuracy, static_cast<long long>(result.samples));
  return 0;
}

}  // namespace

Command add_eval_command(CLI::App& app) {
  CLI::App* cmd = app.add_subcommand("eval", "Test loss and accuracy of saved weights");
  auto options = std::make_shared<SavedModelOptions>();
  add_saved_model_options(cmd, *options);
  add_config_options(cmd);
  return [options] { return evaluate(*options); };
}

}  // namespace leap::cli
