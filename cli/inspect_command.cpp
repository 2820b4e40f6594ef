// leap inspect: what a safetensors file holds (names, dtypes, shapes, sizes), read from its
// header alone, so that large or foreign files are shown without loading them.
#include <algorithm>
#include <cstdio>
#include <memory>

#include "commands.h"
#include "leap/safetensors.h"

namespace leap::cli {
namespace {

// 101770 -> "101,770": parameter counts are read by people.
std::string grouped(uint64_t value) {
  std::string digits = std::to_string(value), out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

int inspect(const std::string& path) {
  const SafetensorsHeader header = read_safetensors_header(path);
  size_t name_width = 4, shape_width = 5;
  uint64_t parameters = 0, data_bytes = 0;
  for (const SafetensorsEntry& entry : header.tensors) {
    name_width = std::max(name_width, entry.name.size());
    shape_width = std::max(shape_width, to_string(entry.shape).size());
    parameters += entry.numel;
    data_bytes += entry.end - entry.begin;
  }
  std::printf("%s: %zu tensors, %s parameters, %s bytes of data, %s bytes of header\n",
              path.c_str(), header.tensors.size(), grouped(parameters).c_str(),
              grouped(data_bytes).c_str(), grouped(header.header_bytes).c_str());
  std::printf("%-*s  %-7s  %-*s  %12s\n", int(name_width), "name", "dtype", int(shape_width),
              "shape", "bytes");
  for (const SafetensorsEntry& entry : header.tensors)
    std::printf("%-*s  %-7s  %-*s  %12s\n", int(name_width), entry.name.c_str(),
                entry.dtype.c_str(), int(shape_width), to_string(entry.shape).c_str(),
                grouped(entry.end - entry.begin).c_str());
  for (const auto& [key, value] : header.metadata)
    std::printf("metadata %s = %s\n", key.c_str(), value.c_str());
  return 0;
}

}  // namespace

Command add_inspect_command(CLI::App& app) {
  auto path = std::make_shared<std::string>();
  CLI::App* cmd = app.add_subcommand("inspect", "List the tensors of a safetensors file");
  cmd->add_option("file", *path, "The safetensors file")->required();
  return [path] { return inspect(*path); };
}

}  // namespace leap::cli
