// Field encryption under a keyring (keyring.h).
#include "plinth/keyring.h"

#include <sodium.h>

#include <array>
#include <atomic>

#include <fmt/format.h>

#include "common/strings.h"
#include "plinth/crypto.h"

namespace plinth::crypto {
namespace {

constexpr std::string_view kAadTag = "plinth/aad/v1";
constexpr std::string_view kCurrentDirective = "current";
constexpr std::size_t kHeaderFixedBytes = 2;  // version, id length

bool ValidKeyId(std::string_view id) {
  if (id.empty() || id.size() > kMaxKeyIdChars) return false;
  for (char c : id) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
              c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

void PutBe32(std::string& out, std::size_t v) {
  out += static_cast<char>((v >> 24) & 0xFF);
  out += static_cast<char>((v >> 16) & 0xFF);
  out += static_cast<char>((v >> 8) & 0xFF);
  out += static_cast<char>(v & 0xFF);
}

std::string Header(std::string_view id) {
  std::string h;
  h += static_cast<char>(kCiphertextVersion);
  h += static_cast<char>(id.size());
  h.append(id);
  return h;
}

struct ParsedBlob {
  std::string_view header;  // version | id_len | id
  std::string_view key_id;
  std::string_view nonce;
  std::string_view sealed;  // ciphertext || tag
};

Result<ParsedBlob> ParseBlob(std::string_view blob) {
  if (blob.size() < kHeaderFixedBytes) return Status(Code::kDataLoss, "encrypted value is truncated");
  if (static_cast<std::uint8_t>(blob[0]) != kCiphertextVersion) {
    return Status(Code::kDataLoss,
                  fmt::format("encrypted value has unknown format version {}", static_cast<unsigned>(std::uint8_t(blob[0]))));
  }
  std::size_t id_len = static_cast<std::uint8_t>(blob[1]);
  if (id_len == 0 || id_len > kMaxKeyIdChars) return Status(Code::kDataLoss, "encrypted value has a malformed key id");
  if (blob.size() < kHeaderFixedBytes + id_len + kGcmNonceBytes + kGcmTagBytes) {
    return Status(Code::kDataLoss, "encrypted value is truncated");
  }
  ParsedBlob p;
  p.header = blob.substr(0, kHeaderFixedBytes + id_len);
  p.key_id = blob.substr(kHeaderFixedBytes, id_len);
  if (!ValidKeyId(p.key_id)) return Status(Code::kDataLoss, "encrypted value has a malformed key id");
  p.nonce = blob.substr(kHeaderFixedBytes + id_len, kGcmNonceBytes);
  p.sealed = blob.substr(kHeaderFixedBytes + id_len + kGcmNonceBytes);
  return p;
}

}  // namespace

std::string BuildAad(std::string_view table, std::string_view column, std::string_view row_key) {
  std::string out(kAadTag);
  for (std::string_view part : {table, column, row_key}) {
    PutBe32(out, part.size());
    out.append(part);
  }
  return out;
}

struct Keyring::Impl {
  struct Key {
    std::string id;
    std::array<std::uint8_t, kAes256KeyBytes> bytes{};
    mutable std::atomic<std::uint64_t> encryptions{0};
    std::string_view view() const { return std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()); }
    ~Key() { sodium_memzero(bytes.data(), bytes.size()); }
  };
  std::vector<std::unique_ptr<Key>> keys;
  const Key* current = nullptr;

  const Key* Find(std::string_view id) const {
    for (const auto& k : keys) {
      if (k->id == id) return k.get();
    }
    return nullptr;
  }
};

Keyring::Keyring(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Keyring::Keyring(Keyring&&) noexcept = default;
Keyring& Keyring::operator=(Keyring&&) noexcept = default;
Keyring::~Keyring() = default;

Result<Keyring> Keyring::FromKeys(const std::vector<std::pair<std::string, std::string>>& keys,
                                  std::string_view current) {
  auto invalid = [](std::string m) { return Status(Code::kInvalidArgument, std::move(m)); };
  if (keys.empty()) return invalid("keyring has no keys");
  auto impl = std::make_unique<Impl>();
  for (std::size_t i = 0; i < keys.size(); ++i) {
    const auto& [id, bytes] = keys[i];
    if (!ValidKeyId(id)) {
      return invalid(fmt::format("keyring entry {}: key id must be 1..{} characters of [A-Za-z0-9._-]", i + 1,
                                 kMaxKeyIdChars));
    }
    if (bytes.size() != kAes256KeyBytes) {
      return invalid(fmt::format("keyring entry {} ('{}'): key must be {} bytes (AES-256), got {}", i + 1, id,
                                 kAes256KeyBytes, bytes.size()));
    }
    for (const auto& k : impl->keys) {
      if (k->id == id) return invalid(fmt::format("keyring entry {}: key id '{}' appears twice", i + 1, id));
      if (ConstantTimeEquals(k->view(), bytes)) {
        return invalid(fmt::format("keyring entry {} ('{}') holds the same key as '{}'", i + 1, id, k->id));
      }
    }
    auto key = std::make_unique<Impl::Key>();
    key->id = id;
    std::copy(bytes.begin(), bytes.end(), reinterpret_cast<char*>(key->bytes.data()));
    impl->keys.push_back(std::move(key));
  }
  if (current.empty()) {
    if (impl->keys.size() > 1) {
      return invalid("keyring has several keys; name the one for new values with '; current=<id>'");
    }
    impl->current = impl->keys.front().get();
  } else {
    impl->current = impl->Find(current);
    if (impl->current == nullptr) {
      return invalid(fmt::format("keyring: current key '{}' is not among the keys", current));
    }
  }
  return Keyring(std::move(impl));
}

Result<Keyring> Keyring::Parse(std::string_view text) {
  auto invalid = [](std::string m) { return Status(Code::kInvalidArgument, std::move(m)); };
  std::vector<std::string> sections = Split(text, ';');
  std::string entries_text = Trim(sections.front());
  std::vector<std::pair<std::string, std::string>> keys;
  std::vector<std::string> entries;
  // Every copy of the text may hold key material: wipe them all on every way out. Declared after
  // the containers so that it runs before they are destroyed.
  struct Wiper {
    std::vector<std::string>& sections;
    std::vector<std::string>& entries;
    std::string& entries_text;
    std::vector<std::pair<std::string, std::string>>& keys;
    ~Wiper() {
      for (std::string& s : sections) SecureWipe(s);
      for (std::string& s : entries) SecureWipe(s);
      SecureWipe(entries_text);
      for (auto& k : keys) SecureWipe(k.second);
    }
  } wiper{sections, entries, entries_text, keys};
  if (entries_text.empty()) return invalid("keyring is empty; expected id=<base64 key>[, …][; current=<id>]");
  std::string current;
  for (std::size_t s = 1; s < sections.size(); ++s) {
    std::string directive = Trim(sections[s]);
    std::size_t eq = directive.find('=');
    if (eq == std::string::npos || Trim(directive.substr(0, eq)) != kCurrentDirective) {
      return invalid(fmt::format("keyring: section {} after ';' must be current=<id>", s + 1));
    }
    if (!current.empty()) return invalid("keyring: current= is given twice");
    current = Trim(directive.substr(eq + 1));
    if (current.empty()) return invalid("keyring: current= names no key");
  }
  entries = Split(entries_text, ',');
  for (std::size_t i = 0; i < entries.size(); ++i) {
    std::string entry = Trim(entries[i]);
    std::size_t eq = entry.find('=');
    if (eq == std::string::npos || eq == 0) {
      // Report by position only: the entry may be a bare key.
      SecureWipe(entry);
      return invalid(fmt::format("keyring entry {}: expected <id>=<base64 key>", i + 1));
    }
    std::string id = Trim(entry.substr(0, eq));
    std::string encoded = Trim(entry.substr(eq + 1));
    SecureWipe(entry);
    auto decoded = Base64Decode(encoded);
    if (!decoded.ok()) decoded = Base64UrlDecode(encoded);
    SecureWipe(encoded);
    if (!ValidKeyId(id)) {
      return invalid(fmt::format("keyring entry {}: key id must be 1..{} characters of [A-Za-z0-9._-]", i + 1,
                                 kMaxKeyIdChars));
    }
    if (!decoded.ok()) return invalid(fmt::format("keyring entry {} ('{}'): key is not base64", i + 1, id));
    keys.emplace_back(std::move(id), std::move(decoded).value());
  }
  return FromKeys(keys, current);
}

std::string Keyring::GenerateKeyText() { return Base64Encode(RandomBytes(kAes256KeyBytes)); }

const std::string& Keyring::current_key_id() const { return impl_->current->id; }

std::vector<std::string> Keyring::key_ids() const {
  std::vector<std::string> ids;
  for (const auto& k : impl_->keys) ids.push_back(k->id);
  return ids;
}

bool Keyring::HasKey(std::string_view id) const { return impl_->Find(id) != nullptr; }

Result<std::string> Keyring::Encrypt(std::string_view plaintext, std::string_view aad) const {
  const Impl::Key& key = *impl_->current;
  if (key.encryptions.fetch_add(1, std::memory_order_relaxed) >= kMaxEncryptionsPerKey) {
    return Status(Code::kFailedPrecondition,
                  fmt::format("key '{}' has reached its AES-GCM random-nonce budget of 2^32 encryptions; "
                              "add a new key, make it current and run `plinth keys rotate`",
                              key.id));
  }
  std::string header = Header(key.id);
  std::string nonce = RandomBytes(kGcmNonceBytes);
  std::string full_aad = header;
  full_aad.append(aad);
  PLINTH_ASSIGN_OR_RETURN(std::string sealed, Aes256GcmSeal(key.view(), nonce, plaintext, full_aad));
  std::string blob;
  blob.reserve(header.size() + nonce.size() + sealed.size());
  blob += header;
  blob += nonce;
  blob += sealed;
  return blob;
}

Result<std::string> Keyring::Decrypt(std::string_view blob, std::string_view aad) const {
  PLINTH_ASSIGN_OR_RETURN(ParsedBlob p, ParseBlob(blob));
  const Impl::Key* key = impl_->Find(p.key_id);
  if (key == nullptr) {
    return Status(Code::kFailedPrecondition,
                  fmt::format("value is encrypted under key '{}', which is not in the keyring; add that key "
                              "back (and run `plinth keys rotate` before removing it again)",
                              p.key_id),
                  "", std::string(p.key_id));
  }
  std::string full_aad(p.header);
  full_aad.append(aad);
  auto plain = Aes256GcmOpen(key->view(), p.nonce, p.sealed, full_aad);
  if (!plain.ok()) {
    if (plain.status().code() == Code::kDataLoss) {
      return Status(Code::kDataLoss,
                    fmt::format("encrypted value under key '{}' failed authentication: the key is wrong, "
                                "the value was modified, or it belongs to another row or column",
                                p.key_id));
    }
    return plain.status();
  }
  return plain;
}

Result<std::string> Keyring::KeyIdOf(std::string_view blob) {
  PLINTH_ASSIGN_OR_RETURN(ParsedBlob p, ParseBlob(blob));
  return std::string(p.key_id);
}

std::string Keyring::BlobPrefix(std::string_view key_id) { return Header(key_id); }

bool Keyring::NeedsReencrypt(std::string_view blob) const {
  auto p = ParseBlob(blob);
  return !p.ok() || p->key_id != impl_->current->id;
}

Result<std::string> Keyring::Reencrypt(std::string_view blob, std::string_view aad) const {
  PLINTH_ASSIGN_OR_RETURN(ParsedBlob p, ParseBlob(blob));
  if (p.key_id == impl_->current->id) {
    // Authenticate anyway: a rotation job must not bless a damaged value.
    PLINTH_ASSIGN_OR_RETURN(std::string plain, Decrypt(blob, aad));
    SecureWipe(plain);
    return std::string(blob);
  }
  PLINTH_ASSIGN_OR_RETURN(std::string plain, Decrypt(blob, aad));
  auto out = Encrypt(plain, aad);
  SecureWipe(plain);
  return out;
}

Result<std::string> Keyring::DecryptUnversioned(std::string_view nonce_ciphertext_tag, std::string_view key_id,
                                                std::string_view aad) const {
  const Impl::Key* key = impl_->Find(key_id);
  if (key == nullptr) {
    return Status(Code::kFailedPrecondition, fmt::format("key '{}' is not in the keyring", key_id));
  }
  if (nonce_ciphertext_tag.size() < kGcmNonceBytes + kGcmTagBytes) {
    return Status(Code::kDataLoss, "encrypted value is truncated");
  }
  return Aes256GcmOpen(key->view(), nonce_ciphertext_tag.substr(0, kGcmNonceBytes),
                       nonce_ciphertext_tag.substr(kGcmNonceBytes), aad);
}

std::uint64_t Keyring::EncryptionCount(std::string_view key_id) const {
  const Impl::Key* key = impl_->Find(key_id);
  return key == nullptr ? 0 : key->encryptions.load(std::memory_order_relaxed);
}

}  // namespace plinth::crypto
