// bench/http_hello_benchmark.cc — a tiny plinth HTTP server for throughput measurements of the
// http layer alone (no database): GET /hello answers "hello" (text/plain), GET /json a small
// JSON object, GET /metrics the registry. bench/http_hello.sh drives it with wrk.
//
//   http_hello_benchmark [--port N] [--threads N] [--access-log PATH]
// Prints "LISTENING <port>" once bound; SIGTERM/SIGINT stop it gracefully.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "plinth/http.h"
#include "plinth/metrics.h"

namespace http = plinth::http;

int main(int argc, char** argv) {
  int port = 0;
  int threads = 2;
  std::string access_log;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> const char* {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "%s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--port") port = std::atoi(next());
    else if (a == "--threads") threads = std::atoi(next());
    else if (a == "--access-log") access_log = next();
    else {
      std::fprintf(stderr, "usage: %s [--port N] [--threads N] [--access-log PATH]\n", argv[0]);
      return 2;
    }
  }

  boost::asio::io_context io(threads);
  plinth::metrics::MetricsRegistry registry;
  http::Router router;
  (void)router.Get("/hello", [](http::Request&) -> boost::asio::awaitable<http::Response> {
    co_return http::TextResponse(200, "hello");
  });
  (void)router.Get("/json", [](http::Request& req) -> boost::asio::awaitable<http::Response> {
    co_return http::JsonTextResponse(200, "{\"ok\":true}");
  });
  (void)router.Get("/metrics", http::MetricsHandler(registry));

  http::ServerOptions options;
  options.host = "127.0.0.1";
  options.port = static_cast<uint16_t>(port);
  options.access_log.path = access_log;
  auto server = http::Server::Create(io, options, std::move(router), registry);
  if (!server.ok()) {
    std::fprintf(stderr, "%s\n", server.status().ToString().c_str());
    return 1;
  }
  (*server)->StopOnSignals(std::chrono::seconds(2), [&io]() -> boost::asio::awaitable<void> {
    io.stop();
    co_return;
  });
  (*server)->Start();
  std::printf("LISTENING %u\n", static_cast<unsigned>((*server)->port()));
  std::fflush(stdout);
  http::IoThreads runners(io, threads);
  runners.Join();
  return 0;
}
