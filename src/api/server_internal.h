// api/server_internal.h — what the server's handlers share (internal to the api layer): the
// services a request reaches, the precomputed per-table routes, authentication of a request,
// and the mapping of a Status to a problem+json response.
//
// Thread-safety: Services and TableRoute are built before the server starts and are immutable
// afterwards; everything they point to is safe to use from any thread (data::Runtime,
// auth::Authenticator, crypto::HashPool, ratelimit::RateLimiter, metrics families).
#pragma once

#include <boost/asio/awaitable.hpp>

#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "plinth/api.h"
#include "plinth/auth.h"
#include "plinth/data.h"
#include "plinth/hash_pool.h"
#include "plinth/http.h"
#include "plinth/metrics.h"
#include "plinth/ratelimit.h"
#include "plinth/rest.h"
#include "plinth/schema.h"

namespace plinth::api::internal {

namespace asio = boost::asio;

// One exposed table, resolved once at start-up: the handlers never look a table up by name.
struct TableRoute {
  const schema::Table* table = nullptr;
  std::string name;
  std::string path;                     // "/api/v1/documents"
  const schema::Column* key = nullptr;  // ItemKeyColumn; nullptr: no item routes
  bool insert = false, update = false, del = false;
  metrics::Counter* audit_insert = nullptr;
  metrics::Counter* audit_update = nullptr;
  metrics::Counter* audit_delete = nullptr;
};

// The data-runtime call a request makes, for the latency histogram.
enum class DbOp : unsigned char { kGet, kList, kInsert, kUpsert, kUpdate, kDelete, kHealth, kCount };

struct Services {
  const ServeConfig* config = nullptr;
  data::Runtime* runtime = nullptr;
  const schema::Schema* schema = nullptr;
  auth::Authenticator* authenticator = nullptr;  // nullptr when ENABLE_AUTH=false
  crypto::HashPool* hash_pool = nullptr;
  ratelimit::RateLimiter* key_limiter = nullptr;    // nullptr: off
  ratelimit::RateLimiter* login_limiter = nullptr;  // nullptr: off
  metrics::MetricsRegistry* metrics = nullptr;
  data::Principal anonymous;  // ENABLE_AUTH=false: every request's principal
  std::string head_version;
  std::string openapi_json;
  std::string docs_html;
  std::string database_url_redacted;
  Clock::time_point started{};
  rest::QueryLimits query_limits;
  rest::BodyLimits body_limits;
  metrics::Histogram* db_latency[static_cast<size_t>(DbOp::kCount)] = {};
  metrics::Counter* auth_failures_missing = nullptr;
  metrics::Counter* auth_failures_invalid = nullptr;
  metrics::Counter* auth_failures_forbidden = nullptr;
  metrics::Counter* key_rate_limited = nullptr;
};

// Measures the wall time of one data-runtime call (Observe once it returned).
class DbTimer {
 public:
  DbTimer(const Services& s, DbOp op) : h_(s.db_latency[static_cast<size_t>(op)]), start_(Clock::now()) {}
  void Observe() const {
    if (h_ != nullptr) h_->Observe(std::chrono::duration<double>(Clock::now() - start_).count());
  }
  DbTimer(const DbTimer&) = delete;
  DbTimer& operator=(const DbTimer&) = delete;

 private:
  metrics::Histogram* h_;
  Clock::time_point start_;
};

// Who made a request, once authenticated.
struct Caller {
  data::Principal principal;
  bool api_key = false;
};

// The principal of a request (Authorization: Bearer <api key | access token>), with the
// per-key rate limit applied. On failure `out` is untouched and the response to send is
// returned: 401 + WWW-Authenticate (no or bad credentials), 403 (key not allowed from this IP),
// 429 + Retry-After (rate limit), 503 (the database is down).
asio::awaitable<std::optional<http::Response>> Authenticate(const Services& s, http::Request& req, Caller& out);

data::RequestInfo InfoFor(const http::Request& req);

// A problem+json response for a non-OK Status: http::ProblemFor, plus the constraint named
// in the detail of 409s and WWW-Authenticate on 401s.
http::Response StatusResponse(const http::Request& req, const Status& st);
// 400/422 from the field errors of rest.h.
http::Response FieldErrorsResponse(const http::Request& req, int status, std::string detail,
                                   const rest::FieldErrors& errors);
// 401 with WWW-Authenticate.
http::Response UnauthorizedResponse(const http::Request& req, std::string detail, bool invalid_token);

// The decoded query string as rest.h takes it.
rest::QueryParams ParamsOf(const http::Request& req);

// Route registration, one function per group.
Status AddTableRoutes(http::Router& router, const Services& s, std::deque<TableRoute>& routes);
Status AddAuthRoutes(http::Router& router, const Services& s);
Status AddHealthRoutes(http::Router& router, const Services& s);
Status AddDocumentRoutes(http::Router& router, const Services& s);

// Metrics families read at scrape time (pool, auth, hashing pool) and the api's own.
void RegisterServiceMetrics(Services& s);

}  // namespace plinth::api::internal

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

namespace plinth::api::internal {

// Runs a coroutine on `io` (run by other threads) and waits for its result.
template <typename T>
asio::awaitable<std::optional<T>> AsOptional(asio::awaitable<T> inner) {
  co_return co_await std::move(inner);
}
template <typename T>
T RunSync(asio::io_context& io, asio::awaitable<T> a) {
  if constexpr (std::is_void_v<T>) {
    asio::co_spawn(io, std::move(a), asio::use_future).get();
  } else {
    return std::move(*asio::co_spawn(io, AsOptional(std::move(a)), asio::use_future).get());
  }
}

// The embedded default's first start (ServeConfig::demo_key_file): a demo tenant, an admin user
// and an API key, the key kept in the file (mode 0600) and printed once with a curl line; a
// later start finds the file, checks that the key still works and says where it is.
struct DemoInputs {
  const ServeConfig* config = nullptr;
  const schema::Schema* schema = nullptr;
  const auth::AuthConfig* auth = nullptr;
  const crypto::ApiKeyHasher* hasher = nullptr;
  data::Runtime* runtime = nullptr;
  auth::Authenticator* authenticator = nullptr;
  asio::io_context* io = nullptr;
  std::string base_url;  // "http://127.0.0.1:8080"
};
Status RunDemo(const DemoInputs& in, std::ostream& out);

}  // namespace plinth::api::internal
