// plinth/password.h — password hashing and verification.
//
// New hashes are Argon2id (RFC 9106, libargon2) in PHC string format:
//   $argon2id$v=19$m=<KiB>,t=<passes>,p=<lanes>$<salt>$<tag>
// with salt and tag in unpadded standard base64 (the format libargon2, libsodium, argon2-cffi,
// passlib and Go's x/crypto emit). Defaults are OWASP's first recommendation: m=19456 KiB
// (19 MiB), t=2, p=1, a 16-byte random salt and a 32-byte tag.
//
// Verification accepts (and NeedsRehash flags everything except current-parameter Argon2id):
//   $argon2id$v=19$m=…,t=…,p=…$salt$tag   any parameters within the bounds below; v=16 or no
//                                           "v=" (pre-1.3 strings) too
//   pbkdf2_sha256$<iter>$<salt>$<b64 dk>   Django: salt is the literal text (its UTF-8 bytes),
//                                           dk is padded standard base64 of a 32-byte key
//   $pbkdf2-sha256$<iter>$<salt>$<dk>      passlib: salt and dk in passlib's "ab64" (standard
//                                           base64 with '.' for '+', no padding)
//   pbkdf2:sha256:<iter>$<salt>$<hex dk>   Werkzeug / Flask: salt literal text, dk lower hex
// The settings service's existing users (PBKDF2-SHA256, 480,000 iterations, 16-byte salt) are
// verified from whichever of these encodings their rows hold and rehashed to Argon2id at their
// next successful login (VerifyPassword + NeedsRehash, or HashPool::Check).
//
// Argon2 work is bounded when verifying stored strings, so a corrupted or hostile row cannot make
// a login allocate gigabytes: m ≤ kMaxVerifyMemoryKib, t ≤ kMaxVerifyIterations,
// p ≤ kMaxVerifyParallelism; PBKDF2 iterations ≤ kMaxPbkdf2Iterations.
//
// Unknown users: DummyVerify spends the same Argon2id work as verifying a current-parameter hash,
// so "no such user" and "wrong password" take about the same time (a user still holding a
// PBKDF2 hash costs what PBKDF2 costs until the first login rehashes it).
//
// Passwords are bytes (UTF-8 as the client sent them; no normalisation), at most
// kMaxPasswordBytes. These functions are CPU-bound for tens of milliseconds: call them from the
// HashPool (hash_pool.h), never on an I/O thread.
//
// Thread-safety: all functions are reentrant and may run concurrently on any threads.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "plinth/status.h"

namespace plinth::crypto {

inline constexpr std::size_t kMaxPasswordBytes = 4096;
inline constexpr std::uint32_t kMaxVerifyMemoryKib = 1u << 21;  // 2 GiB
inline constexpr std::uint32_t kMaxVerifyIterations = 256;
inline constexpr std::uint32_t kMaxVerifyParallelism = 64;
inline constexpr std::uint32_t kMaxPbkdf2Iterations = 10'000'000;

struct Argon2Params {
  std::uint32_t memory_kib = 19456;  // m, KiB
  std::uint32_t iterations = 2;      // t, passes
  std::uint32_t parallelism = 1;     // p, lanes (and threads)
  std::uint32_t salt_bytes = 16;
  std::uint32_t tag_bytes = 32;

  // kInvalidArgument naming the field when a value is outside what libargon2 accepts or what
  // plinth allows: m ≥ 8·p KiB and ≤ kMaxVerifyMemoryKib, 1 ≤ t ≤ kMaxVerifyIterations,
  // 1 ≤ p ≤ kMaxVerifyParallelism, salt 16..64 bytes, tag 16..64 bytes.
  Status Validate() const;
  // True when the parameters are at least one row of OWASP's Argon2id table
  // (m=47104/t=1, 19456/2, 12288/3, 9216/4, 7168/5 KiB/passes, p=1): memory and passes each
  // at least those of some row. The configuration layer refuses weaker production settings.
  bool MeetsOwaspMinimum() const;

  bool operator==(const Argon2Params&) const = default;
};

// Hashes with a fresh random salt; returns the PHC string. kInvalidArgument for bad params or
// a password over kMaxPasswordBytes; kInternal if libargon2 fails (e.g. out of memory).
Result<std::string> HashPassword(std::string_view password, const Argon2Params& params = {});

enum class PasswordScheme : unsigned char {
  kArgon2id,
  kPbkdf2Django,
  kPbkdf2Passlib,
  kPbkdf2Werkzeug,
  kUnknown,
};
std::string_view PasswordSchemeName(PasswordScheme scheme);  // "argon2id", "pbkdf2_sha256 (django)"…
// Classifies by prefix only (no validation).
PasswordScheme DetectPasswordScheme(std::string_view stored);

// The decoded fields of an Argon2id PHC string.
struct Argon2idPhc {
  std::uint32_t version = 0x13;  // 0x13 (v=19) or 0x10 (v=16, or no "v=")
  std::uint32_t memory_kib = 0;
  std::uint32_t iterations = 0;
  std::uint32_t parallelism = 0;
  std::string salt;  // raw bytes
  std::string tag;   // raw bytes
};
// Strict parse: exact field order m,t,p; decimal numbers without sign or leading zeros; salt
// 8..1024 bytes and tag 4..1024 bytes in canonical unpadded base64; the verification bounds
// above. kInvalidArgument saying which part is wrong (never echoing the salt or tag).
Result<Argon2idPhc> ParseArgon2idPhc(std::string_view phc);

// True when `password` matches `stored` (any accepted format). false on a mismatch.
// kInvalidArgument when `stored` is not an accepted format or exceeds the bounds (the caller
// treats that as a failed login and logs it; the message never contains the hash).
// The comparison of the derived key is constant-time.
Result<bool> VerifyPassword(std::string_view password, std::string_view stored);

// True when `stored` should be replaced by HashPassword(password, params) after a successful
// verification: any PBKDF2 format, any unparsable string, or Argon2id whose version, m, t, p,
// salt length or tag length differs from `params` (both stronger and weaker differences: the
// configured parameters are the policy).
bool NeedsRehash(std::string_view stored, const Argon2Params& params);

// Spends the work of verifying a `params` Argon2id hash against `password` and returns nothing:
// the login path calls it when the user does not exist. The password is processed exactly as
// VerifyPassword would process it.
void DummyVerify(std::string_view password, const Argon2Params& params);

}  // namespace plinth::crypto
