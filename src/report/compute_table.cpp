#include <cmath>

#include "format_number.h"
#include "leap/compute_report.h"
#include "leap/report.h"
#include "leap/model.h"

namespace leap {

ReportTable compute_table(Model& model, const History& history, int batch_size) {
  const ComputeReport compute = compute_report(model, history, batch_size);
  ReportTable table{"compute", {"figure", "value"}, {}};
  auto add = [&](const std::string& name, const std::string& value) { table.rows.push_back({name, value}); };
  add("device", compute.device);
  add("training path", compute.training_path);
  add("precision", to_string(compute.precision));
  add("network", model.network().describe());
  add("parameters", std::to_string(compute.parameters));
  add("FLOPs per sample (forward)", std::to_string(model.network().forward_flops_per_sample()));
  add("FLOPs per sample (training step)", std::to_string(compute.flops_per_sample));
  add("batch size", std::to_string(batch_size));
  add("epochs", std::to_string(compute.epochs));
  if (history.epochs.empty()) return table;
  int64_t steps = 0;
  double seconds = 0;
  for (const EpochLogs& logs : history.epochs) steps += logs.steps, seconds += logs.seconds;
  add("steps", std::to_string(steps));
  add("microseconds per step (median epoch)", format_number("%.1f", compute.seconds_per_step * 1e6));
  add("seconds per epoch (median epoch)", format_number("%.3f", compute.seconds_per_epoch));
  add("training seconds", format_number("%.2f", seconds));
  add("samples per second", format_number("%.0f", compute.samples_per_second));
  add("achieved TFLOP/s", format_number("%.3f", compute.tflops));
  add("MFU", format_number("%.1f%% of ", 100 * compute.mfu) +
                 format_number("%.1f TFLOP/s", compute.peak.for_precision(compute.precision)) + " (" +
                 compute.peak.source + ")");
  if (std::isnan(compute.joules_per_epoch)) {
    add("energy", compute.energy_source);
  } else {
    add("joules per epoch", format_number("%.1f", compute.joules_per_epoch) + " (" + compute.energy_source + ")");
    add("samples per joule", format_number("%.1f", compute.samples_per_joule));
  }
  const EpochLogs& last = history.epochs.back();
  add("final loss", format_number("%.4f", last.loss));
  add("final accuracy", format_number("%.4f", last.accuracy));
  if (!std::isnan(last.val_accuracy)) {
    add("final validation loss", format_number("%.4f", last.val_loss));
    add("final validation accuracy", format_number("%.4f", last.val_accuracy));
  }
  return table;
}

}  // namespace leap
