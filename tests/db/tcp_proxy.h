// tests/db/tcp_proxy.h — a fault-injecting TCP proxy in front of a PostgreSQL server, for
// tests of the request-path driver: latency injection, counting the client's flights (how
// many times the client sent after the server had answered: round trips), dropping every
// connection, refusing or black-holing new ones, stalling existing ones (a silent network),
// and dropping a connection right after it
// forwarded the client's next Sync message (the server runs and commits the batch; the
// client never hears back).
//
// The proxy parses the client's side of the PostgreSQL protocol (startup packets, then typed
// messages) to find Sync ('S') messages; use sslmode=disable in URLs through it.
//
// Thread-safety: the proxy runs on its own thread; every public member may be called from
// any thread.
#pragma once

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace plinth::testing {

class TcpProxy {
 public:
  TcpProxy(std::string target_host, uint16_t target_port)
      : target_(boost::asio::ip::make_address(target_host), target_port),
        acceptor_(io_),
        work_(boost::asio::make_work_guard(io_)) {
    using boost::asio::ip::tcp;
    tcp::endpoint local(boost::asio::ip::make_address("127.0.0.1"), 0);
    acceptor_.open(local.protocol());
    acceptor_.set_option(tcp::acceptor::reuse_address(true));
    acceptor_.bind(local);
    acceptor_.listen();
    port_ = acceptor_.local_endpoint().port();
    boost::asio::co_spawn(io_, Accept(), boost::asio::detached);
    thread_ = std::thread([this] { io_.run(); });
  }

  ~TcpProxy() {
    OnThread([this] {
      boost::system::error_code ec;
      acceptor_.close(ec);
      for (auto& s : sessions_) s->Close();
      sessions_.clear();
    });
    work_.reset();
    io_.stop();
    thread_.join();
  }
  TcpProxy(const TcpProxy&) = delete;
  TcpProxy& operator=(const TcpProxy&) = delete;

  uint16_t port() const { return port_; }

  // Every chunk is held this long before it is forwarded, in each direction.
  void set_delay(std::chrono::milliseconds one_way) { delay_ms_ = static_cast<int>(one_way.count()); }
  // New connections are closed at once (the client sees the server hang up during startup).
  void set_refuse(bool on) { refuse_ = on; }
  // New connections are accepted and then ignored: nothing is forwarded either way.
  void set_blackhole(bool on) { blackhole_ = on; }
  // Existing connections stop forwarding (data is held, not dropped) until stalling ends: a
  // network that went silent.
  void set_stall(bool on) { stall_ = on; }
  // The next Sync a client sends is forwarded, and then that client's connection is closed;
  // the server's answer is read and thrown away.
  void ArmDropAfterSync() { drop_after_sync_ = true; }
  // Closes every current connection (both sides), like a network failure.
  void DropAll() {
    OnThread([this] {
      for (auto& s : sessions_) s->Close();
      sessions_.clear();
    });
  }

  int client_flights() const { return client_flights_; }
  int syncs_forwarded() const { return syncs_; }
  int drops_after_sync() const { return drops_; }
  int connections_accepted() const { return accepted_; }
  void ResetCounters() {
    client_flights_ = 0;
    syncs_ = 0;
  }

 private:
  using tcp = boost::asio::ip::tcp;
  enum class Dir : unsigned char { kNone, kClient, kServer };

  // The client's byte stream, cut into PostgreSQL messages.
  struct ClientParser {
    bool startup = true;
    std::string pending;
    // Feeds a chunk; returns the offsets (within the chunk) just past every Sync it completed.
    std::vector<size_t> Feed(const char* data, size_t n) {
      std::vector<size_t> syncs;
      const size_t base = pending.size();
      pending.append(data, n);
      size_t pos = 0;
      for (;;) {
        if (startup) {
          if (pending.size() - pos < 8) break;
          uint32_t len = ReadU32(pending.data() + pos);
          uint32_t code = ReadU32(pending.data() + pos + 4);
          if (pending.size() - pos < len) break;
          pos += len;
          constexpr uint32_t kSslRequest = 80877103, kGssRequest = 80877104;
          if (code != kSslRequest && code != kGssRequest) startup = false;
        } else {
          if (pending.size() - pos < 5) break;
          char type = pending[pos];
          uint32_t len = ReadU32(pending.data() + pos + 1);
          if (pending.size() - pos < 1 + static_cast<size_t>(len)) break;
          pos += 1 + len;
          if (type == 'S') syncs.push_back(pos - base);
        }
      }
      pending.erase(0, pos);
      return syncs;
    }
  };

  struct Session : std::enable_shared_from_this<Session> {
    explicit Session(tcp::socket c) : client(std::move(c)), server(client.get_executor()) {}
    void Close() {
      boost::system::error_code ec;
      client.close(ec);
      server.close(ec);
    }
    tcp::socket client;
    tcp::socket server;
    ClientParser parser;
    Dir last = Dir::kNone;
    bool discarding = false;  // after a drop: read the server's answer and throw it away
  };

  static uint32_t ReadU32(const char* p) {
    const auto* u = reinterpret_cast<const unsigned char*>(p);
    return (uint32_t{u[0]} << 24) | (uint32_t{u[1]} << 16) | (uint32_t{u[2]} << 8) | uint32_t{u[3]};
  }

  template <typename F>
  void OnThread(F f) {
    std::promise<void> done;
    boost::asio::post(io_, [&] {
      f();
      done.set_value();
    });
    done.get_future().wait();
  }

  boost::asio::awaitable<void> Accept() {
    for (;;) {
      auto [ec, socket] = co_await acceptor_.async_accept(boost::asio::as_tuple(boost::asio::use_awaitable));
      if (ec) {
        if (!acceptor_.is_open()) co_return;
        continue;
      }
      ++accepted_;
      if (refuse_) {
        boost::system::error_code ignored;
        socket.close(ignored);
        continue;
      }
      auto session = std::make_shared<Session>(std::move(socket));
      sessions_.push_back(session);
      if (blackhole_) continue;
      boost::asio::co_spawn(io_, Connect(session), boost::asio::detached);
    }
  }

  boost::asio::awaitable<void> Connect(std::shared_ptr<Session> s) {
    auto [ec] = co_await s->server.async_connect(target_, boost::asio::as_tuple(boost::asio::use_awaitable));
    if (ec) {
      s->Close();
      co_return;
    }
    boost::asio::co_spawn(io_, ClientToServer(s), boost::asio::detached);
    boost::asio::co_spawn(io_, ServerToClient(s), boost::asio::detached);
  }

  boost::asio::awaitable<void> Delay() {
    boost::asio::steady_timer timer(io_);
    while (stall_) {
      timer.expires_after(std::chrono::milliseconds(5));
      co_await timer.async_wait(boost::asio::as_tuple(boost::asio::use_awaitable));
    }
    if (delay_ms_ <= 0) co_return;
    timer.expires_after(std::chrono::milliseconds(delay_ms_));
    co_await timer.async_wait(boost::asio::as_tuple(boost::asio::use_awaitable));
  }

  boost::asio::awaitable<void> ClientToServer(std::shared_ptr<Session> s) {
    std::vector<char> buf(1 << 16);
    for (;;) {
      auto [ec, n] = co_await s->client.async_read_some(boost::asio::buffer(buf),
                                                        boost::asio::as_tuple(boost::asio::use_awaitable));
      if (ec) break;
      if (s->last != Dir::kClient) ++client_flights_;
      s->last = Dir::kClient;
      std::vector<size_t> syncs = s->parser.Feed(buf.data(), n);
      syncs_ += static_cast<int>(syncs.size());
      size_t forward = n;
      bool drop = false;
      if (!syncs.empty() && drop_after_sync_.exchange(false)) {
        forward = syncs.front();
        drop = true;
      }
      co_await Delay();
      auto [wec, written] = co_await boost::asio::async_write(s->server, boost::asio::buffer(buf.data(), forward),
                                                              boost::asio::as_tuple(boost::asio::use_awaitable));
      if (wec) break;
      if (drop) {
        ++drops_;
        s->discarding = true;
        boost::system::error_code ignored;
        s->client.close(ignored);
        co_return;
      }
    }
    if (!s->discarding) s->Close();
  }

  boost::asio::awaitable<void> ServerToClient(std::shared_ptr<Session> s) {
    std::vector<char> buf(1 << 16);
    for (;;) {
      auto [ec, n] = co_await s->server.async_read_some(boost::asio::buffer(buf),
                                                        boost::asio::as_tuple(boost::asio::use_awaitable));
      if (ec) break;
      if (s->discarding) {
        // The server finished the batch (its answer ends with ReadyForQuery, 'Z'): hang up.
        if (std::string_view(buf.data(), n).find('Z') != std::string_view::npos) break;
        continue;
      }
      s->last = Dir::kServer;
      co_await Delay();
      auto [wec, written] = co_await boost::asio::async_write(s->client, boost::asio::buffer(buf.data(), n),
                                                              boost::asio::as_tuple(boost::asio::use_awaitable));
      if (wec) break;
    }
    s->Close();
  }

  boost::asio::io_context io_;
  tcp::endpoint target_;
  tcp::acceptor acceptor_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  std::thread thread_;
  uint16_t port_ = 0;
  std::vector<std::shared_ptr<Session>> sessions_;
  std::atomic<int> delay_ms_{0};
  std::atomic<bool> refuse_{false};
  std::atomic<bool> blackhole_{false};
  std::atomic<bool> stall_{false};
  std::atomic<bool> drop_after_sync_{false};
  std::atomic<int> client_flights_{0};
  std::atomic<int> syncs_{0};
  std::atomic<int> drops_{0};
  std::atomic<int> accepted_{0};
};

}  // namespace plinth::testing
