// plinth/keyring.h — AES-256-GCM encryption of column values under a keyring of named keys.
//
// Keyring text (configuration, e.g. PLINTH_ENCRYPTION_KEYS):
//   k1=<base64 of 32 bytes>, k2=<base64 of 32 bytes>; current=k2
// - Entries are `id=key`, separated by ','; whitespace around tokens is ignored.
// - An id is 1..32 characters of [A-Za-z0-9._-]. Ids are unique, and so are keys.
// - A key is exactly 32 random bytes in standard base64 (padded, as `openssl rand -base64 32`
//   prints it) or unpadded base64url.
// - `; current=<id>` names the key new values are encrypted under. It may be omitted only when
//   there is exactly one key.
// Errors are kInvalidArgument and name the entry by position and id; they never contain key
// material (an entry without '=' is reported by position only, since it may be a bare key).
//
// Ciphertext blob (raw bytes; store as BLOB / bytea, or base64 in a text column):
//   0x01 | id_len (1 byte) | id (id_len bytes) | nonce (12 bytes) | ciphertext | tag (16 bytes)
// The version byte and the key id are authenticated too: GCM's AAD is the header
// (0x01 | id_len | id) followed by the caller's AAD. The nonce is fresh from the CSPRNG for every
// encryption.
//
// AAD: BuildAad(table, column, row_key) binds a value to where it is stored, so a ciphertext
// copied to another row, column or table does not decrypt. Use the row's canonical key; for
// tenant tables include the tenant: BuildAad("settings", "value", CanonicalEncodeList({tenant, id})).
//
// Decrypt errors (never garbage plaintext):
//   kDataLoss            the blob is truncated, has an unknown version byte, or fails
//                        authentication (wrong key, any modified byte, different AAD);
//   kFailedPrecondition  the blob names a key id that is not in the keyring (a key was removed
//                        too early: put it back, then run `plinth keys rotate`).
//
// Nonce budget: with random 96-bit nonces NIST SP 800-38D bounds one key to 2^32 encryptions in
// total. The keyring counts encryptions per key in this process (EncryptionCount) and refuses to
// exceed kMaxEncryptionsPerKey in one process; it cannot see other processes or restarts, so
// operators rotate (add a key, make it current, run `plinth keys rotate`) long before — at the
// latest when the number of values ever written under a key approaches 2^30.
//
// Rotation: NeedsReencrypt(blob) is true for blobs under a non-current key; Reencrypt(blob, aad)
// decrypts and encrypts under the current key and returns the blob unchanged when it already is
// under it, so a rotation job is idempotent and can resume anywhere.
//
// Thread-safety: a Keyring is immutable after Parse except for the atomic counters; all members
// are safe to call concurrently. Moving a Keyring is not thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "plinth/status.h"

namespace plinth::crypto {

inline constexpr std::uint8_t kCiphertextVersion = 0x01;
inline constexpr std::size_t kMaxKeyIdChars = 32;
inline constexpr std::uint64_t kMaxEncryptionsPerKey = std::uint64_t(1) << 32;
// Bytes a blob adds to the plaintext besides the key id: version, id length, nonce, tag.
inline constexpr std::size_t kCiphertextOverhead = 1 + 1 + 12 + 16;

// Unambiguous associated data: the tag "plinth/aad/v1", then table, column and row_key each as
// u32be length || bytes.
std::string BuildAad(std::string_view table, std::string_view column, std::string_view row_key);

class Keyring {
 public:
  static Result<Keyring> Parse(std::string_view text);
  // From raw 32-byte keys (id, key); `current` as in the text form.
  static Result<Keyring> FromKeys(const std::vector<std::pair<std::string, std::string>>& keys,
                                  std::string_view current);
  // A fresh random key in the text form's encoding (for `plinth keys generate`).
  static std::string GenerateKeyText();

  Keyring(Keyring&&) noexcept;
  Keyring& operator=(Keyring&&) noexcept;
  ~Keyring();

  const std::string& current_key_id() const;
  std::vector<std::string> key_ids() const;
  bool HasKey(std::string_view id) const;

  // kFailedPrecondition when the current key's per-process budget is spent; kInternal if OpenSSL
  // fails.
  Result<std::string> Encrypt(std::string_view plaintext, std::string_view aad) const;
  Result<std::string> Decrypt(std::string_view blob, std::string_view aad) const;
  // The key id a blob names; kDataLoss when the header is malformed.
  static Result<std::string> KeyIdOf(std::string_view blob);
  // The bytes every blob under `key_id` starts with (format version, id length, id): lets a
  // database query find the values not under a key without reading them all.
  static std::string BlobPrefix(std::string_view key_id);
  // True when the blob is not under the current key (also when its header is malformed, so a
  // rotation job surfaces it through Reencrypt's error).
  bool NeedsReencrypt(std::string_view blob) const;
  Result<std::string> Reencrypt(std::string_view blob, std::string_view aad) const;

  // Decrypts a value written by the settings service before plinth: base64-decoded
  // nonce (12) || ciphertext || tag (16), no header, under key `key_id`, with `aad` (usually
  // empty). For one-time import; new values use Encrypt.
  Result<std::string> DecryptUnversioned(std::string_view nonce_ciphertext_tag, std::string_view key_id,
                                         std::string_view aad = {}) const;

  // Encryptions performed under `key_id` by this process (0 for an unknown id).
  std::uint64_t EncryptionCount(std::string_view key_id) const;

 private:
  struct Impl;
  explicit Keyring(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace plinth::crypto
