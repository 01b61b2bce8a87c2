#include "crypto/encoding.h"

#include <array>
#include <cstdlib>
#include <limits>

#include <fmt/format.h>

#include "plinth/crypto.h"

namespace plinth::crypto {
namespace internal {
namespace {

constexpr std::string_view kBase64Core =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

char EncodeSymbol(unsigned v, const Base64Alphabet& a) {
  if (v < 62) return kBase64Core[v];
  return v == 62 ? a.c62 : a.c63;
}

// -1 when `c` is not in the alphabet.
int DecodeSymbol(char c, const Base64Alphabet& a) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == a.c62) return 62;
  if (c == a.c63) return 63;
  return -1;
}

Status BadChar(const Base64Alphabet& a, std::size_t offset, std::string_view what) {
  return Status(Code::kInvalidArgument,
                fmt::format("invalid {}: {} at offset {}", a.name, what, offset));
}

}  // namespace

std::string Base64EncodeWith(std::string_view bytes, const Base64Alphabet& a) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  for (; i + 3 <= bytes.size(); i += 3) {
    unsigned v = (unsigned(p[i]) << 16) | (unsigned(p[i + 1]) << 8) | p[i + 2];
    out += EncodeSymbol((v >> 18) & 63, a);
    out += EncodeSymbol((v >> 12) & 63, a);
    out += EncodeSymbol((v >> 6) & 63, a);
    out += EncodeSymbol(v & 63, a);
  }
  std::size_t rest = bytes.size() - i;
  if (rest == 1) {
    unsigned v = unsigned(p[i]) << 16;
    out += EncodeSymbol((v >> 18) & 63, a);
    out += EncodeSymbol((v >> 12) & 63, a);
    if (a.padding) out += "==";
  } else if (rest == 2) {
    unsigned v = (unsigned(p[i]) << 16) | (unsigned(p[i + 1]) << 8);
    out += EncodeSymbol((v >> 18) & 63, a);
    out += EncodeSymbol((v >> 12) & 63, a);
    out += EncodeSymbol((v >> 6) & 63, a);
    if (a.padding) out += '=';
  }
  return out;
}

Result<std::string> Base64DecodeWith(std::string_view text, const Base64Alphabet& a) {
  std::size_t data_len = text.size();
  if (a.padding) {
    if (text.size() % 4 != 0) {
      return Status(Code::kInvalidArgument,
                    fmt::format("invalid {}: length {} is not a multiple of 4", a.name, text.size()));
    }
    std::size_t pad = 0;
    while (pad < 2 && data_len > 0 && text[data_len - 1] == '=') {
      --data_len;
      ++pad;
    }
  }
  if (data_len % 4 == 1) {
    return Status(Code::kInvalidArgument,
                  fmt::format("invalid {}: length {} cannot encode whole bytes", a.name, data_len));
  }
  std::string out;
  out.reserve(data_len / 4 * 3 + 2);
  unsigned acc = 0;
  int bits = 0;
  for (std::size_t i = 0; i < data_len; ++i) {
    int v = DecodeSymbol(text[i], a);
    if (v < 0) {
      return BadChar(a, i, text[i] == '=' ? "unexpected '='" : "character outside the alphabet");
    }
    acc = (acc << 6) | unsigned(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xFF);
    }
  }
  // Canonical form: the bits left over after the last whole byte are zero.
  if (bits > 0 && (acc & ((1u << bits) - 1)) != 0) {
    return BadChar(a, data_len - 1, "non-zero unused bits in the last character");
  }
  return out;
}

bool IsBase62(char c) {
  return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

std::string Base62Fixed(std::uint64_t value, int width) {
  std::string out(static_cast<std::size_t>(width), '0');
  for (int i = width - 1; i >= 0; --i) {
    out[static_cast<std::size_t>(i)] = kBase62Alphabet[value % 62];
    value /= 62;
  }
  if (value != 0) std::abort();  // caller broke the precondition value < 62^width
  return out;
}

bool ParseBase62(std::string_view digits, std::uint64_t& value) {
  std::uint64_t v = 0;
  for (char c : digits) {
    std::uint64_t d;
    if (c >= '0' && c <= '9') d = std::uint64_t(c - '0');
    else if (c >= 'A' && c <= 'Z') d = std::uint64_t(c - 'A' + 10);
    else if (c >= 'a' && c <= 'z') d = std::uint64_t(c - 'a' + 36);
    else return false;
    if (v > (std::numeric_limits<std::uint64_t>::max() - d) / 62) return false;
    v = v * 62 + d;
  }
  value = v;
  return true;
}

}  // namespace internal

std::string Base64Encode(std::string_view bytes) {
  return internal::Base64EncodeWith(bytes, internal::kBase64Std);
}
Result<std::string> Base64Decode(std::string_view text) {
  return internal::Base64DecodeWith(text, internal::kBase64Std);
}
std::string Base64UrlEncode(std::string_view bytes) {
  return internal::Base64EncodeWith(bytes, internal::kBase64Url);
}
Result<std::string> Base64UrlDecode(std::string_view text) {
  return internal::Base64DecodeWith(text, internal::kBase64Url);
}

std::string HexEncode(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out += kDigits[c >> 4];
    out += kDigits[c & 15];
  }
  return out;
}

std::string HexEncode(const Sha256Digest& digest) {
  return HexEncode(std::string_view(reinterpret_cast<const char*>(digest.data()), digest.size()));
}

Result<std::string> HexDecode(std::string_view hex) {
  if (hex.size() % 2 != 0) {
    return Status(Code::kInvalidArgument, fmt::format("invalid hex: odd length {}", hex.size()));
  }
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  out.reserve(hex.size() / 2);
  for (std::size_t i = 0; i < hex.size(); i += 2) {
    int hi = nibble(hex[i]);
    int lo = nibble(hex[i + 1]);
    if (hi < 0 || lo < 0) {
      return Status(Code::kInvalidArgument,
                    fmt::format("invalid hex: non-hex character at offset {}", hi < 0 ? i : i + 1));
    }
    out += static_cast<char>((hi << 4) | lo);
  }
  return out;
}

Result<Sha256Digest> DigestFromHex(std::string_view hex) {
  if (hex.size() != 2 * kSha256Bytes) {
    return Status(Code::kInvalidArgument,
                  fmt::format("a SHA-256 digest is 64 hex digits, got {} characters", hex.size()));
  }
  PLINTH_ASSIGN_OR_RETURN(std::string bytes, HexDecode(hex));
  Sha256Digest d;
  for (std::size_t i = 0; i < d.size(); ++i) d[i] = static_cast<std::uint8_t>(bytes[i]);
  return d;
}

}  // namespace plinth::crypto
