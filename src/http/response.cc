// Responses, problem+json, and the wire details the server adds (include/plinth/http.h).
#include <time.h>

#include <boost/beast/http/status.hpp>

#include <charconv>
#include <chrono>
#include <cstring>
#include <random>

#include <nlohmann/json.hpp>

#include "http/internal.h"

namespace plinth::http {

// ---- Response ------------------------------------------------------------------------------

Response& Response::SetHeader(std::string_view name, std::string value) {
  for (Header& h : headers) {
    if (EqualsIgnoreCase(h.name, name)) {
      h.value = std::move(value);
      return *this;
    }
  }
  headers.push_back(Header{std::string(name), std::move(value)});
  return *this;
}

std::optional<std::string_view> Response::GetHeader(std::string_view name) const {
  for (const Header& h : headers) {
    if (EqualsIgnoreCase(h.name, name)) return std::string_view(h.value);
  }
  return std::nullopt;
}

Response JsonResponse(int status, const nlohmann::json& body) {
  Response r;
  r.status = status;
  r.content_type = kJsonContentType;
  r.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return r;
}

Response JsonTextResponse(int status, std::string json) {
  Response r;
  r.status = status;
  r.content_type = kJsonContentType;
  r.body = std::move(json);
  return r;
}

Response TextResponse(int status, std::string text, std::string content_type) {
  Response r;
  r.status = status;
  r.content_type = std::move(content_type);
  r.body = std::move(text);
  return r;
}

Response NoContentResponse() {
  Response r;
  r.status = 204;
  return r;
}

std::string_view ReasonPhrase(int status) {
  if (status < 100 || status > 599) return "Unknown";
  std::string_view s = boost::beast::http::obsolete_reason(
      static_cast<boost::beast::http::status>(status));
  if (s.empty() || s.front() == '<') return "Unknown";
  return s;
}

// ---- problems ------------------------------------------------------------------------------

std::string ProblemJson(const Problem& problem, std::string_view instance) {
  nlohmann::ordered_json j;
  j["type"] = problem.type.empty() ? std::string("about:blank") : problem.type;
  j["title"] = problem.title.empty() ? std::string(ReasonPhrase(problem.status)) : problem.title;
  j["status"] = problem.status;
  if (!problem.detail.empty()) j["detail"] = problem.detail;
  j["instance"] = std::string(instance);
  if (!problem.errors.empty()) {
    auto& errors = j["errors"] = nlohmann::ordered_json::array();
    for (const FieldError& e : problem.errors) {
      errors.push_back({{"field", e.field}, {"message", e.message}});
    }
  }
  return j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

Response ProblemResponse(std::string_view request_id, Problem problem) {
  Response r;
  r.status = problem.status;
  r.content_type = kProblemContentType;
  r.body = ProblemJson(problem, request_id);
  r.headers = std::move(problem.headers);
  return r;
}

int HttpStatusFor(Code code) {
  switch (code) {
    case Code::kOk: return 200;
    case Code::kInvalidArgument: return 400;
    case Code::kUnauthenticated: return 401;
    case Code::kPermissionDenied:
    case Code::kPolicyViolation: return 403;
    case Code::kNotFound: return 404;
    case Code::kAlreadyExists:
    case Code::kConstraintViolation:
    case Code::kFailedPrecondition: return 409;
    case Code::kRetryable:
    case Code::kUnavailable: return 503;
    case Code::kDeadlineExceeded: return 504;
    case Code::kCommitUnknown:
    case Code::kDataLoss:
    case Code::kIoError:
    case Code::kInternal: return 500;
  }
  return 500;
}

Problem ProblemFor(const Status& status) {
  Problem p;
  p.status = HttpStatusFor(status.code());
  switch (p.status) {
    case 503:
      p.detail = "the service cannot handle the request right now; retry later";
      p.headers.push_back(Header{"Retry-After", "1"});
      break;
    case 504:
      p.detail = "the request ran out of time";
      break;
    case 500:
      p.detail = status.code() == Code::kCommitUnknown
                     ? "the connection was lost while committing: the change may or may not "
                       "have been applied"
                     : "internal error";
      break;
    default:
      p.detail = status.message();
      if (!status.object().empty() && (status.code() == Code::kInvalidArgument ||
                                       status.code() == Code::kConstraintViolation)) {
        p.errors.push_back(FieldError{status.object(), status.message()});
      }
  }
  return p;
}

Response TooManyRequestsResponse(const Request& req, const ratelimit::Decision& decision) {
  Problem p;
  p.status = 429;
  p.detail = "rate limit exceeded; retry after " + std::to_string(decision.retry_after.count()) +
             " s";
  p.headers.push_back(
      Header{"Retry-After", std::to_string(std::max<int64_t>(1, decision.retry_after.count()))});
  return ProblemResponse(req, std::move(p));
}

namespace {
constexpr int kMaxJsonDepth = 128;
}

Result<nlohmann::json> ParseJsonBody(const Request& req) {
  if (req.body().empty()) return Status(Code::kInvalidArgument, "request body is empty; expected JSON");
  try {
    nlohmann::json::parser_callback_t limit_depth = [](int depth, nlohmann::json::parse_event_t,
                                                       nlohmann::json&) {
      if (depth > kMaxJsonDepth) {
        throw std::runtime_error("nested deeper than " + std::to_string(kMaxJsonDepth) +
                                 " levels");
      }
      return true;
    };
    return nlohmann::json::parse(req.body(), limit_depth);
  } catch (const nlohmann::json::parse_error& e) {
    std::string what = e.what();
    // "[json.exception.parse_error.101] parse error at line 1, column 2: …" → after the tag.
    if (size_t close = what.find("] "); close != std::string::npos) what = what.substr(close + 2);
    return Status(Code::kInvalidArgument, "request body is not valid JSON: " + what);
  } catch (const std::exception& e) {
    return Status(Code::kInvalidArgument, std::string("request body is not valid JSON: ") + e.what());
  }
}

Handler MetricsHandler(const metrics::MetricsRegistry& registry) {
  return [&registry](Request&) -> asio::awaitable<Response> {
    co_return TextResponse(200, registry.Render(),
                           std::string(metrics::MetricsRegistry::kContentType));
  };
}

// ---- wire details --------------------------------------------------------------------------

bool IsValidRequestId(std::string_view id) {
  if (id.empty() || id.size() > kMaxRequestIdLength) return false;
  for (char c : id) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '~' || c == ':' || c == '+' || c == '/' || c == '=' ||
              c == '@' || c == '-';
    if (!ok) return false;
  }
  return true;
}

namespace {

// xoshiro256** — fast, per thread, seeded once from the OS.
struct Rng {
  uint64_t s[4];
  Rng() {
    std::random_device rd;
    for (auto& w : s) w = (static_cast<uint64_t>(rd()) << 32) ^ rd();
    if ((s[0] | s[1] | s[2] | s[3]) == 0) s[0] = 1;
  }
  static uint64_t Rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  uint64_t Next() {
    uint64_t result = Rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = Rotl(s[3], 45);
    return result;
  }
};

constexpr char kHex[] = "0123456789abcdef";

}  // namespace

void GenerateRequestId(std::string& out) {
  thread_local Rng rng;
  unsigned char b[16];
  uint64_t a = rng.Next(), c = rng.Next();
  std::memcpy(b, &a, 8);
  std::memcpy(b + 8, &c, 8);
  b[6] = static_cast<unsigned char>((b[6] & 0x0F) | 0x40);  // version 4
  b[8] = static_cast<unsigned char>((b[8] & 0x3F) | 0x80);  // RFC 4122 variant
  out.resize(36);
  size_t o = 0;
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out[o++] = '-';
    out[o++] = kHex[b[i] >> 4];
    out[o++] = kHex[b[i] & 0xF];
  }
}

std::string_view HttpDateNow() {
  thread_local int64_t cached_second = -1;
  thread_local char buf[32];
  thread_local size_t len = 0;
  int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                    std::chrono::system_clock::now().time_since_epoch())
                    .count();
  if (now != cached_second) {
    time_t t = static_cast<time_t>(now);
    struct tm tm;
    gmtime_r(&t, &tm);
    len = strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    cached_second = now;
  }
  return std::string_view(buf, len);
}

void AppendRfc3339Now(std::string& out) {
  thread_local int64_t cached_second = -1;
  thread_local char buf[32];
  thread_local size_t len = 0;
  auto since = std::chrono::system_clock::now().time_since_epoch();
  int64_t ms = std::chrono::duration_cast<std::chrono::milliseconds>(since).count();
  int64_t sec = ms / 1000;
  if (sec != cached_second) {
    time_t t = static_cast<time_t>(sec);
    struct tm tm;
    gmtime_r(&t, &tm);
    len = strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
    cached_second = sec;
  }
  out.append(buf, len);
  int frac = static_cast<int>(ms % 1000);
  out += '.';
  out += static_cast<char>('0' + frac / 100);
  out += static_cast<char>('0' + frac / 10 % 10);
  out += static_cast<char>('0' + frac % 10);
  out += 'Z';
}

void AppendJsonString(std::string& out, std::string_view s) {
  out += '"';
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const auto* end = p + s.size();
  while (p < end) {
    unsigned char c = *p;
    if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
      out += static_cast<char>(c);
      ++p;
      continue;
    }
    if (c < 0x80) {
      switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        default:
          out += "\\u00";
          out += kHex[c >> 4];
          out += kHex[c & 0xF];
      }
      ++p;
      continue;
    }
    // A multi-byte sequence: copy it when it is valid UTF-8, else U+FFFD for this byte.
    size_t n = (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
    if (n != 0 && static_cast<size_t>(end - p) >= n &&
        IsValidUtf8(std::string_view(reinterpret_cast<const char*>(p), n))) {
      out.append(reinterpret_cast<const char*>(p), n);
      p += n;
    } else {
      out += "\\ufffd";
      ++p;
    }
  }
  out += '"';
}

std::string_view MethodLabel(Verb v) {
  switch (v) {
    case Verb::get: return "GET";
    case Verb::head: return "HEAD";
    case Verb::post: return "POST";
    case Verb::put: return "PUT";
    case Verb::patch: return "PATCH";
    case Verb::delete_: return "DELETE";
    case Verb::options: return "OPTIONS";
    default: return "OTHER";
  }
}

size_t MethodLabelIndex(Verb v) {
  switch (v) {
    case Verb::get: return 0;
    case Verb::head: return 1;
    case Verb::post: return 2;
    case Verb::put: return 3;
    case Verb::patch: return 4;
    case Verb::delete_: return 5;
    case Verb::options: return 6;
    default: return 7;
  }
}

namespace {

bool ValidHeaderName(std::string_view n) {
  if (n.empty()) return false;
  for (char c : n) {
    if (!IsTokenChar(c)) return false;
  }
  return true;
}

bool ValidHeaderValue(std::string_view v) {
  for (char c : v) {
    if (c == '\r' || c == '\n' || c == '\0') return false;
  }
  return true;
}

bool ServerManaged(std::string_view name) {
  return EqualsIgnoreCase(name, "Content-Length") || EqualsIgnoreCase(name, "Date") ||
         EqualsIgnoreCase(name, "Connection") || EqualsIgnoreCase(name, "X-Request-Id") ||
         EqualsIgnoreCase(name, "Transfer-Encoding") || EqualsIgnoreCase(name, "Keep-Alive");
}

void AppendUint(std::string& out, uint64_t v) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, end);
}

}  // namespace

bool SerializeHead(const Response& resp, const WireContext& ctx, std::string& out) {
  out.clear();
  if (resp.status < 200 || resp.status > 599) return false;
  out += "HTTP/1.1 ";
  AppendUint(out, static_cast<uint64_t>(resp.status));
  out += ' ';
  out += ReasonPhrase(resp.status);
  out += "\r\n";
  if (!resp.content_type.empty()) {
    if (!ValidHeaderValue(resp.content_type)) return false;
    out += "Content-Type: ";
    out += resp.content_type;
    out += "\r\n";
  }
  if (resp.status != 204 && resp.status != 304) {
    out += "Content-Length: ";
    AppendUint(out, resp.body.size());
    out += "\r\n";
  }
  out += "Date: ";
  out += HttpDateNow();
  out += "\r\n";
  if (!ctx.request_id.empty()) {
    out += "X-Request-Id: ";
    out += ctx.request_id;
    out += "\r\n";
  }
  if (!ctx.keep_alive) {
    out += "Connection: close\r\n";
  } else if (ctx.http10) {
    out += "Connection: keep-alive\r\n";
  }
  for (const Header& h : resp.headers) {
    if (!ValidHeaderName(h.name) || !ValidHeaderValue(h.value)) return false;
    if (ServerManaged(h.name)) continue;
    if (!resp.content_type.empty() && EqualsIgnoreCase(h.name, "Content-Type")) continue;
    out += h.name;
    out += ": ";
    out += h.value;
    out += "\r\n";
  }
  out += "\r\n";
  return true;
}

}  // namespace plinth::http
