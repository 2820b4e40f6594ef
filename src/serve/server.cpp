// leap::serve_models: the models, their batchers and the Open Inference Protocol's routes over
// HTTP/1.1 with keep-alive.
//
// The HTTP library is Boost.Beast (Debian's libboost-dev, header-only), read and written
// synchronously on a thread per keep-alive connection, which suits a model that answers in
// microseconds. Chosen by measurement (bench/serve_bench.py --floor-httplib): on this project's
// loaded 2-core machine, a fixed answer through Beast took p50 50-58 us at one client and 29-34
// us of CPU a request, through cpp-httplib 0.11 84-104 us and 45-57 us (it polls before each
// read and matches routes with std::regex).
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
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

namespace beast = boost::beast;
namespace http = beast::http;
using tcp = boost::asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using serve::ProtocolError;

struct LoadedModel {
  std::string name;
  std::unique_ptr<Sequential> network, cpu_network;  // cpu_network: null when network is on the CPU
  std::unique_ptr<serve::DynamicBatcher> batcher;
};

// How messages name a model: where it was listed and its name.
std::string named(const ServedModel& model) {
  return (model.origin.empty() ? "serve: model" : model.origin) + " '" + model.name + "'";
}

// The model's network on `device`; what fails names the model (one of several) and its origin.
std::unique_ptr<Sequential> load(const ServedModel& model, Device device) {
  try {
    auto network = std::make_unique<Sequential>(Sequential::from_spec(model.spec, 0, device));
    load_weights(*network, model.weights);
    return network;
  } catch (const Error& e) {
    throw Error(named(model) + ": " + e.what());
  }
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
    const std::string left_out = errors_this_minute_ > kErrorsPerMinute
                                     ? ", " + std::to_string(errors_this_minute_ - kErrorsPerMinute) + " error lines left out"
                                     : "";
    if (total != last_total_ || !left_out.empty())
      std::fprintf(stderr, "serve: %llu requests in the last minute (%llu in all, %llu answered 503)%s\n",
                   static_cast<unsigned long long>(total - last_total_), static_cast<unsigned long long>(total),
                   static_cast<unsigned long long>(metrics.requests(503)), left_out.c_str());
    last_total_ = total;
    errors_this_minute_ = 0;
  }

 private:
  static constexpr int kErrorsPerMinute = 20;
  std::mutex mutex_;
  int errors_this_minute_ = 0;
  uint64_t last_total_ = 0;
};

// The most a connection reads at once (Beast's own limit for one read).
constexpr size_t kReadBytes = 64 << 10;

// The binary tensor data extension's header: the JSON's length, raw tensor bytes after it.
constexpr const char* kBinaryHeader = "Inference-Header-Content-Length";

struct Reply {
  int status = 200;
  std::string body;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;
  bool close = false;  // close the connection after it
};

Reply json_reply(int status, std::string body) { return {status, std::move(body), "application/json", {}, false}; }

Reply overloaded(const std::string& why) {
  Reply reply = json_reply(503, serve::error_body("overloaded: " + why));
  reply.headers.emplace_back("Retry-After", "1");
  return reply;
}

// Runs `handler`, turning what it throws into the protocol's error answers.
template <typename Handler>
Reply answer_errors(Handler&& handler) {
  try {
    return handler();
  } catch (const ProtocolError& e) {
    return json_reply(e.status(), serve::error_body(e.what()));
  } catch (const serve::QueueFull& e) {
    return overloaded(e.what());
  } catch (const std::exception& e) {
    return json_reply(500, serve::error_body(e.what()));
  }
}

// The path's segments, without the query string: "/v2/models/a/infer" -> v2, models, a, infer.
std::vector<std::string_view> segments(std::string_view target) {
  target = target.substr(0, target.find('?'));
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (start < target.size()) {
    size_t end = target.find('/', start);
    if (end == std::string_view::npos) end = target.size();
    if (end > start) parts.push_back(target.substr(start, end - start));
    start = end + 1;
  }
  return parts;
}

// SO_RCVTIMEO and SO_SNDTIMEO: a synchronous read or write gives up after `seconds`.
void set_timeouts(tcp::socket& socket, int seconds) {
  const timeval timeout{seconds, 0};
  setsockopt(socket.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  setsockopt(socket.native_handle(), SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
}

class Server {
 public:
  Server(const std::vector<ServedModel>& models, const ServeOptions& options)
      : options_(options),
        threads_(options.threads > 0 ? options.threads : 64),
        max_queue_(options.max_queue > 0 ? options.max_queue : 4 * threads_) {
    const int direct_lanes = int(std::max(1u, std::thread::hardware_concurrency()));
    for (const ServedModel& model : models) {
      check(!model.name.empty() && model.name.find('/') == std::string::npos,
            named(model) + ": a model's name must be non-empty and hold no '/'");
      check(!models_.count(model.name), named(model) + ": two models have this name (--name)");
      LoadedModel& entry = models_[model.name];
      entry.name = model.name;
      entry.network = load(model, options.device);
      if (options.device != Device::cpu) entry.cpu_network = load(model, Device::cpu);
      entry.batcher = std::make_unique<serve::DynamicBatcher>(
          *entry.network, entry.cpu_network ? *entry.cpu_network : *entry.network, options.max_batch,
          options.max_delay_us, max_queue_, direct_lanes, metrics_);
    }
  }

  // Binds the port (0: any free one) and returns it.
  int bind() {
    beast::error_code error;
    const auto address = boost::asio::ip::make_address(options_.host, error);
    check(!error, "serve: --host " + options_.host + " is not an IP address");
    acceptor_.open(address.is_v6() ? tcp::v6() : tcp::v4(), error);
    if (!error) acceptor_.set_option(tcp::acceptor::reuse_address(true), error);
    if (!error) acceptor_.bind({address, static_cast<unsigned short>(options_.port)}, error);
    if (!error) acceptor_.listen(4096, error);  // a burst of connections waits here, not in resets
    check(!error, "serve: cannot listen on " + options_.host + ":" + std::to_string(options_.port) + ": " +
                      error.message());
    return acceptor_.local_endpoint().port();
  }

  // Accepts until stop(), then serves every accepted connection and stops the batchers.
  void run() {
    for (const auto& [name, model] : models_)
      std::fprintf(stderr, "serve: model '%s' (%d inputs, %d classes) on %s, batches of up to %d rows\n",
                   name.c_str(), model.batcher->features(), model.batcher->classes(),
                   to_string(options_.device).c_str(), options_.max_batch);
    std::fprintf(stderr, "serve: listening on http://%s:%d (%d threads)\n", options_.host.c_str(),
                 int(acceptor_.local_endpoint().port()), threads_);
    serve::ConnectionPool pool(threads_, max_queue_, 2);
    while (!stopping_) {
      auto socket = std::make_shared<tcp::socket>(context_);
      beast::error_code error;
      acceptor_.accept(*socket, error);
      if (error) {
        if (!stopping_) std::this_thread::sleep_for(std::chrono::milliseconds(10));  // e.g. out of descriptors
        continue;
      }
      pool.enqueue([this, socket] { serve_connection(*socket); });
    }
    pool.shutdown();
    for (auto& [name, model] : models_) model.batcher->stop();
  }

  // From another thread: no new connections; those open finish the request they are on.
  void stop() {
    stopping_ = true;
    ready_ = false;
    ::shutdown(acceptor_.native_handle(), SHUT_RDWR);  // wakes the blocked accept()
  }

  const serve::Metrics& metrics() const { return metrics_; }
  Log& log() { return log_; }

 private:
  void serve_connection(tcp::socket& socket) {
    beast::error_code error;
    socket.set_option(tcp::no_delay(true), error);
    set_timeouts(socket, options_.read_timeout_s);
    // Beast reads into what the buffer can hold, at least 512 bytes: an empty buffer took a batch-1
    // request (4 KB of JSON) in 8 reads, this one takes it in one.
    beast::flat_buffer buffer;
    buffer.reserve(kReadBytes);
    for (;;) {
      http::request_parser<http::string_body> parser;
      parser.body_limit(options_.max_body_bytes);
      http::read(socket, buffer, parser, error);
      const Clock::time_point start = Clock::now();
      Reply reply;
      if (error == http::error::end_of_stream || error == boost::asio::error::connection_reset ||
          (error && !parser.got_some())) {
        break;  // closed, or idle past the timeout: nothing to answer
      } else if (error == http::error::body_limit) {
        reply = json_reply(413, serve::error_body("the request body is larger than the server's limit of " +
                                                  std::to_string(options_.max_body_bytes) + " bytes"));
        reply.close = true;
      } else if (error == boost::asio::error::would_block || error == boost::asio::error::timed_out) {
        reply = json_reply(408, serve::error_body("the request was not sent within " +
                                                  std::to_string(options_.read_timeout_s) + " s"));
        reply.close = true;
      } else if (error) {
        reply = json_reply(400, serve::error_body("malformed HTTP request: " + error.message()));
        reply.close = true;
      } else if (serve::ConnectionPool::shedding()) {
        reply = overloaded("every worker is busy and " + std::to_string(max_queue_) + " connections wait");
        reply.close = true;  // frees the shedding thread
      } else {
        reply = route(parser.get());
      }
      const bool keep_alive = !error && !reply.close && !stopping_ && parser.get().keep_alive();
      http::response<http::string_body> response{static_cast<http::status>(reply.status), 11};
      response.set(http::field::content_type, reply.content_type);
      for (const auto& [name, value] : reply.headers) response.set(name, value);
      response.keep_alive(keep_alive);
      response.body() = std::move(reply.body);
      response.prepare_payload();
      beast::error_code write_error;
      http::write(socket, response, write_error);
      metrics_.request(reply.status, std::chrono::duration<double>(Clock::now() - start).count());
      if (reply.status >= 400 && reply.status != 503) {
        const std::string& body = response.body();
        log_.error(reply.status, (error ? std::string("-") : std::string(parser.get().method_string()) + " " +
                                                                 std::string(parser.get().target())) +
                                     ": " + (body.size() > 300 ? body.substr(0, 300) + "..." : body));
      }
      if (!keep_alive || write_error) break;
    }
    linger_close(socket);
  }

  // Closes after reading what the client still sends (for a second at most), so that a
  // refused body's bytes do not turn the close into a reset that loses the answer.
  static void linger_close(tcp::socket& socket) {
    beast::error_code error;
    socket.shutdown(tcp::socket::shutdown_send, error);
    set_timeouts(socket, 1);
    char sink[65536];
    const Clock::time_point until = Clock::now() + std::chrono::seconds(1);
    while (Clock::now() < until) {
      socket.read_some(boost::asio::buffer(sink), error);
      if (error) break;
    }
    socket.close(error);
  }

  LoadedModel& model(std::string_view name) {
    auto it = models_.find(std::string(name));
    if (it == models_.end()) throw ProtocolError(404, "unknown model '" + std::string(name) + "'");
    return it->second;
  }

  Reply route(const http::request<http::string_body>& request) {
    return answer_errors([&]() -> Reply {
      std::vector<std::string_view> path = segments(std::string_view(request.target().data(), request.target().size()));
      const bool get = request.method() == http::verb::get, post = request.method() == http::verb::post;
      const auto is = [&](std::initializer_list<std::string_view> expected) {
        return std::equal(path.begin(), path.end(), expected.begin(), expected.end());
      };
      if (get && is({"metrics"})) {
        Reply reply = json_reply(200, metrics_.text());
        reply.content_type = "text/plain; version=0.0.4";
        return reply;
      }
      if (get && is({"v2"})) return json_reply(200, serve::server_metadata());
      if (get && is({"v2", "health", "live"})) return json_reply(200, "{\"live\":true}");
      if (get && is({"v2", "health", "ready"}))
        return json_reply(ready_ ? 200 : 503, ready_ ? "{\"ready\":true}" : "{\"ready\":false}");
      if (path.size() >= 3 && path[0] == "v2" && path[1] == "models") {
        const std::string_view name = path[2];
        path.erase(path.begin(), path.begin() + 3);
        if (path.size() >= 2 && path[0] == "versions" && path[1] == "1") path.erase(path.begin(), path.begin() + 2);
        if (get && path.empty()) {
          LoadedModel& m = model(name);
          return json_reply(200, serve::model_metadata(m.name, m.batcher->features(), m.batcher->classes()));
        }
        if (get && is({"ready"})) {
          LoadedModel& m = model(name);
          return json_reply(200, nlohmann::json{{"name", m.name}, {"ready", bool(ready_)}}.dump());
        }
        if (post && is({"infer"})) return infer(model(name), request);
      }
      throw ProtocolError(404, "no such endpoint: " + std::string(request.method_string()) + " " +
                                   std::string(request.target()));
    });
  }

  Reply infer(LoadedModel& m, const http::request<http::string_body>& request) {
    size_t json_length = 0;
    if (auto header = request.find(kBinaryHeader); header != request.end()) {
      const std::string text(header->value());
      if (text.empty() || text.size() > 18 || text.find_first_not_of("0123456789") != std::string::npos)
        throw ProtocolError(400, std::string(kBinaryHeader) + " is not a whole number: " + text);
      json_length = std::strtoull(text.c_str(), nullptr, 10);
    }
    const serve::InferRequest infer = serve::parse_infer_request(request.body(), m.batcher->features(), json_length);
    std::vector<float> logits(size_t(infer.rows) * m.batcher->classes());
    m.batcher->infer(infer.inputs.data(), infer.rows, logits.data());
    serve::InferResponse answer = serve::infer_response(m.name, infer, logits.data(), m.batcher->classes());
    Reply reply = json_reply(200, std::move(answer.body));
    if (answer.json_length > 0) {
      reply.content_type = "application/octet-stream";
      reply.headers.emplace_back(kBinaryHeader, std::to_string(answer.json_length));
    }
    return reply;
  }

  const ServeOptions options_;
  const int threads_, max_queue_;
  serve::Metrics metrics_;
  Log log_;
  std::map<std::string, LoadedModel> models_;
  boost::asio::io_context context_;
  tcp::acceptor acceptor_{context_};
  std::atomic<bool> stopping_{false}, ready_{true};
};

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

  Server server(models, options);
  const int port = server.bind();

  std::atomic<bool> signalled{false};
  std::thread signals([&] {
    int signal = 0;
    sigwait(&stop_signals, &signal);
    if (signalled.exchange(true)) return;  // woken by the end of serve_models(), below
    std::fprintf(stderr, "serve: %s: no new connections; answering those accepted, then exiting\n",
                 signal == SIGTERM ? "SIGTERM" : "SIGINT");
    server.stop();
  });
  std::mutex stop_mutex;
  std::condition_variable stopped;
  bool stopping = false;
  std::thread minutes([&] {
    std::unique_lock lock(stop_mutex);
    while (!stopped.wait_for(lock, std::chrono::minutes(1), [&] { return stopping; })) server.log().minute(server.metrics());
  });

  if (options.on_listening) options.on_listening(port);
  server.run();  // returns once stopped and every accepted connection is served

  {
    std::lock_guard lock(stop_mutex);
    stopping = true;
  }
  stopped.notify_all();
  minutes.join();
  if (!signalled.exchange(true)) pthread_kill(signals.native_handle(), SIGTERM);  // wakes sigwait
  signals.join();
  server.log().minute(server.metrics());
  pthread_sigmask(SIG_UNBLOCK, &stop_signals, nullptr);
  std::fprintf(stderr, "serve: stopped\n");
  return 0;
}

}  // namespace leap
