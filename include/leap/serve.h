// leap serve: saved models behind the Open Inference Protocol (KServe v2) over HTTP/REST,
// with dynamic batching, Prometheus metrics, a bounded queue and a graceful shutdown.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include "leap/backend.h"

namespace leap {

// One model to serve: its name in the URLs, its spec (784-128-10) and its safetensors weights.
struct ServedModel {
  std::string name, spec, weights;
  // Where the model was listed, for messages ("serve.toml:7: [[models]] entry 2"); empty when
  // it came from the command line.
  std::string origin;
};

struct ServeOptions {
  std::string host = "127.0.0.1";
  int port = 8000;  // 0: any free port (on_listening says which)
  Device device = Device::cpu;
  int max_batch = 256;       // rows a batch may hold
  int max_delay_us = 200;    // how long a batch waits for more requests after its first
  int threads = 0;           // HTTP worker threads (0: 64, one per keep-alive client)
  int max_queue = 0;         // requests that may wait for a batch or a thread (0: 4 x threads)
  std::size_t max_body_bytes = 64u << 20;  // larger bodies get 413
  int read_timeout_s = 5;    // a client that stops sending mid-request is dropped after it
  // Called once the socket listens, with its port.
  std::function<void(int port)> on_listening;
};

// Serves until SIGTERM or SIGINT, then stops accepting, answers what it has accepted and
// returns 0. Throws leap::Error, before listening, when a model cannot be loaded (naming the
// model and its origin) or the port cannot be bound.
int serve_models(const std::vector<ServedModel>& models, const ServeOptions& options);

}  // namespace leap
