// fuzz/http_request_fuzz.cc — libFuzzer target for the HTTP request path, in process (no
// sockets): arbitrary bytes go through the request parser (fed in chunks, several pipelined
// requests per input), then what the server does with a parsed header (request id, version,
// Host, request-target, query string, routing with path parameters, CORS preflight, the per-IP
// limiter), the problem+json responses, the response serialization and the access-log line.
//
// Input: the first byte picks the chunk size the bytes arrive in (1–64, or all at once); the
// rest is the byte stream of one connection.
//
// Invariants checked (a violation traps): responses the server builds always serialize; access
// lines and problem bodies are valid JSON; a body never exceeds the limit; a matched route's
// label is its template and its parameters are as many as the template has.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "http/access_log.h"
#include "http/dispatch.h"
#include "http/internal.h"
#include "http/parser.h"
#include "plinth/http.h"
#include "plinth/ratelimit.h"

namespace {

namespace http = plinth::http;
using http::Verb;

constexpr size_t kMaxHeader = 4096;
constexpr size_t kMaxBody = 8192;
constexpr int kMaxRequestsPerInput = 16;

#define FUZZ_CHECK(cond) \
  do {                   \
    if (!(cond)) __builtin_trap(); \
  } while (0)

http::Handler Noop() {
  return [](http::Request&) -> boost::asio::awaitable<http::Response> {
    co_return http::NoContentResponse();
  };
}

const http::Router& TheRouter() {
  static const http::Router router = [] {
    http::Router r;
    (void)r.Get("/", Noop());
    (void)r.Get("/health/live", Noop());
    (void)r.Get("/api/v1/auth/me", Noop());
    (void)r.Post("/api/v1/auth/login", Noop());
    (void)r.Get("/api/v1/{table}", Noop());
    (void)r.Post("/api/v1/{table}", Noop());
    (void)r.Get("/api/v1/{table}/{id}", Noop());
    (void)r.Patch("/api/v1/{table}/{id}", Noop());
    (void)r.Delete("/api/v1/{table}/{id}", Noop());
    (void)r.Get("/files/{a}/x/{b}", Noop());
    return r;
  }();
  return router;
}

const http::ServerOptions& TheOptions() {
  static const http::ServerOptions options = [] {
    http::ServerOptions o;
    o.max_header_bytes = kMaxHeader;
    o.max_body_bytes = kMaxBody;
    auto cors = http::CorsOptions::FromAllowedOrigins("https://app.example, http://localhost:3000");
    if (cors.ok()) o.cors = *cors;
    return o;
  }();
  return options;
}

void CheckResponse(http::Request& req, http::Response& resp, std::string& head) {
  if (!resp.content_type.empty() && resp.content_type == http::kProblemContentType) {
    FUZZ_CHECK(nlohmann::json::accept(resp.body));
  }
  const auto& opt = TheOptions();
  http::ApplyCors(opt.cors, req.header("Origin").value_or(""), resp);
  http::WireContext ctx;
  ctx.request_id = req.request_id();
  ctx.keep_alive = req.keep_alive();
  ctx.http10 = req.version() == 10;
  ctx.head = req.method() == Verb::head;
  FUZZ_CHECK(http::SerializeHead(resp, ctx, head));
  FUZZ_CHECK(head.find("\r\n\r\n") == head.size() - 4);

  std::string line;
  http::AccessRecord rec;
  rec.request_id = req.request_id();
  rec.method = req.method_string();
  rec.path = req.path();
  rec.route = req.route();
  rec.status = resp.status;
  rec.bytes_in = req.body().size();
  rec.bytes_out = head.size() + resp.body.size();
  rec.remote_ip = "127.0.0.1";
  rec.user_agent = req.header("User-Agent").value_or("");
  rec.principal = req.principal();
  http::AppendAccessLine(line, rec);
  FUZZ_CHECK(!line.empty() && line.back() == '\n');
  FUZZ_CHECK(nlohmann::json::accept(std::string_view(line.data(), line.size() - 1)));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  static plinth::ratelimit::RateLimiter limiter({.rate_per_second = 5, .burst = 3, .max_keys = 64});
  const auto& router = TheRouter();
  const auto& opt = TheOptions();
  size_t chunk = data[0] % 65;  // 0: everything at once
  std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (chunk == 0) chunk = input.size() + 1;

  http::Request req;
  std::string head;
  size_t pos = 0;
  for (int n = 0; n < kMaxRequestsPerInput && pos < input.size(); ++n) {
    http::detail::RequestAccess::Reset(req);
    http::detail::RequestAccess::SetRemote(req, "127.0.0.1", 4242);
    http::RequestParser parser(req, opt.max_header_bytes, opt.max_body_bytes);
    boost::beast::error_code ec;
    size_t avail = pos;
    bool dispatched = false;
    http::Dispatch d;
    while (true) {
      avail = std::min(input.size(), std::max(avail, pos) + chunk);
      size_t used = parser.put(boost::asio::buffer(input.data() + pos, avail - pos), ec);
      pos += used;
      if (ec == boost::beast::http::error::need_more) ec = {};
      if (parser.is_header_done() && !dispatched) {
        dispatched = true;
        d = http::PrepareRequest(opt, router, parser, req, &limiter, "\x7f\x00\x00\x01", false);
        if (d.route != nullptr) {
          FUZZ_CHECK(req.route() == d.route->pattern);
          FUZZ_CHECK(req.params().size() == d.route->params.size());
        }
        if (d.early) break;  // the server answers without reading the body
      }
      if (ec || parser.is_done()) break;
      if (used == 0 && avail == input.size()) break;  // the input ended mid-message
    }
    FUZZ_CHECK(req.body().size() <= opt.max_body_bytes);
    http::Response resp;
    bool close = false;
    if (!parser.is_header_done()) {
      if (!ec) break;  // incomplete header at the end of the input
      http::detail::RequestAccess::RequestId(req) = "fuzz";
      int status = http::StatusForParseError(ec);
      resp = http::ProblemResponse(req, http::Problem{.status = status, .detail = ec.message()});
      close = true;
    } else if (d.early) {
      resp = std::move(*d.early);
      close = d.close || !parser.is_done();
    } else if (ec) {
      resp = http::ProblemResponse(
          req, http::Problem{.status = http::StatusForParseError(ec), .detail = ec.message()});
      close = true;
    } else if (!parser.is_done()) {
      break;  // the body did not arrive
    } else {
      // What a handler sees: parameters, the query, headers, the body as JSON.
      nlohmann::json echo = {{"route", req.route()}};
      for (const auto& p : req.params().all()) echo[std::string(p.name)] = p.value;
      for (const auto& q : req.query().params()) {
        echo["q"].push_back({q.key, q.value, std::string(q.raw_key), std::string(q.raw_value)});
      }
      (void)req.query().GetAll("select");
      for (size_t i = 0; i < req.header_count(); ++i) (void)req.header_at(i);
      if (!req.body().empty()) {
        auto body = http::ParseJsonBody(req);
        echo["body_ok"] = body.ok();
      }
      resp = http::JsonResponse(200, echo);
      close = !req.keep_alive();
    }
    CheckResponse(req, resp, head);
    if (close) break;
  }
  return 0;
}
