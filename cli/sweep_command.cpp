// leap sweep: every combination of the values given, each seed a model, trained side by side
// over one copy of the data (fit_many), then a row per configuration over its seeds.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <mutex>

#include "commands.h"
#include "config_options.h"
#include "leap/backend.h"
#include "leap/checkpoint.h"
#include "leap/compute_report.h"
#include "leap/data_files.h"
#include "leap/error.h"
#include "leap/interrupt.h"
#include "leap/report.h"
#include "leap/sweep.h"
#include "leap/model.h"
#include "run_directory.h"
#include "sweep_grid.h"

namespace leap::cli {
namespace {

namespace fs = std::filesystem;

struct SweepCommandOptions {
  SweepGridOptions grid;
  DataFiles data;
  float momentum = 0.9f;
  std::string device = "auto", precision = "auto", report;
  bool drop_last = false, save_all = false;
  int workers = 0;
  RunDirectoryOptions run;
};

// One model of the sweep: its configuration, seed and where its files go.
struct SweepModel {
  const SweepConfiguration* configuration;
  uint64_t seed;
  std::unique_ptr<Model> model;
  std::unique_ptr<RunMetrics> metrics;
  std::string dir;  // RUN_DIR/CONFIGURATION/seed-N, or "" without a run directory
};

std::string format(const char* pattern, double value) {
  char text[64];
  std::snprintf(text, sizeof text, pattern, value);
  return text;
}

// "0.8796 +- 0.0031 (0.0007)": mean, standard deviation and (standard error).
std::string spread_text(const Spread& s) {
  if (s.mean != s.mean) return "-";  // no validation data
  return format("%.4f", s.mean) + " +- " + format("%.4f", s.std_dev) + " (" + format("%.4f", s.std_error) + ")";
}

// The cheap checks of every configuration against the data and the device, before training.
void check_grid(const SweepGrid& grid, const Dataset& train, Device device) {
  int64_t needs = shared_data_bytes(device, train.size(), train.features()), largest = 0;
  for (const SweepConfiguration& c : grid.configurations) {
    const std::vector<int> widths = parse_spec(c.model);
    check(widths.front() == train.features(),
          "--model " + c.model + ": " + std::to_string(widths.front()) + " inputs, but the data has " +
              std::to_string(train.features()) + " features");
    check(widths.back() >= train.classes,
          "--model " + c.model + ": " + std::to_string(widths.back()) + " outputs for data of " +
              std::to_string(train.classes) + " classes");
    const int64_t bytes = training_bytes(c.model, c.batch_size, train.size());
    needs += bytes * int64_t(grid.seeds.size());
    largest = std::max(largest, bytes);
  }
  check_sweep_fits(device, needs, largest, grid.models());
}

FitOptions fit_options(const SweepCommandOptions& o, const SweepConfiguration& c, uint64_t seed,
                       const Dataset* validation) {
  // As leap train builds them, so that each model trains as it would alone.
  FitOptions fit{.epochs = c.epochs, .batch_size = c.batch_size, .drop_last = o.drop_last, .seed = seed,
                 .validation_data = validation, .schedule = schedule_by_name(c.schedule, c.epochs),
                 .verbose = false};
  if (o.precision != "auto") fit.precision = parse_precision(o.precision);
  return fit;
}

ReportTable summary_table(const SweepGrid& grid, const std::vector<SeedSummary>& summaries) {
  ReportTable table{"over seeds: mean +- standard deviation (standard error)",
                    {"configuration", "seeds", "final val accuracy", "best val accuracy", "final val loss",
                     "best val loss", "steps/s a model"},
                    {}};
  for (size_t c = 0; c < grid.configurations.size(); ++c) {
    const SeedSummary& s = summaries[c];
    table.rows.push_back({grid.configurations[c].name, std::to_string(grid.seeds.size()),
                          spread_text(s.final_val_accuracy), spread_text(s.best_val_accuracy),
                          spread_text(s.final_val_loss), spread_text(s.best_val_loss),
                          format("%.0f", s.steps_per_second)});
  }
  return table;
}

void print_table(const ReportTable& table) {
  std::vector<size_t> widths(table.columns.size());
  for (size_t i = 0; i < widths.size(); ++i) {
    widths[i] = table.columns[i].size();
    for (const auto& row : table.rows) widths[i] = std::max(widths[i], row[i].size());
  }
  auto line = [&](const std::vector<std::string>& cells) {
    for (size_t i = 0; i < cells.size(); ++i)
      std::printf(i == 0 ? "%-*s" : "  %*s", int(widths[i]), cells[i].c_str());
    std::printf("\n");
  };
  line(table.columns);
  for (const auto& row : table.rows) line(row);
}

// Writes summary.csv: a row per configuration with each figure's mean, std and stderr.
void write_summary_csv(const std::string& path, const SweepGrid& grid, const std::vector<SeedSummary>& summaries) {
  std::FILE* file = std::fopen(path.c_str(), "w");
  check(file != nullptr, path + ": cannot write");
  std::fprintf(file, "configuration,model,optimizer,lr,weight_decay,dropout,batch_size,epochs,schedule,seeds");
  for (const char* figure : {"final_val_accuracy", "best_val_accuracy", "final_val_loss", "best_val_loss"})
    std::fprintf(file, ",%s_mean,%s_std,%s_stderr", figure, figure, figure);
  std::fprintf(file, ",steps_per_second\n");
  for (size_t i = 0; i < grid.configurations.size(); ++i) {
    const SweepConfiguration& c = grid.configurations[i];
    const SeedSummary& s = summaries[i];
    std::fprintf(file, "\"%s\",%s,%s,%.9g,%.9g,%.9g,%d,%d,%s,%zu", c.name.c_str(), c.model.c_str(),
                 c.optimizer.c_str(), c.lr, c.weight_decay, c.dropout, c.batch_size, c.epochs,
                 c.schedule.c_str(), grid.seeds.size());
    for (const Spread* figure : {&s.final_val_accuracy, &s.best_val_accuracy, &s.final_val_loss, &s.best_val_loss})
      std::fprintf(file, ",%.6f,%.6f,%.6f", figure->mean, figure->std_dev, figure->std_error);
    std::fprintf(file, ",%.1f\n", s.steps_per_second);
  }
  const bool ok = std::fclose(file) == 0;
  check(ok, path + ": cannot write");
}

int sweep(const SweepCommandOptions& o, const CLI::App* command) {
  const auto start = std::chrono::steady_clock::now();
  // Every check that needs no data comes first, then those against the data; nothing trains
  // and no run directory is made until all pass.
  const SweepGrid grid = parse_sweep_grid(o.grid);
  check(o.workers >= 0, "--workers: must not be negative");
  check(!(o.save_all && o.run.none), "--save-all writes into the run directory: drop --no-run-dir");
  if (o.precision != "auto") parse_precision(o.precision);
  const Device device = choose_device(o.device);
  const MnistSplits data = load_data_files(o.data);
  check_dataset(data.train, data.train.features(), data.train.classes, "training data");
  check_grid(grid, data.train, device);
  // One resident copy of each split for every model (evaluate would copy host data to a GPU
  // every epoch of every model).
  const Dataset train = data.train.to(device);
  const Dataset validation_data = data.test.size() > 0 ? data.test.to(device) : Dataset{};
  const Dataset* validation = validation_data.size() > 0 ? &validation_data : nullptr;

  std::vector<SweepModel> models;
  std::vector<SweepMember> members;
  for (const SweepConfiguration& c : grid.configurations)
    for (uint64_t seed : grid.seeds) {
      auto model = std::make_unique<Model>(Sequential::from_spec(c.model, seed, device, c.dropout));
      model->compile(optimizer_by_name(c.optimizer, c.lr, o.momentum, c.weight_decay));
      members.push_back({model.get(), nullptr, fit_options(o, c, seed, validation)});
      models.push_back({&c, seed, std::move(model), nullptr, ""});
    }
  const std::string run_dir = open_run_directory(o.run, command);
  const int workers = sweep_workers(device, members.size(), o.workers);
  const std::string how =
      workers <= 1 ? (device == Device::cpu ? "one after another, each on every core" : "one after another")
      : device == Device::cpu
          ? std::to_string(workers) + " at once, one a core"
          : std::to_string(workers) + " at once, the persistent kernel's steps in one launch (a cluster a model), "
                                      "graphs on side streams";
  std::printf("Sweep: %zu configurations x %zu seeds = %zu models on %s, %s\n", grid.configurations.size(),
              grid.seeds.size(), grid.models(), backend(device).describe().c_str(), how.c_str());
  for (size_t i = 0; i < models.size(); ++i) {
    if (run_dir.empty()) continue;
    const fs::path dir = fs::path(run_dir) / directory_name(models[i].configuration->name) /
                         ("seed-" + std::to_string(models[i].seed));
    fs::create_directories(dir);
    models[i].dir = dir.string();
    models[i].metrics = std::make_unique<RunMetrics>(dir.string());
    models[i].metrics->add_to(members[i].fit.callbacks);
  }

  size_t done = 0;
  SweepOptions sweep_options{.workers = o.workers, .on_model_end = [&](size_t i, const History& history) {
    const SweepModel& m = models[i];
    const EpochLogs& last = history.epochs.back();
    std::printf("[%zu/%zu] %s seed %llu: val accuracy %.4f, val loss %.4f, %.0f us/step\n", ++done,
                models.size(), m.configuration->name.c_str(), static_cast<unsigned long long>(m.seed),
                last.val_accuracy, last.val_loss, last.us_per_step);
    std::fflush(stdout);
    if (o.save_all) save_weights(m.model->network(), (fs::path(m.dir) / "model.safetensors").string(),
                                 {{"model", m.configuration->model}, {"format", "pt"}});  // as leap train --save
  }};
  std::vector<History> histories;
  const auto training_start = std::chrono::steady_clock::now();
  {
    StopSignalScope stop_on_signals;
    histories = fit_many(members, train, sweep_options);
  }
  const auto end = std::chrono::steady_clock::now();
  const double wall = std::chrono::duration<double>(end - start).count();
  const double training = std::chrono::duration<double>(end - training_start).count();

  Report report{"leap sweep: " + std::to_string(grid.models()) + " models", {}, {}};
  std::vector<SeedSummary> summaries;
  int64_t steps = 0;
  double flops = 0;
  for (size_t c = 0; c < grid.configurations.size(); ++c) {
    const size_t first = c * grid.seeds.size();
    const std::span<const History> mine(histories.data() + first, grid.seeds.size());
    summaries.push_back(summarize_seeds(mine));
    RunCurves curves{grid.configurations[c].name, {}, {}};
    mean_curves(mine, curves.epochs, curves.spread);
    report.runs.push_back(curves);
    // The best seed's weights (by final validation accuracy) stand for the configuration.
    size_t best = first;
    const ComputeReport compute = compute_report(*models[first].model, histories[first], grid.configurations[c].batch_size);
    for (size_t i = first; i < first + grid.seeds.size(); ++i) {
      for (const EpochLogs& logs : histories[i].epochs) {
        steps += logs.steps;
        flops += double(compute.flops_per_step) * double(logs.steps);
      }
      if (histories[i].epochs.back().val_accuracy > histories[best].epochs.back().val_accuracy) best = i;
    }
    if (!run_dir.empty()) {
      const fs::path path = fs::path(run_dir) / directory_name(grid.configurations[c].name) / "best.safetensors";
      save_weights(models[best].model->network(), path.string(),
                   {{"model", models[best].configuration->model}, {"format", "pt"},
                    {"seed", std::to_string(models[best].seed)}});
    }
    report.tables.push_back(compute_table(*models[first].model, histories[first], grid.configurations[c].batch_size));
    report.tables.back().title = grid.configurations[c].name + ", seed " + std::to_string(grid.seeds.front()) +
                                 ": " + report.tables.back().title;
  }
  const ReportTable table = summary_table(grid, summaries);
  report.tables.insert(report.tables.begin(), table);
  std::printf("\n");
  print_table(table);
  const ComputeReport first = compute_report(*models[0].model, histories[0], grid.configurations[0].batch_size);
  std::printf("\n%zu models, %lld steps in %.2f s of wall time (data loading included; training %.2f s): "
              "%.2f models/s, %.0f steps/s, %.3g TFLOP/s over all models (%.1f%% of the %s peak, %s)\n",
              models.size(), static_cast<long long>(steps), wall, training, double(models.size()) / wall,
              double(steps) / wall, flops / wall * 1e-12,
              100 * flops / wall * 1e-12 / first.peak.for_precision(first.precision),
              to_string(first.precision).c_str(), first.peak.source.c_str());
  std::printf("Training path of model 0: %s\n", models[0].model->training_path().c_str());
  if (!run_dir.empty()) write_summary_csv((fs::path(run_dir) / "summary.csv").string(), grid, summaries);
  write_reports(report, run_dir, o.report);
  return 0;
}

}  // namespace

Command add_sweep_command(CLI::App& app) {
  auto o = std::make_shared<SweepCommandOptions>();
  CLI::App* cmd = app.add_subcommand(
      "sweep", "Train every combination of the values given (comma-separated lists), each seed a model, side by side");
  SweepGridOptions& g = o->grid;
  cmd->add_option("--model", g.model, "Layer widths, a list: 784-64-10,784-128-10")->capture_default_str();
  cmd->add_option("--seeds", g.seeds, "Seeds, a list of numbers and ranges: 0-19 or 0-4,10")->capture_default_str();
  cmd->add_option("--lr", g.lr, "Learning rates, a list: 1e-3,3e-4")->capture_default_str();
  cmd->add_option("--batch-size", g.batch_size, "Batch sizes, a list")->capture_default_str();
  cmd->add_option("--epochs", g.epochs, "Epoch counts, a list")->capture_default_str();
  cmd->add_option("--optimizer", g.optimizer, "adam, sgd or both")->capture_default_str();
  cmd->add_option("--schedule", g.schedule, "Learning-rate schedules, a list of none, step, cosine")->capture_default_str();
  cmd->add_option("--weight-decay", g.weight_decay, "Weight decays, a list")->capture_default_str();
  cmd->add_option("--dropout", g.dropout, "Dropout after each hidden ReLU, a list")->capture_default_str();
  cmd->add_option("--momentum", o->momentum, "SGD momentum")->capture_default_str()->check(finite_non_negative);
  add_data_options(cmd, o->data);
  cmd->add_option("--device", o->device)->capture_default_str()->check(CLI::IsMember({"cpu", "cuda", "auto"}));
  cmd->add_option("--precision", o->precision, "Matrix products in fp32, tf32 or bf16 (auto: fp32)")
      ->capture_default_str()->check(CLI::IsMember({"auto", "fp32", "tf32", "bf16"}));
  cmd->add_flag("--drop-last", o->drop_last, "Drop the last incomplete batch of each epoch");
  cmd->add_option("--workers", o->workers,
                  "Models trained at once. CPU: each on one core (0: one a core; 1: one after another, each "
                  "on every core). GPU: N > 1: N at once, their persistent-kernel steps in one launch (not yet "
                  "run on a GPU); 0 or 1: one after another")
      ->capture_default_str()->check(CLI::Range(0, 4096));
  cmd->add_flag("--save-all", o->save_all,
                "Save every model's weights (RUN_DIR/CONFIGURATION/seed-N/model.safetensors); the best "
                "seed of each configuration is always saved (RUN_DIR/CONFIGURATION/best.safetensors)");
  cmd->add_option("--report", o->report, "Also write the HTML report here");
  add_run_directory_options(cmd, o->run);
  add_config_options(cmd);
  return [o, cmd] { return sweep(*o, cmd); };
}

}  // namespace leap::cli
