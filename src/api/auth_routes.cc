// The auth endpoints: POST /api/v1/auth/login, /auth/refresh, /auth/logout and
// GET /api/v1/auth/me. Login and refresh are limited per client IP; password verification runs
// on the hashing pool (503 + Retry-After when it is saturated).
#include <nlohmann/json.hpp>

#include "api/server_internal.h"

namespace plinth::api::internal {
namespace {

using nlohmann::json;

int64_t SecondsUntil(std::chrono::sys_seconds t) {
  const auto now = std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now());
  return std::max<int64_t>(0, (t - now).count());
}

std::string_view KindName(data::Principal::Kind k) {
  switch (k) {
    case data::Principal::Kind::kAnonymous: return "anonymous";
    case data::Principal::Kind::kUser: return "user";
    case data::Principal::Kind::kApiKey: return "api_key";
    case data::Principal::Kind::kSystem: return "system";
  }
  return "anonymous";
}

json PrincipalJson(const data::Principal& p) {
  json j = json::object();
  j["kind"] = KindName(p.kind);
  j["tenant_id"] = p.tenant_id.empty() ? json(nullptr) : json(p.tenant_id);
  j["user_id"] = p.user_id.empty() ? json(nullptr) : json(p.user_id);
  j["role"] = p.role.empty() ? json(nullptr) : json(p.role);
  j["roles"] = p.roles;
  j["permissions"] = p.permissions;
  j["credential_id"] = p.credential_id.empty() ? json(nullptr) : json(p.credential_id);
  return j;
}

json TokensJson(const auth::TokenPair& t) {
  json j = json::object();
  j["access_token"] = t.access_token;
  j["token_type"] = "Bearer";
  j["expires_in"] = SecondsUntil(t.access_expires_at);
  j["refresh_token"] = t.refresh_token;
  j["refresh_expires_in"] = SecondsUntil(t.refresh_expires_at);
  j["session_id"] = t.session_id;
  return j;
}

std::optional<http::Response> NoAuth(const Services& s, const http::Request& req) {
  if (s.authenticator != nullptr) return std::nullopt;
  http::Problem p;
  p.status = 404;
  p.detail = "authentication is switched off on this server (ENABLE_AUTH=false): every request acts as the default tenant";
  return http::ProblemResponse(req, std::move(p));
}

std::optional<http::Response> LimitLogin(const Services& s, const http::Request& req) {
  if (s.login_limiter == nullptr) return std::nullopt;
  ratelimit::Decision d = s.login_limiter->Acquire(req.remote_ip());
  if (d.allowed) return std::nullopt;
  return http::TooManyRequestsResponse(req, d);
}

// The body as a JSON object, or the 400 to send.
std::optional<http::Response> ParseObject(const http::Request& req, json& out) {
  Result<json> body = http::ParseJsonBody(req);
  if (!body.ok()) {
    return FieldErrorsResponse(req, rest::kMalformedBodyStatus, body.status().message(), {{"", body.status().message()}});
  }
  if (!body->is_object()) {
    return FieldErrorsResponse(req, rest::kMalformedBodyStatus, "the request body must be a JSON object",
                               {{"", "the request body must be a JSON object"}});
  }
  out = std::move(body).value();
  return std::nullopt;
}

// A string member: absent → "", not a string → an error.
std::string StringField(const json& body, const char* name, rest::FieldErrors& errors) {
  auto it = body.find(name);
  if (it == body.end() || it->is_null()) return {};
  if (!it->is_string()) {
    errors.push_back({name, "must be a string"});
    return {};
  }
  return it->get<std::string>();
}

// 503 from the hashing pool carries its own Retry-After.
http::Response LoginFailure(const Services& s, const http::Request& req, const Status& st) {
  if (st.code() == Code::kUnauthenticated) {
    return UnauthorizedResponse(req, "invalid login or password", false);
  }
  if (st.code() == Code::kUnavailable) {
    http::Problem p = http::ProblemFor(st);
    p.detail = "the server is busy verifying other logins; retry shortly";
    p.headers.clear();
    p.headers.push_back({"Retry-After", std::to_string(s.hash_pool->RetryAfter().count())});
    return http::ProblemResponse(req, std::move(p));
  }
  return StatusResponse(req, st);
}

asio::awaitable<http::Response> Login(const Services& s, http::Request& req) {
  if (auto off = NoAuth(s, req)) co_return std::move(*off);
  if (auto limited = LimitLogin(s, req)) co_return std::move(*limited);
  json body;
  if (auto bad = ParseObject(req, body)) co_return std::move(*bad);
  rest::FieldErrors errors;
  auth::LoginRequest lr;
  lr.login = StringField(body, "login", errors);
  for (const char* alias : {"username", "email"}) {
    if (lr.login.empty()) lr.login = StringField(body, alias, errors);
  }
  lr.password = StringField(body, "password", errors);
  lr.tenant_id = StringField(body, "tenant_id", errors);
  lr.device = StringField(body, "device", errors);
  for (const auto& [k, v] : body.items()) {
    if (k != "login" && k != "username" && k != "email" && k != "password" && k != "tenant_id" && k != "device") {
      errors.push_back({k, "unknown field (login, password, tenant_id, device)"});
    }
  }
  if (lr.login.empty()) errors.push_back({"login", "required: the user's login name or e-mail"});
  if (lr.password.empty()) errors.push_back({"password", "required"});
  if (!errors.empty()) co_return FieldErrorsResponse(req, rest::kInvalidBodyStatus, "the login request is not valid", errors);
  Result<auth::LoginResult> r = co_await s.authenticator->Login(std::move(lr), InfoFor(req));
  if (!r.ok()) co_return LoginFailure(s, req, r.status());
  req.set_principal("user:" + r->principal.user_id);
  json out = TokensJson(r->tokens);
  out["principal"] = PrincipalJson(r->principal);
  co_return http::JsonResponse(200, out);
}

asio::awaitable<http::Response> Refresh(const Services& s, http::Request& req) {
  if (auto off = NoAuth(s, req)) co_return std::move(*off);
  if (auto limited = LimitLogin(s, req)) co_return std::move(*limited);
  json body;
  if (auto bad = ParseObject(req, body)) co_return std::move(*bad);
  rest::FieldErrors errors;
  const std::string token = StringField(body, "refresh_token", errors);
  for (const auto& [k, v] : body.items()) {
    if (k != "refresh_token") errors.push_back({k, "unknown field (refresh_token)"});
  }
  if (token.empty() && errors.empty()) errors.push_back({"refresh_token", "required"});
  if (!errors.empty()) co_return FieldErrorsResponse(req, rest::kInvalidBodyStatus, "the refresh request is not valid", errors);
  Result<auth::TokenPair> r = co_await s.authenticator->Refresh(token, InfoFor(req));
  if (!r.ok()) {
    if (r.status().code() == Code::kUnauthenticated) {
      co_return UnauthorizedResponse(req, "the refresh token is not valid (expired, revoked or already used)", true);
    }
    co_return StatusResponse(req, r.status());
  }
  co_return http::JsonResponse(200, TokensJson(*r));
}

asio::awaitable<http::Response> Logout(const Services& s, http::Request& req) {
  if (auto off = NoAuth(s, req)) co_return std::move(*off);
  Caller c;
  if (auto denied = co_await Authenticate(s, req, c)) co_return std::move(*denied);
  if (c.api_key) {
    http::Problem p;
    p.status = 400;
    p.detail = "logout ends a session: send the access token of a login, not an API key (revoke keys with plinth apikey revoke)";
    co_return http::ProblemResponse(req, std::move(p));
  }
  std::string_view header = *req.header("Authorization");
  std::string_view token = header.substr(header.find(' ') + 1);
  while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
  while (!token.empty() && (token.back() == ' ' || token.back() == '\t')) token.remove_suffix(1);
  Status st = co_await s.authenticator->Logout(token);
  if (!st.ok()) co_return StatusResponse(req, st);
  co_return http::NoContentResponse();
}

asio::awaitable<http::Response> Me(const Services& s, http::Request& req) {
  Caller c;
  if (auto denied = co_await Authenticate(s, req, c)) co_return std::move(*denied);
  co_return http::JsonResponse(200, PrincipalJson(c.principal));
}

}  // namespace

Status AddAuthRoutes(http::Router& router, const Services& s) {
  const Services* sp = &s;
  const std::string base = std::string(rest::kApiPrefix) + "/auth";
  PLINTH_RETURN_IF_ERROR(router.Post(base + "/login", [sp](http::Request& req) { return Login(*sp, req); }));
  PLINTH_RETURN_IF_ERROR(router.Post(base + "/refresh", [sp](http::Request& req) { return Refresh(*sp, req); }));
  PLINTH_RETURN_IF_ERROR(router.Post(base + "/logout", [sp](http::Request& req) { return Logout(*sp, req); }));
  PLINTH_RETURN_IF_ERROR(router.Get(base + "/me", [sp](http::Request& req) { return Me(*sp, req); }));
  return Status::Ok();
}

}  // namespace plinth::api::internal
