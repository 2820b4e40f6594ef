// leap::serve: the models, their batchers and the HTTP routes of the Open Inference Protocol.
//
// The HTTP library is cpp-httplib (Debian's libcpp-httplib-dev 0.11): a blocking thread per
// keep-alive connection, which suits a model that answers in microseconds. On this project's
// 2-core machine its empty-handler round trip on loopback measured a p50 well under the 50 us
// target for batch 1 (bench/serve_bench.py prints the floor beside every run), so the extra
// code of an asynchronous Boost.Beast server would buy little here.
#include <httplib.h>
#include <pthread.h>
#include <signal.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "batcher.h"
#include "connection_pool.h"
#include "kserve_json.h"
#include "leap/leap.h"
#include "leap/serve.h"
#include "metrics.h"

namespace leap {
namespace {

using Clock = std::chrono::steady_clock;
using serve::ProtocolError;

struct LoadedModel {
  std::string name;
  std::unique_ptr<Sequential> network, cpu_network;  // cpu_network: null when network is on the CPU
  std::unique_ptr<serve::DynamicBatcher> batcher;
};

std::unique_ptr<Sequential> load(const ServedModel& model, Device device) {
  auto network = std::make_unique<Sequential>(Sequential::from_spec(model.spec, 0, device));
  load_weights(*network, model.weights);
  return network;
}

// Log lines: one per error (the first few a minute) and one a minute with the counts, never
// one per request.
class Log {
 public:
  void error(int status, const std::string& what) {
    std::lock_guard lock(mutex_);
    if (++errors_this_minute_ > kErrorsPerMinute) return;
    std::fprintf(stderr, "serve: %d %s\n", status, what.c_str());
  }
  void minute(const serve::Metrics& metrics) {
    std::lock_guard lock(mutex_);
    const uint64_t total = metrics.total_requests();
    if (total != last_total_ || errors_this_minute_ > kErrorsPerMinute)
      std::fprintf(stderr, "serve: %llu requests in the last minute (%llu in all, %llu answered 503)%s\n",
                   static_cast<unsigned long long>(total - last_total_),
                   static_cast<unsigned long long>(total),
                   static_cast<unsigned long long>(metrics.requests(503)),
                   errors_this_minute_ > kErrorsPerMinute
                       ? (", " + std::to_string(errors_this_minute_ - kErrorsPerMinute) + " error lines left out").c_str()
                       : "");
    last_total_ = total;
    errors_this_minute_ = 0;
  }

 private:
  static constexpr int kErrorsPerMinute = 20;
  std::mutex mutex_;
  int errors_this_minute_ = 0;
  uint64_t last_total_ = 0;
};

thread_local Clock::time_point request_start;
// The binary tensor data extension's header: the JSON's length, raw tensor bytes after it.
constexpr const char* kBinaryHeader = "Inference-Header-Content-Length";

// cpp-httplib listens with a backlog of 5: a burst of connections would overflow it and meet
// resets instead of answers. listen() again on the bound socket widens it.
class HttpServer : public httplib::Server {
 public:
  void widen_backlog(int backlog) { ::listen(svr_sock_, backlog); }
};

void reply_json(httplib::Response& response, int status, const std::string& body) {
  response.status = status;
  response.set_content(body, "application/json");
}

// Runs `handler`, turning what it throws into the protocol's error answers.
template <typename Handler>
void answer_errors(httplib::Response& response, Handler&& handler) {
  try {
    handler();
  } catch (const ProtocolError& e) {
    reply_json(response, e.status(), serve::error_body(e.what()));
  } catch (const serve::QueueFull& e) {
    response.set_header("Retry-After", "1");
    reply_json(response, 503, serve::error_body(std::string("overloaded: ") + e.what()));
  } catch (const std::exception& e) {
    reply_json(response, 500, serve::error_body(e.what()));
  }
}

}  // namespace

int serve_models(const std::vector<ServedModel>& models, const ServeOptions& options) {
  check(!models.empty(), "serve: no model to serve (--load)");
  // SIGTERM and SIGINT are taken by one thread with sigwait: blocked here, before any thread
  // starts, so that every thread inherits the mask.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  const int threads = options.threads > 0 ? options.threads : 64;
  const int max_queue = options.max_queue > 0 ? options.max_queue : 4 * threads;
  const int direct_lanes = int(std::max(1u, std::thread::hardware_concurrency()));
  serve::Metrics metrics;
  std::map<std::string, LoadedModel> loaded;
  for (const ServedModel& model : models) {
    check(!model.name.empty() && model.name.find('/') == std::string::npos,
          "serve: model name '" + model.name + "' must be non-empty and hold no '/'");
    check(!loaded.count(model.name), "serve: two models are named '" + model.name + "' (--name)");
    LoadedModel& entry = loaded[model.name];
    entry.name = model.name;
    entry.network = load(model, options.device);
    if (options.device != Device::cpu) entry.cpu_network = load(model, Device::cpu);
    entry.batcher = std::make_unique<serve::DynamicBatcher>(
        *entry.network, entry.cpu_network ? *entry.cpu_network : *entry.network, options.max_batch,
        options.max_delay_us, max_queue, direct_lanes, metrics);
  }

  HttpServer server;
  auto* pool = new serve::ConnectionPool(threads, max_queue, 2);
  server.new_task_queue = [pool] { return pool; };  // the server deletes it when it stops
  server.set_tcp_nodelay(true);
  server.set_keep_alive_max_count(1u << 30);
  server.set_keep_alive_timeout(5);
  server.set_read_timeout(options.read_timeout_s, 0);
  server.set_write_timeout(5, 0);
  server.set_payload_max_length(options.max_body_bytes);
  Log log;
  std::atomic<bool> ready{true};

  auto find = [&](const httplib::Request& request) -> LoadedModel& {
    const std::string name = request.matches[1];
    auto it = loaded.find(name);
    if (it == loaded.end()) throw ProtocolError(404, "unknown model '" + name + "'");
    return it->second;
  };
  // Runs a handler, turning its errors into the protocol's error answers.
  auto guarded = [&](auto handler) {
    return [&, handler](const httplib::Request& request, httplib::Response& response) {
      answer_errors(response, [&] { handler(request, response); });
    };
  };

  server.set_pre_routing_handler([&](const httplib::Request&, httplib::Response& response) {
    request_start = Clock::now();
    if (!serve::ConnectionPool::shedding()) return httplib::Server::HandlerResponse::Unhandled;
    response.set_header("Retry-After", "1");
    response.set_header("Connection", "close");  // frees the shedding thread
    reply_json(response, 503, serve::error_body("overloaded: every worker is busy and " +
                                                std::to_string(max_queue) + " connections wait"));
    return httplib::Server::HandlerResponse::Handled;
  });
  server.Get("/v2", guarded([&](const httplib::Request&, httplib::Response& response) {
    reply_json(response, 200, serve::server_metadata());
  }));
  server.Get("/v2/health/live", guarded([&](const httplib::Request&, httplib::Response& response) {
    reply_json(response, 200, "{\"live\":true}");
  }));
  server.Get("/v2/health/ready", guarded([&](const httplib::Request&, httplib::Response& response) {
    reply_json(response, ready ? 200 : 503, ready ? "{\"ready\":true}" : "{\"ready\":false}");
  }));
  const std::string model_path = "/v2/models/([^/]+)(?:/versions/1)?";
  server.Get(model_path, guarded([&](const httplib::Request& request, httplib::Response& response) {
    LoadedModel& model = find(request);
    reply_json(response, 200, serve::model_metadata(model.name, model.batcher->features(), model.batcher->classes()));
  }));
  server.Get(model_path + "/ready", guarded([&](const httplib::Request& request, httplib::Response& response) {
    LoadedModel& model = find(request);
    reply_json(response, 200, nlohmann::json{{"name", model.name}, {"ready", bool(ready)}}.dump());
  }));
  // The body is read here, against the size limit, rather than by the library: its chunked
  // reader would hold a whole oversized body in memory before refusing it.
  server.Post(model_path + "/infer", [&](const httplib::Request& request, httplib::Response& response,
                                         const httplib::ContentReader& content) {
    std::string body;
    bool too_large = false;
    const bool whole = content([&](const char* data, size_t size) {
      if (body.size() + size > options.max_body_bytes) return !(too_large = true);
      body.append(data, size);
      return true;
    });
    // The library refuses a Content-Length over the limit without handing over any of it.
    too_large = too_large || (!whole && std::strtoull(request.get_header_value("Content-Length").c_str(), nullptr, 10) > options.max_body_bytes);
    if (!whole && !too_large) return reply_json(response, 400, serve::error_body("the request body could not be read"));
    if (too_large) {
      response.set_header("Connection", "close");
      return reply_json(response, 413, serve::error_body("the request body is larger than the server's limit of " +
                                                         std::to_string(options.max_body_bytes) + " bytes"));
    }
    answer_errors(response, [&] {
      LoadedModel& model = find(request);
      const std::string header = request.get_header_value(kBinaryHeader);
      if (!header.empty() && header.find_first_not_of("0123456789") != std::string::npos)
        throw ProtocolError(400, std::string(kBinaryHeader) + " is not a whole number: " + header);
      const size_t json_length = header.empty() ? 0 : std::strtoull(header.c_str(), nullptr, 10);
      const serve::InferRequest infer = serve::parse_infer_request(body, model.batcher->features(), json_length);
      std::vector<float> logits(size_t(infer.rows) * model.batcher->classes());
      model.batcher->infer(infer.inputs.data(), infer.rows, logits.data());
      serve::InferResponse answer = serve::infer_response(model.name, infer, logits.data(), model.batcher->classes());
      if (answer.json_length == 0) return reply_json(response, 200, answer.body);
      response.set_header(kBinaryHeader, std::to_string(answer.json_length));
      response.set_content(std::move(answer.body), "application/octet-stream");
    });
  });
  server.Get("/metrics", [&](const httplib::Request&, httplib::Response& response) {
    response.set_content(metrics.text(), "text/plain; version=0.0.4");
  });
  // Errors met before a handler (unknown path, 413, unreadable request) get a JSON body too.
  server.set_error_handler(httplib::Server::HandlerWithResponse([](const httplib::Request& request, httplib::Response& response) {
    if (!response.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
    std::string what = "HTTP " + std::to_string(response.status);
    if (response.status == 404) what = "no such endpoint: " + request.method + " " + request.path;
    if (response.status == 413) what = "the request body is larger than the server's limit";
    reply_json(response, response.status, serve::error_body(what));
    return httplib::Server::HandlerResponse::Handled;
  }));
  server.set_logger([&](const httplib::Request& request, const httplib::Response& response) {
    const double seconds =
        request_start == Clock::time_point{} ? 0.0 : std::chrono::duration<double>(Clock::now() - request_start).count();
    request_start = Clock::time_point{};
    metrics.request(response.status, seconds);
    if (response.status >= 400 && response.status != 503)
      log.error(response.status, request.method + " " + request.path + ": " +
                                     (response.body.size() > 300 ? response.body.substr(0, 300) + "..." : response.body));
  });

  const int port = options.port == 0 ? server.bind_to_any_port(options.host)
                                     : (server.bind_to_port(options.host, options.port) ? options.port : -1);
  check(port > 0, "serve: cannot listen on " + options.host + ":" + std::to_string(options.port) +
                      " (in use, or not an address of this machine)");
  server.widen_backlog(4096);

  // The stop-signal thread, and the minute log.
  std::mutex stop_mutex;
  std::condition_variable stopped;
  bool stopping = false;
  std::atomic<bool> signalled{false};
  std::thread signals([&] {
    int signal = 0;
    sigwait(&stop_signals, &signal);
    if (signalled.exchange(true)) return;  // woken by the end of serve_models(), below
    std::fprintf(stderr, "serve: %s: no new connections; answering those accepted, then exiting\n",
                 signal == SIGTERM ? "SIGTERM" : "SIGINT");
    ready = false;
    server.stop();
  });
  std::thread minutes([&] {
    std::unique_lock lock(stop_mutex);
    while (!stopped.wait_for(lock, std::chrono::minutes(1), [&] { return stopping; })) log.minute(metrics);
  });

  for (const auto& [name, model] : loaded)
    std::fprintf(stderr, "serve: model '%s' (%d inputs, %d classes) on %s, batches of up to %d rows\n",
                 name.c_str(), model.batcher->features(), model.batcher->classes(),
                 to_string(options.device).c_str(), options.max_batch);
  std::fprintf(stderr, "serve: listening on http://%s:%d (%d threads)\n", options.host.c_str(), port, threads);
  if (options.on_listening) options.on_listening(port);
  server.listen_after_bind();  // returns once stopped and every accepted connection is served

  for (auto& [name, model] : loaded) model.batcher->stop();
  {
    std::lock_guard lock(stop_mutex);
    stopping = true;
  }
  stopped.notify_all();
  minutes.join();
  if (!signalled.exchange(true)) pthread_kill(signals.native_handle(), SIGTERM);  // wakes sigwait
  signals.join();
  log.minute(metrics);
  pthread_sigmask(SIG_UNBLOCK, &stop_signals, nullptr);
  std::fprintf(stderr, "serve: stopped\n");
  return 0;
}

}  // namespace leap
