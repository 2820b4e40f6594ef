// leap train: the seed workload and its variations.
#include <cstdio>
#include <memory>

#include "commands.h"
#include "leap/backend.h"
#include "leap/checkpoint.h"
#include "leap/idx.h"
#include "leap/report.h"
#include "leap/trainer.h"
#include "progress.h"

namespace leap::cli {
namespace {

struct TrainOptions {
  std::string model = "784-128-10";
  std::string data;
  int epochs = 10;
  int batch_size = 64;
  float lr = 1e-3f;
  std::string optimizer = "adam";
  float momentum = 0.9f;
  float weight_decay = 0.0f;
  float dropout = 0.0f;
  std::string schedule = "none";
  std::string device = "auto";
  uint64_t seed = 0;
  bool drop_last = false;
  std::string metrics, csv, report, save, load;
};

int train(const TrainOptions& o) {
  // The cheap checks (spec, device, weights) come before the data is read.
  const Device device = choose_device(o.device);
  Model model(Sequential::from_spec(o.model, o.seed, device, o.dropout));
  if (!o.load.empty()) load_weights(model.network(), o.load);
  const std::string dir = o.data.empty() ? default_data_dir() : o.data;
  MnistSplits data = load_mnist_dir(dir);
  std::printf("Data: %s (%lld train, %lld validation samples)\n", dir.c_str(),
              static_cast<long long>(data.train.size()), static_cast<long long>(data.test.size()));

  model.compile(optimizer_by_name(o.optimizer, o.lr, o.momentum, o.weight_decay));
  std::printf("Device: %s\n%s\n%lld parameters; optimizer %s; batch %d\n",
              backend(device).describe().c_str(), model.network().describe().c_str(),
              static_cast<long long>(model.network().parameter_count()),
              model.optimizer().describe().c_str(), o.batch_size);

  KerasProgress progress;
  std::unique_ptr<JsonlLogger> metrics;
  FitOptions fit{.epochs = o.epochs, .batch_size = o.batch_size, .drop_last = o.drop_last,
                 .seed = o.seed, .validation_data = &data.test, .callbacks = {&progress},
                 .schedule = schedule_by_name(o.schedule, o.epochs), .verbose = true};
  if (!o.metrics.empty()) {
    metrics = std::make_unique<JsonlLogger>(o.metrics);
    fit.callbacks.push_back(metrics.get());
  }
  std::unique_ptr<CSVLogger> csv;
  if (!o.csv.empty()) {
    csv = std::make_unique<CSVLogger>(o.csv);
    fit.callbacks.push_back(csv.get());
  }
  History history = model.fit(data.train, fit);
  if (!o.report.empty()) {
    write_report(o.report, {"leap train " + o.model, {{o.model, history.epochs}},
                            {compute_table(model, history, o.batch_size)}});
    std::printf("Wrote %s\n", o.report.c_str());
  }
  if (!o.save.empty()) {
    save_weights(model.network(), o.save, {{"model", o.model}, {"format", "pt"}});
    std::printf("Saved %s\n", o.save.c_str());
  }
  const EpochLogs& last = history.epochs.back();
  std::printf("Test accuracy: %.4f (loss %.4f)\n", last.val_accuracy, last.val_loss);
  return 0;
}

}  // namespace

Command add_train_command(CLI::App& app) {
  auto options = std::make_shared<TrainOptions>();
  CLI::App* cmd = app.add_subcommand("train", "Train a model on an MNIST-style data set");
  cmd->add_option("--model", options->model, "Layer widths, ReLU between Linear layers")->capture_default_str();
  cmd->add_option("--data", options->data,
                  "Directory with train-/t10k- IDX files (default: Debian's Fashion-MNIST)");
  cmd->add_option("--epochs", options->epochs)->capture_default_str()->check(CLI::Range(1, 1000000));
  cmd->add_option("--batch-size", options->batch_size)->capture_default_str()->check(CLI::Range(1, 1 << 24));
  cmd->add_option("--lr", options->lr, "Learning rate")->capture_default_str()->check(CLI::Range(0.0, 1e6));
  cmd->add_option("--optimizer", options->optimizer)->capture_default_str()->check(CLI::IsMember({"adam", "sgd"}));
  cmd->add_option("--momentum", options->momentum, "SGD momentum")->capture_default_str();
  cmd->add_option("--weight-decay", options->weight_decay)->capture_default_str();
  cmd->add_option("--dropout", options->dropout, "Dropout after each hidden ReLU")
      ->capture_default_str()->check(CLI::Range(0.0f, 0.95f));
  cmd->add_option("--schedule", options->schedule, "Learning-rate schedule per epoch")
      ->capture_default_str()->check(CLI::IsMember({"none", "step", "cosine"}));
  cmd->add_option("--device", options->device)->capture_default_str()->check(CLI::IsMember({"cpu", "cuda", "auto"}));
  cmd->add_option("--seed", options->seed, "Seeds the initial weights and the shuffling")->capture_default_str();
  cmd->add_flag("--drop-last", options->drop_last, "Drop the last incomplete batch of each epoch");
  cmd->add_option("--metrics", options->metrics, "Write one JSON object per epoch to this file");
  cmd->add_option("--csv", options->csv, "Write one CSV row per epoch to this file (Keras' CSVLogger)");
  cmd->add_option("--report", options->report, "Write an offline HTML report (charts, compute table)");
  cmd->add_option("--save", options->save, "Save the trained weights (safetensors)");
  cmd->add_option("--load", options->load, "Start from these weights (safetensors)");
  return [options] { return train(*options); };
}

}  // namespace leap::cli
