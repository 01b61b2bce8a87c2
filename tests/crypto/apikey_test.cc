// API keys: format, checksum rejecting every single-character typo and adjacent swap before any
// lookup, stored hash = SHA-256 / HMAC-SHA256 of the secret, constant-time verification.
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <set>
#include <string>

#include "plinth/apikey.h"
#include "plinth/crypto.h"

namespace plinth::crypto {
namespace {

const std::string kPepper = "pppppppppppppppp" "eeeeeeeeeeeeeeee" "pper-0123456789!";  // 48 bytes

// Computed independently with Python:
//   body = "plinth_3fKq9ZtR2mXa_Vb7Qe1LkZ0pYw3NsD8uHc5GjT2rFx6"
//   zlib.crc32(body) = 0x4cfc994d → base62, 6 digits, alphabet 0-9A-Za-z = "1PPW4j"
//   hashlib.sha256(b"Vb7Qe1LkZ0pYw3NsD8uHc5GjT2rFx6").hexdigest()
//   hmac.new(pepper, b"Vb7Qe1LkZ0pYw3NsD8uHc5GjT2rFx6", hashlib.sha256).hexdigest()
constexpr const char* kKnownKey = "plinth_3fKq9ZtR2mXa_Vb7Qe1LkZ0pYw3NsD8uHc5GjT2rFx6_1PPW4j";
constexpr const char* kKnownSha256 = "295de2b912180463a2f1a5ae6102efce81a6d36a7445daee94fa00fa9b77c984";
constexpr const char* kKnownHmac = "77b204cf03b708f6de186c505ac7d1cbdcd2ef1d115516fa93dea65f3580b72a";

TEST(ApiKey, KnownKeyParses) {
  auto parts = ParseApiKey(kKnownKey);
  ASSERT_TRUE(parts.ok()) << parts.status().ToString();
  EXPECT_EQ(parts->lookup_id, "3fKq9ZtR2mXa");
  EXPECT_EQ(parts->secret, "Vb7Qe1LkZ0pYw3NsD8uHc5GjT2rFx6");
}

TEST(ApiKey, StoredHashIsSha256OrHmacOfTheSecret) {
  auto plain = ApiKeyHasher::Create();
  ASSERT_TRUE(plain.ok());
  EXPECT_FALSE(plain->peppered());
  EXPECT_EQ(plain->HashSecret("Vb7Qe1LkZ0pYw3NsD8uHc5GjT2rFx6"), kKnownSha256);
  EXPECT_TRUE(plain->Verify(kKnownKey, kKnownSha256).ok());
  EXPECT_FALSE(plain->Verify(kKnownKey, kKnownHmac).ok());

  auto peppered = ApiKeyHasher::Create(kPepper);
  ASSERT_TRUE(peppered.ok());
  EXPECT_TRUE(peppered->peppered());
  EXPECT_EQ(peppered->HashSecret("Vb7Qe1LkZ0pYw3NsD8uHc5GjT2rFx6"), kKnownHmac);
  EXPECT_TRUE(peppered->Verify(kKnownKey, kKnownHmac).ok());
  // Changing the pepper invalidates stored hashes (documented).
  EXPECT_EQ(peppered->Verify(kKnownKey, kKnownSha256).code(), Code::kUnauthenticated);
}

TEST(ApiKey, GeneratedKeysHaveTheFormatAndVerify) {
  auto hasher = ApiKeyHasher::Create(kPepper);
  ASSERT_TRUE(hasher.ok());
  // ^plinth_[0-9A-Za-z]{12}_[0-9A-Za-z]{30}_[0-9A-Za-z]{6}$ (checked by hand: std::regex is noisy
  // under the sanitizer build).
  auto matches_format = [](const std::string& k) {
    auto alnum = [](std::string_view s) {
      return std::all_of(s.begin(), s.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; });
    };
    return k.size() == 57 && k.substr(0, 7) == "plinth_" && alnum(k.substr(7, 12)) && k[19] == '_' &&
           alnum(k.substr(20, 30)) && k[50] == '_' && alnum(k.substr(51, 6));
  };
  std::set<std::string> keys, lookups;
  for (int i = 0; i < 50; ++i) {
    NewApiKey k = hasher->Generate();
    EXPECT_TRUE(matches_format(k.key)) << k.key;
    EXPECT_EQ(k.key.size(), kApiKeyLength);
    EXPECT_TRUE(k.key.starts_with("plinth_" + k.lookup_id + "_"));
    EXPECT_EQ(k.stored_hash.size(), 64u);
    EXPECT_EQ(k.stored_hash.find(k.key.substr(20, 30)), std::string::npos);  // no secret in the hash
    EXPECT_TRUE(hasher->Verify(k.key, k.stored_hash).ok());
    auto parts = ParseApiKey(k.key);
    ASSERT_TRUE(parts.ok());
    EXPECT_EQ(parts->lookup_id, k.lookup_id);
    EXPECT_EQ(hasher->HashSecret(parts->secret), k.stored_hash);
    EXPECT_TRUE(keys.insert(k.key).second);
    EXPECT_TRUE(lookups.insert(k.lookup_id).second);
  }
  // ≥ 128 bits of secret: 30 base62 characters carry 30·log2(62) ≈ 178.6 bits.
  EXPECT_GE(kApiKeySecretChars * 5.954, 128.0);
}

TEST(ApiKey, WrongSecretWithValidChecksumFailsVerify) {
  auto hasher = ApiKeyHasher::Create();
  ASSERT_TRUE(hasher.ok());
  NewApiKey a = hasher->Generate();
  NewApiKey b = hasher->Generate();
  // b is a well-formed key, but not a's.
  auto s = hasher->Verify(b.key, a.stored_hash);
  EXPECT_EQ(s.code(), Code::kUnauthenticated);
  EXPECT_EQ(s.message().find(b.key), std::string::npos);
}

// Every single-character substitution anywhere in the key, and every swap of two adjacent
// different characters, is rejected by ParseApiKey — no database lookup happens for a typo.
TEST(ApiKey, EverySubstitutionAndTranspositionIsRejectedByParse) {
  auto hasher = ApiKeyHasher::Create();
  ASSERT_TRUE(hasher.ok());
  std::string alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_-.+/= ";
  std::vector<std::string> sample = {kKnownKey};
  for (int i = 0; i < 20; ++i) sample.push_back(hasher->Generate().key);
  std::size_t tried = 0;
  for (const std::string& key : sample) {
    ASSERT_TRUE(ParseApiKey(key).ok()) << key;
    for (std::size_t pos = 0; pos < key.size(); ++pos) {
      for (char c : alphabet) {
        if (c == key[pos]) continue;
        std::string typo = key;
        typo[pos] = c;
        auto r = ParseApiKey(typo);
        ++tried;
        ASSERT_FALSE(r.ok()) << "substitution accepted: " << typo;
        EXPECT_EQ(r.status().code(), Code::kUnauthenticated);
      }
      if (pos + 1 < key.size() && key[pos] != key[pos + 1]) {
        std::string swapped = key;
        std::swap(swapped[pos], swapped[pos + 1]);
        ASSERT_FALSE(ParseApiKey(swapped).ok()) << "transposition accepted: " << swapped;
        ++tried;
      }
    }
    // Deletions and insertions change the length.
    for (std::size_t pos = 0; pos < key.size(); ++pos) {
      std::string deleted = key;
      deleted.erase(pos, 1);
      EXPECT_FALSE(ParseApiKey(deleted).ok());
      std::string inserted = key;
      inserted.insert(pos, 1, 'a');
      EXPECT_FALSE(ParseApiKey(inserted).ok());
    }
  }
  EXPECT_GT(tried, 50'000u);
}

TEST(ApiKey, MalformedKeysAreRejectedWithoutEchoingThem) {
  const std::string kBad[] = {
      "",
      "plinth",
      "plinth_",
      "ghp_3fKq9ZtR2mXa_Vb7Qe1LkZ0pYw3NsD8uHc5GjT2rFx6_1PPW4j",
      "Plinth_3fKq9ZtR2mXa_Vb7Qe1LkZ0pYw3NsD8uHc5GjT2rFx6_1PPW4j",
      "plinth-3fKq9ZtR2mXa_Vb7Qe1LkZ0pYw3NsD8uHc5GjT2rFx6_1PPW4j",
      "plinth_3fKq9ZtR2mXa_Vb7Qe1LkZ0pYw3NsD8uHc5GjT2rFx6_1PPW4j ",
      " plinth_3fKq9ZtR2mXa_Vb7Qe1LkZ0pYw3NsD8uHc5GjT2rFx6_1PPW4j",
      "plinth_3fKq9ZtR2mXa_Vb7Qe1LkZ0pYw3NsD8uHc5GjT2rFx6",
      "plinth_3fKq9ZtR2mXaVb7Qe1LkZ0pYw3NsD8uHc5GjT2rFx6_1PPW4j_",
      "plinth_3fKq9ZtR2mXa_Vb7Qe1LkZ0pYw3NsD8uHc5GjT2rFx6_zzzzzz",  // > 2^32
      std::string(kKnownKey).substr(0, 30),
  };
  for (const std::string& bad : kBad) {
    auto r = ParseApiKey(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().code(), Code::kUnauthenticated);
    if (bad.size() > 10) {
      EXPECT_EQ(r.status().message().find(bad), std::string::npos);
    }
  }
}

TEST(ApiKey, ShortPepperIsRefusedAndStoredHashMustBeHex) {
  auto r = ApiKeyHasher::Create("too-short");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(r.status().message().find("too-short"), std::string::npos);
  EXPECT_NE(r.status().message().find("32"), std::string::npos);

  auto hasher = ApiKeyHasher::Create();
  ASSERT_TRUE(hasher.ok());
  EXPECT_EQ(hasher->Verify(kKnownKey, "nothex").code(), Code::kDataLoss);
  EXPECT_EQ(hasher->Verify(kKnownKey, std::string(63, 'a')).code(), Code::kDataLoss);
  // Upper-case hex of the right digest is still the right digest.
  std::string upper = kKnownSha256;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  EXPECT_TRUE(hasher->Verify(kKnownKey, upper).ok());
}

TEST(ApiKey, LooksLikeApiKeyRoutesAuthorizationValues) {
  EXPECT_TRUE(LooksLikeApiKey(kKnownKey));
  EXPECT_TRUE(LooksLikeApiKey("plinth_x"));
  EXPECT_FALSE(LooksLikeApiKey("eyJhbGciOiJIUzI1NiJ9.e30.x"));
  EXPECT_FALSE(LooksLikeApiKey("plinth"));
  EXPECT_FALSE(LooksLikeApiKey("plinthx_"));
}

}  // namespace
}  // namespace plinth::crypto
