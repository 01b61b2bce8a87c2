// plinth/jwt.h — access and refresh tokens as JWTs signed with HS256 (RFC 7519, RFC 8725).
//
// Signing: header {"alg":"HS256","typ":<typ>[,"kid":<id>]}, claims iss, aud, sub, iat, exp,
// [nbf], jti, [tid], [sid], [roles], plus the caller's extra claims. Base64url without padding.
//
// Verification is deliberately narrow (RFC 8725 §3 and the OWASP JWT cheat sheet):
// - The algorithm is hard-coded: header "alg" must be exactly "HS256". "none", HS384/HS512,
//   RS*/ES*/PS*/EdDSA and anything else are refused; the header never selects the algorithm.
// - Headers that name key material or extensions — jwk, jku, x5u, x5c, x5t, x5t#S256, crit — are
//   refused. "kid" is only a plain string looked up in the configured key map; an unknown kid is
//   refused (no file paths, URLs or database lookups are derived from it).
// - "typ" is required and must match the expected token type exactly (case-insensitive, with
//   an optional "application/" prefix): "at+jwt" (RFC 9068) for access tokens, "refresh+jwt"
//   for refresh tokens, so one can never be presented as the other.
// - The MAC is checked (constant time) before the payload is parsed.
// - iss must equal the configured issuer; aud must equal (or, as an array, contain) the configured
//   audience; exp and iat are required NumericDates, nbf is optional; now ≥ exp + leeway is
//   expired, now + leeway < nbf is not yet valid, iat > now + leeway is refused. sub and jti are
//   required non-empty strings; tid and sid, when present, strings; roles an array of strings.
// - Malformed input is refused: not exactly three segments, empty header/payload/signature,
//   non-canonical base64url, padding, invalid JSON, a JSON value that is not an object, duplicate
//   member names, a signature that is not 32 bytes, a token over max_token_bytes.
// Every refusal is kUnauthenticated with a short reason for logs; the token is never echoed.
//
// Keys: at least 32 bytes (256 bits) each, as RFC 8725 §3.5 and RFC 7518 §3.2 require for
// HS256; a shorter key, or one with fewer than kMinJwtKeyDistinctBytes distinct byte values
// (a repeated character, an obvious placeholder), is refused by Create with kInvalidArgument.
// Several keys may be configured for rotation: tokens are signed with the current one (carrying
// its id as "kid"); verification picks the key named by "kid", or — for a token without kid —
// the only key when exactly one is configured.
//
// Thread-safety: a JwtCodec is immutable after Create; Sign and Verify may run concurrently.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "plinth/crypto.h"
#include "plinth/status.h"

namespace plinth::crypto {

inline constexpr std::size_t kMinJwtKeyBytes = 32;
inline constexpr std::size_t kMinJwtKeyDistinctBytes = 10;
inline constexpr std::chrono::seconds kMaxJwtLeeway{300};

enum class TokenType : unsigned char { kAccess, kRefresh };
// "at+jwt" / "refresh+jwt": the "typ" header of each kind.
std::string_view TokenTypeHeader(TokenType type);

struct JwtKey {
  std::string id;      // "kid"; may be empty when it is the only key
  std::string secret;  // raw bytes, ≥ kMinJwtKeyBytes
};

struct JwtOptions {
  std::string issuer;          // required
  std::string audience;        // required
  std::vector<JwtKey> keys;    // at least one; ids unique
  std::string current_key_id;  // the signing key; may be empty when exactly one key is configured
  std::chrono::seconds leeway{30};  // clock skew allowed on exp/nbf/iat; 0..kMaxJwtLeeway
  std::size_t max_token_bytes = 8192;
};

struct JwtClaims {
  std::string subject;                 // sub, required
  std::string jti;                     // jti, required (see RandomTokenId)
  std::string tenant_id;               // tid, omitted when empty
  std::string session_id;              // sid, omitted when empty
  std::vector<std::string> roles;      // roles, omitted when empty
  std::chrono::sys_seconds issued_at{};                  // iat, required
  std::optional<std::chrono::sys_seconds> not_before;    // nbf
  std::chrono::sys_seconds expires_at{};                 // exp, required, after iat
  // Further claims (a JSON object). Must not redefine the registered ones above, iss or aud.
  nlohmann::json extra = nlohmann::json::object();
};

// 128 random bits as 22 base64url characters: a fresh jti.
std::string RandomTokenId();

class JwtCodec {
 public:
  // kInvalidArgument naming the problem (missing issuer/audience, no key, short or low-entropy
  // key — by id, never by content —, duplicate key id, unknown current key, leeway out of range).
  static Result<JwtCodec> Create(JwtOptions options);

  // kInvalidArgument when a required claim is missing, exp ≤ iat, or extra is not an object or
  // redefines a registered claim.
  Result<std::string> Sign(const JwtClaims& claims, TokenType type) const;

  Result<JwtClaims> Verify(std::string_view token, TokenType expected,
                           std::chrono::system_clock::time_point now = std::chrono::system_clock::now()) const;

  const std::string& issuer() const { return options_.issuer; }
  const std::string& audience() const { return options_.audience; }

 private:
  explicit JwtCodec(JwtOptions options);
  // Index into options_.keys / macs_, or -1.
  int FindKey(std::string_view id) const;
  JwtOptions options_;
  std::vector<HmacSha256Key> macs_;  // one per options_.keys entry
};

}  // namespace plinth::crypto
