// leap train: the seed workload and its variations.
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <cstdio>
#include <filesystem>
#include <memory>

#include "commands.h"
#include "leap/backend.h"
#include "leap/checkpoint.h"
#include "leap/compute_report.h"
#include "leap/data_files.h"
#include "leap/idx.h"
#include "leap/error.h"
#include "leap/interrupt.h"
#include "leap/report.h"
#include "leap/trainer.h"
#include "leap/training_checkpoint.h"
#include "progress.h"

namespace leap::cli {
namespace {

struct TrainOptions {
  std::string model = "784-128-10";
  DataFiles data;
  int epochs = 10;
  int batch_size = 64;
  float lr = 1e-3f;
  std::string optimizer = "adam";
  float momentum = 0.9f;
  float weight_decay = 0.0f;
  float dropout = 0.0f;
  std::string schedule = "none";
  std::string device = "auto";
  std::string precision = "auto";
  uint64_t seed = 0;
  bool drop_last = false;
  bool cpu_fallback = false;
  std::string metrics, csv, report, save, load;
  std::string run_dir = "leap-run", checkpoint_every, resume, on_nan = "stop";
};

// "N" or "Nepochs": every N epochs; "Nsteps": every N steps.
void parse_checkpoint_every(const std::string& text, FitOptions& fit) {
  if (text.empty()) return;
  size_t digits = 0;
  while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits]))) ++digits;
  const std::string unit = text.substr(digits);
  check(digits > 0 && digits <= 12 && (unit.empty() || unit == "epochs" || unit == "steps") &&
            std::stoll(text.substr(0, digits)) > 0,
        "--checkpoint-every '" + text + "': expected a positive count, alone or followed by "
        "'epochs' or 'steps' (e.g. 2, 2epochs, 500steps)");
  fit.checkpoint_every = std::stoll(text.substr(0, digits));
  fit.checkpoint_in_steps = unit == "steps";
}

FitOptions fit_options(const TrainOptions& o) {
  FitOptions fit{.epochs = o.epochs, .batch_size = o.batch_size, .drop_last = o.drop_last,
                 .seed = o.seed, .schedule = schedule_by_name(o.schedule, o.epochs), .verbose = true};
  parse_checkpoint_every(o.checkpoint_every, fit);
  fit.checkpoint_path = (std::filesystem::path(o.run_dir) / "checkpoint.safetensors").string();
  if (!o.resume.empty()) fit.resume_from = checkpoint_file(o.resume);
  fit.on_nan = o.on_nan == "skip" ? NanPolicy::skip : NanPolicy::stop;
  if (o.precision != "auto") fit.precision = parse_precision(o.precision);
  return fit;
}

int train_on(const TrainOptions& o, Device device) {
  // The cheap checks (options, spec, device, weights) come before the data is read.
  FitOptions fit = fit_options(o);
  Model model(Sequential::from_spec(o.model, o.seed, device, o.dropout));
  if (!o.load.empty()) load_weights(model.network(), o.load);
  MnistSplits data = load_data_files(o.data);
  std::printf("Data: %s (%lld train, %lld validation samples)\n",
              (o.data.data.empty() ? default_data_dir() : o.data.data).c_str(),
              static_cast<long long>(data.train.size()), static_cast<long long>(data.test.size()));

  model.compile(optimizer_by_name(o.optimizer, o.lr, o.momentum, o.weight_decay));
  std::printf("Device: %s\n%s\n%lld parameters; optimizer %s; batch %d\n",
              backend(device).describe().c_str(), model.network().describe().c_str(),
              static_cast<long long>(model.network().parameter_count()),
              model.optimizer().describe().c_str(), o.batch_size);

  KerasProgress progress;
  std::unique_ptr<JsonlLogger> metrics;
  fit.validation_data = data.test.size() > 0 ? &data.test : nullptr;
  fit.callbacks = {&progress};
  if (!o.metrics.empty()) {
    metrics = std::make_unique<JsonlLogger>(o.metrics);
    fit.callbacks.push_back(metrics.get());
  }
  std::unique_ptr<CSVLogger> csv;
  if (!o.csv.empty()) {
    csv = std::make_unique<CSVLogger>(o.csv);
    fit.callbacks.push_back(csv.get());
  }
  History history;
  try {
    StopSignalScope stop_on_signals;
    history = model.fit(data.train, fit);
  } catch (const Interrupted& e) {
    throw Interrupted(std::string(e.what()) + "\nleap: to continue, run the same command with --resume " + o.run_dir);
  }
  const ComputeReport compute = compute_report(model, history, o.batch_size);
  std::printf("%s", describe(compute).c_str());
  if (metrics) metrics->write_line("{\"compute\": " + to_json(compute) + "}");
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
  if (fit.validation_data)
    std::printf("Test accuracy: %.4f (loss %.4f)\n", last.val_accuracy, last.val_loss);
  return 0;
}

int train(const TrainOptions& o) {
  const Device device = choose_device(o.device);
  try {
    return train_on(o, device);
  } catch (const OutOfMemory& e) {
    if (device == Device::cpu) throw;
    if (o.device == "auto" && o.cpu_fallback) {
      std::fprintf(stderr, "leap: %s\nleap: --cpu-fallback: training on the CPU from the start\n", e.what());
      return train_on(o, Device::cpu);
    }
    throw OutOfMemory(std::string(e.what()) +
                      " (a smaller --batch-size or model may fit; with --device auto, "
                      "--cpu-fallback trains on the CPU instead)");
  }
}

}  // namespace

Command add_train_command(CLI::App& app) {
  auto options = std::make_shared<TrainOptions>();
  CLI::App* cmd = app.add_subcommand("train", "Train a model on an MNIST-style data set");
  cmd->add_option("--model", options->model, "Layer widths, ReLU between Linear layers")->capture_default_str();
  add_data_options(cmd, options->data);
  cmd->add_option("--epochs", options->epochs)->capture_default_str()->check(CLI::Range(1, 1000000));
  cmd->add_option("--batch-size", options->batch_size)->capture_default_str()->check(CLI::Range(1, 1 << 24));
  cmd->add_option("--lr", options->lr, "Learning rate")
      ->capture_default_str()->check(finite_non_negative & CLI::Range(0.0, 1e6));
  cmd->add_option("--optimizer", options->optimizer)->capture_default_str()->check(CLI::IsMember({"adam", "sgd"}));
  cmd->add_option("--momentum", options->momentum, "SGD momentum")->capture_default_str()->check(finite_non_negative);
  cmd->add_option("--weight-decay", options->weight_decay)->capture_default_str()->check(finite_non_negative);
  cmd->add_option("--dropout", options->dropout, "Dropout after each hidden ReLU")
      ->capture_default_str()->check(CLI::Range(0.0f, 0.95f));
  cmd->add_option("--schedule", options->schedule, "Learning-rate schedule per epoch")
      ->capture_default_str()->check(CLI::IsMember({"none", "step", "cosine"}));
  cmd->add_option("--device", options->device)->capture_default_str()->check(CLI::IsMember({"cpu", "cuda", "auto"}));
  cmd->add_option("--precision", options->precision,
                  "Matrix products in fp32, tf32 or bf16 (fp32 accumulation, fp32 master weights and "
                  "Adam moments in all three; no loss scaling: bf16 has fp32's range). auto: tf32 on "
                  "GPUs with tensor cores, else fp32. On the CPU, tf32 and bf16 are emulated by "
                  "rounding the operands (the same results, no faster)")
      ->capture_default_str()->check(CLI::IsMember({"auto", "fp32", "tf32", "bf16"}));
  cmd->add_option("--seed", options->seed, "Seeds the initial weights and the shuffling")
      ->capture_default_str()->check(digits_only);
  cmd->add_flag("--drop-last", options->drop_last, "Drop the last incomplete batch of each epoch");
  cmd->add_option("--metrics", options->metrics, "Write one JSON object per epoch to this file");
  cmd->add_option("--csv", options->csv, "Write one CSV row per epoch to this file (Keras' CSVLogger)");
  cmd->add_option("--report", options->report, "Write an offline HTML report (charts, compute table)");
  cmd->add_option("--save", options->save, "Save the trained weights (safetensors)");
  cmd->add_option("--load", options->load, "Start from these weights (safetensors)");
  cmd->add_flag("--cpu-fallback", options->cpu_fallback,
                "With --device auto: when the GPU runs out of memory, train on the CPU instead");
  cmd->add_option("--run-dir", options->run_dir,
                  "Where checkpoints go (checkpoint.safetensors, written atomically)")
      ->capture_default_str();
  cmd->add_option("--checkpoint-every", options->checkpoint_every,
                  "Write a checkpoint every N epochs ('N' or 'Nepochs') or steps ('Nsteps'); "
                  "one is also written on SIGINT/SIGTERM");
  cmd->add_option("--resume", options->resume,
                  "Continue the run of this checkpoint (or run directory) with the same options")
      ->excludes("--load");
  cmd->add_option("--on-nan", options->on_nan,
                  "On a NaN/Inf loss or gradient: stop (keeping the last checkpoint), or skip the "
                  "batch (every step is then checked, which turns the GPU fast path off; stop "
                  "checks the fast path per chunk of up to 64 steps)")
      ->capture_default_str()->check(CLI::IsMember({"stop", "skip"}));
  return [options] { return train(*options); };
}

}  // namespace leap::cli
