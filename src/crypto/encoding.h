// crypto/encoding.h — base64 variants and base62 shared inside the crypto layer (internal).
//
// Public codecs (crypto.h) are thin wrappers over these. The variants exist for the formats
// other implementations write: PHC strings use the standard alphabet without padding; passlib
// ("ab64") replaces '+' with '.' and drops padding.
//
// Thread-safety: reentrant.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "plinth/status.h"

namespace plinth::crypto::internal {

struct Base64Alphabet {
  char c62;      // character for value 62
  char c63;      // character for value 63
  bool padding;  // '=' padding written and required
  std::string_view name;  // for error messages: "base64", "base64url", …
};

inline constexpr Base64Alphabet kBase64Std{'+', '/', true, "base64"};
inline constexpr Base64Alphabet kBase64StdNoPad{'+', '/', false, "base64 (unpadded)"};
inline constexpr Base64Alphabet kBase64Url{'-', '_', false, "base64url"};
inline constexpr Base64Alphabet kBase64Passlib{'.', '/', false, "passlib ab64"};

std::string Base64EncodeWith(std::string_view bytes, const Base64Alphabet& alphabet);
// Strict: canonical trailing bits, padding exactly as the alphabet says.
Result<std::string> Base64DecodeWith(std::string_view text, const Base64Alphabet& alphabet);

inline constexpr std::string_view kBase62Alphabet =
    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
bool IsBase62(char c);
// `value` in exactly `width` base62 digits, most significant first, zero-padded.
// Requires value < 62^width.
std::string Base62Fixed(std::uint64_t value, int width);
// Inverse of Base62Fixed; false on a non-base62 character or overflow of 64 bits.
bool ParseBase62(std::string_view digits, std::uint64_t& value);

}  // namespace plinth::crypto::internal
