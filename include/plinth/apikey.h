// plinth/apikey.h — API key format, generation and verification.
//
// A key looks like
//   plinth_<lookup>_<secret>_<checksum>
//   plinth_3fKq9ZtR2mXa_Vb7Qe1LkZ0pYw3NsD8uHc5GjT2rFx6_1PPW4j
// - "plinth_" is a fixed prefix that secret scanners can match (GitHub-style, §4.3 of the
//   security reference); '_' separators let a double-click select the whole key.
// - <lookup>: kApiKeyLookupChars base62 characters, random, stored in clear and indexed: it finds
//   the row without touching the secret, and it may appear in logs.
// - <secret>: kApiKeySecretChars base62 characters from the CSPRNG (≈178 bits). Never stored,
//   never logged.
// - <checksum>: CRC32 (IEEE) of everything before the last '_' ("plinth_<lookup>_<secret>"),
//   as kApiKeyChecksumChars zero-padded base62 digits. ParseApiKey rejects a mistyped key before
//   any database lookup: CRC32 detects every error confined to 32 consecutive bits, so every
//   single-character substitution and every swap of two adjacent characters is caught.
//
// Storage: only stored_hash = hex(HMAC-SHA256(pepper, secret)) when a pepper is configured, or
// hex(SHA-256(secret)) without one (64 lower-case hex digits either way). A slow KDF is not needed
// for ≥128-bit random secrets; the pepper (kept outside the database) means a stolen table alone
// cannot even confirm a guessed key. Changing or adding the pepper invalidates every stored hash:
// keys must then be reissued.
//
// Errors: ParseApiKey and Verify answer kUnauthenticated for anything that is not a valid key
// (format, checksum, wrong secret) with a message that never contains the key; Verify answers
// kDataLoss when the stored hash itself is malformed. Comparison is constant-time.
//
// Thread-safety: ApiKeyHasher is immutable after Create; all members are safe to call concurrently.
// The free functions are reentrant.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "plinth/crypto.h"
#include "plinth/status.h"

namespace plinth::crypto {

inline constexpr std::string_view kApiKeyPrefix = "plinth";
inline constexpr std::size_t kApiKeyLookupChars = 12;
inline constexpr std::size_t kApiKeySecretChars = 30;
inline constexpr std::size_t kApiKeyChecksumChars = 6;
// "plinth_" + lookup + "_" + secret + "_" + checksum
inline constexpr std::size_t kApiKeyLength =
    kApiKeyPrefix.size() + 1 + kApiKeyLookupChars + 1 + kApiKeySecretChars + 1 + kApiKeyChecksumChars;
// Minimum pepper length when one is configured.
inline constexpr std::size_t kMinApiKeyPepperBytes = 32;

struct ApiKeyParts {
  std::string lookup_id;
  std::string secret;
};

// Checks prefix, layout, alphabet, lengths and checksum. kUnauthenticated on any failure.
Result<ApiKeyParts> ParseApiKey(std::string_view key);
// True when `text` starts with "plinth_" (cheap routing test for an Authorization header).
bool LooksLikeApiKey(std::string_view text);

struct NewApiKey {
  std::string key;          // show once to the user; never store or log
  std::string lookup_id;    // store in clear, indexed
  std::string stored_hash;  // store
};

class ApiKeyHasher {
 public:
  // `pepper` empty: SHA-256 mode. Otherwise at least kMinApiKeyPepperBytes bytes, else
  // kInvalidArgument (the message gives the length, never the pepper).
  static Result<ApiKeyHasher> Create(std::string pepper = {});

  NewApiKey Generate() const;
  // 64 lower-case hex digits.
  std::string HashSecret(std::string_view secret) const;
  // OK when `key` parses and its secret hashes to `stored_hash`.
  Status Verify(std::string_view key, std::string_view stored_hash) const;
  // The same for a key already parsed (the caller looked the row up by parts.lookup_id).
  Status Verify(const ApiKeyParts& parts, std::string_view stored_hash) const;

  bool peppered() const { return pepper_.has_value(); }

 private:
  explicit ApiKeyHasher(std::optional<HmacSha256Key> pepper) : pepper_(std::move(pepper)) {}
  Sha256Digest Digest(std::string_view secret) const;
  std::optional<HmacSha256Key> pepper_;  // keyed state only; the pepper bytes are not kept
};

}  // namespace plinth::crypto
