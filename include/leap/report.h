// An offline HTML report of training runs: inline SVG charts of loss and accuracy (training
// solid, validation dashed, a colour per run), learning rate and step time, then tables (the
// compute report, a distillation comparison). No script, font or style is fetched: the page
// reads the same from a disk, a mail attachment or a CI artefact.
#pragma once

#include <string>
#include <vector>

#include "leap/callback.h"

namespace leap {

class Model;

// One run's curves: a name for the legend and its epochs (a History's, or read_metrics_csv's).
struct RunCurves {
  std::string name;
  std::vector<EpochLogs> epochs;
  // A sweep's configuration: `epochs` holds the mean over its seeds and `spread` each
  // figure's standard deviation, drawn as a shaded band of mean +- spread. Empty: no band.
  std::vector<EpochLogs> spread = {};
};

struct ReportTable {
  std::string title;
  std::vector<std::string> columns;
  std::vector<std::vector<std::string>> rows;
};

struct Report {
  std::string title = "leap report";
  std::vector<RunCurves> runs;
  std::vector<ReportTable> tables;
};

std::string report_html(const Report& report);
// Writes report_html (atomically) to `path`.
void write_report(const std::string& path, const Report& report);

// What a fit cost: device and path, parameters, FLOPs per sample, steps, time per step and
// epoch, throughput, and the last epoch's figures.
ReportTable compute_table(Model& model, const History& history, int batch_size);

}  // namespace leap
