#include "sweep_grid.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <set>

#include "leap/error.h"
#include "leap/sequential.h"

namespace leap::cli {
namespace {

// The comma-separated items of `--option text`, none empty and none repeated.
std::vector<std::string> items(const std::string& option, const std::string& text) {
  check(!text.empty(), "--" + option + ": empty list (give one value or more, separated by commas)");
  std::vector<std::string> out;
  std::set<std::string> seen;
  size_t begin = 0;
  while (true) {
    const size_t comma = text.find(',', begin);
    std::string item = text.substr(begin, comma == std::string::npos ? std::string::npos : comma - begin);
    while (!item.empty() && item.front() == ' ') item.erase(item.begin());
    while (!item.empty() && item.back() == ' ') item.pop_back();
    check(!item.empty(), "--" + option + " '" + text + "': an empty value in the list");
    check(seen.insert(item).second, "--" + option + " '" + text + "': '" + item + "' is given twice");
    out.push_back(item);
    if (comma == std::string::npos) return out;
    begin = comma + 1;
  }
}

long double number(const std::string& option, const std::string& item, double low, double high) {
  char* end = nullptr;
  // As CLI11 reads leap train's floats: long double, then float (the same bits).
  const long double value = std::strtold(item.c_str(), &end);
  check(*end == '\0' && std::isfinite(value), "--" + option + ": '" + item + "' is not a finite number");
  char range[64];
  std::snprintf(range, sizeof range, "[%g, %g]", low, high);
  check(value >= low && value <= high, "--" + option + ": " + item + " is out of range " + range);
  return value;
}

int whole(const std::string& option, const std::string& item, long low, long high) {
  check(item.find_first_not_of("0123456789") == std::string::npos && item.size() <= 9,
        "--" + option + ": '" + item + "' is not a whole number");
  const long value = std::atol(item.c_str());
  check(value >= low && value <= high, "--" + option + ": " + item + " is out of range [" +
                                           std::to_string(low) + ", " + std::to_string(high) + "]");
  return int(value);
}

uint64_t seed(const std::string& item, const std::string& text) {
  check(!item.empty() && item.size() <= 19 && item.find_first_not_of("0123456789") == std::string::npos,
        "--seeds '" + text + "': '" + item + "' is not a whole number from 0 to 9999999999999999999");
  return std::strtoull(item.c_str(), nullptr, 10);
}

void one_of(const std::string& option, const std::string& item, std::initializer_list<const char*> names) {
  std::string list;
  for (const char* name : names) {
    if (item == name) return;
    list += list.empty() ? name : std::string(", ") + name;
  }
  throw Error("--" + option + ": unknown value '" + item + "' (expected one of " + list + ")");
}

std::vector<uint64_t> parse_seeds(const std::string& text, size_t max_models) {
  std::vector<uint64_t> seeds;
  std::set<uint64_t> seen;
  for (const std::string& item : items("seeds", text)) {
    const size_t dash = item.find('-');
    const uint64_t first = seed(item.substr(0, dash), text);
    const uint64_t last = dash == std::string::npos ? first : seed(item.substr(dash + 1), text);
    check(first <= last, "--seeds '" + text + "': the range " + item + " runs backwards");
    check(last - first < max_models, "--seeds '" + text + "': the range " + item + " holds more than " +
                                         std::to_string(max_models) + " seeds");
    for (uint64_t s = first;; ++s) {
      check(seen.insert(s).second, "--seeds '" + text + "': seed " + std::to_string(s) + " is given twice");
      seeds.push_back(s);
      if (s == last) break;
    }
  }
  return seeds;
}

// "0.001" rather than "1e-3" or "0.00100000005": the shortest text that reads back the float.
std::string short_text(float value) {
  char text[32];
  for (int digits = 1; digits <= 9; ++digits) {
    std::snprintf(text, sizeof text, "%.*g", digits, double(value));
    if (std::strtof(text, nullptr) == value) break;
  }
  return text;
}

}  // namespace

SweepGrid parse_sweep_grid(const SweepGridOptions& o, size_t max_models) {
  SweepGrid grid;
  const std::vector<std::string> models = items("model", o.model);
  for (const std::string& spec : models) {
    try {
      parse_spec(spec);
    } catch (const Error& e) {
      throw Error("--model: " + std::string(e.what()));
    }
  }
  std::vector<float> lrs, decays, dropouts;
  for (const std::string& item : items("lr", o.lr)) lrs.push_back(float(number("lr", item, 0, 1e6)));
  for (const std::string& item : items("weight-decay", o.weight_decay))
    decays.push_back(float(number("weight-decay", item, 0, 1e6)));
  for (const std::string& item : items("dropout", o.dropout))
    dropouts.push_back(float(number("dropout", item, 0, 0.95)));
  std::vector<int> batches, epochs;
  for (const std::string& item : items("batch-size", o.batch_size)) batches.push_back(whole("batch-size", item, 1, 1 << 24));
  for (const std::string& item : items("epochs", o.epochs)) epochs.push_back(whole("epochs", item, 1, 1000000));
  const std::vector<std::string> optimizers = items("optimizer", o.optimizer), schedules = items("schedule", o.schedule);
  for (const std::string& item : optimizers) one_of("optimizer", item, {"adam", "sgd"});
  for (const std::string& item : schedules) one_of("schedule", item, {"none", "step", "cosine"});
  grid.seeds = parse_seeds(o.seeds, max_models);

  const size_t configurations = models.size() * lrs.size() * decays.size() * dropouts.size() *
                                batches.size() * epochs.size() * optimizers.size() * schedules.size();
  check(configurations <= max_models && configurations * grid.seeds.size() <= max_models,
        "the grid holds " + std::to_string(configurations) + " configurations of " +
            std::to_string(grid.seeds.size()) + " seeds, more than " + std::to_string(max_models) +
            " models in one sweep");
  for (const std::string& model : models)
    for (const std::string& optimizer : optimizers)
      for (float lr : lrs)
        for (float decay : decays)
          for (float dropout : dropouts)
            for (int batch : batches)
              for (int epoch_count : epochs)
                for (const std::string& schedule : schedules) {
                  SweepConfiguration c{model, optimizer, schedule, lr, decay, dropout, batch, epoch_count, ""};
                  auto name = [&](bool varies, const std::string& part) {
                    if (varies) c.name += (c.name.empty() ? "" : " ") + part;
                  };
                  name(models.size() > 1, model);
                  name(optimizers.size() > 1, optimizer);
                  name(lrs.size() > 1, "lr=" + short_text(lr));
                  name(decays.size() > 1, "wd=" + short_text(decay));
                  name(dropouts.size() > 1, "dropout=" + short_text(dropout));
                  name(batches.size() > 1, "batch=" + std::to_string(batch));
                  name(epochs.size() > 1, "epochs=" + std::to_string(epoch_count));
                  name(schedules.size() > 1, "schedule=" + schedule);
                  if (c.name.empty()) c.name = model;
                  grid.configurations.push_back(c);
                }
  return grid;
}

std::string directory_name(const std::string& name) {
  std::string out = name;
  for (char& c : out) {
    if (c == ' ') c = '_';
    if (c == '/') c = '-';
  }
  return out;
}

}  // namespace leap::cli
