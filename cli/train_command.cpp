// leap train: the seed workload and its variations.
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <cstdio>
#include <filesystem>
#include <memory>

#include "commands.h"
#include "config_options.h"
#include "leap/backend.h"
#include "leap/checkpoint.h"
#include "leap/compute_report.h"
#include "leap/data_files.h"
#include "leap/idx.h"
#include "leap/error.h"
#include "leap/interrupt.h"
#include "leap/report.h"
#include "leap/model.h"
#include "leap/training_checkpoint.h"
#include "progress.h"
#include "ranks.h"
#include "run_directory.h"
#include "training_options.h"
#include "leap/callbacks/jsonl_logger.h"
#include "leap/callbacks/csv_logger.h"

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
  int gpus = 1;
  bool batch_per_rank = false;
  double collective_timeout = kDefaultCollectiveTimeout;
  std::string metrics, csv, report, save, load;
  RunDirectoryOptions run;
  std::string checkpoint_every, resume, on_nan = "stop";
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

FitOptions fit_options(const TrainOptions& o, Communicator* communicator) {
  const int ranks = communicator ? communicator->ranks() : 1;
  const int64_t batch = o.batch_per_rank ? int64_t(o.batch_size) * ranks : o.batch_size;
  check(batch <= (1 << 24), "--batch-size " + std::to_string(o.batch_size) + " on each of " +
                                std::to_string(ranks) + " ranks is a global batch above 2^24");
  FitOptions fit{.epochs = o.epochs, .batch_size = int(batch), .drop_last = o.drop_last,
                 .seed = o.seed, .schedule = schedule_by_name(o.schedule, o.epochs),
                 .verbose = !communicator || communicator->rank() == 0};
  fit.communicator = communicator;
  parse_checkpoint_every(o.checkpoint_every, fit);
  if (!o.resume.empty()) fit.resume_from = checkpoint_file(o.resume);
  fit.on_nan = o.on_nan == "skip" ? NanPolicy::skip : NanPolicy::stop;
  if (o.precision != "auto") fit.precision = parse_precision(o.precision);
  return fit;
}

// --resume RUN_DIR without --run-dir goes on in that directory.
RunDirectoryOptions run_directory_of(const TrainOptions& o) {
  RunDirectoryOptions run = o.run;
  if (run.path.empty() && !run.none && !o.resume.empty() && std::filesystem::is_directory(o.resume))
    run.path = o.resume;
  return run;
}

// Checkpoints and metrics go to the run directory (if any); a run resumed there keeps the
// metrics of the epochs before its checkpoint.
std::unique_ptr<RunMetrics> use_run_directory(const std::string& run_dir, FitOptions& fit) {
  if (run_dir.empty()) return nullptr;
  fit.checkpoint_path = checkpoint_file(run_dir);
  fit.checkpoint_at_end = true;
  std::error_code error;
  const bool resumed_here =
      !fit.resume_from.empty() && std::filesystem::equivalent(fit.checkpoint_path, fit.resume_from, error);
  auto metrics = std::make_unique<RunMetrics>(
      run_dir, resumed_here ? epochs_before(run_dir, fit.resume_from) : std::vector<EpochLogs>{});
  metrics->add_to(fit.callbacks);
  return metrics;
}

// The report of the run directory's whole metrics.csv (a resumed run's earlier epochs too).
Report train_report(const TrainOptions& o, Model& model, const History& history, int batch,
                    const std::string& csv) {
  return {"leap train " + o.model, {{o.model, csv.empty() ? history.epochs : read_metrics_csv(csv)}},
          {compute_table(model, history, batch)}};
}

void print_setup(const TrainOptions& o, Model& model, const FitOptions& fit, const MnistSplits& data) {
  std::printf("Data: %s (%lld train, %lld validation samples)\n",
              (o.data.data.empty() ? default_data_dir() : o.data.data).c_str(),
              static_cast<long long>(data.train.size()), static_cast<long long>(data.test.size()));
  std::printf("Device: %s\n%s\n%lld parameters; optimizer %s; batch %d\n",
              backend(model.device()).describe().c_str(), model.network().describe().c_str(),
              static_cast<long long>(model.network().parameter_count()),
              model.optimizer().describe().c_str(), fit.batch_size);
  if (fit.communicator && fit.communicator->ranks() > 1)
    std::printf("Data parallel: %d ranks share each batch of %d; rank 0: %s\n",
                fit.communicator->ranks(), fit.batch_size, fit.communicator->describe().c_str());
}


// One rank's training; alone when communicator is null. Rank 0 alone prints, logs and saves.
int train_on(const TrainOptions& o, Device device, Communicator* communicator, SharedData& files,
             const CLI::App* command) {
  // The cheap checks (options, spec, device, weights) come before the data is read.
  FitOptions fit = fit_options(o, communicator);
  const bool leader = fit.verbose;
  Model model(Sequential::from_spec(o.model, o.seed, device, o.dropout));
  if (!o.load.empty()) load_weights(model.network(), o.load);
  const MnistSplits& data = files.get();
  fit.validation_data = data.test.size() > 0 ? &data.test : nullptr;
  // Bad data is refused before a run directory is made for it.
  const int inputs = model.network().input_width(), classes = model.network().output_width();
  check_dataset(data.train, inputs, classes, "training data");
  if (fit.validation_data) check_dataset(*fit.validation_data, inputs, classes, "validation data");
  model.compile(optimizer_by_name(o.optimizer, o.lr, o.momentum, o.weight_decay));
  if (leader) print_setup(o, model, fit, data);

  // Rank 0 alone makes the run directory and writes there. The others keep its checkpoint
  // schedule (Model writes checkpoints on rank 0 only), so their path is a name in messages.
  const std::string run_dir = leader ? open_run_directory(run_directory_of(o), command) : "";
  std::unique_ptr<RunMetrics> run_metrics = use_run_directory(run_dir, fit);
  if (!leader && !run_directory_of(o).none) {
    fit.checkpoint_path = "rank 0's run directory";
    fit.checkpoint_at_end = true;
  }
  KerasProgress progress;
  if (leader) fit.callbacks.insert(fit.callbacks.begin(), &progress);
  std::unique_ptr<JsonlLogger> metrics;
  if (leader && !o.metrics.empty()) {
    metrics = std::make_unique<JsonlLogger>(o.metrics);
    fit.callbacks.push_back(metrics.get());
  }
  std::unique_ptr<CSVLogger> csv;
  if (leader && !o.csv.empty()) {
    csv = std::make_unique<CSVLogger>(o.csv);
    fit.callbacks.push_back(csv.get());
  }
  History history;
  try {
    StopSignalScope stop_on_signals;
    history = model.fit(data.train, fit);
  } catch (const Interrupted& e) {
    if (run_dir.empty()) throw;
    throw Interrupted(std::string(e.what()) +
                      "\nleap: to continue, run the same command with --resume " + run_dir);
  }
  if (!leader) return 0;
  const ComputeReport compute = compute_report(model, history, fit.batch_size);
  std::printf("%s", describe(compute).c_str());
  if (metrics) metrics->write_line("{\"compute\": " + to_json(compute) + "}");
  const Report report =
      train_report(o, model, history, fit.batch_size, run_metrics ? run_metrics->csv_path() : "");
  write_reports(report, run_dir, o.report);
  if (!o.save.empty()) {
    save_weights(model.network(), o.save, {{"model", o.model}, {"format", "pt"}});
    std::printf("Saved %s\n", o.save.c_str());
  }
  const EpochLogs& last = history.epochs.back();
  if (fit.validation_data)
    std::printf("Test accuracy: %.4f (loss %.4f)\n", last.val_accuracy, last.val_loss);
  return 0;
}

int train(const TrainOptions& o, const CLI::App* command) {
  SharedData files(o.data);
  const RankOptions ranks{.device = o.device, .gpus = o.gpus, .collective_timeout = o.collective_timeout};
  return run_training_ranks(ranks, [&](Device device, Communicator* communicator) {
    // Ranks must agree on their device: only a process alone may change its own.
    if (communicator) return train_on(o, device, communicator, files, command);
    try {
      return train_on(o, device, nullptr, files, command);
    } catch (const OutOfMemory& e) {
      if (device == Device::cpu) throw;
      if (o.device == "auto" && o.cpu_fallback) {
        std::fprintf(stderr, "leap: %s\nleap: --cpu-fallback: training on the CPU from the start\n", e.what());
        return train_on(o, Device::cpu, nullptr, files, command);
      }
      throw OutOfMemory(std::string(e.what()) +
                        " (a smaller --batch-size or model may fit; with --device auto, "
                        "--cpu-fallback trains on the CPU instead)");
    }
  });
}

}  // namespace

Command add_train_command(CLI::App& app) {
  auto options = std::make_shared<TrainOptions>();
  CLI::App* cmd = app.add_subcommand("train", "Train a model on an MNIST-style data set");
  cmd->add_option("--model", options->model, "Layer widths, ReLU between Linear layers")->capture_default_str();
  add_data_options(cmd, options->data);
  add_epochs_option(cmd, options->epochs);
  add_batch_size_option(cmd, options->batch_size,
                        "Samples per step, over all ranks: the processes of mpirun or the GPUs of "
                        "--gpus share each batch, so results do not depend on their number "
                        "(see --batch-per-rank)");
  cmd->add_flag("--batch-per-rank", options->batch_per_rank,
                "--batch-size is each rank's share: the global batch grows with the ranks "
                "(weak scaling)");
  cmd->add_option("--gpus", options->gpus,
                  "Train on this many GPUs of this machine from one process: a replica a GPU, "
                  "each batch shared, gradients averaged with NCCL (for several processes or "
                  "nodes, start leap under mpirun instead)")
      ->capture_default_str()->check(CLI::Range(1, 1024));
  cmd->add_option("--collective-timeout", options->collective_timeout,
                  "Seconds a rank waits for the others (a gradient sum, a broadcast) before it "
                  "stops the job, saying that another rank failed or stalled")
      ->capture_default_str()->check(CLI::Range(0.1, 1e6));
  add_lr_option(cmd, options->lr);
  cmd->add_option("--optimizer", options->optimizer)->capture_default_str()->check(CLI::IsMember({"adam", "sgd"}));
  cmd->add_option("--momentum", options->momentum, "SGD momentum")->capture_default_str()->check(finite_non_negative);
  add_weight_decay_option(cmd, options->weight_decay);
  cmd->add_option("--dropout", options->dropout, "Dropout after each hidden ReLU")
      ->capture_default_str()->check(CLI::Range(0.0f, 0.95f));
  add_schedule_option(cmd, options->schedule, "Learning-rate schedule per epoch");
  add_device_option(cmd, options->device);
  cmd->add_option("--precision", options->precision,
                  "Matrix products in fp32, tf32 or bf16 (fp32 accumulation, fp32 master weights and "
                  "Adam moments in all three; no loss scaling: bf16 has fp32's range). auto: fp32 "
                  "(ask for tf32 or bf16 for wide models, whose products run on tensor cores). On the CPU, tf32 and bf16 are emulated by "
                  "rounding the operands (the same results, no faster)")
      ->capture_default_str()->check(CLI::IsMember({"auto", "fp32", "tf32", "bf16"}));
  add_seed_option(cmd, options->seed, "Seeds the initial weights and the shuffling");
  cmd->add_flag("--drop-last", options->drop_last, "Drop the last incomplete batch of each epoch");
  cmd->add_option("--metrics", options->metrics, "Write one JSON object per epoch to this file");
  cmd->add_option("--csv", options->csv, "Write one CSV row per epoch to this file (Keras' CSVLogger)");
  cmd->add_option("--report", options->report, "Write an offline HTML report (charts, compute table)");
  cmd->add_option("--save", options->save, "Save the trained weights (safetensors)");
  cmd->add_option("--load", options->load, "Start from these weights (safetensors)");
  cmd->add_flag("--cpu-fallback", options->cpu_fallback,
                "With --device auto: when the GPU runs out of memory, train on the CPU instead");
  add_run_directory_options(cmd, options->run);
  cmd->add_option("--checkpoint-every", options->checkpoint_every,
                  "Write RUN_DIR/checkpoint.safetensors (atomically) every N epochs ('N' or "
                  "'Nepochs') or steps ('Nsteps'); one is also written at the end and on SIGINT/SIGTERM")
      ->excludes("--no-run-dir");
  cmd->add_option("--resume", options->resume,
                  "Continue the run of this checkpoint or run directory (there, unless --run-dir "
                  "says otherwise) with the same options")
      ->excludes("--load");
  cmd->add_option("--on-nan", options->on_nan,
                  "On a NaN/Inf loss or gradient: stop (keeping the last checkpoint), or skip the "
                  "batch (every step is then checked, which turns the GPU fast path off; stop "
                  "checks the fast path per chunk of up to 64 steps, 1024 on the persistent kernel)")
      ->capture_default_str()->check(CLI::IsMember({"stop", "skip"}));
  add_config_options(cmd);
  return [options, cmd] { return train(*options, cmd); };
}

}  // namespace leap::cli
