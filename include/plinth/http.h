// plinth/http.h — the HTTP/1.1 server core: requests, responses, problem+json errors, the
// router, CORS, and the server (Boost.Beast parsing on Boost.Asio, C++20 coroutines).
//
// The api layer registers coroutine handlers on a Router, hands the Router to a Server, and runs
// the Server's io_context on N threads (the database layer runs its sockets on the same
// io_context). docs/http.md describes the behaviour on the wire: limits, statuses, the access
// log, the metrics and shutdown.
//
// Request flow, per connection (one coroutine on its own strand; requests on a connection are
// handled one after another, pipelined requests are answered in order):
//   read the header (limits: max_header_bytes → 431, header_timeout → 408; malformed → 400,
//   other versions → 505) → request id (X-Request-Id kept when valid, else generated) → Host,
//   request-target and query string (400) → route (404; 405 with Allow; OPTIONS and CORS
//   preflight answered) → declared body size (413) → per-IP rate limit (429) → read the body
//   (max_body_bytes → 413, body_timeout → 408) → handler, with Request::deadline() = now +
//   request_timeout (past it the handler is cancelled → 504) → response (X-Request-Id, Date,
//   Content-Length, CORS headers) → access log line and metrics (labelled by the route
//   template, never the raw path).
//   Every error the layer produces is an RFC 9457 application/problem+json body whose
//   `instance` is the request id.
//
// Handlers: `asio::awaitable<Response>(Request&)`. The Request lives until the handler returns;
// the handler runs on the connection's strand, so it needs no locking for the Request. A handler
// must honour cancellation (every Asio operation does) or finish by Request::deadline(): pass the
// deadline to database work (db::Database::Run(batch, req.deadline())). When the deadline passes
// while the handler runs, the server emits terminal cancellation into the handler's coroutine; if
// the handler then ends with an exception the response is 504, if it returns a Response that one
// is sent. An exception thrown by a handler otherwise is a 500 (its message goes to the access
// log's "error" field, never to the client).
//
// Thread-safety: Router is built single-threaded before Server::Create and is immutable after.
// Server methods are safe from any thread unless stated. Request and Response are values owned by
// one coroutine. The free functions are reentrant.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/http/verb.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "plinth/metrics.h"
#include "plinth/ratelimit.h"
#include "plinth/status.h"

namespace plinth::http {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;
using Verb = boost::beast::http::verb;

// ---------------------------------------------------------------------------------------------
// Percent-decoding and the query string.

// Decodes %XX escapes (and '+' as a space when `plus_as_space`) into `out` (cleared first).
// Fails (kInvalidArgument, naming the problem) on a malformed escape, an escaped NUL (%00), or
// a result that is not valid UTF-8.
Status PercentDecode(std::string_view in, bool plus_as_space, std::string& out);

struct QueryParam {
  std::string key;    // decoded ('+' is a space)
  std::string value;  // decoded; empty when the pair had no '='
  bool has_value = false;      // "a=" and "a=x" are true, a bare "a" is false
  std::string_view raw_key;    // undecoded, a view into the string given to Query::Parse
  std::string_view raw_value;  // undecoded, likewise
};

// The parsed query string: pairs in the order they appear, repeated keys kept (each pair is one
// entry), empty pairs ("a=1&&b=2") skipped. The raw form stays available for parameters whose
// syntax is the api's own (PostgREST `or=(a.eq.1,b.eq.2)`).
class Query {
 public:
  // Parses the part of a target after '?' (without the '?'). The views in the result point into
  // `raw`, which must outlive this Query. On failure the Query is empty and the Status names the
  // parameter.
  Status Parse(std::string_view raw);
  void Clear();

  std::string_view raw() const { return raw_; }
  std::span<const QueryParam> params() const { return {params_.data(), size_}; }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  // The first value of `key` (decoded); nullopt when absent.
  std::optional<std::string_view> Get(std::string_view key) const;
  // Every value of `key`, in order.
  std::vector<std::string_view> GetAll(std::string_view key) const;
  bool Has(std::string_view key) const { return Get(key).has_value(); }

 private:
  std::string_view raw_;
  std::vector<QueryParam> params_;  // entries past size_ are kept for their capacity
  size_t size_ = 0;
};

// ---------------------------------------------------------------------------------------------
// Requests.

struct PathParam {
  std::string_view name;  // from the route template (lives as long as the Router)
  std::string value;      // percent-decoded
};

// The parameters of a matched route, in template order. Reused across requests (Clear keeps the
// capacity of the values).
class PathParams {
 public:
  // The value of `name`; empty when there is no such parameter.
  std::string_view Get(std::string_view name) const;
  std::span<const PathParam> all() const { return {params_.data(), size_}; }
  size_t size() const { return size_; }
  void Clear() { size_ = 0; }
  // Appends a parameter and returns it (its value empty, ready to be written).
  PathParam& Append(std::string_view name);

 private:
  std::vector<PathParam> params_;
  size_t size_ = 0;
};

namespace detail {
struct RequestAccess;  // the parser and the server fill requests (src/http)
}

class Request {
 public:
  Request();
  ~Request();
  Request(const Request&) = delete;
  Request& operator=(const Request&) = delete;

  Verb method() const { return method_; }
  std::string_view method_string() const { return method_string_; }
  // The request-target as received ("/api/v1/documents?limit=20").
  std::string_view target() const { return target_; }
  // The path part of the target, not decoded ("/api/v1/documents").
  std::string_view path() const;
  const Query& query() const { return query_; }
  int version() const { return version_; }  // 10 or 11

  // The first header with this name (case-insensitive), nullopt when absent. Values are as
  // received, without surrounding whitespace.
  std::optional<std::string_view> header(std::string_view name) const;
  size_t header_count() const { return headers_.size(); }
  std::pair<std::string_view, std::string_view> header_at(size_t i) const;

  std::string_view body() const { return body_; }

  // A path parameter of the matched route ("table" of /api/v1/{table}), decoded; empty when the
  // route has no such parameter.
  std::string_view param(std::string_view name) const { return params_.Get(name); }
  const PathParams& params() const { return params_; }
  // The matched route template ("/api/v1/{table}/{id}"); what metrics and logs call `route`.
  std::string_view route() const { return route_; }

  // X-Request-Id as sent (when valid) or generated; echoed in the response.
  std::string_view request_id() const { return request_id_; }
  // The peer's address ("127.0.0.1", "::1") and port.
  std::string_view remote_ip() const { return remote_ip_; }
  uint16_t remote_port() const { return remote_port_; }
  // When the first byte of the request arrived, and when the handler's time is up.
  Clock::time_point received_at() const { return received_at_; }
  Clock::time_point deadline() const { return deadline_; }
  // Whether the connection stays open after this request (HTTP/1.1 default, Connection header).
  bool keep_alive() const { return keep_alive_; }

  // Who made the request (e.g. "key:3f2a…", "user:42"), for the access log. Set by auth.
  void set_principal(std::string principal) { principal_ = std::move(principal); }
  std::string_view principal() const { return principal_; }

 private:
  friend struct detail::RequestAccess;
  struct HeaderRef {
    uint32_t name_off, name_len, value_off, value_len;
  };

  Verb method_ = Verb::unknown;
  std::string method_string_;
  std::string target_;
  int version_ = 11;
  std::string header_bytes_;  // names and values, back to back
  std::vector<HeaderRef> headers_;
  std::string body_;
  Query query_;
  PathParams params_;
  std::string_view route_;
  std::string request_id_;
  std::string remote_ip_;
  uint16_t remote_port_ = 0;
  Clock::time_point received_at_{};
  Clock::time_point deadline_{};
  bool keep_alive_ = true;
  std::string principal_;
};

// ---------------------------------------------------------------------------------------------
// Responses.

struct Header {
  std::string name;
  std::string value;
};

struct Response {
  int status = 200;
  std::string content_type;     // empty: no Content-Type header
  std::string body;
  std::vector<Header> headers;  // further headers (Location, Retry-After, Content-Range…)

  // Replaces any header of that name (case-insensitive), else appends.
  Response& SetHeader(std::string_view name, std::string value);
  // The first header of that name, nullopt when absent.
  std::optional<std::string_view> GetHeader(std::string_view name) const;
};
// The server writes Content-Length, Date, Connection and X-Request-Id itself: the same names in
// Response::headers are ignored, as is Transfer-Encoding. A header name or value holding CR, LF
// or NUL (or a name that is not an HTTP token) makes the response a 500.

inline constexpr std::string_view kJsonContentType = "application/json";
inline constexpr std::string_view kProblemContentType = "application/problem+json";

// JSON body (Content-Type: application/json).
Response JsonResponse(int status, const nlohmann::json& body);
// A body that already is serialized JSON.
Response JsonTextResponse(int status, std::string json);
Response TextResponse(int status, std::string text,
                      std::string content_type = "text/plain; charset=utf-8");
// 204 No Content.
Response NoContentResponse();

// The reason phrase of a status code ("Not Found"); "Unknown" for codes without one.
std::string_view ReasonPhrase(int status);

// ---------------------------------------------------------------------------------------------
// RFC 9457 problem details.

struct FieldError {
  std::string field;    // the field's name (a JSON pointer or a dotted path, the api's choice)
  std::string message;
};

struct Problem {
  int status = 500;
  std::string title;    // empty: the reason phrase of `status`
  std::string detail;   // human-readable, specific to this occurrence
  std::string type;     // empty: "about:blank"
  std::vector<FieldError> errors;  // validation errors; the "errors" member when not empty
  std::vector<Header> headers;     // Retry-After, WWW-Authenticate, Allow…
};

// The problem as JSON text: {"type","title","status","detail"?,"instance","errors"?}.
std::string ProblemJson(const Problem& problem, std::string_view instance);
// An application/problem+json response whose instance is the request id.
Response ProblemResponse(std::string_view request_id, Problem problem);
inline Response ProblemResponse(const Request& req, Problem problem) {
  return ProblemResponse(req.request_id(), std::move(problem));
}

// The HTTP status for a Status code: kInvalidArgument 400, kUnauthenticated 401,
// kPermissionDenied and kPolicyViolation 403, kNotFound 404, kAlreadyExists and
// kConstraintViolation and kFailedPrecondition 409, kRetryable and kUnavailable 503,
// kDeadlineExceeded 504, the rest (kCommitUnknown, kDataLoss, kIoError, kInternal) 500.
int HttpStatusFor(Code code);
// A problem for a non-OK Status: status from HttpStatusFor, detail = message (for 5xx a generic
// detail: internal messages are not shown to clients), the object as one FieldError for
// kInvalidArgument / kConstraintViolation when set, Retry-After: 1 for 503.
Problem ProblemFor(const Status& status);
// 429 with Retry-After from a refused rate-limit decision.
Response TooManyRequestsResponse(const Request& req, const ratelimit::Decision& decision);

// Parses the request body as JSON. kInvalidArgument ("request body is not valid JSON: …") when
// it is not; an empty body is an error too.
Result<nlohmann::json> ParseJsonBody(const Request& req);

// ---------------------------------------------------------------------------------------------
// Routing.

using Handler = std::function<asio::awaitable<Response>(Request&)>;

// Method + path template → handler. Templates are absolute paths whose segments are literals or
// parameters: "/health/live", "/api/v1/{table}/{id}". A parameter matches one whole non-empty
// segment (decoded after splitting, so "%2F" inside an id does not split). Literal segments win
// over parameters at the same position ("/api/v1/auth/me" before "/api/v1/{table}/{id}"),
// with backtracking; the first node that has routes for the whole path decides (so a literal
// path with only POST gives 405 for GET rather than falling through to a parameter route). A
// trailing slash is significant. HEAD is served by the GET route when no HEAD route exists;
// OPTIONS is answered by the server (Allow, CORS preflight) unless an OPTIONS route exists.
class Router {
 public:
  struct Route {
    Verb method;
    std::string pattern;  // the template as registered; the `route` label
    Handler handler;
    size_t index;         // registration order
    std::vector<std::pair<size_t, std::string>> params;  // segment index → parameter name
  };

  enum class Outcome : unsigned char { kFound, kNotFound, kMethodNotAllowed };
  struct Match {
    Outcome outcome = Outcome::kNotFound;
    const Route* route = nullptr;  // kFound
    // kMethodNotAllowed only: the methods the path accepts ("GET, HEAD, POST"). kFound and
    // kMethodNotAllowed: the template of the path's route, for labels.
    std::string allow;
    std::string_view pattern;
  };

  Router();
  ~Router();
  Router(Router&&) noexcept;
  Router& operator=(Router&&) noexcept;

  // kInvalidArgument for a malformed template (not starting with '/', empty segment, bad
  // parameter name, the same parameter twice) or an unsupported method; kAlreadyExists when the
  // same method and path shape are registered already.
  Status Add(Verb method, std::string_view pattern, Handler handler);
  Status Get(std::string_view pattern, Handler h) { return Add(Verb::get, pattern, std::move(h)); }
  Status Post(std::string_view pattern, Handler h) { return Add(Verb::post, pattern, std::move(h)); }
  Status Put(std::string_view pattern, Handler h) { return Add(Verb::put, pattern, std::move(h)); }
  Status Patch(std::string_view pattern, Handler h) { return Add(Verb::patch, pattern, std::move(h)); }
  Status Delete(std::string_view pattern, Handler h) {
    return Add(Verb::delete_, pattern, std::move(h));
  }

  // Matches a raw (undecoded) path. The parameters of a kFound match are written to `params`
  // (cleared first; decoded). kInvalidArgument when a segment has a bad escape (→ 400).
  Result<Match> Find(Verb method, std::string_view raw_path, PathParams& params) const;

  size_t size() const;
  const Route& route(size_t index) const;

 private:
  struct Node;
  std::unique_ptr<Node> root_;
  std::vector<std::unique_ptr<Route>> routes_;
};

// A handler that serves registry.Render() as text/plain; version=0.0.4 (for GET /metrics).
Handler MetricsHandler(const metrics::MetricsRegistry& registry);

// ---------------------------------------------------------------------------------------------
// CORS.

struct CorsOptions {
  // Exact origins ("https://app.example.com", "http://localhost:3000"), or the single entry "*"
  // (any origin; only without credentials). Empty: CORS is off (no CORS headers, preflights are
  // plain OPTIONS).
  std::vector<std::string> allowed_origins;
  bool allow_credentials = false;
  std::vector<std::string> allowed_headers = {"Authorization", "Content-Type", "Prefer",
                                              "X-Request-Id", "If-Match", "If-None-Match"};
  std::vector<std::string> exposed_headers = {"X-Request-Id", "Retry-After", "Content-Range",
                                              "Location", "ETag"};
  std::chrono::seconds max_age{600};

  bool enabled() const { return !allowed_origins.empty(); }
  bool any_origin() const;
  bool Allows(std::string_view origin) const;

  // From ALLOWED_ORIGINS: comma-separated, whitespace around entries ignored, empty entries
  // skipped. Each entry is "*" or scheme://host[:port] (scheme http or https, no path, no
  // trailing slash); a bad entry is kInvalidArgument naming it, as is "*" with credentials or
  // "*" mixed with exact origins.
  static Result<CorsOptions> FromAllowedOrigins(std::string_view csv,
                                                bool allow_credentials = false);
};

// ---------------------------------------------------------------------------------------------
// The server.

struct AccessLogOptions {
  // "" → no access log, "-" → standard output, otherwise a file opened for appending.
  std::string path;
  // Each I/O thread writes into its own ring of this size; a line that does not fit (the writer
  // is behind) is dropped and counted (plinth_http_access_log_dropped_total).
  size_t buffer_bytes_per_thread = size_t{1} << 20;
  std::chrono::milliseconds flush_interval{100};
};

struct ServerOptions {
  // Host name or address to listen on ("127.0.0.1", "::1", "::", "0.0.0.0", "localhost": every
  // address it resolves to). Port 0: an ephemeral port (Server::port() tells which).
  std::string host = "127.0.0.1";
  uint16_t port = 8080;

  size_t max_body_bytes = size_t{1} << 20;      // → 413
  size_t max_header_bytes = size_t{16} << 10;   // request line + header fields → 431
  size_t max_connections = 4096;                // over it: 503 + Retry-After, then close
  std::chrono::seconds overload_retry_after{1};

  // From accept (first request) or from the request's first byte (later requests) until the
  // whole header is in → 408 (silent close when no byte of a request arrived).
  Clock::duration header_timeout = std::chrono::seconds(10);
  // From the end of the header until the whole body is in → 408.
  Clock::duration body_timeout = std::chrono::seconds(30);
  // Keep-alive: from the end of a response until the next request's first byte → close.
  Clock::duration idle_timeout = std::chrono::seconds(30);
  // Writing one response → close.
  Clock::duration write_timeout = std::chrono::seconds(30);
  // From the end of the body until the handler's response → Request::deadline(), 504.
  Clock::duration request_timeout = std::chrono::seconds(30);

  // Per client IP, checked before routing (429 + Retry-After). nullopt: off.
  std::optional<ratelimit::Options> ip_rate_limit;
  CorsOptions cors;
  AccessLogOptions access_log;
};

struct ServerStats {
  uint64_t connections_open = 0;
  uint64_t connections_accepted = 0;
  uint64_t connections_rejected = 0;  // over max_connections
  uint64_t requests = 0;              // responses written (any status)
  uint64_t in_flight = 0;             // requests whose response is not written yet
  uint64_t access_log_dropped = 0;
};

class Server {
 public:
  // Resolves and binds options.host:port (the port is bound when this returns; accepting starts
  // with Start). Registers the server's metrics in `metrics`, which must outlive the Server.
  // kInvalidArgument for options that cannot work, kUnavailable when the address cannot be bound
  // (in use, not local), kIoError when the access log cannot be opened.
  static Result<std::unique_ptr<Server>> Create(asio::io_context& io, ServerOptions options,
                                                Router router, metrics::MetricsRegistry& metrics);
  // Closes everything at once if the server was not stopped (Stop(now)).
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // The bound port (the ephemeral one when options.port was 0) and every bound endpoint.
  uint16_t port() const;
  std::vector<asio::ip::tcp::endpoint> endpoints() const;

  // Starts accepting on the io_context (returns at once; the io_context must be run).
  void Start();

  // Graceful shutdown: stops accepting (new connections are refused), closes idle keep-alive
  // connections, lets requests in progress finish (their responses carry Connection: close),
  // and completes when every connection is closed or at `deadline`, when the remaining ones are
  // closed (their handlers cancelled) and it completes at once. Flushes the access log.
  // Idempotent; a second call with an earlier deadline shortens the wait.
  asio::awaitable<void> Shutdown(Clock::time_point deadline);
  // Blocking form of Shutdown for a thread that does not run the io_context (which must be run
  // by other threads); returns by `deadline` (plus the time to close what is left).
  void Stop(Clock::time_point deadline);
  // Shutdown on SIGTERM or SIGINT: the first signal starts Shutdown(now + grace), then runs
  // `after` on the io_context (close the database, io.stop()); a second signal closes what is
  // left at once. The handlers are installed before this returns. Call it at most once, before
  // any Shutdown/Stop, from the thread that set the server up.
  void StopOnSignals(Clock::duration grace, std::function<asio::awaitable<void>()> after = {});

  asio::io_context& io();
  const ServerOptions& options() const;
  ServerStats stats() const;
  // Blocks until every access-log line of requests completed so far is written.
  void FlushAccessLog();

  struct Impl;

 private:
  explicit Server(std::shared_ptr<Impl> impl);
  std::shared_ptr<Impl> impl_;
};

// Runs io.run() on `threads` threads (keeping it from running out of work) until Stop.
class IoThreads {
 public:
  IoThreads(asio::io_context& io, int threads);
  ~IoThreads();  // Stop()
  IoThreads(const IoThreads&) = delete;
  IoThreads& operator=(const IoThreads&) = delete;
  // Lets run() return once the work is done (no io.stop()), and joins.
  void Join();
  // io.stop() and joins.
  void Stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace plinth::http
