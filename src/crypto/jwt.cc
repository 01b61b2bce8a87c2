// HS256 JWTs (jwt.h).
#include "plinth/jwt.h"

#include <array>
#include <cmath>
#include <set>
#include <unordered_set>

#include <fmt/format.h>

#include "plinth/crypto.h"

namespace plinth::crypto {
namespace {

using json = nlohmann::json;

constexpr std::string_view kAlgorithm = "HS256";
constexpr std::string_view kAccessTyp = "at+jwt";
constexpr std::string_view kRefreshTyp = "refresh+jwt";
constexpr std::string_view kMediaTypePrefix = "application/";
// Headers naming key material or extensions that must be understood: never honoured.
constexpr std::array<std::string_view, 7> kForbiddenHeaders = {"jwk", "jku", "x5u", "x5c", "x5t", "x5t#S256", "crit"};
// Claims JwtClaims models; `extra` may not redefine them.
constexpr std::array<std::string_view, 10> kRegisteredClaims = {"iss", "sub", "aud", "exp", "nbf",
                                                                "iat", "jti", "tid", "sid", "roles"};
// Largest NumericDate accepted: 9999-12-31T23:59:59Z.
constexpr double kMaxNumericDate = 253402300799.0;
constexpr std::size_t kTokenIdBytes = 16;

Status Refuse(std::string_view why) { return Status(Code::kUnauthenticated, fmt::format("invalid token: {}", why)); }

bool IsRegistered(std::string_view name) {
  for (std::string_view r : kRegisteredClaims) {
    if (r == name) return true;
  }
  return false;
}

// Parses a JSON object, refusing duplicate member names at any depth.
Result<json> ParseObject(std::string_view text, std::string_view what) {
  std::vector<std::set<std::string>> open_objects;
  bool duplicate = false;
  json::parser_callback_t cb = [&](int /*depth*/, json::parse_event_t event, json& parsed) {
    switch (event) {
      case json::parse_event_t::object_start: open_objects.emplace_back(); break;
      case json::parse_event_t::object_end:
        if (!open_objects.empty()) open_objects.pop_back();
        break;
      case json::parse_event_t::key:
        if (!open_objects.empty() && !open_objects.back().insert(parsed.get<std::string>()).second) duplicate = true;
        break;
      default: break;
    }
    return true;
  };
  json value = json::parse(text.begin(), text.end(), cb, /*allow_exceptions=*/false);
  if (value.is_discarded()) return Refuse(fmt::format("{} is not valid JSON", what));
  if (duplicate) return Refuse(fmt::format("{} has a duplicate member name", what));
  if (!value.is_object()) return Refuse(fmt::format("{} is not a JSON object", what));
  return value;
}

bool TypMatches(std::string_view got, std::string_view expected) {
  auto lower = [](std::string_view s) {
    std::string out(s);
    for (char& c : out) {
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    }
    return out;
  };
  std::string g = lower(got);
  if (g.starts_with(kMediaTypePrefix)) g.erase(0, kMediaTypePrefix.size());
  return g == expected;
}

// A NumericDate claim (integer or finite non-negative number of seconds since the epoch).
Result<std::chrono::sys_seconds> NumericDate(const json& payload, std::string_view name, bool required) {
  auto it = payload.find(std::string(name));
  if (it == payload.end()) {
    if (required) return Refuse(fmt::format("missing \"{}\"", name));
    return std::chrono::sys_seconds::min();
  }
  double v;
  if (it->is_number_unsigned()) v = double(it->get<std::uint64_t>());
  else if (it->is_number_integer()) v = double(it->get<std::int64_t>());
  else if (it->is_number_float()) v = it->get<double>();
  else return Refuse(fmt::format("\"{}\" is not a number", name));
  if (!std::isfinite(v) || v < 0 || v > kMaxNumericDate) return Refuse(fmt::format("\"{}\" is out of range", name));
  return std::chrono::sys_seconds(std::chrono::seconds(static_cast<std::int64_t>(std::floor(v))));
}

Result<std::string> RequiredString(const json& payload, std::string_view name) {
  auto it = payload.find(std::string(name));
  if (it == payload.end() || !it->is_string() || it->get_ref<const std::string&>().empty()) {
    return Refuse(fmt::format("\"{}\" must be a non-empty string", name));
  }
  return it->get<std::string>();
}

Result<std::string> OptionalString(const json& payload, std::string_view name) {
  auto it = payload.find(std::string(name));
  if (it == payload.end()) return std::string();
  if (!it->is_string()) return Refuse(fmt::format("\"{}\" must be a string", name));
  return it->get<std::string>();
}

std::int64_t Seconds(std::chrono::sys_seconds t) { return t.time_since_epoch().count(); }

std::string_view Bytes(const Sha256Digest& d) {
  return std::string_view(reinterpret_cast<const char*>(d.data()), d.size());
}

}  // namespace

std::string_view TokenTypeHeader(TokenType type) {
  switch (type) {
    case TokenType::kAccess: return kAccessTyp;
    case TokenType::kRefresh: return kRefreshTyp;
  }
  return kAccessTyp;
}

std::string RandomTokenId() { return Base64UrlEncode(RandomBytes(kTokenIdBytes)); }

Result<JwtCodec> JwtCodec::Create(JwtOptions options) {
  auto invalid = [](std::string m) { return Status(Code::kInvalidArgument, std::move(m)); };
  if (options.issuer.empty()) return invalid("JWT issuer must be set");
  if (options.audience.empty()) return invalid("JWT audience must be set");
  if (options.keys.empty()) return invalid("no JWT signing key is configured");
  if (options.leeway < std::chrono::seconds(0) || options.leeway > kMaxJwtLeeway) {
    return invalid(fmt::format("JWT leeway of {} s is outside 0..{} s", options.leeway.count(), kMaxJwtLeeway.count()));
  }
  if (options.max_token_bytes < 64) return invalid("JWT max_token_bytes is too small");
  std::unordered_set<std::string> ids;
  for (std::size_t i = 0; i < options.keys.size(); ++i) {
    const JwtKey& k = options.keys[i];
    std::string name = k.id.empty() ? fmt::format("#{}", i + 1) : fmt::format("'{}'", k.id);
    if (k.id.empty() && options.keys.size() > 1) {
      return invalid(fmt::format("JWT key {} needs an id when several keys are configured", name));
    }
    if (!ids.insert(k.id).second) return invalid(fmt::format("JWT key id {} is configured twice", name));
    if (k.secret.size() < kMinJwtKeyBytes) {
      return invalid(fmt::format(
          "JWT key {} is {} bytes; HS256 needs at least {} bytes (256 bits) of random data, e.g. from "
          "`openssl rand -base64 32`",
          name, k.secret.size(), kMinJwtKeyBytes));
    }
    std::set<char> distinct(k.secret.begin(), k.secret.end());
    if (distinct.size() < kMinJwtKeyDistinctBytes) {
      return invalid(fmt::format("JWT key {} has only {} distinct byte values; use random bytes, not a placeholder",
                                 name, distinct.size()));
    }
  }
  if (options.current_key_id.empty()) {
    if (options.keys.size() > 1) return invalid("several JWT keys are configured; name the current one");
    options.current_key_id = options.keys.front().id;
  } else if (!ids.contains(options.current_key_id)) {
    return invalid(fmt::format("current JWT key '{}' is not among the configured keys", options.current_key_id));
  }
  return JwtCodec(std::move(options));
}

JwtCodec::JwtCodec(JwtOptions options) : options_(std::move(options)) {
  macs_.reserve(options_.keys.size());
  for (JwtKey& k : options_.keys) {
    macs_.emplace_back(k.secret);
    SecureWipe(k.secret);  // only the keyed hash states are kept
  }
}

int JwtCodec::FindKey(std::string_view id) const {
  for (std::size_t i = 0; i < options_.keys.size(); ++i) {
    if (options_.keys[i].id == id) return static_cast<int>(i);
  }
  return -1;
}

Result<std::string> JwtCodec::Sign(const JwtClaims& claims, TokenType type) const {
  auto invalid = [](std::string m) { return Status(Code::kInvalidArgument, std::move(m)); };
  if (claims.subject.empty()) return invalid("JWT claim sub is required");
  if (claims.jti.empty()) return invalid("JWT claim jti is required");
  if (claims.expires_at <= claims.issued_at) return invalid("JWT exp must be after iat");
  if (Seconds(claims.issued_at) < 0) return invalid("JWT iat is before 1970");
  if (!claims.extra.is_object()) return invalid("JWT extra claims must be a JSON object");
  json payload = json::object();
  for (const auto& [name, value] : claims.extra.items()) {
    if (IsRegistered(name)) return invalid(fmt::format("JWT extra claim \"{}\" redefines a registered claim", name));
    payload[name] = value;
  }
  payload["iss"] = options_.issuer;
  payload["aud"] = options_.audience;
  payload["sub"] = claims.subject;
  payload["jti"] = claims.jti;
  payload["iat"] = Seconds(claims.issued_at);
  payload["exp"] = Seconds(claims.expires_at);
  if (claims.not_before) payload["nbf"] = Seconds(*claims.not_before);
  if (!claims.tenant_id.empty()) payload["tid"] = claims.tenant_id;
  if (!claims.session_id.empty()) payload["sid"] = claims.session_id;
  if (!claims.roles.empty()) payload["roles"] = claims.roles;

  const int key = FindKey(options_.current_key_id);
  json header = {{"alg", kAlgorithm}, {"typ", TokenTypeHeader(type)}};
  if (!options_.keys[key].id.empty()) header["kid"] = options_.keys[key].id;

  std::string signing_input = Base64UrlEncode(header.dump()) + "." + Base64UrlEncode(payload.dump());
  Sha256Digest mac = macs_[key].Mac(signing_input);
  return signing_input + "." + Base64UrlEncode(Bytes(mac));
}

Result<JwtClaims> JwtCodec::Verify(std::string_view token, TokenType expected,
                                   std::chrono::system_clock::time_point now_tp) const {
  if (token.size() > options_.max_token_bytes) return Refuse("too long");
  std::size_t dot1 = token.find('.');
  std::size_t dot2 = dot1 == std::string_view::npos ? dot1 : token.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos || token.find('.', dot2 + 1) != std::string_view::npos) {
    return Refuse("expected three dot-separated segments");
  }
  std::string_view header_b64 = token.substr(0, dot1);
  std::string_view payload_b64 = token.substr(dot1 + 1, dot2 - dot1 - 1);
  std::string_view signature_b64 = token.substr(dot2 + 1);
  if (header_b64.empty() || payload_b64.empty() || signature_b64.empty()) return Refuse("empty segment");

  // Header: decided before any key is used.
  auto header_text = Base64UrlDecode(header_b64);
  if (!header_text.ok()) return Refuse("header is not base64url");
  PLINTH_ASSIGN_OR_RETURN(json header, ParseObject(*header_text, "header"));
  auto alg = header.find("alg");
  if (alg == header.end() || !alg->is_string() || alg->get_ref<const std::string&>() != kAlgorithm) {
    return Refuse("algorithm must be HS256");
  }
  for (std::string_view h : kForbiddenHeaders) {
    if (header.contains(std::string(h))) return Refuse(fmt::format("header \"{}\" is not accepted", h));
  }
  auto typ = header.find("typ");
  if (typ == header.end() || !typ->is_string() ||
      !TypMatches(typ->get_ref<const std::string&>(), TokenTypeHeader(expected))) {
    return Refuse(fmt::format("typ must be \"{}\"", TokenTypeHeader(expected)));
  }
  int key = -1;
  if (auto kid = header.find("kid"); kid != header.end()) {
    if (!kid->is_string()) return Refuse("kid must be a string");
    key = FindKey(kid->get_ref<const std::string&>());
    if (key < 0 || kid->get_ref<const std::string&>().empty()) return Refuse("unknown kid");
  } else if (options_.keys.size() == 1) {
    key = 0;
  } else {
    return Refuse("missing kid");
  }

  // Signature before the payload is even parsed.
  auto signature = Base64UrlDecode(signature_b64);
  if (!signature.ok() || signature->size() != kSha256Bytes) return Refuse("malformed signature");
  std::string_view signing_input = token.substr(0, dot2);
  if (!ConstantTimeEquals(Bytes(macs_[key].Mac(signing_input)), *signature)) {
    return Refuse("signature mismatch");
  }

  auto payload_text = Base64UrlDecode(payload_b64);
  if (!payload_text.ok()) return Refuse("payload is not base64url");
  PLINTH_ASSIGN_OR_RETURN(json payload, ParseObject(*payload_text, "payload"));

  auto iss = payload.find("iss");
  if (iss == payload.end() || !iss->is_string() || iss->get_ref<const std::string&>() != options_.issuer) {
    return Refuse("wrong issuer");
  }
  auto aud = payload.find("aud");
  bool aud_ok = false;
  if (aud != payload.end()) {
    if (aud->is_string()) {
      aud_ok = aud->get_ref<const std::string&>() == options_.audience;
    } else if (aud->is_array()) {
      for (const json& a : *aud) {
        if (a.is_string() && a.get_ref<const std::string&>() == options_.audience) aud_ok = true;
      }
    }
  }
  if (!aud_ok) return Refuse("wrong audience");

  const auto now = std::chrono::floor<std::chrono::seconds>(now_tp);
  const auto leeway = options_.leeway;
  JwtClaims claims;
  PLINTH_ASSIGN_OR_RETURN(claims.expires_at, NumericDate(payload, "exp", true));
  PLINTH_ASSIGN_OR_RETURN(claims.issued_at, NumericDate(payload, "iat", true));
  PLINTH_ASSIGN_OR_RETURN(auto nbf, NumericDate(payload, "nbf", false));
  if (payload.contains("nbf")) claims.not_before = nbf;
  if (now >= claims.expires_at + leeway) return Refuse("expired");
  if (claims.not_before && now + leeway < *claims.not_before) return Refuse("not yet valid (nbf)");
  if (claims.issued_at > now + leeway) return Refuse("issued in the future (iat)");

  PLINTH_ASSIGN_OR_RETURN(claims.subject, RequiredString(payload, "sub"));
  PLINTH_ASSIGN_OR_RETURN(claims.jti, RequiredString(payload, "jti"));
  PLINTH_ASSIGN_OR_RETURN(claims.tenant_id, OptionalString(payload, "tid"));
  PLINTH_ASSIGN_OR_RETURN(claims.session_id, OptionalString(payload, "sid"));
  if (auto roles = payload.find("roles"); roles != payload.end()) {
    if (!roles->is_array()) return Refuse("\"roles\" must be an array of strings");
    for (const json& r : *roles) {
      if (!r.is_string()) return Refuse("\"roles\" must be an array of strings");
      claims.roles.push_back(r.get<std::string>());
    }
  }
  for (auto it = payload.begin(); it != payload.end(); ++it) {
    if (!IsRegistered(it.key())) claims.extra[it.key()] = it.value();
  }
  return claims;
}

}  // namespace plinth::crypto
