// tests/http/http_fixture.h — a real server on loopback and a blocking raw-socket client for the
// HTTP layer's tests.
//
// TestServer runs a plinth::http::Server on an ephemeral 127.0.0.1 port with two I/O threads.
// TestClient is a plain TCP socket: it sends exactly the bytes a test gives it and parses
// responses with Beast, with receive timeouts so that a test never hangs.
#pragma once

#include <sys/socket.h>
#include <cerrno>
#include <sys/time.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "plinth/http.h"
#include "plinth/metrics.h"

namespace plinth::http::testing {

using namespace std::chrono_literals;
namespace bhttp = boost::beast::http;
using tcp = boost::asio::ip::tcp;

struct TestResponse {
  int status = 0;
  std::map<std::string, std::string> headers;  // lower-case names; repeated names joined by ", "
  std::string body;
  bool keep_alive = true;

  std::string Header(const std::string& lower_name) const {
    auto it = headers.find(lower_name);
    return it == headers.end() ? std::string() : it->second;
  }
  bool Has(const std::string& lower_name) const { return headers.count(lower_name) > 0; }
  nlohmann::json Json() const { return nlohmann::json::parse(body); }
};

// A blocking stream over the socket's descriptor that honours SO_RCVTIMEO (Asio's own
// synchronous reads would poll without a timeout): a timeout is error::timed_out.
class RawStream {
 public:
  explicit RawStream(int fd) : fd_(fd) {}
  template <typename Buffers>
  size_t read_some(const Buffers& buffers, boost::system::error_code& ec) {
    auto b = *boost::asio::buffer_sequence_begin(buffers);
    ssize_t n = ::recv(fd_, b.data(), b.size(), 0);
    if (n > 0) {
      ec = {};
      return static_cast<size_t>(n);
    }
    if (n == 0) ec = boost::asio::error::eof;
    else if (errno == EAGAIN || errno == EWOULDBLOCK) ec = boost::asio::error::timed_out;
    else ec = boost::system::error_code(errno, boost::system::system_category());
    return 0;
  }
  template <typename Buffers>
  size_t read_some(const Buffers& buffers) {
    boost::system::error_code ec;
    size_t n = read_some(buffers, ec);
    if (ec) throw boost::system::system_error(ec);
    return n;
  }

 private:
  int fd_;
};

class TestClient {
 public:
  explicit TestClient(uint16_t port, const std::string& host = "127.0.0.1") : socket_(io_) {
    boost::system::error_code ec;
    socket_.connect(tcp::endpoint(boost::asio::ip::make_address(host), port), ec);
    connect_error_ = ec;
    if (!ec) SetReceiveTimeout(5s);
  }

  bool connected() const { return !connect_error_; }
  boost::system::error_code connect_error() const { return connect_error_; }

  void SetReceiveTimeout(std::chrono::milliseconds t) {
    timeval tv{};
    tv.tv_sec = static_cast<time_t>(t.count() / 1000);
    tv.tv_usec = static_cast<suseconds_t>((t.count() % 1000) * 1000);
    setsockopt(socket_.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }

  // Writes raw bytes; false when the connection is gone.
  bool Send(std::string_view bytes) {
    boost::system::error_code ec;
    boost::asio::write(socket_, boost::asio::buffer(bytes.data(), bytes.size()), ec);
    return !ec;
  }

  // Reads one response; nullopt on EOF, reset or timeout. `head` for HEAD requests (no body).
  std::optional<TestResponse> Read(bool head = false) {
    bhttp::response_parser<bhttp::string_body> parser;
    parser.body_limit(64 << 20);
    parser.skip(head);
    boost::system::error_code ec;
    RawStream stream(socket_.native_handle());
    bhttp::read(stream, buffer_, parser, ec);
    if (ec) {
      last_error_ = ec;
      return std::nullopt;
    }
    const auto& msg = parser.get();
    TestResponse r;
    r.status = static_cast<int>(msg.result_int());
    for (const auto& f : msg) {
      std::string name(f.name_string());
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      std::string value(f.value());
      auto [it, inserted] = r.headers.emplace(name, value);
      if (!inserted) it->second += ", " + value;
    }
    r.body = msg.body();
    r.keep_alive = msg.keep_alive();
    return r;
  }

  // One request with the usual headers, and its response.
  std::optional<TestResponse> Request(const std::string& method, const std::string& target,
                                      const std::vector<std::pair<std::string, std::string>>& headers = {},
                                      const std::string& body = {}) {
    std::string req = method + " " + target + " HTTP/1.1\r\nHost: test\r\n";
    for (const auto& [n, v] : headers) req += n + ": " + v + "\r\n";
    if (!body.empty() || method == "POST" || method == "PUT" || method == "PATCH") {
      req += "Content-Length: " + std::to_string(body.size()) + "\r\n";
    }
    req += "\r\n" + body;
    if (!Send(req)) return std::nullopt;
    return Read(method == "HEAD");
  }

  // Whether the server closes the connection within `within` (EOF or reset, with any bytes it
  // sends before closing collected in `received`).
  bool WaitClosed(std::chrono::milliseconds within, std::string* received = nullptr) {
    SetReceiveTimeout(within);
    if (received != nullptr) received->assign(static_cast<const char*>(buffer_.data().data()),
                                               buffer_.size());
    char buf[4096];
    RawStream stream(socket_.native_handle());
    auto until = std::chrono::steady_clock::now() + within;
    while (std::chrono::steady_clock::now() < until) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          until - std::chrono::steady_clock::now());
      SetReceiveTimeout(std::max(left, std::chrono::milliseconds(1)));
      boost::system::error_code ec;
      size_t n = stream.read_some(boost::asio::buffer(buf), ec);
      if (ec == boost::asio::error::eof || ec == boost::asio::error::connection_reset) return true;
      if (ec) break;  // timeout
      if (received != nullptr) received->append(buf, n);
    }
    SetReceiveTimeout(5s);
    return false;
  }

  void Close() {
    boost::system::error_code ec;
    socket_.close(ec);
  }

  boost::system::error_code last_error() const { return last_error_; }

 private:
  boost::asio::io_context io_;
  tcp::socket socket_;
  boost::beast::flat_buffer buffer_;
  boost::system::error_code connect_error_;
  boost::system::error_code last_error_;
};

// A server on 127.0.0.1:<ephemeral> with two I/O threads.
class TestServer {
 public:
  TestServer(Router router, ServerOptions options = {})
      : TestServer([&router](metrics::MetricsRegistry&) { return std::move(router); },
                   std::move(options)) {}
  // For routers whose handlers need the server's registry (GET /metrics).
  TestServer(const std::function<Router(metrics::MetricsRegistry&)>& make_router,
             ServerOptions options) {
    Router router = make_router(registry_);
    options.host = "127.0.0.1";
    options.port = 0;
    auto created = Server::Create(io_, std::move(options), std::move(router), registry_);
    if (!created.ok()) {
      ADD_FAILURE() << created.status().ToString();
      return;
    }
    server_ = std::move(created).value();
    server_->Start();
    threads_ = std::make_unique<IoThreads>(io_, 2);
  }

  ~TestServer() { Stop(2s); }

  // Stops the server (graceful within `grace`), then lets the io_context run out of work; if it
  // does not within a few seconds that is a failure (something kept it busy) and it is stopped.
  void Stop(std::chrono::milliseconds grace) {
    if (!server_ || !threads_) return;
    server_->Stop(Clock::now() + grace);
    auto joined = std::async(std::launch::async, [this] { threads_->Join(); });
    if (joined.wait_for(5s) != std::future_status::ready) {
      ADD_FAILURE() << "the io_context did not run out of work after Stop";
      io_.stop();
    }
    joined.wait();
    threads_.reset();
  }

  Server& server() { return *server_; }
  uint16_t port() const { return server_ ? server_->port() : 0; }
  metrics::MetricsRegistry& registry() { return registry_; }
  boost::asio::io_context& io() { return io_; }
  bool ok() const { return server_ != nullptr; }

 private:
  boost::asio::io_context io_{2};
  metrics::MetricsRegistry registry_;
  std::unique_ptr<Server> server_;
  std::unique_ptr<IoThreads> threads_;
};

// A handler returning a fixed text.
inline Handler Text(std::string text, int status = 200) {
  return [text, status](Request&) -> boost::asio::awaitable<Response> {
    co_return TextResponse(status, text);
  };
}

// A handler that waits `d` on a timer (cancellable), then answers 200 "slept".
inline Handler Sleep(Clock::duration d) {
  return [d](Request&) -> boost::asio::awaitable<Response> {
    boost::asio::steady_timer t(co_await boost::asio::this_coro::executor);
    t.expires_after(d);
    co_await t.async_wait(boost::asio::use_awaitable);
    co_return TextResponse(200, "slept");
  };
}

// A unique temporary file path (removed by the caller).
inline std::string TempPath(const std::string& stem) {
  static int counter = 0;
  auto p = std::filesystem::temp_directory_path() /
           (stem + "-" + std::to_string(::getpid()) + "-" + std::to_string(++counter));
  std::filesystem::remove(p);
  return p.string();
}

inline std::vector<std::string> ReadLines(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

}  // namespace plinth::http::testing
