// leap predict: class predictions of saved weights for a data set's test images.
#include <algorithm>
#include <cstdio>
#include <memory>

#include "commands.h"
#include "config_options.h"
#include "leap/error.h"
#include "leap/idx.h"
#include "leap/safetensors.h"
#include "leap/model.h"

namespace leap::cli {
namespace {

struct PredictOptions : SavedModelOptions {
  std::string images, output, logits;
};

int predict(const PredictOptions& o) {
  Model model(load_saved_model(o));
  Dataset data;
  if (!o.images.empty()) {
    data.images = read_idx_images(o.images);
  } else {
    data = test_data(o.data);
  }
  check(data.features() == model.network().input_width(),
        "the images have " + std::to_string(data.features()) + " pixels but --model " + o.model +
            " takes " + std::to_string(model.network().input_width()) + " inputs");
  const Tensor logits_tensor = model.predict(data.images).to(Device::cpu);
  // Logits in safetensors, so that other frameworks can be compared with leap to the bit.
  if (!o.logits.empty()) save_safetensors(o.logits, {{"logits", logits_tensor}});
  const std::vector<float> logits = logits_tensor.to_vector();
  const int classes = model.network().output_width();

  std::FILE* out = o.output.empty() ? stdout : std::fopen(o.output.c_str(), "w");
  check(out != nullptr, "cannot write " + o.output);
  std::vector<int32_t> labels = data.labels.defined() ? data.labels.to_label_vector() : std::vector<int32_t>{};
  int64_t correct = 0;
  std::fprintf(out, "index,prediction%s\n", labels.empty() ? "" : ",label");
  for (int64_t i = 0; i < data.size(); ++i) {
    const float* row = &logits[i * classes];
    const int best = int(std::max_element(row, row + classes) - row);
    if (labels.empty()) {
      std::fprintf(out, "%lld,%d\n", static_cast<long long>(i), best);
    } else {
      std::fprintf(out, "%lld,%d,%d\n", static_cast<long long>(i), best, labels[i]);
      correct += best == labels[i];
    }
  }
  if (out != stdout) std::fclose(out);
  if (!labels.empty())
    std::fprintf(stderr, "accuracy: %.4f (%lld of %lld)\n", double(correct) / double(data.size()),
                 static_cast<long long>(correct), static_cast<long long>(data.size()));
  return 0;
}

}  // namespace

Command add_predict_command(CLI::App& app) {
  auto options = std::make_shared<PredictOptions>();
  CLI::App* cmd = app.add_subcommand("predict", "Predict classes with saved weights (CSV: index,prediction[,label])");
  add_saved_model_options(cmd, *options);
  cmd->add_option("--images", options->images, "An IDX image file to predict instead of --data's")
      ->excludes(cmd->get_option("--data"));
  cmd->add_option("-o,--output", options->output, "Write the CSV here instead of stdout");
  cmd->add_option("--logits", options->logits, "Also write the logits [n, classes] here (safetensors, tensor \"logits\")");
  add_config_options(cmd);
  return [options] { return predict(*options); };
}

}  // namespace leap::cli
