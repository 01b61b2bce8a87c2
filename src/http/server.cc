// The HTTP/1.1 server (include/plinth/http.h): acceptors, connections, deadlines, shutdown.
//
// Deadlines: each connection publishes its current deadline (an atomic) and phase; one sweeper
// on the control strand wakes every `tick_` (an eighth of the shortest timeout, 5–250 ms) and
// posts OnDeadline to the strand of each connection whose deadline passed. So per request the
// cost of a deadline is an atomic store, not a timer, and the precision is one tick.
#include <sys/resource.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>

#include <algorithm>
#include <array>
#include <cstdio>
#include <future>
#include <list>
#include <mutex>
#include <optional>

#include "http/access_log.h"
#include "http/dispatch.h"
#include "http/internal.h"
#include "http/parser.h"

namespace plinth::http {

namespace {

using tcp = asio::ip::tcp;
using Strand = asio::strand<asio::io_context::executor_type>;
using Socket = tcp::socket::rebind_executor<Strand>::other;
constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);

// Bytes asked of the socket per read.
constexpr size_t kReadChunk = 16 * 1024;
// Lingering close: after an error response with input left unread, read and discard this much
// for at most this long, so the client sees the response instead of a reset.
constexpr size_t kLingerBytes = 1 << 20;
constexpr auto kLingerTime = std::chrono::seconds(2);
// Connections over the cap that are answered with 503 at once; more are closed without a word.
constexpr size_t kMaxRejecting = 64;
constexpr auto kRejectLinger = std::chrono::milliseconds(500);
// After accept() fails (out of descriptors), wait before trying again.
constexpr auto kAcceptBackoff = std::chrono::milliseconds(50);
// HTTP status codes tracked per route (100…599).
constexpr int kMinStatus = 100;
constexpr int kStatusSlots = 500;

enum class Phase : uint8_t {
  kHeader,   // waiting for (the rest of) a request header
  kIdle,     // keep-alive: waiting for the first byte of the next request
  kBody,     // reading a body
  kHandler,  // the handler runs
  kWrite,    // writing a response
  kLinger,   // discarding input before closing
};

enum class TimeoutKind : uint8_t { kHeader, kIdle, kBody, kHandler, kWrite, kCount };
constexpr std::array<std::string_view, static_cast<size_t>(TimeoutKind::kCount)> kTimeoutNames = {
    "header", "idle", "body", "handler", "write"};

int64_t ToNs(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

std::string EndpointText(const tcp::endpoint& ep) {
  std::string a = ep.address().to_string();
  if (ep.address().is_v6()) a = "[" + a + "]";
  return a + ":" + std::to_string(ep.port());
}

// Per route (and pseudo-route): the series of its metrics, found once and cached.
struct RouteStats {
  struct StatusTable {
    std::array<std::atomic<metrics::Counter*>, kStatusSlots> counters{};
  };
  std::string label;
  std::array<std::atomic<metrics::Histogram*>, kMethodLabels> latency{};
  std::array<std::atomic<StatusTable*>, kMethodLabels> statuses{};
};

}  // namespace

class Connection;

struct Server::Impl : std::enable_shared_from_this<Server::Impl> {
  Impl(asio::io_context& io_context, ServerOptions opts, Router r,
       metrics::MetricsRegistry& registry)
      : io(io_context),
        options(std::move(opts)),
        router(std::move(r)),
        metrics(registry),
        control(asio::make_strand(io_context)),
        sweep_timer(control),
        drain_timer(control) {}

  asio::io_context& io;
  const ServerOptions options;
  const Router router;
  metrics::MetricsRegistry& metrics;
  Strand control;  // acceptors, sweeper, shutdown
  std::vector<std::unique_ptr<tcp::acceptor>> acceptors;
  std::vector<tcp::endpoint> bound;
  std::unique_ptr<AccessLog> log;
  std::unique_ptr<ratelimit::RateLimiter> ip_limiter;
  Clock::duration tick{};
  asio::steady_timer sweep_timer;
  asio::steady_timer drain_timer;
  std::unique_ptr<asio::signal_set> signals;

  // Metrics.
  metrics::CounterFamily* requests_family = nullptr;
  metrics::HistogramFamily* latency_family = nullptr;
  std::vector<std::unique_ptr<RouteStats>> route_stats;  // by route index, then the pseudo-routes
  RouteStats* not_found_stats = nullptr;
  RouteStats* none_stats = nullptr;
  std::mutex status_tables_mu;
  std::vector<std::unique_ptr<RouteStats::StatusTable>> status_tables;
  metrics::Counter accepted;
  metrics::Counter closed;
  metrics::Counter rejected;
  metrics::Counter started;   // requests whose header was read
  metrics::Counter finished;  // requests whose response was written (or failed)
  metrics::Counter* bytes_in = nullptr;
  metrics::Counter* bytes_out = nullptr;
  std::array<metrics::Counter*, static_cast<size_t>(TimeoutKind::kCount)> timeouts{};

  // Connections.
  std::mutex conns_mu;
  std::list<Connection*> conns;
  std::atomic<size_t> open{0};
  std::atomic<size_t> rejecting{0};
  std::atomic<bool> started_accepting{false};
  std::atomic<bool> draining{false};
  std::atomic<bool> stopped{false};    // Shutdown completed
  bool shutdown_done = false;          // control strand
  Clock::time_point drain_deadline{};  // control strand
  bool drain_waiting = false;          // control strand
  std::vector<asio::steady_timer*> shutdown_waiters;  // control strand

  Status Listen();
  void SetUpMetrics();
  void Record(RouteStats& rs, Verb method, int status, double seconds);

  asio::awaitable<void> AcceptLoop(tcp::acceptor& acceptor);
  asio::awaitable<void> SweepLoop();
  asio::awaitable<void> Reject(std::shared_ptr<Socket> socket);
  void Sweep();
  void ConnectionClosed();
  asio::awaitable<void> DoShutdown(Clock::time_point deadline);
  void ForEachConnection(const std::function<void(Connection&)>& fn);
};

// ---- one connection --------------------------------------------------------------------------

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(std::shared_ptr<Server::Impl> server, Socket socket)
      : server_(std::move(server)), strand_(socket.get_executor()), socket_(std::move(socket)) {}

  ~Connection() {
    {
      std::lock_guard lock(server_->conns_mu);
      server_->conns.erase(self_);
    }
    server_->ConnectionClosed();
  }

  void Register() {
    std::lock_guard lock(server_->conns_mu);
    server_->conns.push_front(this);
    self_ = server_->conns.begin();
  }

  void Start() {
    auto self = shared_from_this();
    asio::co_spawn(strand_, Run(self),
                   asio::bind_cancellation_slot(cancel_.slot(), [](std::exception_ptr e) {
                     if (e) {
                       try {
                         std::rethrow_exception(e);
                       } catch (const std::exception& ex) {
                         std::fprintf(stderr, "plinth http: connection failed: %s\n", ex.what());
                       } catch (...) {
                       }
                     }
                   }));
  }

  // Sweeper side (any thread).
  int64_t deadline_ns() const { return deadline_ns_.load(std::memory_order_relaxed); }
  bool MarkPosted() { return !posted_.exchange(true, std::memory_order_relaxed); }
  const Strand& strand() const { return strand_; }

  // Strand side.
  void OnDeadline();
  void OnDrain();
  void ForceClose();

 private:
  asio::awaitable<void> Run(std::shared_ptr<Connection> self);
  void SetPhase(Phase phase, Clock::time_point deadline) {
    phase_ = phase;
    deadline_ns_.store(ToNs(deadline), std::memory_order_relaxed);
  }
  void ClearDeadline() { deadline_ns_.store(0, std::memory_order_relaxed); }

  // Reads more input; false on EOF, error, timeout or close.
  asio::awaitable<bool> ReadMore();
  asio::awaitable<void> Respond(Response& resp, RouteStats& stats, std::string_view error);
  asio::awaitable<void> LingeringClose();
  void CloseSocket() {
    boost::system::error_code ec;
    socket_.shutdown(tcp::socket::shutdown_both, ec);
    socket_.close(ec);
  }
  Response ServerProblem(int status, std::string detail) {
    Problem p;
    p.status = status;
    p.detail = std::move(detail);
    return ProblemResponse(req_.request_id(), std::move(p));
  }
  void CountTimeout(TimeoutKind k) { server_->timeouts[static_cast<size_t>(k)]->Inc(); }
  void EnsureRequestId() {
    std::string& id = detail::RequestAccess::RequestId(req_);
    if (id.empty()) GenerateRequestId(id);
  }

  std::shared_ptr<Server::Impl> server_;
  Strand strand_;
  Socket socket_;
  std::list<Connection*>::iterator self_;
  asio::cancellation_signal cancel_;
  boost::beast::flat_buffer buffer_;
  Request req_;
  std::string head_;
  std::string log_line_;

  std::atomic<int64_t> deadline_ns_{0};
  std::atomic<bool> posted_{false};
  // Strand only.
  Phase phase_ = Phase::kHeader;
  bool timed_out_ = false;     // a deadline cancelled the pending read or write
  bool drain_close_ = false;   // shutdown closed this idle connection
  bool closing_ = false;       // ForceClose
  bool handler_cancelled_ = false;
  bool bytes_seen_ = false;    // some byte of the current request arrived
  bool close_after_ = false;   // the response is the last on this connection
  bool responded_ = false;     // the current request's response was queued
  uint64_t request_bytes_ = 0;
  std::string remote_ip_;
  std::string ip_key_;  // the rate-limit key: address bytes
  uint16_t remote_port_ = 0;
  std::string_view user_agent_;
  std::string_view origin_;
};

void Connection::OnDeadline() {
  posted_.store(false, std::memory_order_relaxed);
  int64_t d = deadline_ns_.load(std::memory_order_relaxed);
  if (d == 0 || d > ToNs(Clock::now())) return;
  ClearDeadline();
  switch (phase_) {
    case Phase::kHandler:
      if (!handler_cancelled_) {
        handler_cancelled_ = true;
        CountTimeout(TimeoutKind::kHandler);
        cancel_.emit(asio::cancellation_type::terminal);
      }
      return;
    case Phase::kHeader:
      CountTimeout(bytes_seen_ ? TimeoutKind::kHeader : TimeoutKind::kIdle);
      break;
    case Phase::kIdle:
      CountTimeout(TimeoutKind::kIdle);
      break;
    case Phase::kBody:
      CountTimeout(TimeoutKind::kBody);
      break;
    case Phase::kWrite:
      CountTimeout(TimeoutKind::kWrite);
      break;
    case Phase::kLinger:
      break;
  }
  timed_out_ = true;
  boost::system::error_code ec;
  socket_.cancel(ec);
}

void Connection::OnDrain() {
  close_after_ = true;
  if ((phase_ == Phase::kIdle || (phase_ == Phase::kHeader && !bytes_seen_)) && !drain_close_) {
    drain_close_ = true;
    boost::system::error_code ec;
    socket_.cancel(ec);
  }
}

void Connection::ForceClose() {
  closing_ = true;
  close_after_ = true;
  if (phase_ == Phase::kHandler && !handler_cancelled_) {
    handler_cancelled_ = true;
    cancel_.emit(asio::cancellation_type::terminal);
  }
  CloseSocket();
}

asio::awaitable<bool> Connection::ReadMore() {
  if (closing_) co_return false;
  auto [ec, n] = co_await socket_.async_read_some(buffer_.prepare(kReadChunk), kNoThrow);
  if (ec) co_return false;
  buffer_.commit(n);
  server_->bytes_in->Inc(n);
  co_return true;
}

asio::awaitable<void> Connection::Run(std::shared_ptr<Connection> self) {
  const ServerOptions& opt = server_->options;
  boost::system::error_code ec;
  tcp::endpoint remote = socket_.remote_endpoint(ec);
  if (!ec) {
    asio::ip::address a = remote.address();
    if (a.is_v6() && a.to_v6().is_v4_mapped()) {
      a = asio::ip::make_address_v4(asio::ip::v4_mapped, a.to_v6());
    }
    remote_ip_ = a.to_string();
    remote_port_ = remote.port();
    if (a.is_v4()) {
      auto b = a.to_v4().to_bytes();
      ip_key_.assign(reinterpret_cast<const char*>(b.data()), b.size());
    } else {
      auto b = a.to_v6().to_bytes();
      ip_key_.assign(reinterpret_cast<const char*>(b.data()), b.size());
    }
  }
  socket_.set_option(tcp::no_delay(true), ec);
  if (server_->draining.load()) co_return;

  bool first = true;
  while (!closing_) {
    detail::RequestAccess::Reset(req_);
    detail::RequestAccess::SetRemote(req_, remote_ip_, remote_port_);
    RequestParser parser(req_, opt.max_header_bytes, opt.max_body_bytes);
    timed_out_ = false;
    handler_cancelled_ = false;
    responded_ = false;
    request_bytes_ = 0;
    user_agent_ = {};
    origin_ = {};
    Clock::time_point received = Clock::now();
    bytes_seen_ = buffer_.size() > 0;
    if (first || bytes_seen_) {
      SetPhase(Phase::kHeader, received + opt.header_timeout);
    } else {
      SetPhase(Phase::kIdle, received + opt.idle_timeout);
    }
    if (!first && server_->draining.load(std::memory_order_relaxed) && !bytes_seen_) break;
    first = false;

    // ---- the header ----
    boost::beast::error_code perr;
    while (true) {
      if (buffer_.size() > 0) {
        if (!bytes_seen_) {
          // The request's first byte: a keep-alive wait becomes a header deadline (the first
          // request's deadline runs from accept).
          bytes_seen_ = true;
          received = Clock::now();
          if (phase_ == Phase::kIdle) SetPhase(Phase::kHeader, received + opt.header_timeout);
        }
        size_t used = parser.put(buffer_.data(), perr);
        buffer_.consume(used);
        request_bytes_ += used;
        if (perr == boost::beast::http::error::need_more) {
          perr = {};
        } else if (perr || parser.is_header_done()) {
          break;
        }
      }
      if (drain_close_) co_return;
      if (!co_await ReadMore()) {
        if (timed_out_ && bytes_seen_ && !closing_) {
          // Slow header: tell the client, then close.
          EnsureRequestId();
          server_->started.Inc();
          Response resp = ServerProblem(408, "the request header did not arrive in time");
          close_after_ = true;
          co_await Respond(resp, *server_->none_stats, "header timeout");
        }
        co_return;
      }
    }
    detail::RequestAccess::SetTimes(req_, received, Clock::time_point{});
    server_->started.Inc();
    // Counted as finished when its response is queued for writing (Respond), or when the
    // iteration ends without one.
    struct FinishGuard {
      Connection& c;
      ~FinishGuard() {
        if (!c.responded_) c.server_->finished.Inc();
      }
    } finish_guard{*this};

    if (perr && !parser.is_header_done()) {
      // Malformed or oversized header: the request cannot be trusted, answer and close.
      EnsureRequestId();
      int status = StatusForParseError(perr);
      std::string detail =
          status == 431 ? "the request header exceeds " + std::to_string(opt.max_header_bytes) +
                              " bytes"
                        : "malformed request: " + (parser.error_detail.empty()
                                                       ? perr.message()
                                                       : std::string(parser.error_detail));
      Response resp = ServerProblem(status, std::move(detail));
      close_after_ = true;
      co_await Respond(resp, *server_->none_stats, {});
      co_await LingeringClose();
      co_return;
    }

    if (parser.user_agent >= 0) {
      user_agent_ = req_.header_at(static_cast<size_t>(parser.user_agent)).second;
    }
    if (parser.origin >= 0) origin_ = req_.header_at(static_cast<size_t>(parser.origin)).second;
    Dispatch dispatch =
        PrepareRequest(opt, server_->router, parser, req_, server_->ip_limiter.get(), ip_key_,
                       server_->draining.load(std::memory_order_relaxed));
    if (dispatch.close) close_after_ = true;
    const Router::Route* route = dispatch.route;
    RouteStats* stats = dispatch.label_route ? server_->route_stats[dispatch.label_route->index].get()
                        : dispatch.not_found ? server_->not_found_stats
                                             : server_->none_stats;
    std::optional<Response> early = std::move(dispatch.early);
    detail::RequestAccess::SetKeepAlive(req_, req_.keep_alive() && !close_after_);

    if (!early && perr) {
      // The header was fine, the body is not (too large or malformed chunking).
      int status = StatusForParseError(perr);
      early = status == 413 ? ServerProblem(413, "the request body exceeds " +
                                                     std::to_string(opt.max_body_bytes) + " bytes")
                            : ServerProblem(400, "malformed request body: " + perr.message());
    }

    if (!early && !parser.is_done()) {
      // ---- the body ----
      if (parser.expect >= 0 && req_.version() == 11 &&
          EqualsIgnoreCase(req_.header_at(static_cast<size_t>(parser.expect)).second,
                           "100-continue")) {
        static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
        SetPhase(Phase::kWrite, Clock::now() + opt.write_timeout);
        auto [wec, wn] = co_await asio::async_write(socket_, asio::buffer(kContinue), kNoThrow);
        if (wec) co_return;
      }
      SetPhase(Phase::kBody, Clock::now() + opt.body_timeout);
      while (!parser.is_done()) {
        if (buffer_.size() > 0) {
          size_t used = parser.put(buffer_.data(), perr);
          buffer_.consume(used);
          request_bytes_ += used;
          if (perr == boost::beast::http::error::need_more) {
            perr = {};
          } else if (perr) {
            break;
          }
          if (parser.is_done()) break;
        }
        if (!co_await ReadMore()) {
          if (timed_out_ && !closing_) {
            Response resp = ServerProblem(408, "the request body did not arrive in time");
            close_after_ = true;
            co_await Respond(resp, *stats, "body timeout");
          }
          co_return;
        }
      }
      if (perr) {
        int status = StatusForParseError(perr);
        early = status == 413
                    ? ServerProblem(413, "the request body exceeds " +
                                             std::to_string(opt.max_body_bytes) + " bytes")
                    : ServerProblem(400, "malformed request body: " + perr.message());
      }
    }

    if (early) {
      // Input may be left unread (the body of a refused request): close after answering.
      bool unread = !parser.is_done() || perr;
      if (unread) close_after_ = true;
      co_await Respond(*early, *stats, {});
      if (unread) {
        co_await LingeringClose();
        co_return;
      }
      if (close_after_ || !req_.keep_alive()) break;
      continue;
    }

    // ---- the handler ----
    Clock::time_point handler_start = Clock::now();
    Clock::time_point deadline = handler_start + opt.request_timeout;
    detail::RequestAccess::SetTimes(req_, received, deadline);
    SetPhase(Phase::kHandler, deadline);
    Response resp;
    std::string error;
    bool failed = false;
    try {
      resp = co_await route->handler(req_);
    } catch (const std::exception& e) {
      failed = true;
      error = e.what();
    } catch (...) {
      failed = true;
    }
    if (failed && error.empty()) error = "handler failed with a non-standard exception";
    if (handler_cancelled_) {
      co_await asio::this_coro::reset_cancellation_state();
    }
    if (failed) {
      if (handler_cancelled_ && !closing_) {
        resp = ServerProblem(504, "the request did not complete within " +
                                      std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(
                                                         opt.request_timeout)
                                                         .count()) +
                                      " ms");
        error = "deadline exceeded: " + error;
      } else {
        resp = ServerProblem(500, "internal error");
      }
    }
    if (closing_) co_return;
    co_await Respond(resp, *stats, error);
    if (close_after_ || !req_.keep_alive() || closing_) break;
  }
  if (!closing_) {
    boost::system::error_code sec;
    socket_.shutdown(tcp::socket::shutdown_send, sec);
    socket_.close(sec);
  }
}

asio::awaitable<void> Connection::Respond(Response& resp, RouteStats& stats,
                                          std::string_view error) {
  const ServerOptions& opt = server_->options;
  if (opt.cors.enabled()) ApplyCors(opt.cors, origin_, resp);
  WireContext ctx;
  ctx.request_id = req_.request_id();
  ctx.keep_alive = req_.keep_alive() && !close_after_;
  ctx.http10 = req_.version() == 10;
  ctx.head = req_.method() == Verb::head;
  std::string error_text(error);
  if (!SerializeHead(resp, ctx, head_)) {
    error_text = "the handler's response has an invalid status or header";
    resp = ServerProblem(500, "internal error");
    ApplyCors(opt.cors, origin_, resp);
    SerializeHead(resp, ctx, head_);
  }
  bool send_body = !ctx.head && resp.status != 204 && resp.status != 304;
  size_t out_bytes = head_.size() + (send_body ? resp.body.size() : 0);

  // Log and count before writing: a client that has its response finds its line and its count.
  Clock::time_point now = Clock::now();
  Clock::time_point start = bytes_seen_ ? req_.received_at() : now;
  if (start == Clock::time_point{}) start = now;
  double seconds = std::chrono::duration<double>(now - start).count();
  server_->Record(stats, req_.method(), resp.status, seconds);
  if (!responded_) {
    responded_ = true;
    server_->finished.Inc();
  }
  if (server_->log) {
    AccessRecord rec;
    rec.request_id = req_.request_id();
    rec.method = req_.method_string();
    rec.path = req_.path();
    rec.route = req_.route();
    rec.status = resp.status;
    rec.duration_ms = seconds * 1000;
    rec.bytes_in = request_bytes_;
    rec.bytes_out = out_bytes;
    rec.remote_ip = remote_ip_;
    rec.user_agent = user_agent_;
    rec.principal = req_.principal();
    rec.error = error_text;
    log_line_.clear();
    AppendAccessLine(log_line_, rec);
    server_->log->Write(log_line_);
  }

  SetPhase(Phase::kWrite, now + opt.write_timeout);
  std::array<asio::const_buffer, 2> bufs = {
      asio::buffer(head_), asio::buffer(resp.body.data(), send_body ? resp.body.size() : 0)};
  auto [ec, n] = co_await asio::async_write(socket_, bufs, kNoThrow);
  server_->bytes_out->Inc(n);
  ClearDeadline();
  if (ec) {
    close_after_ = true;
    closing_ = true;
    CloseSocket();
  }
}

asio::awaitable<void> Connection::LingeringClose() {
  if (closing_) co_return;
  boost::system::error_code ec;
  socket_.shutdown(tcp::socket::shutdown_send, ec);
  SetPhase(Phase::kLinger, Clock::now() + kLingerTime);
  size_t discarded = 0;
  std::array<char, 4096> sink;
  while (discarded < kLingerBytes && !timed_out_ && !closing_) {
    auto [rec, n] = co_await socket_.async_read_some(asio::buffer(sink), kNoThrow);
    if (rec) break;
    discarded += n;
  }
  ClearDeadline();
  closing_ = true;
  socket_.close(ec);
}

// ---- the server --------------------------------------------------------------------------------

Status Server::Impl::Listen() {
  boost::system::error_code ec;
  tcp::resolver resolver(io);
  auto results = resolver.resolve(options.host, std::to_string(options.port),
                                  tcp::resolver::passive | tcp::resolver::numeric_service, ec);
  if (ec || results.empty()) {
    return Status(Code::kInvalidArgument,
                  "cannot resolve listen host \"" + options.host + "\": " + ec.message(), {},
                  "host");
  }
  uint16_t port = options.port;
  std::vector<tcp::endpoint> eps;
  for (const auto& r : results) {
    if (std::find(eps.begin(), eps.end(), r.endpoint()) == eps.end()) eps.push_back(r.endpoint());
  }
  for (tcp::endpoint ep : eps) {
    if (port != 0) ep.port(port);
    auto acc = std::make_unique<tcp::acceptor>(control);
    acc->open(ep.protocol(), ec);
    if (!ec) acc->set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec && ep.address().is_v6() && eps.size() > 1) acc->set_option(asio::ip::v6_only(true), ec);
    if (!ec) acc->bind(ep, ec);
    if (!ec) acc->listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
      return Status(Code::kUnavailable, "cannot listen on " + EndpointText(ep) + ": " + ec.message(),
                    {}, "listen");
    }
    tcp::endpoint local = acc->local_endpoint(ec);
    if (port == 0) port = local.port();
    bound.push_back(local);
    acceptors.push_back(std::move(acc));
  }
  return Status::Ok();
}

void Server::Impl::SetUpMetrics() {
  requests_family = &metrics.AddCounter("plinth_http_requests_total",
                                        "HTTP requests answered, by method, route template and "
                                        "status.",
                                        {"method", "route", "status"});
  latency_family = &metrics.AddHistogram(
      "plinth_http_request_duration_seconds",
      "Time from a request's first byte until its response is ready to send.",
      {"method", "route"}, metrics::LatencyBuckets());
  bytes_in = &metrics.AddCounter("plinth_http_received_bytes_total",
                                 "Bytes read from HTTP clients.")
                  .Get();
  bytes_out = &metrics.AddCounter("plinth_http_sent_bytes_total", "Bytes written to HTTP clients.")
                   .Get();
  auto& timeout_family = metrics.AddCounter(
      "plinth_http_timeouts_total",
      "Connections closed or requests ended by a deadline, by phase (header, idle, body, "
      "handler, write).",
      {"phase"});
  for (size_t i = 0; i < timeouts.size(); ++i) timeouts[i] = &timeout_family.With({kTimeoutNames[i]});

  std::weak_ptr<Impl> weak = weak_from_this();
  metrics.AddCollector("plinth_http_connections", "Open HTTP connections.", metrics::Type::kGauge,
                       {}, [weak](metrics::CollectorSink& sink) {
                         if (auto s = weak.lock()) {
                           sink.Sample({}, static_cast<double>(s->accepted.Value() - s->closed.Value()));
                         }
                       });
  metrics.AddCollector("plinth_http_connections_accepted_total", "HTTP connections accepted.",
                       metrics::Type::kCounter, {}, [weak](metrics::CollectorSink& sink) {
                         if (auto s = weak.lock()) {
                           sink.Sample({}, static_cast<double>(s->accepted.Value()));
                         }
                       });
  metrics.AddCollector("plinth_http_connections_rejected_total",
                       "HTTP connections refused because max_connections were open.",
                       metrics::Type::kCounter, {}, [weak](metrics::CollectorSink& sink) {
                         if (auto s = weak.lock()) {
                           sink.Sample({}, static_cast<double>(s->rejected.Value()));
                         }
                       });
  metrics.AddCollector("plinth_http_requests_in_flight",
                       "HTTP requests read and not yet answered.", metrics::Type::kGauge, {},
                       [weak](metrics::CollectorSink& sink) {
                         if (auto s = weak.lock()) {
                           uint64_t f = s->finished.Value(), st = s->started.Value();
                           sink.Sample({}, static_cast<double>(st > f ? st - f : 0));
                         }
                       });
  metrics.AddCollector("plinth_http_access_log_dropped_total",
                       "Access-log lines dropped because the writer was behind.",
                       metrics::Type::kCounter, {}, [weak](metrics::CollectorSink& sink) {
                         if (auto s = weak.lock()) {
                           sink.Sample({}, s->log ? static_cast<double>(s->log->dropped()) : 0.0);
                         }
                       });
  if (ip_limiter) ip_limiter->RegisterMetrics(metrics, "ip");

  for (size_t i = 0; i < router.size(); ++i) {
    auto rs = std::make_unique<RouteStats>();
    rs->label = router.route(i).pattern;
    route_stats.push_back(std::move(rs));
  }
  auto nf = std::make_unique<RouteStats>();
  nf->label = std::string(kRouteNotFound);
  not_found_stats = nf.get();
  route_stats.push_back(std::move(nf));
  auto none = std::make_unique<RouteStats>();
  none->label = std::string(kRouteNone);
  none_stats = none.get();
  route_stats.push_back(std::move(none));
}

void Server::Impl::Record(RouteStats& rs, Verb method, int status, double seconds) {
  size_t mi = MethodLabelIndex(method);
  metrics::Histogram* h = rs.latency[mi].load(std::memory_order_acquire);
  if (h == nullptr) {
    h = &latency_family->With({MethodLabel(method), rs.label});
    rs.latency[mi].store(h, std::memory_order_release);
  }
  h->Observe(seconds);
  RouteStats::StatusTable* table = rs.statuses[mi].load(std::memory_order_acquire);
  if (table == nullptr) {
    std::lock_guard lock(status_tables_mu);
    table = rs.statuses[mi].load(std::memory_order_acquire);
    if (table == nullptr) {
      status_tables.push_back(std::make_unique<RouteStats::StatusTable>());
      table = status_tables.back().get();
      rs.statuses[mi].store(table, std::memory_order_release);
    }
  }
  int slot = std::clamp(status, kMinStatus, kMinStatus + kStatusSlots - 1) - kMinStatus;
  metrics::Counter* c = table->counters[static_cast<size_t>(slot)].load(std::memory_order_acquire);
  if (c == nullptr) {
    c = &requests_family->With({MethodLabel(method), rs.label, std::to_string(slot + kMinStatus)});
    table->counters[static_cast<size_t>(slot)].store(c, std::memory_order_release);
  }
  c->Inc();
}

asio::awaitable<void> Server::Impl::AcceptLoop(tcp::acceptor& acceptor) {
  auto self = shared_from_this();
  asio::steady_timer backoff(control);
  while (!draining.load()) {
    auto [ec, socket] = co_await acceptor.async_accept(asio::make_strand(io), kNoThrow);
    if (draining.load()) break;
    if (ec) {
      if (ec == asio::error::operation_aborted || !acceptor.is_open()) break;
      // Out of descriptors or a transient error: do not spin.
      backoff.expires_after(kAcceptBackoff);
      co_await backoff.async_wait(kNoThrow);
      continue;
    }
    if (open.load() >= options.max_connections) {
      rejected.Inc();
      if (rejecting.fetch_add(1) < kMaxRejecting) {
        auto ex = socket.get_executor();
        asio::co_spawn(ex, Reject(std::make_shared<Socket>(std::move(socket))), asio::detached);
      } else {
        rejecting.fetch_sub(1);
        boost::system::error_code cec;
        socket.close(cec);
      }
      continue;
    }
    open.fetch_add(1);
    accepted.Inc();
    auto conn = std::make_shared<Connection>(self, std::move(socket));
    conn->Register();
    conn->Start();
  }
}

asio::awaitable<void> Server::Impl::Reject(std::shared_ptr<Socket> socket) {
  auto self = shared_from_this();
  std::string id;
  GenerateRequestId(id);
  Problem p;
  p.status = 503;
  p.detail = "the server is at its connection limit; retry later";
  p.headers.push_back(Header{"Retry-After", std::to_string(options.overload_retry_after.count())});
  Response resp = ProblemResponse(id, std::move(p));
  WireContext ctx;
  ctx.request_id = id;
  ctx.keep_alive = false;
  std::string head;
  SerializeHead(resp, ctx, head);
  boost::system::error_code ec;
  socket->set_option(tcp::no_delay(true), ec);
  // Bound the whole exchange: the timer (same strand) cancels the socket's operations.
  asio::steady_timer timer(socket->get_executor());
  timer.expires_after(kRejectLinger);
  timer.async_wait([socket](boost::system::error_code wec) {
    if (!wec) {
      boost::system::error_code cec;
      socket->cancel(cec);
    }
  });
  std::array<asio::const_buffer, 2> bufs = {asio::buffer(head), asio::buffer(resp.body)};
  auto [wec, wn] = co_await asio::async_write(*socket, bufs, kNoThrow);
  if (!wec) {
    socket->shutdown(tcp::socket::shutdown_send, ec);
    std::array<char, 4096> sink;
    for (size_t total = 0; total < kLingerBytes;) {
      auto [rec, n] = co_await socket->async_read_some(asio::buffer(sink), kNoThrow);
      if (rec) break;
      total += n;
    }
  }
  timer.cancel();
  socket->close(ec);
  rejecting.fetch_sub(1);
}

asio::awaitable<void> Server::Impl::SweepLoop() {
  auto self = shared_from_this();
  while (true) {
    sweep_timer.expires_after(tick);
    [[maybe_unused]] auto [ec] = co_await sweep_timer.async_wait(kNoThrow);
    if (shutdown_done && open.load() == 0) break;
    Sweep();
  }
}

void Server::Impl::Sweep() {
  int64_t now = ToNs(Clock::now());
  // Collect under the lock, post after it: the last reference to a connection may be dropped
  // here, and its destructor takes the lock.
  std::vector<std::shared_ptr<Connection>> due;
  {
    std::lock_guard lock(conns_mu);
    for (Connection* c : conns) {
      int64_t d = c->deadline_ns();
      if (d == 0 || d > now) continue;
      if (!c->MarkPosted()) continue;
      if (auto conn = c->weak_from_this().lock()) due.push_back(std::move(conn));
    }
  }
  for (auto& conn : due) {
    asio::post(conn->strand(), [conn] { conn->OnDeadline(); });
  }
}

void Server::Impl::ForEachConnection(const std::function<void(Connection&)>& fn) {
  std::vector<std::shared_ptr<Connection>> all;
  {
    std::lock_guard lock(conns_mu);
    all.reserve(conns.size());
    for (Connection* c : conns) {
      if (auto conn = c->weak_from_this().lock()) all.push_back(std::move(conn));
    }
  }
  for (auto& conn : all) {
    asio::post(conn->strand(), [conn, fn] { fn(*conn); });
  }
}

void Server::Impl::ConnectionClosed() {
  closed.Inc();
  if (open.fetch_sub(1) == 1 && draining.load()) {
    asio::post(control, [self = shared_from_this()] {
      if (self->drain_waiting) self->drain_timer.cancel();
    });
  }
}

asio::awaitable<void> Server::Impl::DoShutdown(Clock::time_point deadline) {
  // On the control strand.
  auto self = shared_from_this();
  if (shutdown_done) co_return;
  if (!draining.exchange(true)) {
    boost::system::error_code ec;
    for (auto& a : acceptors) a->close(ec);
    drain_deadline = deadline;
    ForEachConnection([](Connection& c) { c.OnDrain(); });
  } else if (deadline < drain_deadline) {
    drain_deadline = deadline;
    if (drain_waiting) drain_timer.cancel();
  }
  if (drain_waiting) {
    // Another Shutdown is draining (with the deadline possibly shortened): wait for it.
    asio::steady_timer waiter(control, Clock::time_point::max());
    shutdown_waiters.push_back(&waiter);
    co_await waiter.async_wait(kNoThrow);
    co_return;
  }
  drain_waiting = true;
  while (open.load() > 0 && Clock::now() < drain_deadline) {
    drain_timer.expires_at(drain_deadline);
    co_await drain_timer.async_wait(kNoThrow);
  }
  drain_waiting = false;
  if (open.load() > 0) ForEachConnection([](Connection& c) { c.ForceClose(); });
  if (signals) {
    boost::system::error_code ec;
    signals->cancel(ec);
  }
  shutdown_done = true;
  sweep_timer.cancel();
  if (log) log->Flush();
  stopped.store(true);
  for (asio::steady_timer* w : shutdown_waiters) w->cancel();
  shutdown_waiters.clear();
}

// ---- Server ----------------------------------------------------------------------------------

Server::Server(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

Result<std::unique_ptr<Server>> Server::Create(asio::io_context& io, ServerOptions options,
                                               Router router, metrics::MetricsRegistry& metrics) {
  auto bad = [](std::string what) { return Status(Code::kInvalidArgument, std::move(what)); };
  if (options.max_header_bytes < 256 || options.max_header_bytes > (size_t{1} << 24)) {
    return bad("max_header_bytes must be between 256 and 16 MiB");
  }
  if (options.max_connections == 0) return bad("max_connections must be at least 1");
  for (auto d : {options.header_timeout, options.body_timeout, options.idle_timeout,
                 options.write_timeout, options.request_timeout}) {
    if (d <= Clock::duration::zero()) return bad("timeouts must be positive");
  }
  if (options.overload_retry_after.count() < 1) options.overload_retry_after = std::chrono::seconds(1);

  // Make room for the connection cap in the descriptor limit when the hard limit allows.
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
    rlim_t want = static_cast<rlim_t>(options.max_connections + kMaxRejecting + 256);
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < want) {
      rl.rlim_cur = rl.rlim_max == RLIM_INFINITY ? want : std::min(want, rl.rlim_max);
      setrlimit(RLIMIT_NOFILE, &rl);
    }
  }

  auto impl = std::make_shared<Impl>(io, std::move(options), std::move(router), metrics);
  const ServerOptions& o = impl->options;
  auto shortest = std::min({o.header_timeout, o.body_timeout, o.idle_timeout, o.write_timeout,
                            o.request_timeout});
  impl->tick = std::clamp<Clock::duration>(shortest / 8, std::chrono::milliseconds(5),
                                           std::chrono::milliseconds(250));
  if (o.ip_rate_limit) impl->ip_limiter = std::make_unique<ratelimit::RateLimiter>(*o.ip_rate_limit);
  PLINTH_ASSIGN_OR_RETURN(impl->log, AccessLog::Open(o.access_log));
  PLINTH_RETURN_IF_ERROR(impl->Listen());
  impl->SetUpMetrics();
  return std::unique_ptr<Server>(new Server(std::move(impl)));
}

Server::~Server() {
  if (!impl_ || impl_->stopped.load()) return;
  if (!impl_->started_accepting.load()) {
    // Never started: nothing runs on the io_context for this server.
    boost::system::error_code ec;
    for (auto& a : impl_->acceptors) a->close(ec);
    impl_->draining.store(true);
    return;
  }
  // Running and not stopped: close at once, without waiting (the io_context may not be
  // running any more, so this cannot block).
  asio::post(impl_->control, [impl = impl_] {
    if (impl->shutdown_done) return;
    asio::co_spawn(impl->control, impl->DoShutdown(Clock::now()), asio::detached);
  });
}

uint16_t Server::port() const { return impl_->bound.empty() ? 0 : impl_->bound.front().port(); }
std::vector<asio::ip::tcp::endpoint> Server::endpoints() const { return impl_->bound; }
asio::io_context& Server::io() { return impl_->io; }
const ServerOptions& Server::options() const { return impl_->options; }

void Server::Start() {
  if (impl_->started_accepting.exchange(true)) return;
  for (auto& a : impl_->acceptors) {
    asio::co_spawn(impl_->control, impl_->AcceptLoop(*a), asio::detached);
  }
  asio::co_spawn(impl_->control, impl_->SweepLoop(), asio::detached);
}

asio::awaitable<void> Server::Shutdown(Clock::time_point deadline) {
  auto impl = impl_;
  co_await asio::co_spawn(impl->control, impl->DoShutdown(deadline), asio::use_awaitable);
}

void Server::Stop(Clock::time_point deadline) {
  auto done = std::make_shared<std::promise<void>>();
  std::future<void> f = done->get_future();
  asio::co_spawn(impl_->control, impl_->DoShutdown(deadline),
                 [done](std::exception_ptr) { done->set_value(); });
  // The io_context must be run by other threads; do not wait forever if it is not.
  constexpr auto kSlack = std::chrono::seconds(5);
  if (f.wait_until(std::max(deadline, Clock::now()) + kSlack) != std::future_status::ready) {
    std::fprintf(stderr, "plinth http: Stop did not complete (is the io_context running?)\n");
  }
}

void Server::StopOnSignals(Clock::duration grace, std::function<asio::awaitable<void>()> after) {
  auto impl = impl_;
  // Installed here, before returning, so that a signal raised right after is handled.
  if (impl->signals) return;
  impl->signals = std::make_unique<asio::signal_set>(impl->control, SIGINT, SIGTERM);
  asio::co_spawn(
      impl->control,
      [impl, grace, after = std::move(after)]() -> asio::awaitable<void> {
        [[maybe_unused]] auto [ec, signo] = co_await impl->signals->async_wait(kNoThrow);
        if (ec) co_return;
        asio::co_spawn(
            impl->control,
            [impl, grace, after]() -> asio::awaitable<void> {
              co_await impl->DoShutdown(Clock::now() + grace);
              if (after) co_await after();
            },
            asio::detached);
        // A second signal closes what is left at once (the set is cancelled when the drain ends).
        [[maybe_unused]] auto [ec2, signo2] = co_await impl->signals->async_wait(kNoThrow);
        if (!ec2) co_await impl->DoShutdown(Clock::now());
      },
      asio::detached);
}

ServerStats Server::stats() const {
  ServerStats s;
  s.connections_accepted = impl_->accepted.Value();
  uint64_t closed = impl_->closed.Value();
  s.connections_open = s.connections_accepted > closed ? s.connections_accepted - closed : 0;
  s.connections_rejected = impl_->rejected.Value();
  uint64_t f = impl_->finished.Value(), st = impl_->started.Value();
  s.requests = f;
  s.in_flight = st > f ? st - f : 0;
  s.access_log_dropped = impl_->log ? impl_->log->dropped() : 0;
  return s;
}

void Server::FlushAccessLog() {
  if (impl_->log) impl_->log->Flush();
}

// ---- IoThreads ---------------------------------------------------------------------------------

struct IoThreads::Impl {
  asio::io_context& io;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> guard;
  std::vector<std::thread> threads;
};

IoThreads::IoThreads(asio::io_context& io, int threads)
    : impl_(std::make_unique<Impl>(Impl{io, asio::make_work_guard(io), {}})) {
  for (int i = 0; i < std::max(1, threads); ++i) {
    impl_->threads.emplace_back([&io] { io.run(); });
  }
}

IoThreads::~IoThreads() { Stop(); }

void IoThreads::Join() {
  impl_->guard.reset();
  for (auto& t : impl_->threads) {
    if (t.joinable()) t.join();
  }
}

void IoThreads::Stop() {
  impl_->guard.reset();
  impl_->io.stop();
  for (auto& t : impl_->threads) {
    if (t.joinable()) t.join();
  }
}

}  // namespace plinth::http
