// http/dispatch.h — what the server does with a request once its header is parsed, as a pure
// function (no sockets): used by the connection loop, the tests and the fuzz target.
//
// Thread-safety: reentrant; the Router and the options are read only, the limiter is thread-safe.
#pragma once

#include <optional>
#include <string_view>

#include "http/internal.h"
#include "http/parser.h"
#include "plinth/ratelimit.h"

namespace plinth::http {

struct Dispatch {
  const Router::Route* route = nullptr;        // run this handler (when `early` is empty)
  std::optional<Response> early;               // the server answers by itself
  const Router::Route* label_route = nullptr;  // the metrics series (kFound, and 405's path)
  bool not_found = false;                      // route label "(not_found)"
  bool close = false;                          // close the connection after the response
};

// Sets the request id (X-Request-Id when valid, else generated), keep-alive, the query, the
// path parameters and the route; checks the version (505), Host (400), the request-target
// (400), the query (400), routing (404, 405 with Allow, OPTIONS 204 with Allow, CORS
// preflight), and the per-IP rate limit (429). `ip_limiter` may be null.
Dispatch PrepareRequest(const ServerOptions& options, const Router& router,
                        const RequestParser& parser, Request& req,
                        ratelimit::RateLimiter* ip_limiter, std::string_view ip_key,
                        bool draining);

}  // namespace plinth::http
