// http/internal.h — pieces of the HTTP layer shared by its sources, the tests and the fuzz
// target (internal: not part of the public API).
//
// Thread-safety: free functions are reentrant; the thread-local caches are per thread.
#pragma once

#include <string>
#include <string_view>

#include "plinth/http.h"

namespace plinth::http {

namespace detail {

// Writes into a Request; used by the parser and the server.
struct RequestAccess {
  // Clears everything for the next request on a connection, keeping capacities.
  static void Reset(Request& r);
  static void SetStartLine(Request& r, Verb method, std::string_view method_string,
                           std::string_view target, int version);
  static void AddHeader(Request& r, std::string_view name, std::string_view value);
  static std::string& Body(Request& r) { return r.body_; }
  static Query& MutableQuery(Request& r) { return r.query_; }
  static PathParams& Params(Request& r) { return r.params_; }
  static void SetRoute(Request& r, std::string_view route) { r.route_ = route; }
  static std::string& RequestId(Request& r) { return r.request_id_; }
  static void SetRemote(Request& r, std::string_view ip, uint16_t port) {
    r.remote_ip_.assign(ip);
    r.remote_port_ = port;
  }
  static void SetTimes(Request& r, Clock::time_point received, Clock::time_point deadline) {
    r.received_at_ = received;
    r.deadline_ = deadline;
  }
  static void SetDeadline(Request& r, Clock::time_point deadline) { r.deadline_ = deadline; }
  static void SetKeepAlive(Request& r, bool keep_alive) { r.keep_alive_ = keep_alive; }
  static void ClearPrincipal(Request& r) { r.principal_.clear(); }
};

}  // namespace detail

// Pseudo-routes for the `route` label of requests that matched no template.
inline constexpr std::string_view kRouteNotFound = "(not_found)";  // 404
inline constexpr std::string_view kRouteNone = "(none)";  // rejected before routing (400, 431…)

// Case-insensitive ASCII comparison.
bool EqualsIgnoreCase(std::string_view a, std::string_view b);
// A token character of RFC 9110 (header names, methods).
bool IsTokenChar(char c);
bool IsValidUtf8(std::string_view s);

// X-Request-Id accepted from clients: 1–128 characters of [A-Za-z0-9._~:+/=@-].
inline constexpr size_t kMaxRequestIdLength = 128;
bool IsValidRequestId(std::string_view id);
// A random (not cryptographic) UUID v4 text into `out`.
void GenerateRequestId(std::string& out);

// The HTTP-date of now ("Sun, 06 Nov 1994 08:49:37 GMT"), cached per thread per second.
std::string_view HttpDateNow();
// Appends now as RFC 3339 UTC with milliseconds ("2024-05-01T12:00:00.123Z").
void AppendRfc3339Now(std::string& out);
// Appends `s` as a JSON string literal (quotes included); invalid UTF-8 becomes U+FFFD, so the
// result is always valid JSON.
void AppendJsonString(std::string& out, std::string_view s);

// The bounded `method` label: GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS, or OTHER.
std::string_view MethodLabel(Verb v);
inline constexpr size_t kMethodLabels = 8;
size_t MethodLabelIndex(Verb v);

// What the server adds to a response it serializes.
struct WireContext {
  std::string_view request_id;
  bool keep_alive = true;
  bool http10 = false;     // the request was HTTP/1.0 (keep-alive must be explicit)
  bool head = false;       // HEAD: Content-Length of the body, no body bytes
};

// Serializes the status line and headers of `resp` into `out` (cleared first), ending with the
// blank line; the body is written separately. False (and `out` unusable) when a header name or
// value is not valid on the wire (CR, LF, NUL; a name that is not a token).
bool SerializeHead(const Response& resp, const WireContext& ctx, std::string& out);

// CORS: headers for a simple/actual request from `origin` (no-op when CORS is off or the origin
// is not allowed); the response to a preflight (OPTIONS with Access-Control-Request-Method).
void ApplyCors(const CorsOptions& cors, std::string_view origin, Response& resp);
Response PreflightResponse(const CorsOptions& cors, const Request& req, std::string_view origin,
                           std::string_view allow_methods);

}  // namespace plinth::http
