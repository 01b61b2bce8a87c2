// API keys (apikey.h).
#include "plinth/apikey.h"

#include <fmt/format.h>

#include "crypto/encoding.h"
#include "plinth/crypto.h"

namespace plinth::crypto {
namespace {

constexpr char kSeparator = '_';
constexpr std::size_t kLookupStart = kApiKeyPrefix.size() + 1;
constexpr std::size_t kSecretStart = kLookupStart + kApiKeyLookupChars + 1;
constexpr std::size_t kChecksumStart = kSecretStart + kApiKeySecretChars + 1;
static_assert(kChecksumStart + kApiKeyChecksumChars == kApiKeyLength);

Status Rejected(std::string_view why) {
  return Status(Code::kUnauthenticated, fmt::format("invalid API key: {}", why));
}

bool AllBase62(std::string_view s) {
  for (char c : s) {
    if (!internal::IsBase62(c)) return false;
  }
  return true;
}

std::string Checksum(std::string_view body) {
  return internal::Base62Fixed(Crc32(body), static_cast<int>(kApiKeyChecksumChars));
}

}  // namespace

bool LooksLikeApiKey(std::string_view text) {
  return text.size() > kApiKeyPrefix.size() && text.substr(0, kApiKeyPrefix.size()) == kApiKeyPrefix &&
         text[kApiKeyPrefix.size()] == kSeparator;
}

Result<ApiKeyParts> ParseApiKey(std::string_view key) {
  if (!LooksLikeApiKey(key)) return Rejected("missing the \"plinth_\" prefix");
  if (key.size() != kApiKeyLength) {
    return Rejected(fmt::format("expected {} characters, got {}", kApiKeyLength, key.size()));
  }
  if (key[kSecretStart - 1] != kSeparator || key[kChecksumStart - 1] != kSeparator) {
    return Rejected("expected plinth_<lookup>_<secret>_<checksum>");
  }
  std::string_view lookup = key.substr(kLookupStart, kApiKeyLookupChars);
  std::string_view secret = key.substr(kSecretStart, kApiKeySecretChars);
  std::string_view checksum = key.substr(kChecksumStart, kApiKeyChecksumChars);
  if (!AllBase62(lookup) || !AllBase62(secret) || !AllBase62(checksum)) {
    return Rejected("characters outside [0-9A-Za-z]");
  }
  // Constant-time is not needed for a public checksum, but it costs nothing.
  if (!ConstantTimeEquals(Checksum(key.substr(0, kChecksumStart - 1)), checksum)) {
    return Rejected("checksum mismatch (mistyped or truncated key)");
  }
  return ApiKeyParts{std::string(lookup), std::string(secret)};
}

Result<ApiKeyHasher> ApiKeyHasher::Create(std::string pepper) {
  if (!pepper.empty() && pepper.size() < kMinApiKeyPepperBytes) {
    std::size_t n = pepper.size();
    SecureWipe(pepper);
    return Status(Code::kInvalidArgument,
                  fmt::format("API key pepper is {} bytes; it must be at least {} random bytes", n,
                              kMinApiKeyPepperBytes));
  }
  if (pepper.empty()) return ApiKeyHasher(std::nullopt);
  HmacSha256Key key(pepper);
  SecureWipe(pepper);
  return ApiKeyHasher(std::move(key));
}

Sha256Digest ApiKeyHasher::Digest(std::string_view secret) const {
  return pepper_ ? pepper_->Mac(secret) : Sha256(secret);
}

std::string ApiKeyHasher::HashSecret(std::string_view secret) const { return HexEncode(Digest(secret)); }

NewApiKey ApiKeyHasher::Generate() const {
  NewApiKey out;
  out.lookup_id = RandomString(kApiKeyLookupChars, internal::kBase62Alphabet);
  std::string secret = RandomString(kApiKeySecretChars, internal::kBase62Alphabet);
  std::string body = fmt::format("{}{}{}{}{}", kApiKeyPrefix, kSeparator, out.lookup_id, kSeparator, secret);
  out.key = body + kSeparator + Checksum(body);
  out.stored_hash = HashSecret(secret);
  SecureWipe(secret);
  SecureWipe(body);
  return out;
}

Status ApiKeyHasher::Verify(const ApiKeyParts& parts, std::string_view stored_hash) const {
  auto stored = DigestFromHex(stored_hash);
  if (!stored.ok()) {
    return Status(Code::kDataLoss, "stored API key hash is not 64 hex digits");
  }
  Sha256Digest computed = Digest(parts.secret);
  if (!ConstantTimeEquals(DigestBytes(computed), DigestBytes(*stored))) return Rejected("unknown key");
  return Status::Ok();
}

Status ApiKeyHasher::Verify(std::string_view key, std::string_view stored_hash) const {
  PLINTH_ASSIGN_OR_RETURN(ApiKeyParts parts, ParseApiKey(key));
  Status s = Verify(parts, stored_hash);
  SecureWipe(parts.secret);
  return s;
}

}  // namespace plinth::crypto
