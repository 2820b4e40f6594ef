// leap serve: saved models behind the Open Inference Protocol (KServe v2) over HTTP/REST.
#include <memory>

#include "commands.h"
#include "config_options.h"
#include "leap/error.h"
#include "leap/serve.h"

namespace leap::cli {
namespace {

struct ServeCommandOptions {
  std::vector<std::string> load, model, name;
  std::string device = "auto";
  ServeOptions server;
  unsigned long long max_body_mb = 64;
};

// --load, --model and --name pair up in order; a single --model or --name default the rest.
std::vector<ServedModel> served_models(const ServeCommandOptions& o) {
  check(o.model.size() <= 1 || o.model.size() == o.load.size(),
        "leap serve: give one --model for all, or one per --load (" + std::to_string(o.load.size()) +
            " --load, " + std::to_string(o.model.size()) + " --model)");
  check(o.name.size() == o.load.size() || (o.name.empty() && o.load.size() == 1),
        "leap serve: give one --name per --load (" + std::to_string(o.load.size()) + " --load, " +
            std::to_string(o.name.size()) + " --name)");
  std::vector<ServedModel> models;
  for (size_t i = 0; i < o.load.size(); ++i)
    models.push_back({o.name.empty() ? "model" : o.name[i],
                      o.model.empty() ? "784-128-10" : o.model[o.model.size() == 1 ? 0 : i], o.load[i]});
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
  repeated(cmd->add_option("--load", o->load, "Weights (safetensors); repeat to serve several models"))->required();
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
  add_config_options(cmd);
  return [o] {
    o->server.device = choose_device(o->device);
    o->server.max_body_bytes = size_t(o->max_body_mb) << 20;
    return serve_models(served_models(*o), o->server);
  };
}

}  // namespace leap::cli
