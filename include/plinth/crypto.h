// plinth/crypto.h — cryptographic primitives shared by passwords, API keys, tokens, encrypted
// columns and the audit chain: a CSPRNG, constant-time comparison, SHA-256, HMAC-SHA256,
// PBKDF2-HMAC-SHA256, AES-256-GCM, hex / base64 / base64url codecs, CRC32, and the hash-chain
// helpers of the tamper-evident audit log.
//
// The higher-level units build on these: password.h (Argon2id, PBKDF2 verification),
// hash_pool.h (the bounded hashing worker pool), apikey.h, jwt.h, keyring.h (field encryption).
// docs/security.md describes the formats and parameters.
//
// Contract:
// - Byte strings are std::string / std::string_view holding raw bytes (not text).
// - Decoders are strict: bad input is a kInvalidArgument Status naming the offset of the first
//   bad character; they never return partially decoded data. Encoders cannot fail.
// - Nothing here logs or echoes secret input in an error message.
// - RandomBytes never fails: libsodium reads the kernel CSPRNG (getrandom); if the kernel RNG
//   cannot be initialised at all the process aborts (there is no safe way on).
// - Digests are fixed-size arrays (Sha256Digest) so a truncated value cannot be passed by mistake.
//
// Thread-safety: every function is reentrant and may be called from any thread concurrently.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "plinth/status.h"

namespace plinth::crypto {

inline constexpr std::size_t kSha256Bytes = 32;
using Sha256Digest = std::array<std::uint8_t, kSha256Bytes>;

// ---- randomness and comparison ----------------------------------------------------------

// Fills `out` with bytes from the CSPRNG (libsodium randombytes_buf).
void RandomBytes(std::span<std::uint8_t> out);
// `n` random bytes.
std::string RandomBytes(std::size_t n);
// A uniformly random string of `n` characters from `alphabet` (rejection sampling, no modulo
// bias). `alphabet` must hold 2..256 distinct characters.
std::string RandomString(std::size_t n, std::string_view alphabet);

// True when a and b are equal. The time taken depends only on the lengths (which are not
// secret in any use here: digests and tags have fixed sizes), never on the contents.
bool ConstantTimeEquals(std::string_view a, std::string_view b);

// Overwrites the bytes of `s` with zeros in a way the optimiser cannot remove, then clears it.
void SecureWipe(std::string& s);

// ---- hashing ------------------------------------------------------------------------------

Sha256Digest Sha256(std::string_view data);
// HMAC-SHA256 (RFC 2104) with a key of any length.
Sha256Digest HmacSha256(std::string_view key, std::string_view data);

// An HMAC-SHA256 key with its inner and outer hash states precomputed, for keys used many times
// (JWT signing keys, the API key pepper): Mac() hashes only the data (≈4× faster than HmacSha256
// for short inputs). Copies share the immutable state; Mac() may run concurrently on any threads.
class HmacSha256Key {
 public:
  explicit HmacSha256Key(std::string_view key);
  Sha256Digest Mac(std::string_view data) const;

 private:
  struct State;
  std::shared_ptr<const State> state_;
};
// The digest as a 32-byte string.
std::string DigestBytes(const Sha256Digest& digest);
// PBKDF2-HMAC-SHA256 (RFC 8018) of `length` bytes. kInvalidArgument when iterations is 0 or
// length is 0 or above 1024.
Result<std::string> Pbkdf2HmacSha256(std::string_view password, std::string_view salt,
                                     std::uint32_t iterations, std::size_t length);
// CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320; the zlib / PNG checksum).
std::uint32_t Crc32(std::string_view data);

// ---- encodings ----------------------------------------------------------------------------

// Lower-case hex.
std::string HexEncode(std::string_view bytes);
std::string HexEncode(const Sha256Digest& digest);
// Accepts upper- and lower-case digits; the length must be even.
Result<std::string> HexDecode(std::string_view hex);
// 64 hex digits → digest.
Result<Sha256Digest> DigestFromHex(std::string_view hex);

// RFC 4648 §4 base64 with '=' padding. Decoding requires canonical input: correct padding,
// no whitespace, and zero bits in the unused low bits of the last character.
std::string Base64Encode(std::string_view bytes);
Result<std::string> Base64Decode(std::string_view text);
// RFC 4648 §5 base64url without padding (as JWTs use it). Decoding rejects '=' and any
// character outside [A-Za-z0-9_-], and requires canonical trailing bits.
std::string Base64UrlEncode(std::string_view bytes);
Result<std::string> Base64UrlDecode(std::string_view text);

// ---- AES-256-GCM (raw) -----------------------------------------------------------------------

inline constexpr std::size_t kAes256KeyBytes = 32;
inline constexpr std::size_t kGcmNonceBytes = 12;  // 96-bit nonces only
inline constexpr std::size_t kGcmTagBytes = 16;    // 128-bit tags only

// AES-256-GCM with a 96-bit nonce: returns ciphertext || 16-byte tag. The caller guarantees the
// nonce never repeats under `key` (a repeat reveals the XOR of plaintexts and the GHASH key).
// For stored values use Keyring (keyring.h), which draws fresh random nonces and records the
// key id. kInvalidArgument on a wrong key or nonce size; kInternal if OpenSSL fails.
Result<std::string> Aes256GcmSeal(std::string_view key, std::string_view nonce,
                                  std::string_view plaintext, std::string_view aad);
// Inverse of Aes256GcmSeal. kDataLoss when the tag does not authenticate (wrong key, wrong
// nonce, modified ciphertext or tag, different AAD) or the input is shorter than a tag; no
// plaintext is returned in that case.
Result<std::string> Aes256GcmOpen(std::string_view key, std::string_view nonce,
                                  std::string_view ciphertext_and_tag, std::string_view aad);

// ---- hash chain of the audit log -------------------------------------------------------------

// Domain separation tag of ChainHash (bumped if the construction ever changes).
inline constexpr std::string_view kChainDomainTag = "plinth/audit-chain/v1";
// The `prev` of the first link: 32 zero bytes.
inline constexpr Sha256Digest kChainGenesis{};

// SHA-256(kChainDomainTag || 0x00 || prev || canonical_bytes). `prev` has a fixed size and the
// tag is NUL-terminated, so the input parses uniquely; canonical_bytes should come from
// CanonicalEncode so the row's fields parse uniquely too.
Sha256Digest ChainHash(const Sha256Digest& prev, std::string_view canonical_bytes);

// An unambiguous encoding of a list of optional fields:
//   u32be field count, then per field: 0x00 (NULL) | 0x01 u32be length bytes.
// NULL and "" differ, and no two different lists encode to the same bytes. A field over
// 4 GiB - 1 bytes is a programming error (aborts).
std::string CanonicalEncode(std::span<const std::optional<std::string>> fields);
// The same encoding for a literal list: CanonicalEncodeList({"users", std::nullopt, "42"}).
std::string CanonicalEncodeList(std::initializer_list<std::optional<std::string_view>> fields);

}  // namespace plinth::crypto
