#include <iterator>

#include "io/atomic_file.h"
#include "leap/report.h"
#include "svg_chart.h"

namespace leap {
namespace {

// Colours that stay apart from one another on screen and in print.
const char* const kPalette[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd",
                                "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};

const char* color_of(size_t run) { return kPalette[run % std::size(kPalette)]; }

using Figure = double (*)(const EpochLogs&);

ChartSeries series(const RunCurves& run, size_t index, Figure figure, bool dashed) {
  ChartSeries s{color_of(index), dashed, {}};
  for (const EpochLogs& logs : run.epochs) s.points.emplace_back(logs.epoch, figure(logs));
  for (size_t i = 0; i < run.spread.size() && i < run.epochs.size(); ++i) {
    const double mean = figure(run.epochs[i]), spread = figure(run.spread[i]);
    s.band.emplace_back(mean - spread, mean + spread);
  }
  return s;
}

// One chart of a figure for every run; the validation twin, when given, is dashed.
std::string chart(const Report& report, const std::string& title, Figure training, Figure validation) {
  Chart c{title, "epoch", {}};
  for (size_t i = 0; i < report.runs.size(); ++i) {
    c.series.push_back(series(report.runs[i], i, training, false));
    if (validation) c.series.push_back(series(report.runs[i], i, validation, true));
  }
  return svg_chart(c);
}

std::string table_html(const ReportTable& table) {
  std::string html = "<h2>" + escape_html(table.title) + "</h2>\n<table>\n<tr>";
  for (const std::string& column : table.columns) html += "<th>" + escape_html(column) + "</th>";
  html += "</tr>\n";
  for (const auto& row : table.rows) {
    html += "<tr>";
    for (const std::string& cell : row) html += "<td>" + escape_html(cell) + "</td>";
    html += "</tr>\n";
  }
  return html + "</table>\n";
}

}  // namespace

std::string report_html(const Report& report) {
  std::string html =
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>" +
      escape_html(report.title) +
      "</title>\n<style>\n"
      "body { font-family: sans-serif; margin: 24px; color: #222; background: #fff; }\n"
      ".charts { display: flex; flex-wrap: wrap; gap: 8px; }\n"
      ".legend span.swatch { display: inline-block; width: 24px; height: 4px; margin: 0 6px 3px 14px; }\n"
      "table { border-collapse: collapse; margin-bottom: 16px; }\n"
      "th, td { border: 1px solid #ccc; padding: 4px 10px; text-align: right; }\n"
      "th:first-child, td:first-child { text-align: left; }\n"
      "</style>\n</head>\n<body>\n<h1>" +
      escape_html(report.title) + "</h1>\n";
  if (!report.runs.empty()) {
    html += "<p class=\"legend\">";
    for (size_t i = 0; i < report.runs.size(); ++i)
      html += "<span class=\"swatch\" style=\"background: " + std::string(color_of(i)) + "\"></span>" +
              escape_html(report.runs[i].name);
    html += "<br>solid: training; dashed: validation";
    for (const RunCurves& run : report.runs)
      if (!run.spread.empty()) {
        html += "; lines: the mean over seeds, shaded: one standard deviation either side";
        break;
      }
    html += "</p>\n<div class=\"charts\">\n";
    html += chart(report, "loss", [](const EpochLogs& l) { return l.loss; },
                  [](const EpochLogs& l) { return l.val_loss; });
    html += chart(report, "accuracy", [](const EpochLogs& l) { return l.accuracy; },
                  [](const EpochLogs& l) { return l.val_accuracy; });
    html += chart(report, "learning rate", [](const EpochLogs& l) { return double(l.lr); }, nullptr);
    html += chart(report, "microseconds per step", [](const EpochLogs& l) { return l.us_per_step; }, nullptr);
    html += "</div>\n";
  }
  for (const ReportTable& table : report.tables) html += table_html(table);
  return html + "</body>\n</html>\n";
}

void write_report(const std::string& path, const Report& report) {
  write_file_atomically(path, report_html(report));
}

}  // namespace leap
