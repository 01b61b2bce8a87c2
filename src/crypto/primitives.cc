// Primitives of crypto.h: libsodium for randomness, comparison and wiping; OpenSSL for SHA-256,
// HMAC, PBKDF2 and AES-256-GCM.
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <sodium.h>

#include <array>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <memory>

#include <fmt/format.h>

#include "crypto/sodium_init.h"
#include "plinth/crypto.h"

namespace plinth::crypto {

namespace internal {
void EnsureSodium() {
  // sodium_init is thread-safe and idempotent; a static makes it run once per process.
  static const bool kReady = [] {
    if (sodium_init() < 0) {
      // No usable kernel CSPRNG: nothing cryptographic can go on.
      std::abort();
    }
    return true;
  }();
  (void)kReady;
}
}  // namespace internal

void RandomBytes(std::span<std::uint8_t> out) {
  internal::EnsureSodium();
  randombytes_buf(out.data(), out.size());
}

std::string RandomBytes(std::size_t n) {
  std::string out(n, '\0');
  RandomBytes(std::span<std::uint8_t>(reinterpret_cast<std::uint8_t*>(out.data()), out.size()));
  return out;
}

std::string RandomString(std::size_t n, std::string_view alphabet) {
  if (alphabet.size() < 2 || alphabet.size() > 256) std::abort();  // programming error
  // Accept a random byte only below the largest multiple of the alphabet size: uniform.
  const unsigned limit = 256 - (256 % alphabet.size());
  std::string out;
  out.reserve(n);
  std::array<std::uint8_t, 64> buf;
  while (out.size() < n) {
    RandomBytes(buf);
    for (std::uint8_t b : buf) {
      if (b >= limit) continue;
      out += alphabet[b % alphabet.size()];
      if (out.size() == n) break;
    }
  }
  return out;
}

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  if (a.empty()) return true;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

void SecureWipe(std::string& s) {
  if (!s.empty()) sodium_memzero(s.data(), s.size());
  s.clear();
}

namespace {

struct MdCtxDeleter {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
using MdCtx = std::unique_ptr<EVP_MD_CTX, MdCtxDeleter>;

// SHA-256 fetched once: OpenSSL 3's implicit fetch (EVP_sha256(), SHA256()) costs more than
// hashing a short input.
const EVP_MD* Sha256Md() {
  static EVP_MD* const kMd = [] {
    EVP_MD* md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    if (md == nullptr) std::abort();  // the default provider always has SHA-256
    return md;
  }();
  return kMd;
}

[[noreturn]] void DigestFailure() { std::abort(); }  // SHA-256 cannot fail short of memory exhaustion

constexpr std::size_t kSha256BlockBytes = 64;

}  // namespace

Sha256Digest Sha256(std::string_view data) {
  Sha256Digest d;
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), d.data(), &len, Sha256Md(), nullptr) != 1 || len != d.size()) {
    DigestFailure();
  }
  return d;
}

struct HmacSha256Key::State {
  MdCtx inner;  // after absorbing key ^ ipad
  MdCtx outer;  // after absorbing key ^ opad
};

HmacSha256Key::HmacSha256Key(std::string_view key) {
  // RFC 2104: keys longer than the block are hashed first; then padded with zeros to a block.
  std::array<std::uint8_t, kSha256BlockBytes> k{};
  if (key.size() > kSha256BlockBytes) {
    Sha256Digest hk = Sha256(key);
    std::copy(hk.begin(), hk.end(), k.begin());
  } else {
    std::copy(key.begin(), key.end(), reinterpret_cast<char*>(k.data()));
  }
  std::array<std::uint8_t, kSha256BlockBytes> ipad, opad;
  for (std::size_t i = 0; i < k.size(); ++i) {
    ipad[i] = static_cast<std::uint8_t>(k[i] ^ 0x36);
    opad[i] = static_cast<std::uint8_t>(k[i] ^ 0x5c);
  }
  auto state = std::make_shared<State>();
  state->inner.reset(EVP_MD_CTX_new());
  state->outer.reset(EVP_MD_CTX_new());
  if (!state->inner || !state->outer || EVP_DigestInit_ex(state->inner.get(), Sha256Md(), nullptr) != 1 ||
      EVP_DigestUpdate(state->inner.get(), ipad.data(), ipad.size()) != 1 ||
      EVP_DigestInit_ex(state->outer.get(), Sha256Md(), nullptr) != 1 ||
      EVP_DigestUpdate(state->outer.get(), opad.data(), opad.size()) != 1) {
    DigestFailure();
  }
  sodium_memzero(k.data(), k.size());
  sodium_memzero(ipad.data(), ipad.size());
  sodium_memzero(opad.data(), opad.size());
  state_ = std::move(state);
}

Sha256Digest HmacSha256Key::Mac(std::string_view data) const {
  MdCtx c(EVP_MD_CTX_new());
  Sha256Digest inner;
  Sha256Digest out;
  unsigned int len = 0;
  // Copying reads the precomputed states only, so concurrent Mac() calls are safe.
  if (!c || EVP_MD_CTX_copy_ex(c.get(), state_->inner.get()) != 1 ||
      EVP_DigestUpdate(c.get(), data.data(), data.size()) != 1 ||
      EVP_DigestFinal_ex(c.get(), inner.data(), &len) != 1 || EVP_MD_CTX_copy_ex(c.get(), state_->outer.get()) != 1 ||
      EVP_DigestUpdate(c.get(), inner.data(), inner.size()) != 1 || EVP_DigestFinal_ex(c.get(), out.data(), &len) != 1) {
    DigestFailure();
  }
  return out;
}

Sha256Digest HmacSha256(std::string_view key, std::string_view data) { return HmacSha256Key(key).Mac(data); }

std::string DigestBytes(const Sha256Digest& digest) {
  return std::string(reinterpret_cast<const char*>(digest.data()), digest.size());
}

Result<std::string> Pbkdf2HmacSha256(std::string_view password, std::string_view salt,
                                     std::uint32_t iterations, std::size_t length) {
  constexpr std::size_t kMaxLength = 1024;
  if (iterations == 0 || iterations > std::uint32_t(std::numeric_limits<int>::max())) {
    return Status(Code::kInvalidArgument, fmt::format("PBKDF2 iteration count {} is out of range", iterations));
  }
  if (length == 0 || length > kMaxLength) {
    return Status(Code::kInvalidArgument, fmt::format("PBKDF2 output length {} is out of range 1..{}", length, kMaxLength));
  }
  std::string out(length, '\0');
  static const char kEmpty = 0;
  if (PKCS5_PBKDF2_HMAC(password.empty() ? &kEmpty : password.data(), static_cast<int>(password.size()),
                        reinterpret_cast<const unsigned char*>(salt.empty() ? &kEmpty : salt.data()),
                        static_cast<int>(salt.size()), static_cast<int>(iterations), Sha256Md(),
                        static_cast<int>(length), reinterpret_cast<unsigned char*>(out.data())) != 1) {
    return Status(Code::kInternal, "OpenSSL PKCS5_PBKDF2_HMAC failed");
  }
  return out;
}

std::uint32_t Crc32(std::string_view data) {
  static const std::array<std::uint32_t, 256> kTable = [] {
    std::array<std::uint32_t, 256> t{};
    for (std::uint32_t i = 0; i < 256; ++i) {
      std::uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  std::uint32_t crc = 0xFFFFFFFFu;
  for (unsigned char b : data) crc = kTable[(crc ^ b) & 0xFF] ^ (crc >> 8);
  return crc ^ 0xFFFFFFFFu;
}

namespace {

struct CipherCtxDeleter {
  void operator()(EVP_CIPHER_CTX* c) const { EVP_CIPHER_CTX_free(c); }
};
using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, CipherCtxDeleter>;

const unsigned char* U(std::string_view s) {
  static const unsigned char kEmpty = 0;
  return s.empty() ? &kEmpty : reinterpret_cast<const unsigned char*>(s.data());
}

Status CheckKeyNonce(std::string_view key, std::string_view nonce) {
  if (key.size() != kAes256KeyBytes) {
    return Status(Code::kInvalidArgument,
                  fmt::format("AES-256-GCM needs a 32-byte key, got {} bytes", key.size()));
  }
  if (nonce.size() != kGcmNonceBytes) {
    return Status(Code::kInvalidArgument,
                  fmt::format("AES-256-GCM needs a 12-byte nonce, got {} bytes", nonce.size()));
  }
  return Status::Ok();
}

constexpr std::size_t kMaxGcmInput = std::size_t(std::numeric_limits<int>::max()) - kGcmTagBytes;

const EVP_CIPHER* Aes256Gcm() {
  static EVP_CIPHER* const kCipher = [] {
    EVP_CIPHER* c = EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr);
    if (c == nullptr) std::abort();  // the default provider always has AES-256-GCM
    return c;
  }();
  return kCipher;
}

}  // namespace

Result<std::string> Aes256GcmSeal(std::string_view key, std::string_view nonce,
                                  std::string_view plaintext, std::string_view aad) {
  PLINTH_RETURN_IF_ERROR(CheckKeyNonce(key, nonce));
  if (plaintext.size() > kMaxGcmInput || aad.size() > kMaxGcmInput) {
    return Status(Code::kInvalidArgument, "AES-256-GCM input is too large");
  }
  CipherCtx ctx(EVP_CIPHER_CTX_new());
  if (!ctx) return Status(Code::kInternal, "EVP_CIPHER_CTX_new failed");
  std::string out(plaintext.size() + kGcmTagBytes, '\0');
  auto* o = reinterpret_cast<unsigned char*>(out.data());
  int len = 0;
  if (EVP_EncryptInit_ex(ctx.get(), Aes256Gcm(), nullptr, nullptr, nullptr) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, int(kGcmNonceBytes), nullptr) != 1 ||
      EVP_EncryptInit_ex(ctx.get(), nullptr, nullptr, U(key), U(nonce)) != 1) {
    return Status(Code::kInternal, "AES-256-GCM initialisation failed");
  }
  if (!aad.empty() && EVP_EncryptUpdate(ctx.get(), nullptr, &len, U(aad), int(aad.size())) != 1) {
    return Status(Code::kInternal, "AES-256-GCM AAD update failed");
  }
  int total = 0;
  if (!plaintext.empty()) {
    if (EVP_EncryptUpdate(ctx.get(), o, &len, U(plaintext), int(plaintext.size())) != 1) {
      return Status(Code::kInternal, "AES-256-GCM encryption failed");
    }
    total = len;
  }
  if (EVP_EncryptFinal_ex(ctx.get(), o + total, &len) != 1) {
    return Status(Code::kInternal, "AES-256-GCM finalisation failed");
  }
  total += len;
  if (std::size_t(total) != plaintext.size() ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, int(kGcmTagBytes), o + total) != 1) {
    return Status(Code::kInternal, "AES-256-GCM tag extraction failed");
  }
  return out;
}

Result<std::string> Aes256GcmOpen(std::string_view key, std::string_view nonce,
                                  std::string_view ciphertext_and_tag, std::string_view aad) {
  PLINTH_RETURN_IF_ERROR(CheckKeyNonce(key, nonce));
  if (ciphertext_and_tag.size() < kGcmTagBytes) {
    return Status(Code::kDataLoss, "AES-256-GCM input is shorter than its 16-byte tag");
  }
  if (ciphertext_and_tag.size() > kMaxGcmInput + kGcmTagBytes || aad.size() > kMaxGcmInput) {
    return Status(Code::kInvalidArgument, "AES-256-GCM input is too large");
  }
  std::string_view ct = ciphertext_and_tag.substr(0, ciphertext_and_tag.size() - kGcmTagBytes);
  std::string tag(ciphertext_and_tag.substr(ct.size()));
  CipherCtx ctx(EVP_CIPHER_CTX_new());
  if (!ctx) return Status(Code::kInternal, "EVP_CIPHER_CTX_new failed");
  std::string out(ct.size(), '\0');
  auto* o = reinterpret_cast<unsigned char*>(out.data());
  int len = 0;
  if (EVP_DecryptInit_ex(ctx.get(), Aes256Gcm(), nullptr, nullptr, nullptr) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, int(kGcmNonceBytes), nullptr) != 1 ||
      EVP_DecryptInit_ex(ctx.get(), nullptr, nullptr, U(key), U(nonce)) != 1) {
    return Status(Code::kInternal, "AES-256-GCM initialisation failed");
  }
  if (!aad.empty() && EVP_DecryptUpdate(ctx.get(), nullptr, &len, U(aad), int(aad.size())) != 1) {
    return Status(Code::kInternal, "AES-256-GCM AAD update failed");
  }
  int total = 0;
  if (!ct.empty()) {
    if (EVP_DecryptUpdate(ctx.get(), o, &len, U(ct), int(ct.size())) != 1) {
      return Status(Code::kInternal, "AES-256-GCM decryption failed");
    }
    total = len;
  }
  if (EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, int(kGcmTagBytes), tag.data()) != 1) {
    return Status(Code::kInternal, "AES-256-GCM tag setup failed");
  }
  if (EVP_DecryptFinal_ex(ctx.get(), o + total, &len) != 1) {
    // Never hand back unauthenticated plaintext.
    SecureWipe(out);
    return Status(Code::kDataLoss,
                  "AES-256-GCM authentication failed: wrong key, modified data or different associated data");
  }
  return out;
}

Sha256Digest ChainHash(const Sha256Digest& prev, std::string_view canonical_bytes) {
  MdCtx ctx(EVP_MD_CTX_new());
  const unsigned char nul = 0;
  Sha256Digest d;
  unsigned int len = 0;
  if (!ctx || EVP_DigestInit_ex(ctx.get(), Sha256Md(), nullptr) != 1 ||
      EVP_DigestUpdate(ctx.get(), kChainDomainTag.data(), kChainDomainTag.size()) != 1 ||
      EVP_DigestUpdate(ctx.get(), &nul, 1) != 1 ||
      EVP_DigestUpdate(ctx.get(), prev.data(), prev.size()) != 1 ||
      EVP_DigestUpdate(ctx.get(), canonical_bytes.data(), canonical_bytes.size()) != 1 ||
      EVP_DigestFinal_ex(ctx.get(), d.data(), &len) != 1 || len != d.size()) {
    DigestFailure();
  }
  return d;
}

namespace {

void PutU32(std::string& out, std::size_t v) {
  if (v > std::numeric_limits<std::uint32_t>::max()) std::abort();  // documented precondition
  out += static_cast<char>((v >> 24) & 0xFF);
  out += static_cast<char>((v >> 16) & 0xFF);
  out += static_cast<char>((v >> 8) & 0xFF);
  out += static_cast<char>(v & 0xFF);
}

constexpr char kFieldNull = 0x00;
constexpr char kFieldValue = 0x01;

template <typename It>
std::string EncodeFields(It begin, It end, std::size_t count) {
  std::string out;
  PutU32(out, count);
  for (It it = begin; it != end; ++it) {
    if (!it->has_value()) {
      out += kFieldNull;
      continue;
    }
    out += kFieldValue;
    PutU32(out, (*it)->size());
    out.append((*it)->data(), (*it)->size());
  }
  return out;
}

}  // namespace

std::string CanonicalEncode(std::span<const std::optional<std::string>> fields) {
  return EncodeFields(fields.begin(), fields.end(), fields.size());
}

std::string CanonicalEncodeList(std::initializer_list<std::optional<std::string_view>> fields) {
  return EncodeFields(fields.begin(), fields.end(), fields.size());
}

}  // namespace plinth::crypto
