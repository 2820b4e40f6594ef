// Run directories: what a `leap train` or `leap distill` run leaves behind, in one place —
// config.toml (the resolved options, which --config reads back), metrics.csv (Keras'
// CSVLogger columns) and metrics.jsonl, checkpoints and report.html. Every run writes one
// unless told not to: by default a new runs/COMMAND-YYYYmmdd-HHMMSS.
#pragma once

#include <CLI/CLI.hpp>
#include <memory>
#include <string>
#include <vector>

#include "leap/callback.h"
#include "leap/callbacks/jsonl_logger.h"
#include "leap/callbacks/csv_logger.h"
#include "leap/report.h"

namespace leap::cli {

struct RunDirectoryOptions {
  std::string path;   // --run-dir; empty: a new dated directory under runs/
  bool none = false;  // --no-run-dir
};

void add_run_directory_options(CLI::App* command, RunDirectoryOptions& options);

// Creates the run directory (under runs/, a name not yet taken, when none was given),
// writes the command's resolved options to config.toml there and prints where it is.
// Returns its path, or "" under --no-run-dir.
std::string open_run_directory(const RunDirectoryOptions& options, const CLI::App* command);

// Writes `report` to RUN_DIR/report.html and to `report_path` (--report); either may be
// empty (none).
void write_reports(const Report& report, const std::string& run_dir, const std::string& report_path);

// metrics.csv and metrics.jsonl of a directory, written as training goes.
class RunMetrics {
 public:
  // `earlier`: epochs logged before (by the run this one resumes), written first.
  explicit RunMetrics(const std::string& dir, const std::vector<EpochLogs>& earlier = {});
  void add_to(std::vector<Callback*>& callbacks);
  const std::string& csv_path() const { return csv_path_; }

 private:
  std::string csv_path_;
  std::unique_ptr<CSVLogger> csv_;
  std::unique_ptr<JsonlLogger> jsonl_;
};

// The epochs that `dir`/metrics.csv holds up to the point `checkpoint` was written (later
// rows are about to be trained again); none when the directory has no metrics.csv.
std::vector<EpochLogs> epochs_before(const std::string& dir, const std::string& checkpoint);

}  // namespace leap::cli
