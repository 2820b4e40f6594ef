// The serve floor on cpp-httplib (Debian's libcpp-httplib-dev 0.11), the library leap serve did
// not choose: keep-alive, TCP_NODELAY and a pool of threads as leap serve's, each POST answered
// with a fixed logits body. bench/serve_bench.py --floor-httplib runs it beside the Beast floor.
// usage: bench_serve_floor_httplib PORT [THREADS]
#include <httplib.h>

#include <cstdio>
#include <cstdlib>


int main(int argc, char** argv) {
  const int port = argc > 1 ? std::atoi(argv[1]) : 8000;
  const int threads = argc > 2 ? std::atoi(argv[2]) : 64;
  const std::string answer =
      "{\"model_name\":\"fashion\",\"model_version\":\"1\",\"outputs\":[{\"name\":\"logits\","
      "\"datatype\":\"FP32\",\"shape\":[1,10],\"data\":[-1.5,2.25,0.125,-3.5,4.75,0.5,-0.25,1.875,"
      "-2.125,0.0625]}]}";
  httplib::Server server;
  server.new_task_queue = [threads] { return new httplib::ThreadPool(size_t(threads)); };
  server.set_tcp_nodelay(true);
  server.set_keep_alive_max_count(1u << 30);
  server.set_keep_alive_timeout(5);
  server.Post(R"(/v2/models/([^/]+)/infer)", [&](const httplib::Request&, httplib::Response& response) {
    response.set_content(answer, "application/json");
  });
  std::fprintf(stderr, "serve floor (cpp-httplib): listening on http://127.0.0.1:%d\n", port);
  return server.listen("127.0.0.1", port) ? 0 : 1;
}
