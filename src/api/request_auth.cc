// The handlers' shared steps: who made the request (API key or access token, with the per-key
// rate limit), the request's identity for audit rows, and Status → problem+json.
#include <cctype>

#include "api/server_internal.h"
#include "plinth/apikey.h"

namespace plinth::api::internal {
namespace {

constexpr std::string_view kBearer = "bearer";
constexpr std::string_view kRealm = "Bearer realm=\"plinth\"";

bool IEqualsPrefix(std::string_view text, std::string_view lower_prefix) {
  if (text.size() < lower_prefix.size()) return false;
  for (size_t i = 0; i < lower_prefix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(text[i])) != lower_prefix[i]) return false;
  }
  return true;
}

std::string_view TrimView(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Cost of one request for a key with its own per-minute limit: the shared bucket refills at
// `rate` per second, so a request costing rate*60/limit lets `limit` requests a minute through.
double CostFor(const ratelimit::RateLimiter& limiter, const std::optional<int64_t>& per_minute) {
  if (!per_minute || *per_minute <= 0) return 1;
  return limiter.options().rate_per_second * 60.0 / static_cast<double>(*per_minute);
}

}  // namespace

data::RequestInfo InfoFor(const http::Request& req) {
  data::RequestInfo info;
  info.request_id = std::string(req.request_id());
  info.ip = std::string(req.remote_ip());
  if (auto ua = req.header("User-Agent")) info.user_agent = std::string(*ua);
  info.deadline = req.deadline();
  return info;
}

rest::QueryParams ParamsOf(const http::Request& req) {
  rest::QueryParams out;
  out.reserve(req.query().size());
  for (const http::QueryParam& p : req.query().params()) out.emplace_back(p.key, p.value);
  return out;
}

http::Response UnauthorizedResponse(const http::Request& req, std::string detail, bool invalid_token) {
  http::Problem p;
  p.status = 401;
  p.detail = std::move(detail);
  p.headers.push_back({"WWW-Authenticate", invalid_token ? std::string(kRealm) + ", error=\"invalid_token\""
                                                         : std::string(kRealm)});
  return http::ProblemResponse(req, std::move(p));
}

http::Response StatusResponse(const http::Request& req, const Status& st) {
  http::Problem p = http::ProblemFor(st);
  if ((st.code() == Code::kConstraintViolation || st.code() == Code::kAlreadyExists) && !st.object().empty() &&
      p.detail.find(st.object()) == std::string::npos) {
    p.detail += " (constraint " + st.object() + ")";
  }
  if (p.status == 401) {
    p.headers.push_back({"WWW-Authenticate", std::string(kRealm) + ", error=\"invalid_token\""});
  }
  return http::ProblemResponse(req, std::move(p));
}

http::Response FieldErrorsResponse(const http::Request& req, int status, std::string detail,
                                   const rest::FieldErrors& errors) {
  http::Problem p;
  p.status = status;
  p.detail = std::move(detail);
  p.errors.reserve(errors.size());
  for (const rest::FieldError& e : errors) p.errors.push_back({e.field, e.message});
  return http::ProblemResponse(req, std::move(p));
}

asio::awaitable<std::optional<http::Response>> Authenticate(const Services& s, http::Request& req, Caller& out) {
  if (s.authenticator == nullptr) {
    out.principal = s.anonymous;
    req.set_principal("anonymous");
    co_return std::nullopt;
  }
  std::optional<std::string_view> header = req.header("Authorization");
  if (!header || TrimView(*header).empty()) {
    s.auth_failures_missing->Inc();
    co_return UnauthorizedResponse(
        req, "this endpoint needs credentials: send Authorization: Bearer <API key or access token>", false);
  }
  std::string_view v = TrimView(*header);
  if (!IEqualsPrefix(v, kBearer) || v.size() <= kBearer.size() || (v[kBearer.size()] != ' ' && v[kBearer.size()] != '\t')) {
    s.auth_failures_invalid->Inc();
    co_return UnauthorizedResponse(req, "the Authorization header must be 'Bearer <API key or access token>'", true);
  }
  const std::string_view token = TrimView(v.substr(kBearer.size() + 1));
  std::string_view limiter_key;
  double cost = 1;
  std::string user_key;
  if (crypto::LooksLikeApiKey(token)) {
    Result<auth::KeyAuth> r = co_await s.authenticator->AuthenticateApiKey(token, req.remote_ip());
    if (!r.ok()) {
      if (r.status().code() == Code::kUnauthenticated) {
        s.auth_failures_invalid->Inc();
        co_return UnauthorizedResponse(req, "the API key is not valid (unknown, mistyped, expired or revoked)", true);
      }
      if (r.status().code() == Code::kPermissionDenied) s.auth_failures_forbidden->Inc();
      co_return StatusResponse(req, r.status());
    }
    out.principal = std::move(r->principal);
    out.api_key = true;
    req.set_principal("key:" + r->key.lookup_id);
    if (s.key_limiter != nullptr) {
      cost = CostFor(*s.key_limiter, r->key.rate_limit);
      user_key = std::move(r->key.key_id);
      limiter_key = user_key;
    }
  } else {
    Result<data::Principal> r = co_await s.authenticator->AuthenticateAccessToken(token);
    if (!r.ok()) {
      if (r.status().code() == Code::kUnauthenticated) {
        s.auth_failures_invalid->Inc();
        co_return UnauthorizedResponse(req, "the access token is not valid (malformed, expired or revoked)", true);
      }
      co_return StatusResponse(req, r.status());
    }
    out.principal = std::move(*r);
    out.api_key = false;
    req.set_principal("user:" + out.principal.user_id);
    if (s.key_limiter != nullptr) {
      user_key = "user:" + out.principal.user_id;
      limiter_key = user_key;
    }
  }
  if (s.key_limiter != nullptr) {
    ratelimit::Decision d = s.key_limiter->Acquire(limiter_key, cost);
    if (!d.allowed) {
      s.key_rate_limited->Inc();
      co_return http::TooManyRequestsResponse(req, d);
    }
  }
  co_return std::nullopt;
}

}  // namespace plinth::api::internal
