// leap plot: several runs' metrics.csv (CSVLogger's columns) overlaid in one offline HTML page.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <memory>

#include "commands.h"
#include "leap/report.h"
#include "leap/callbacks/csv_logger.h"

namespace leap::cli {
namespace {

struct PlotOptions {
  std::vector<std::string> runs;
  std::string output = "plot.html", title = "leap runs";
};

namespace fs = std::filesystem;

// A run directory holds metrics.csv; a file is taken as the CSV itself, named after its folder
// when it is a metrics.csv.
RunCurves read_run(const std::string& run) {
  fs::path csv = fs::is_directory(run) ? fs::path(run) / "metrics.csv" : fs::path(run);
  fs::path named = csv.filename() == "metrics.csv" ? csv.parent_path() : csv.stem();
  std::string name = fs::path(named).filename().string();
  if (name.empty() || name == ".") name = fs::absolute(named).lexically_normal().filename().string();
  return {name, read_metrics_csv(csv.string())};
}

std::string figure(const char* pattern, double value) {
  if (std::isnan(value)) return "";
  char text[32];
  std::snprintf(text, sizeof text, pattern, value);
  return text;
}

// The last and best figures of each run, side by side.
ReportTable summary(const std::vector<RunCurves>& runs) {
  ReportTable table{"runs", {"run", "epochs", "final loss", "final accuracy", "final val_loss",
                             "final val_accuracy", "best val_accuracy (epoch)", "us per step (median)"}, {}};
  for (const RunCurves& run : runs) {
    if (run.epochs.empty()) {
      table.rows.push_back({run.name, "0", "", "", "", "", "", ""});
      continue;
    }
    const EpochLogs& last = run.epochs.back();
    const EpochLogs* best = nullptr;
    std::vector<double> steps;
    for (const EpochLogs& logs : run.epochs) {
      if (!std::isnan(logs.val_accuracy) && (!best || logs.val_accuracy > best->val_accuracy)) best = &logs;
      steps.push_back(logs.us_per_step);
    }
    std::nth_element(steps.begin(), steps.begin() + steps.size() / 2, steps.end());
    table.rows.push_back({run.name, std::to_string(run.epochs.size()), figure("%.4f", last.loss),
                          figure("%.4f", last.accuracy), figure("%.4f", last.val_loss),
                          figure("%.4f", last.val_accuracy),
                          best ? figure("%.4f", best->val_accuracy) + " (" + std::to_string(best->epoch) + ")" : "",
                          figure("%.1f", steps[steps.size() / 2])});
  }
  return table;
}

int plot(const PlotOptions& o) {
  Report report{o.title, {}, {}};
  for (const std::string& run : o.runs) report.runs.push_back(read_run(run));
  report.tables.push_back(summary(report.runs));
  write_report(o.output, report);
  std::printf("wrote %s: %zu runs\n", o.output.c_str(), report.runs.size());
  return 0;
}

}  // namespace

Command add_plot_command(CLI::App& app) {
  auto options = std::make_shared<PlotOptions>();
  CLI::App* cmd = app.add_subcommand("plot", "Overlay runs' metrics.csv files in one HTML page");
  cmd->add_option("runs", options->runs, "Run directories (holding metrics.csv) or CSV files")->required();
  cmd->add_option("-o,--output", options->output, "The HTML file to write")->capture_default_str();
  cmd->add_option("--title", options->title)->capture_default_str();
  return [options] { return plot(*options); };
}

}  // namespace leap::cli
