#include "run_directory.h"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>

#include "config_options.h"
#include "leap/error.h"
#include "leap/safetensors.h"
#include "leap/callbacks/jsonl_logger.h"
#include "leap/callbacks/csv_logger.h"

namespace leap::cli {
namespace {

namespace fs = std::filesystem;

// runs/COMMAND-YYYYmmdd-HHMMSS, or with -2, -3, ... when runs started in the same second.
fs::path new_dated_directory(const std::string& command) {
  char stamp[32];
  const std::time_t now = std::time(nullptr);
  std::tm local{};
  localtime_r(&now, &local);
  std::strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &local);
  const fs::path base = fs::path("runs") / (command + "-" + stamp);
  std::error_code error;
  fs::create_directories("runs", error);
  check(!error, "runs: cannot create the directory for run directories (" + error.message() +
                    "); choose one with --run-dir or use --no-run-dir");
  for (int n = 1;; ++n) {
    const fs::path candidate = n == 1 ? base : fs::path(base.string() + "-" + std::to_string(n));
    // create_directory is false when the name exists: another run took it.
    if (fs::create_directory(candidate, error)) return candidate;
    check(!error, candidate.string() + ": cannot create the run directory (" + error.message() + ")");
  }
}

void write_text(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  out.close();
  check(out.good(), path.string() + ": cannot write (" + std::strerror(errno) + ")");
}

}  // namespace

void add_run_directory_options(CLI::App* command, RunDirectoryOptions& options) {
  CLI::Option* path = command->add_option(
      "--run-dir", options.path,
      "Where the run's files go: config.toml, metrics.csv, metrics.jsonl, checkpoints, report.html "
      "(default: a new runs/" + command->get_name() + "-YYYYmmdd-HHMMSS)");
  command->add_flag("--no-run-dir", options.none, "Write no run directory")->excludes(path);
}

std::string open_run_directory(const RunDirectoryOptions& options, const CLI::App* command) {
  if (options.none) return "";
  fs::path dir = options.path;
  if (dir.empty()) {
    dir = new_dated_directory(command->get_name());
  } else {
    std::error_code error;
    fs::create_directories(dir, error);
    check(!error && fs::is_directory(dir), dir.string() + ": cannot create the run directory (" +
                                               (error ? error.message() : "not a directory") + ")");
  }
  write_text(dir / "config.toml", resolved_config(command));
  std::printf("Run directory: %s\n", dir.string().c_str());
  return dir.string();
}

void write_reports(const Report& report, const std::string& run_dir, const std::string& report_path) {
  const std::string in_run_dir = run_dir.empty() ? "" : (fs::path(run_dir) / "report.html").string();
  for (const std::string& path : {in_run_dir, report_path}) {
    if (path.empty()) continue;
    write_report(path, report);
    std::printf("Wrote %s\n", path.c_str());
  }
}

RunMetrics::RunMetrics(const std::string& dir, const std::vector<EpochLogs>& earlier)
    : csv_path_((fs::path(dir) / "metrics.csv").string()),
      csv_(std::make_unique<CSVLogger>(csv_path_)),
      jsonl_(std::make_unique<JsonlLogger>((fs::path(dir) / "metrics.jsonl").string())) {
  for (const EpochLogs& logs : earlier) {
    csv_->on_epoch_end(logs);
    jsonl_->on_epoch_end(logs);
  }
}

void RunMetrics::add_to(std::vector<Callback*>& callbacks) {
  callbacks.push_back(csv_.get());
  callbacks.push_back(jsonl_.get());
}

std::vector<EpochLogs> epochs_before(const std::string& dir, const std::string& checkpoint) {
  const fs::path csv = fs::path(dir) / "metrics.csv";
  if (!fs::exists(csv)) return {};
  // "epoch": the epochs the checkpoint had finished (0-based index of the one under way).
  const std::map<std::string, std::string> metadata = read_safetensors_header(checkpoint).metadata;
  const auto finished = metadata.find("epoch");
  check(finished != metadata.end(), checkpoint + ": checkpoint metadata lacks \"epoch\"");
  const int epochs_done = std::atoi(finished->second.c_str());
  std::vector<EpochLogs> kept;
  for (const EpochLogs& logs : read_metrics_csv(csv.string()))
    if (logs.epoch <= epochs_done) kept.push_back(logs);
  return kept;
}

}  // namespace leap::cli
