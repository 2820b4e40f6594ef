// The floor of leap serve's round trip: its HTTP stack (Boost.Beast, read and written
// synchronously on a thread per keep-alive connection) answering each POST with a fixed logits
// body, no JSON read and no model run. bench/serve_bench.py runs it beside leap serve.
// usage: bench_serve_floor PORT
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <cstdio>
#include <cstdlib>
#include <thread>

namespace beast = boost::beast;
namespace http = beast::http;
using tcp = boost::asio::ip::tcp;

static const char* kAnswer =
    "{\"model_name\":\"fashion\",\"model_version\":\"1\",\"outputs\":[{\"name\":\"logits\","
    "\"datatype\":\"FP32\",\"shape\":[1,10],\"data\":[-1.5,2.25,0.125,-3.5,4.75,0.5,-0.25,1.875,"
    "-2.125,0.0625]}]}";

static void serve_connection(tcp::socket socket) {
  beast::error_code error;
  socket.set_option(tcp::no_delay(true), error);
  beast::flat_buffer buffer;
  buffer.reserve(64 << 10);  // as leap serve reads: a batch-1 request in one recv, not eight
  for (;;) {
    http::request<http::string_body> request;
    http::read(socket, buffer, request, error);
    if (error) break;
    http::response<http::string_body> response{http::status::ok, request.version()};
    response.set(http::field::content_type, "application/json");
    response.keep_alive(request.keep_alive());
    response.body() = kAnswer;
    response.prepare_payload();
    http::write(socket, response, error);
    if (error || !response.keep_alive()) break;
  }
  socket.shutdown(tcp::socket::shutdown_send, error);
}

int main(int argc, char** argv) {
  const unsigned short port = static_cast<unsigned short>(argc > 1 ? std::atoi(argv[1]) : 8000);
  boost::asio::io_context context;
  tcp::acceptor acceptor(context, {boost::asio::ip::make_address("127.0.0.1"), port});
  std::fprintf(stderr, "serve floor (Boost.Beast): listening on http://127.0.0.1:%d\n", port);
  for (;;) {
    tcp::socket socket(context);
    acceptor.accept(socket);
    std::thread(serve_connection, std::move(socket)).detach();
  }
}
