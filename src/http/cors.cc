// CORS from an allowed-origins list (include/plinth/http.h).
#include "http/internal.h"

namespace plinth::http {

namespace {

std::string_view TrimSpaces(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// scheme://host[:port] with a lower-case scheme and host; false when it is not an origin.
bool NormalizeOrigin(std::string_view in, std::string& out) {
  out.clear();
  size_t sep = in.find("://");
  if (sep == std::string_view::npos || sep == 0) return false;
  std::string_view scheme = in.substr(0, sep);
  std::string_view rest = in.substr(sep + 3);
  for (size_t i = 0; i < scheme.size(); ++i) {
    char c = scheme[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (i > 0 && ((c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.'));
    if (!ok) return false;
  }
  if (rest.empty()) return false;
  std::string_view host = rest;
  std::string_view port;
  if (rest.front() == '[') {
    size_t close = rest.find(']');
    if (close == std::string_view::npos) return false;
    host = rest.substr(0, close + 1);
    std::string_view after = rest.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return false;
      port = after.substr(1);
      if (port.empty()) return false;
    }
    for (char c : host.substr(1, host.size() - 2)) {
      if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') ||
            c == ':' || c == '.')) {
        return false;
      }
    }
  } else {
    size_t colon = rest.find(':');
    if (colon != std::string_view::npos) {
      host = rest.substr(0, colon);
      port = rest.substr(colon + 1);
      if (port.empty()) return false;
    }
    if (host.empty()) return false;
    for (char c : host) {
      if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '.')) {
        return false;
      }
    }
  }
  if (port.size() > 5) return false;
  for (char c : port) {
    if (c < '0' || c > '9') return false;
  }
  for (char c : scheme) out += static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c);
  out += "://";
  for (char c : host) out += static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c);
  if (!port.empty()) {
    out += ':';
    out += port;
  }
  return true;
}

std::string JoinList(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& s : items) {
    if (!out.empty()) out += ", ";
    out += s;
  }
  return out;
}

}  // namespace

bool CorsOptions::any_origin() const {
  return allowed_origins.size() == 1 && allowed_origins.front() == "*";
}

bool CorsOptions::Allows(std::string_view origin) const {
  if (allowed_origins.empty() || origin.empty()) return false;
  if (any_origin()) return true;
  for (const auto& o : allowed_origins) {
    if (o == origin) return true;
  }
  // Browsers send scheme and host in lower case; accept other spellings too.
  std::string normalized;
  if (!NormalizeOrigin(origin, normalized)) return false;
  for (const auto& o : allowed_origins) {
    if (o == normalized) return true;
  }
  return false;
}

Result<CorsOptions> CorsOptions::FromAllowedOrigins(std::string_view csv,
                                                    bool allow_credentials) {
  CorsOptions o;
  o.allow_credentials = allow_credentials;
  bool star = false;
  size_t pos = 0;
  while (pos <= csv.size()) {
    size_t comma = csv.find(',', pos);
    if (comma == std::string_view::npos) comma = csv.size();
    std::string_view entry = TrimSpaces(csv.substr(pos, comma - pos));
    pos = comma + 1;
    if (!entry.empty()) {
      if (entry == "*") {
        star = true;
      } else {
        std::string normalized;
        if (!NormalizeOrigin(entry, normalized)) {
          return Status(Code::kInvalidArgument,
                        "ALLOWED_ORIGINS: \"" + std::string(entry) +
                            "\" is not an origin (expected scheme://host[:port] without a path, "
                            "or *)",
                        {}, "ALLOWED_ORIGINS");
        }
        bool dup = false;
        for (const auto& e : o.allowed_origins) dup = dup || e == normalized;
        if (!dup) o.allowed_origins.push_back(std::move(normalized));
      }
    }
    if (comma == csv.size()) break;
  }
  if (star) {
    if (!o.allowed_origins.empty()) {
      return Status(Code::kInvalidArgument,
                    "ALLOWED_ORIGINS: \"*\" cannot be combined with exact origins", {},
                    "ALLOWED_ORIGINS");
    }
    if (allow_credentials) {
      return Status(Code::kInvalidArgument,
                    "ALLOWED_ORIGINS: \"*\" is not allowed with credentials; list the exact "
                    "origins",
                    {}, "ALLOWED_ORIGINS");
    }
    o.allowed_origins.push_back("*");
  }
  return o;
}

namespace {
// Adds Origin to the response's Vary (merging with a Vary the handler set).
void VaryOnOrigin(Response& resp) {
  for (Header& h : resp.headers) {
    if (!EqualsIgnoreCase(h.name, "Vary")) continue;
    // Already there as a whole list element?
    std::string_view v = h.value;
    size_t pos = 0;
    while (pos <= v.size()) {
      size_t comma = v.find(',', pos);
      if (comma == std::string_view::npos) comma = v.size();
      if (EqualsIgnoreCase(TrimSpaces(v.substr(pos, comma - pos)), "Origin") ||
          TrimSpaces(v.substr(pos, comma - pos)) == "*") {
        return;
      }
      pos = comma + 1;
    }
    h.value += ", Origin";
    return;
  }
  resp.headers.push_back(Header{"Vary", "Origin"});
}
}  // namespace

void ApplyCors(const CorsOptions& cors, std::string_view origin, Response& resp) {
  if (!cors.enabled()) return;
  // The answer depends on Origin (unless any origin is allowed): caches must key on it.
  if (!cors.any_origin()) VaryOnOrigin(resp);
  // A preflight answer carries its CORS headers already.
  if (resp.GetHeader("Access-Control-Allow-Origin")) return;
  if (origin.empty() || !cors.Allows(origin)) return;
  resp.headers.push_back(
      Header{"Access-Control-Allow-Origin", cors.any_origin() ? "*" : std::string(origin)});
  if (cors.allow_credentials) {
    resp.headers.push_back(Header{"Access-Control-Allow-Credentials", "true"});
  }
  if (!cors.exposed_headers.empty()) {
    resp.headers.push_back(Header{"Access-Control-Expose-Headers", JoinList(cors.exposed_headers)});
  }
}

Response PreflightResponse(const CorsOptions& cors, const Request& req, std::string_view origin,
                           std::string_view allow_methods) {
  if (!cors.Allows(origin)) {
    Problem p;
    p.status = 403;
    p.detail = "origin " + std::string(origin.substr(0, 200)) + " is not allowed (ALLOWED_ORIGINS)";
    return ProblemResponse(req, std::move(p));  // ApplyCors adds Vary
  }
  Response r = NoContentResponse();
  r.headers.push_back(
      Header{"Access-Control-Allow-Origin", cors.any_origin() ? "*" : std::string(origin)});
  if (cors.allow_credentials) {
    r.headers.push_back(Header{"Access-Control-Allow-Credentials", "true"});
  }
  r.headers.push_back(Header{"Access-Control-Allow-Methods", std::string(allow_methods)});
  if (!cors.allowed_headers.empty()) {
    r.headers.push_back(Header{"Access-Control-Allow-Headers", JoinList(cors.allowed_headers)});
  }
  r.headers.push_back(Header{"Access-Control-Max-Age", std::to_string(cors.max_age.count())});
  r.headers.push_back(Header{
      "Vary", cors.any_origin() ? "Access-Control-Request-Method, Access-Control-Request-Headers"
                                : "Origin, Access-Control-Request-Method, "
                                  "Access-Control-Request-Headers"});
  return r;
}

}  // namespace plinth::http
