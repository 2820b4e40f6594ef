#include <algorithm>
#include <cmath>
#include <cstdio>

#include "leap/report.h"
#include "leap/trainer.h"

namespace leap {
namespace {

std::string format(const char* pattern, double value) {
  char text[64];
  std::snprintf(text, sizeof text, pattern, value);
  return text;
}

}  // namespace

ReportTable compute_table(Model& model, const History& history, int batch_size) {
  Sequential& network = model.network();
  ReportTable table{"compute", {"figure", "value"}, {}};
  auto add = [&](const std::string& name, const std::string& value) { table.rows.push_back({name, value}); };
  add("device", to_string(model.device()));
  add("training path", model.training_path());
  add("network", network.describe());
  add("parameters", std::to_string(network.parameter_count()));
  add("FLOPs per sample (forward)", std::to_string(network.forward_flops_per_sample()));
  add("batch size", std::to_string(batch_size));
  add("epochs", std::to_string(history.epochs.size()));
  if (history.epochs.empty()) return table;
  double seconds = 0;
  int64_t steps = 0;
  std::vector<double> us_per_step;
  for (const EpochLogs& logs : history.epochs) {
    seconds += logs.seconds;
    steps += logs.steps;
    us_per_step.push_back(logs.us_per_step);
  }
  // The median epoch: the first one also pays for warming caches and capturing graphs.
  std::nth_element(us_per_step.begin(), us_per_step.begin() + us_per_step.size() / 2, us_per_step.end());
  add("steps", std::to_string(steps));
  add("microseconds per step (median epoch)", format("%.1f", us_per_step[us_per_step.size() / 2]));
  add("training seconds", format("%.2f", seconds));
  add("samples per second", format("%.0f", double(steps) * batch_size / seconds));
  const EpochLogs& last = history.epochs.back();
  add("final loss", format("%.4f", last.loss));
  add("final accuracy", format("%.4f", last.accuracy));
  if (!std::isnan(last.val_accuracy)) {
    add("final validation loss", format("%.4f", last.val_loss));
    add("final validation accuracy", format("%.4f", last.val_accuracy));
  }
  return table;
}

}  // namespace leap
