// leap distill: train (or load) a teacher, then the student alone and distilled from it with
// the same initial weights and batch order, and report what distillation bought.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <vector>

#include "commands.h"
#include "config_options.h"
#include "leap/checkpoint.h"
#include "leap/distill.h"
#include "leap/error.h"
#include "leap/idx.h"
#include "leap/predictor.h"
#include "leap/report.h"
#include "leap/sweep.h"
#include "progress.h"
#include "run_directory.h"
#include "sweep_grid.h"
#include "training_options.h"
#include "leap/adam.h"

namespace leap::cli {
namespace {

struct DistillCommandOptions {
  std::string teacher_model = "784-512-256-10", teacher_load, teacher_save;
  // A strongly regularised, annealed teacher behaves on its training data much as on unseen
  // data, so its soft targets there carry what it knows rather than what it memorised.
  float teacher_dropout = 0.5f;
  int teacher_epochs = 30;
  std::string student_model = "784-128-10", save, data, device = "auto", report;
  float temperature = 2.0f, alpha = 0.5f, lr = 1e-3f, weight_decay = 0.0f;
  // Patient: distillation pays once the student trained on labels alone starts to memorise
  // them; at 10 epochs it loses (bench/results/2026-11-24-cpu-distill-recipe.txt).
  int epochs = 100, batch_size = 64;
  std::string schedule = "none", teacher_schedule = "cosine";
  uint64_t seed = 0;
  std::string seeds;  // paired seeds, all in one launch; empty: --seed alone
  RunDirectoryOptions run;
};

struct Row {
  std::string name;
  double accuracy;
  int64_t parameters, flops;
  double batch1_us, batch1024_us;
};

// Median microseconds of one predict call at `batch`.
double latency_us(Sequential& network, int batch) {
  Predictor predictor(network, batch);
  std::vector<float> inputs(size_t(batch) * network.input_width(), 0.5f);
  std::vector<float> logits(size_t(batch) * network.output_width());
  std::vector<double> samples;
  for (int i = 0; i < 220; ++i) {
    const auto start = std::chrono::steady_clock::now();
    predictor.predict(inputs.data(), logits.data());
    if (i >= 20) samples.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count());
  }
  std::nth_element(samples.begin(), samples.begin() + samples.size() / 2, samples.end());
  return samples[samples.size() / 2];
}

Row measure(const std::string& name, Model& model, const Dataset& test) {
  Sequential& network = model.network();
  return {name, model.evaluate(test).accuracy, network.parameter_count(),
          network.forward_flops_per_sample(), latency_us(network, 1), latency_us(network, 1024)};
}

// The median epoch's wall time; the first epoch (graph capture, warm caches) is left out
// when there are others.
double median_epoch_seconds(const History& history) {
  std::vector<double> seconds;
  for (size_t i = history.epochs.size() > 1 ? 1 : 0; i < history.epochs.size(); ++i)
    seconds.push_back(history.epochs[i].seconds);
  std::nth_element(seconds.begin(), seconds.begin() + seconds.size() / 2, seconds.end());
  return seconds[seconds.size() / 2];
}

// Trains one of the three models with `fit`; with a run directory, RUN_DIR/NAME/ gets its
// metrics.csv and metrics.jsonl (a run directory of its own for leap plot) and its weights.
template <typename Trainer>
History fit_model(Trainer& trainer, Sequential& network, const std::string& spec, const Dataset& train,
                  FitOptions fit, const std::string& run_dir, const std::string& name) {
  if (run_dir.empty()) return trainer.fit(train, fit);
  const std::filesystem::path dir = std::filesystem::path(run_dir) / name;
  std::filesystem::create_directories(dir);
  RunMetrics metrics(dir.string());
  metrics.add_to(fit.callbacks);
  History history = trainer.fit(train, fit);
  save_weights(network, (dir / "model.safetensors").string(), {{"model", spec}});
  return history;
}

// The paired students of one seed: alone and distilled, from the same initial weights and
// batch order.
struct StudentPair {
  uint64_t seed;
  std::unique_ptr<Model> alone, distilled;
  History alone_history, distilled_history;
};

// "0-4,10" or "3": the seeds of the paired students.
std::vector<uint64_t> parse_seed_list(const std::string& text) {
  SweepGridOptions grid;
  grid.seeds = text;
  return parse_sweep_grid(grid).seeds;
}

int distill(const DistillCommandOptions& o, const CLI::App* command) {
  const Device device = choose_device(o.device);
  const std::vector<uint64_t> seeds = o.seeds.empty() ? std::vector<uint64_t>{o.seed} : parse_seed_list(o.seeds);
  const bool paired = seeds.size() > 1;
  check(!(paired && !o.save.empty()), "--save keeps one distilled student: give one seed, or use the run "
                                      "directory (a model.safetensors a student)");
  MnistSplits data = load_mnist_dir(o.data.empty() ? default_data_dir() : o.data);
  // The models and the teacher's weights are checked before a run directory is made.
  Model teacher(Sequential::from_spec(o.teacher_model, seeds.front() + 1000, device, o.teacher_dropout));
  if (!o.teacher_load.empty()) load_weights(teacher.network(), o.teacher_load);
  std::vector<StudentPair> pairs;
  for (uint64_t seed : seeds)
    pairs.push_back({seed, std::make_unique<Model>(Sequential::from_spec(o.student_model, seed, device)),
                     std::make_unique<Model>(Sequential::from_spec(o.student_model, seed, device)), {}, {}});
  const std::string run_dir = open_run_directory(o.run, command);
  KerasProgress progress;
  // Both student arms share every setting but the loss: epochs, schedule, seed, optimizer.
  FitOptions fit{.epochs = o.epochs, .batch_size = o.batch_size, .seed = seeds.front(),
                 .validation_data = &data.test, .callbacks = {&progress},
                 .schedule = schedule_by_name(o.schedule, o.epochs), .verbose = true};
  const OptimizerFactory optimizer = adam({.lr = o.lr, .weight_decay = o.weight_decay});

  Report report{"leap distill: " + o.teacher_model + " into " + o.student_model, {}, {}};
  if (o.teacher_load.empty()) {
    std::printf("== teacher %s, dropout %.2f, %d epochs, schedule %s\n", o.teacher_model.c_str(),
                o.teacher_dropout, o.teacher_epochs, o.teacher_schedule.c_str());
    teacher.compile(optimizer);
    FitOptions teacher_fit = fit;
    teacher_fit.epochs = o.teacher_epochs;
    teacher_fit.schedule = schedule_by_name(o.teacher_schedule, o.teacher_epochs);
    report.runs.push_back({"teacher", fit_model(teacher, teacher.network(), o.teacher_model, data.train,
                                                teacher_fit, run_dir, "teacher").epochs});
    if (!o.teacher_save.empty()) save_weights(teacher.network(), o.teacher_save);
  }

  // Every student, alone and distilled, side by side (fit_many); the teacher's logits are
  // computed once and shared by the distilled ones.
  std::printf("== student %s alone and distilled (T=%.2f, alpha=%.2f), %zu seed%s side by side\n",
              o.student_model.c_str(), o.temperature, o.alpha, seeds.size(), paired ? "s" : "");
  std::vector<std::unique_ptr<Distiller>> distillers;
  Dataset with_targets;
  std::vector<SweepMember> members;
  std::vector<std::unique_ptr<RunMetrics>> metrics;
  std::vector<std::string> directories;
  for (StudentPair& pair : pairs) {
    pair.alone->compile(optimizer);
    distillers.push_back(std::make_unique<Distiller>(teacher.network(), *pair.distilled,
                                                     DistillerOptions{.temperature = o.temperature, .alpha = o.alpha}));
    distillers.back()->compile(optimizer);
    if (!with_targets.images.defined()) with_targets = distillers.back()->training_data(data.train);
    FitOptions student_fit = fit;
    student_fit.seed = pair.seed;
    student_fit.verbose = false;
    student_fit.callbacks.clear();  // epochs of models side by side would interleave
    const std::string suffix = paired ? "-seed-" + std::to_string(pair.seed) : "";
    for (bool distilled : {false, true}) {
      const std::string arm = distilled ? "student-distilled" : "student-alone";
      members.push_back({distilled ? pair.distilled.get() : pair.alone.get(),
                         distilled ? &with_targets : nullptr, student_fit});
      directories.push_back(run_dir.empty() ? "" : (std::filesystem::path(run_dir) / (arm + suffix)).string());
      if (run_dir.empty()) continue;
      std::filesystem::create_directories(directories.back());
      metrics.push_back(std::make_unique<RunMetrics>(directories.back()));
      metrics.back()->add_to(members.back().fit.callbacks);
    }
  }
  const std::vector<History> histories = fit_many(members, data.train);
  for (size_t i = 0; i < pairs.size(); ++i) {
    pairs[i].alone_history = histories[2 * i];
    pairs[i].distilled_history = histories[2 * i + 1];
    if (run_dir.empty()) continue;
    save_weights(pairs[i].alone->network(), directories[2 * i] + "/model.safetensors", {{"model", o.student_model}});
    save_weights(pairs[i].distilled->network(), directories[2 * i + 1] + "/model.safetensors", {{"model", o.student_model}});
  }
  report.runs.push_back({"student alone", pairs[0].alone_history.epochs});
  report.runs.push_back({"student distilled", pairs[0].distilled_history.epochs});
  if (!o.save.empty()) save_weights(pairs[0].distilled->network(), o.save, {{"model", o.student_model}});

  // Latencies from the first seed's students (the same shapes for every seed); accuracies
  // are the means over the seeds.
  Row rows[] = {measure("teacher", teacher, data.test), measure("student alone", *pairs[0].alone, data.test),
                measure("student distilled", *pairs[0].distilled, data.test)};
  if (paired) {
    double alone_sum = 0, distilled_sum = 0;
    for (StudentPair& pair : pairs) {
      const double alone = pair.alone->evaluate(data.test).accuracy;
      const double distilled = pair.distilled->evaluate(data.test).accuracy;
      std::printf("seed %llu: student alone %.4f, student distilled %.4f, gain %+.2f points\n",
                  static_cast<unsigned long long>(pair.seed), alone, distilled, 100 * (distilled - alone));
      alone_sum += alone, distilled_sum += distilled;
    }
    rows[1].accuracy = alone_sum / double(pairs.size());
    rows[2].accuracy = distilled_sum / double(pairs.size());
    std::printf("(the table's student accuracies: means over %zu seeds)\n", pairs.size());
  }
  std::printf("\n%-18s %9s %11s %13s %13s %16s\n", "", "test acc", "parameters", "FLOPs/sample",
              "batch 1 (us)", "batch 1024 (us)");
  for (const Row& r : rows)
    std::printf("%-18s %9.4f %11lld %13lld %13.1f %16.1f\n", r.name.c_str(), r.accuracy,
                static_cast<long long>(r.parameters), static_cast<long long>(r.flops), r.batch1_us,
                r.batch1024_us);
  {
    char title[64];
    std::snprintf(title, sizeof title, "distillation (T=%g, alpha=%g)", o.temperature, o.alpha);
    ReportTable table{title,
                      {"model", "test accuracy", "parameters", "FLOPs/sample", "batch 1 (us)", "batch 1024 (us)"}, {}};
    for (const Row& r : rows) {
      char figures[3][32];
      std::snprintf(figures[0], 32, "%.4f", r.accuracy);
      std::snprintf(figures[1], 32, "%.1f", r.batch1_us);
      std::snprintf(figures[2], 32, "%.1f", r.batch1024_us);
      table.rows.push_back({r.name, figures[0], std::to_string(r.parameters), std::to_string(r.flops),
                            figures[1], figures[2]});
    }
    report.tables.push_back(table);
  }
  write_reports(report, run_dir, o.report);
  const double alone_epoch = median_epoch_seconds(pairs[0].alone_history);
  const double distilled_epoch = median_epoch_seconds(pairs[0].distilled_history);
  std::printf("epoch time (median): student alone %.2f ms, distilled %.2f ms (%.2fx)\n",
              1e3 * alone_epoch, 1e3 * distilled_epoch, distilled_epoch / alone_epoch);
  const double gap = rows[0].accuracy - rows[1].accuracy, gain = rows[2].accuracy - rows[1].accuracy;
  std::printf("distillation: %+.2f points over the student alone", 100 * gain);
  if (gap > 0)
    std::printf("; %.0f%% of the teacher-student gap (%.2f points) recovered\n", 100 * gain / gap, 100 * gap);
  else
    std::printf("; the teacher is not more accurate than the student alone\n");
  return 0;
}

}  // namespace

Command add_distill_command(CLI::App& app) {
  auto o = std::make_shared<DistillCommandOptions>();
  CLI::App* cmd = app.add_subcommand("distill", "Distill a teacher into a smaller student and report the gain");
  cmd->add_option("--teacher-model", o->teacher_model)->capture_default_str();
  cmd->add_option("--teacher-load", o->teacher_load, "Use these teacher weights instead of training");
  cmd->add_option("--teacher-save", o->teacher_save, "Save the trained teacher");
  cmd->add_option("--teacher-dropout", o->teacher_dropout, "Dropout after the teacher's hidden layers")
      ->capture_default_str()->check(CLI::Range(0.0f, 0.95f));
  add_epochs_option(cmd, o->teacher_epochs, "", "--teacher-epochs");
  cmd->add_option("--student-model", o->student_model)->capture_default_str();
  cmd->add_option("--temperature", o->temperature)->capture_default_str()->check(CLI::Range(0.01f, 100.0f));
  cmd->add_option("--alpha", o->alpha, "Weight of the soft-target loss")->capture_default_str()->check(CLI::Range(0.0f, 1.0f));
  add_epochs_option(cmd, o->epochs, "Epochs of each student, alone and distilled");
  add_batch_size_option(cmd, o->batch_size);
  add_lr_option(cmd, o->lr);
  add_weight_decay_option(cmd, o->weight_decay, "Adam's L2 weight decay, teacher and students");
  add_schedule_option(cmd, o->schedule, "Learning-rate schedule of both students");
  add_schedule_option(cmd, o->teacher_schedule, "Learning-rate schedule of the teacher", "--teacher-schedule");
  cmd->add_option("--data", o->data, "Directory with the IDX files (default: Debian's Fashion-MNIST)");
  add_device_option(cmd, o->device);
  add_seed_option(cmd, o->seed, "Seeds the students' weights and batch order (shared)");
  cmd->add_option("--seeds", o->seeds,
                  "Paired seeds trained side by side in one call, a list of numbers and ranges (0-9); "
                  "the teacher takes the first; replaces --seed")
      ->excludes(cmd->get_option("--seed"));
  cmd->add_option("--save", o->save, "Save the distilled student (safetensors)");
  cmd->add_option("--report", o->report, "Write an offline HTML report (curves of all three, the table)");
  add_run_directory_options(cmd, o->run);
  add_config_options(cmd);
  return [o, cmd] { return distill(*o, cmd); };
}

}  // namespace leap::cli
