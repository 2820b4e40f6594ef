// leap serve: saved models behind the Open Inference Protocol (KServe v2) over HTTP/REST.
#include <map>
#include <memory>
#include <set>

#include "commands.h"
#include "config_options.h"
#include "leap/error.h"
#include "leap/serve.h"

namespace leap::cli {
namespace {

constexpr const char* kDefaultSpec = "784-128-10";

struct ServeCommandOptions {
  std::vector<std::string> load, model, name;
  std::string device = "auto";
  ServeOptions server;
  unsigned long long max_body_mb = 64;
};

// --load, --model and --name pair up in order; a single --model or --name default the rest.
std::vector<ServedModel> served_models(const ServeCommandOptions& o) {
  check(!o.load.empty(), "leap serve: no model to serve: give --load FILE (with --model and --name), "
                         "or a [[models]] list in --config");
  check(o.model.size() <= 1 || o.model.size() == o.load.size(),
        "leap serve: give one --model for all, or one per --load (" + std::to_string(o.load.size()) +
            " --load, " + std::to_string(o.model.size()) + " --model)");
  check(o.name.size() == o.load.size() || (o.name.empty() && o.load.size() == 1),
        "leap serve: give one --name per --load (" + std::to_string(o.load.size()) + " --load, " +
            std::to_string(o.name.size()) + " --name)");
  std::vector<ServedModel> models;
  for (size_t i = 0; i < o.load.size(); ++i)
    models.push_back({o.name.empty() ? "model" : o.name[i],
                      o.model.empty() ? kDefaultSpec : o.model[o.model.size() == 1 ? 0 : i], o.load[i], ""});
  return models;
}

// The models of --config's [[models]] list, each entry checked (its keys, their kinds, a name
// used once) with messages that name the file, the line and the entry.
std::vector<ServedModel> listed_models(const ConfigEntries& list) {
  std::vector<ServedModel> models;
  std::map<std::string, int> line_of_name;
  for (size_t i = 0; i < list.entries.size(); ++i) {
    const ConfigEntry& entry = list.entries[i];
    const std::string entry_name = "[[models]] entry " + std::to_string(i + 1);
    ServedModel model{"", kDefaultSpec, "", list.path + ":" + std::to_string(entry.line) + ": " + entry_name};
    std::set<std::string> given;
    for (const ConfigValue& value : entry.values) {
      const std::string where = list.path + ":" + std::to_string(value.line) + ": " + entry_name + ": ";
      std::string* field = value.key == "name"    ? &model.name
                           : value.key == "load"  ? &model.weights
                           : value.key == "model" ? &model.spec
                                                  : nullptr;
      check(field != nullptr, where + "unknown key '" + value.key +
                                  "': an entry takes name, load and model (options for every model go "
                                  "above the first [[models]])");
      check(value.kind == ConfigValue::Kind::string,
            where + "'" + value.key + "' expects a string, found " + describe(value.kind) + " (" + value.text + ")");
      *field = value.text;
      given.insert(value.key);
    }
    check(given.count("name"), model.origin + " has no 'name' (the model's name in the URLs)");
    check(given.count("load"), model.origin + " '" + model.name + "' has no 'load' (its weights, a safetensors file)");
    const auto [first, fresh] = line_of_name.emplace(model.name, entry.line);
    check(fresh, model.origin + ": the name '" + model.name + "' is taken by the entry on line " +
                     std::to_string(first->second));
    models.push_back(std::move(model));
  }
  return models;
}

}  // namespace

Command add_serve_command(CLI::App& app) {
  auto o = std::make_shared<ServeCommandOptions>();
  CLI::App* cmd = app.add_subcommand(
      "serve", "Serve saved models over HTTP with the Open Inference Protocol (KServe v2), batching requests");
  // One value an occurrence, repeated for several models; --config gives one model's.
  auto repeated = [](CLI::Option* option) {
    return option->expected(1)->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  };
  repeated(cmd->add_option("--load", o->load,
                           "Weights (safetensors); repeat to serve several models, or list them in --config "
                           "as [[models]]"));
  repeated(cmd->add_option("--model", o->model, "The spec the weights were trained with (default 784-128-10); one, or one per --load"));
  repeated(cmd->add_option("--name", o->name, "The model's name in the URLs (default: model); one per --load"));
  cmd->add_option("--host", o->server.host, "The address to listen on")->capture_default_str();
  cmd->add_option("--port", o->server.port, "The port to listen on (0: any free port)")
      ->capture_default_str()->check(CLI::Range(0, 65535));
  cmd->add_option("--device", o->device)->capture_default_str()->check(CLI::IsMember({"cpu", "cuda", "auto"}));
  cmd->add_option("--max-batch", o->server.max_batch, "Rows a dynamic batch may hold")
      ->capture_default_str()->check(CLI::Range(1, 65536));
  cmd->add_option("--max-delay-us", o->server.max_delay_us, "How long a batch waits for more requests")
      ->capture_default_str()->check(CLI::Range(0, 10000000));
  cmd->add_option("--threads", o->server.threads, "HTTP worker threads, one per keep-alive client (0: 64)")
      ->capture_default_str()->check(CLI::Range(0, 4096));
  cmd->add_option("--max-queue", o->server.max_queue,
                  "Requests that may wait for a batch, and connections for a thread, before 503 (0: 4 x threads)")
      ->capture_default_str()->check(CLI::Range(0, 1000000));
  cmd->add_option("--max-body-mb", o->max_body_mb, "Larger request bodies get 413")
      ->capture_default_str()->check(CLI::Range(1ull, 4096ull));
  cmd->add_option("--read-timeout", o->server.read_timeout_s, "Seconds a client may take to send a request")
      ->capture_default_str()->check(CLI::Range(1, 3600));
  add_config_array(cmd, "models");
  add_config_options(cmd);
  return [o, cmd] {
    const ConfigEntries list = config_entries(cmd, "models");
    std::vector<ServedModel> models;
    if (list.entries.empty()) {
      models = served_models(*o);
    } else {
      // One way at a time: a list beside --load would leave unclear which models are meant.
      check(o->load.empty() && o->model.empty() && o->name.empty(),
            list.path + ":" + std::to_string(list.entries[0].line) +
                ": [[models]] lists the models: give no --load, --model or --name beside it "
                "(on the command line or above the list)");
      models = listed_models(list);
    }
    o->server.device = choose_device(o->device);
    o->server.max_body_bytes = size_t(o->max_body_mb) << 20;
    return serve_models(models, o->server);
  };
}

}  // namespace leap::cli
