// Password hashing: RFC 9106 and reference-implementation Argon2id vectors, PHC strings written by
// other implementations (libsodium, libar2, Bouncy Castle), libsodium/libargon2 round trips,
// PBKDF2 in the Django, passlib and Werkzeug encodings, NeedsRehash and the dummy verification.
#include <argon2.h>
#include <gtest/gtest.h>
#include <sodium.h>

#include <string>

#include "plinth/crypto.h"
#include "plinth/password.h"

namespace plinth::crypto {
namespace {

// Small parameters keep the unit tests fast; the defaults are exercised once below and in the
// benchmark.
constexpr Argon2Params kFast{.memory_kib = 64, .iterations = 1, .parallelism = 1};

bool Matches(std::string_view password, std::string_view stored) {
  auto r = VerifyPassword(password, stored);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() && *r;
}

// RFC 9106 §5.3: Argon2id, 32-byte password 0x01…, 16-byte salt 0x02…, 8-byte secret 0x03…,
// 12-byte associated data 0x04…, m=32 KiB, t=3, p=4, 32-byte tag. This checks the libargon2 that
// plinth links (secret and AD are not exposed by the PHC format, so argon2_ctx is used directly).
TEST(Argon2id, Rfc9106Section5_3) {
  std::uint8_t pwd[32], salt[16], secret[8], ad[12], out[32];
  std::fill(std::begin(pwd), std::end(pwd), 0x01);
  std::fill(std::begin(salt), std::end(salt), 0x02);
  std::fill(std::begin(secret), std::end(secret), 0x03);
  std::fill(std::begin(ad), std::end(ad), 0x04);
  argon2_context ctx{};
  ctx.out = out;
  ctx.outlen = sizeof out;
  ctx.pwd = pwd;
  ctx.pwdlen = sizeof pwd;
  ctx.salt = salt;
  ctx.saltlen = sizeof salt;
  ctx.secret = secret;
  ctx.secretlen = sizeof secret;
  ctx.ad = ad;
  ctx.adlen = sizeof ad;
  ctx.t_cost = 3;
  ctx.m_cost = 32;
  ctx.lanes = 4;
  ctx.threads = 4;
  ctx.version = ARGON2_VERSION_13;
  ctx.flags = ARGON2_DEFAULT_FLAGS;
  ASSERT_EQ(argon2_ctx(&ctx, Argon2_id), ARGON2_OK);
  EXPECT_EQ(HexEncode(std::string_view(reinterpret_cast<char*>(out), sizeof out)),
            "0d640df58d78766c08c037a34a8b53c9d01ef0452d75b65eb52520e96b01e659");
}

// Vectors of the Argon2 reference implementation (phc-winner-argon2 src/test.c, password
// "password" or "differentpassword", salt "somesalt"/"diffsalt").
TEST(Argon2id, ReferenceImplementationPhcStringsVerify) {
  const std::pair<const char*, const char*> kVectors[] = {
      {"password", "$argon2id$v=19$m=256,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4"},
      {"password", "$argon2id$v=19$m=256,t=2,p=2$c29tZXNhbHQ$bQk8UB/VmZZF4Oo79iDXuL5/0ttZwg2f/5U52iv1cDc"},
      {"password", "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc"},
      {"differentpassword",
       "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$C4TWUs9rDEvq7w3+J4umqA32aWKB1+DSiRuBfYxFj94"},
  };
  for (const auto& [password, phc] : kVectors) {
    EXPECT_TRUE(Matches(password, phc)) << phc;
  }
  // Mismatches on the cheap (256 KiB) ones; the 64 MiB ones cost ~0.1 s each.
  EXPECT_FALSE(Matches("Password", kVectors[0].second));
  EXPECT_FALSE(Matches("Password", kVectors[1].second));
  // The raw tag of the first vector, as test.c lists it.
  auto parsed = ParseArgon2idPhc(kVectors[0].second);
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(HexEncode(parsed->tag), "9dfeb910e80bad0311fee20f9c0e2b12c17987b4cac90c2ef54d5b3021c68bfe");
  EXPECT_EQ(parsed->salt, "somesalt");
  EXPECT_EQ(parsed->memory_kib, 256u);
  EXPECT_EQ(parsed->iterations, 2u);
  EXPECT_EQ(parsed->parallelism, 1u);
  EXPECT_EQ(parsed->version, 0x13u);
}

// Strings produced by other implementations.
TEST(Argon2id, PhcStringsFromOtherImplementationsVerify) {
  struct Case {
    const char* source;
    const char* password;
    const char* phc;
  };
  const Case kCases[] = {
      // libsodium test/default/pwhash_argon2id.c (tv3 entries it accepts, and "valid(7)").
      {"libsodium", "", "$argon2id$v=19$m=4882,t=2,p=1$bA81arsiXysd3WbTRzmEOw$Nm8QBM+7RH1DXo9rvp5cwKEOOOfD2g6JuxlXihoNcpE"},
      {"libsodium", "^T5H$JYt39n%K*j:W]!1s?vg!:jGi]Ax?..l7[p0v:1jHTpla9;]bUN;?bWyCbtqg ",
       "$argon2id$v=19$m=4096,t=19,p=1$PkEgMTYtYnl0ZXMgc2FsdA$ltB/ue1kPtBMBGfsysMpPigE6hiNEKZ9vs8vLNVDQGA"},
      {"libsodium", "K3S=KyH#)36_?]LxeR8QNKw6X=gFbxai$C%29V*",
       "$argon2id$v=19$m=4096,t=1,p=3$PkEgcHJldHR5IGxvbmcgc2FsdA$HUqx5Z1b/ZypnUrvvJ5UC2Q+T6Q1WwASK/Kr9dRbGA0"},
      {"libsodium", "password", "$argon2id$v=19$m=256,t=3,p=1$MDEyMzQ1Njc$G5ajKFCoUzaXRLdz7UJb5wGkb2Xt+X5/GQjUYtS2+TE"},
      // libar2 (maandree), computed with multi-threading disabled: 16 lanes.
      {"libar2", "password", "$argon2id$v=19$m=2048,t=16,p=16$c29tZXNhbHQ$FRWpYzcrsos+DHNInvfsl0g8mZBdPqUdarIYh/Pnc1g"},
      // Spring Security Argon2PasswordEncoder 6.3.4 (Bouncy Castle 1.84).
      {"Bouncy Castle", "correct horse battery staple",
       "$argon2id$v=19$m=16384,t=2,p=1$oD4J6tHQEKFFoGSw8uyJyg$PaHHvg2gl1OKYaPxIveAoFJ2jqi5s8ovKOtXSaLte+0"},
  };
  for (const Case& c : kCases) {
    EXPECT_TRUE(Matches(c.password, c.phc)) << c.source << ": " << c.phc;
    EXPECT_FALSE(Matches(std::string(c.password) + "x", c.phc)) << c.source << ": " << c.phc;
  }
  // libsodium's "invalid(7)": right string, wrong password.
  EXPECT_FALSE(Matches("passwore", "$argon2id$v=19$m=256,t=3,p=1$MDEyMzQ1Njc$G5ajKFCoUzaXRLdz7UJb5wGkb2Xt+X5/GQjUYtS2+TE"));
}

TEST(Argon2id, HashFormatAndDefaults) {
  Argon2Params defaults;
  EXPECT_EQ(defaults.memory_kib, 19456u);
  EXPECT_EQ(defaults.iterations, 2u);
  EXPECT_EQ(defaults.parallelism, 1u);
  EXPECT_EQ(defaults.salt_bytes, 16u);
  EXPECT_EQ(defaults.tag_bytes, 32u);
  EXPECT_TRUE(defaults.MeetsOwaspMinimum());
  auto phc = HashPassword("correct horse battery staple");  // defaults, once
  ASSERT_TRUE(phc.ok()) << phc.status().ToString();
  EXPECT_TRUE(phc->starts_with("$argon2id$v=19$m=19456,t=2,p=1$")) << *phc;
  auto parsed = ParseArgon2idPhc(*phc);
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->salt.size(), 16u);
  EXPECT_EQ(parsed->tag.size(), 32u);
  EXPECT_TRUE(Matches("correct horse battery staple", *phc));
  EXPECT_FALSE(Matches("correct horse battery stapl", *phc));
  EXPECT_FALSE(NeedsRehash(*phc, defaults));
}

TEST(Argon2id, FreshSaltEveryTime) {
  auto a = HashPassword("same", kFast), b = HashPassword("same", kFast);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(*a, *b);
  EXPECT_TRUE(Matches("same", *a));
  EXPECT_TRUE(Matches("same", *b));
}

TEST(Argon2id, EmptyAndBinaryPasswords) {
  auto empty = HashPassword("", kFast);
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(Matches("", *empty));
  EXPECT_FALSE(Matches(std::string(1, '\0'), *empty));
  std::string binary("a\0b\xff", 4);
  auto bin = HashPassword(binary, kFast);
  ASSERT_TRUE(bin.ok());
  EXPECT_TRUE(Matches(binary, *bin));
  EXPECT_FALSE(Matches("a", *bin));  // no truncation at NUL
}

TEST(Argon2id, OurHashesVerifyInLibsodiumAndLibargon2) {
  ASSERT_GE(sodium_init(), 0);
  Argon2Params p{.memory_kib = 256, .iterations = 2, .parallelism = 1};
  auto phc = HashPassword("correct horse battery staple", p);
  ASSERT_TRUE(phc.ok());
  EXPECT_EQ(crypto_pwhash_str_verify(phc->c_str(), "correct horse battery staple", 28), 0);
  EXPECT_NE(crypto_pwhash_str_verify(phc->c_str(), "wrong", 5), 0);
  EXPECT_EQ(argon2id_verify(phc->c_str(), "correct horse battery staple", 28), ARGON2_OK);
  EXPECT_NE(argon2id_verify(phc->c_str(), "wrong", 5), ARGON2_OK);
}

TEST(Argon2id, LibsodiumAndLibargon2HashesVerifyHere) {
  ASSERT_GE(sodium_init(), 0);
  char sodium_str[crypto_pwhash_STRBYTES];
  ASSERT_EQ(crypto_pwhash_str_alg(sodium_str, "hunter2", 7, 2, 256 * 1024, crypto_pwhash_ALG_ARGON2ID13), 0);
  EXPECT_TRUE(std::string_view(sodium_str).starts_with("$argon2id$v=19$m=256,t=2,p=1$")) << sodium_str;
  EXPECT_TRUE(Matches("hunter2", sodium_str));
  EXPECT_FALSE(Matches("hunter3", sodium_str));

  const char salt[] = "0123456789abcdef";
  char encoded[256];
  ASSERT_EQ(argon2id_hash_encoded(2, 512, 2, "hunter2", 7, salt, 16, 24, encoded, sizeof encoded), ARGON2_OK);
  EXPECT_TRUE(Matches("hunter2", encoded)) << encoded;
  EXPECT_FALSE(Matches("hunter", encoded));
  // Version 1.0 strings ("v=16") from libargon2 too.
  char v10[256];
  std::uint8_t raw[32];
  ASSERT_EQ(argon2_hash(1, 64, 1, "pw", 2, salt, 16, raw, sizeof raw, v10, sizeof v10, Argon2_id, ARGON2_VERSION_10),
            ARGON2_OK);
  EXPECT_TRUE(std::string_view(v10).starts_with("$argon2id$v=16$")) << v10;
  EXPECT_TRUE(Matches("pw", v10));
  EXPECT_TRUE(NeedsRehash(v10, Argon2Params{.memory_kib = 64, .iterations = 1, .parallelism = 1}));
}

TEST(Argon2id, MalformedPhcStringsAreRejected) {
  const char* kBad[] = {
      "$argon2id$v=19$m=256,t=2,p=1$c29tZXNhbHQ",                                       // no tag
      "$argon2id$v=19$m=256,t=2$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4",  // no p
      "$argon2id$v=19$t=2,m=256,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4",  // order
      "$argon2id$v=18$m=256,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4",  // version
      "$argon2id$v=19$m=0256,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4",  // leading 0
      "$argon2id$v=19$m=256,t=0,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4",   // t=0
      "$argon2id$v=19$m=256,t=2,p=0$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4",   // p=0
      "$argon2id$v=19$m=4,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4",     // m < 8p
      "$argon2id$v=19$m=4194304,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4",  // 4 GiB
      "$argon2id$v=19$m=256,t=2,p=1$c29tZXNhbHQ=$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4",  // padding
      "$argon2id$v=19$m=256,t=2,p=1$c29tZQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4",       // 4-byte salt
      "$argon2id$v=19$m=256,t=2,p=1$c29tZXNhbHQ$nf6",                                       // bad b64
      "$argon2id$v=19$m=256,t=2,p=1,keyid=x$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4",
      "$argon2id$v=19$m=256,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4$",
  };
  for (const char* bad : kBad) {
    auto r = VerifyPassword("password", bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().code(), Code::kInvalidArgument) << bad;
    EXPECT_EQ(r.status().message().find("nf65EOg"), std::string::npos) << "message echoes the hash";
  }
  // Other Argon2 variants are not accepted as Argon2id.
  auto argon2i = VerifyPassword("password", "$argon2i$v=19$m=256,t=2,p=1$c29tZXNhbHQ$iekCn0Y3spW+sCcFanM2xBT63UP2sghkUoHLIUpWRS8");
  EXPECT_FALSE(argon2i.ok());
  EXPECT_FALSE(VerifyPassword("password", "").ok());
  EXPECT_FALSE(VerifyPassword("password", "plaintext-password").ok());
}

TEST(Argon2id, OverlongPasswordIsRefused) {
  std::string huge(kMaxPasswordBytes + 1, 'a');
  EXPECT_EQ(HashPassword(huge, kFast).status().code(), Code::kInvalidArgument);
  auto phc = HashPassword("a", kFast);
  ASSERT_TRUE(phc.ok());
  EXPECT_EQ(VerifyPassword(huge, *phc).status().code(), Code::kInvalidArgument);
  EXPECT_TRUE(HashPassword(std::string(kMaxPasswordBytes, 'a'), kFast).ok());
}

TEST(Argon2Params, ValidationNamesTheField) {
  auto msg = [](Argon2Params p) { return p.Validate().message(); };
  EXPECT_TRUE(Argon2Params{}.Validate().ok());
  EXPECT_NE(msg({.memory_kib = 4}).find("memory"), std::string::npos);
  EXPECT_NE(msg({.iterations = 0}).find("iterations"), std::string::npos);
  EXPECT_NE(msg({.parallelism = 0}).find("parallelism"), std::string::npos);
  EXPECT_NE(msg({.salt_bytes = 8}).find("salt"), std::string::npos);
  EXPECT_NE(msg({.tag_bytes = 8}).find("tag"), std::string::npos);
  EXPECT_FALSE(HashPassword("x", Argon2Params{.memory_kib = 4}).ok());
}

TEST(Argon2Params, OwaspMinimumTable) {
  EXPECT_TRUE((Argon2Params{.memory_kib = 47104, .iterations = 1}).MeetsOwaspMinimum());
  EXPECT_TRUE((Argon2Params{.memory_kib = 19456, .iterations = 2}).MeetsOwaspMinimum());
  EXPECT_TRUE((Argon2Params{.memory_kib = 12288, .iterations = 3}).MeetsOwaspMinimum());
  EXPECT_TRUE((Argon2Params{.memory_kib = 9216, .iterations = 4}).MeetsOwaspMinimum());
  EXPECT_TRUE((Argon2Params{.memory_kib = 7168, .iterations = 5}).MeetsOwaspMinimum());
  EXPECT_TRUE((Argon2Params{.memory_kib = 65536, .iterations = 3}).MeetsOwaspMinimum());
  EXPECT_FALSE((Argon2Params{.memory_kib = 19455, .iterations = 2}).MeetsOwaspMinimum());
  EXPECT_FALSE((Argon2Params{.memory_kib = 19456, .iterations = 1}).MeetsOwaspMinimum());
  EXPECT_FALSE((Argon2Params{.memory_kib = 7168, .iterations = 4}).MeetsOwaspMinimum());
  EXPECT_FALSE(kFast.MeetsOwaspMinimum());
}

// The known answers below were computed independently with Python's hashlib:
//   import hashlib, base64
//   pw = b"correct horse battery staple"
//   Django:   base64.b64encode(hashlib.pbkdf2_hmac("sha256", pw, b"Qm3kVb8RtZ1xLp0W", 480000))
//   passlib:  salt = bytes.fromhex("8f1e2d3c4b5a69788796a5b4c3d2e1f0"); ab64(x) =
//             base64.b64encode(x).decode().rstrip("=").replace("+", ".");
//             ab64(salt), ab64(hashlib.pbkdf2_hmac("sha256", pw, salt, 29000))
//   Werkzeug: hashlib.pbkdf2_hmac("sha256", pw, b"Zx81Pq02Lm93Kn47", 50000).hex()
// The Django one has the settings service's 480,000 iterations; passlib's and Werkzeug's use
// fewer (passlib's default 29,000) to keep the suite fast — the format is what they test.
constexpr const char* kDjangoHash =
    "pbkdf2_sha256$480000$Qm3kVb8RtZ1xLp0W$PWfQ70pvQyrYSoSMUd6sU4P3VLydnElzxTUhHwZyjVc=";
constexpr const char* kPasslibHash =
    "$pbkdf2-sha256$29000$jx4tPEtaaXiHlqW0w9Lh8A$aJ/EPykSaB9auNXvZ7L6CTZgqLyluwdrNiBIhqr/eQ0";
constexpr const char* kWerkzeugHash =
    "pbkdf2:sha256:50000$Zx81Pq02Lm93Kn47$b2669f4d57d1313f713d0577829066774568664fadd2c1bd5250523f09a23ac3";

TEST(Pbkdf2, DjangoPasslibAndWerkzeugKnownAnswers) {
  EXPECT_EQ(DetectPasswordScheme(kDjangoHash), PasswordScheme::kPbkdf2Django);
  EXPECT_EQ(DetectPasswordScheme(kPasslibHash), PasswordScheme::kPbkdf2Passlib);
  EXPECT_EQ(DetectPasswordScheme(kWerkzeugHash), PasswordScheme::kPbkdf2Werkzeug);
  for (const char* h : {kDjangoHash, kPasslibHash, kWerkzeugHash}) {
    EXPECT_TRUE(Matches("correct horse battery staple", h)) << h;
  }
  // A wrong password against the cheap ones (the 480,000-iteration one costs ~0.3 s per try).
  EXPECT_FALSE(Matches("Correct horse battery staple", kPasslibHash));
  EXPECT_FALSE(Matches("Correct horse battery staple", kWerkzeugHash));
}

TEST(Pbkdf2, SmallIterationRoundTripAndTampering) {
  // Django-format string built here from the RFC 7914 primitive (1 iteration keeps it fast).
  auto dk = Pbkdf2HmacSha256("secret", "saltsalt", 1, 32);
  ASSERT_TRUE(dk.ok());
  std::string django = "pbkdf2_sha256$1$saltsalt$" + Base64Encode(*dk);
  EXPECT_TRUE(Matches("secret", django));
  EXPECT_FALSE(Matches("secreT", django));
  std::string other_salt = "pbkdf2_sha256$1$saltsalT$" + Base64Encode(*dk);
  EXPECT_FALSE(Matches("secret", other_salt));
  std::string other_iter = "pbkdf2_sha256$2$saltsalt$" + Base64Encode(*dk);
  EXPECT_FALSE(Matches("secret", other_iter));
}

TEST(Pbkdf2, MalformedHashesAreRejected) {
  const char* kBad[] = {
      "pbkdf2_sha256$480000$salt",                   // missing hash
      "pbkdf2_sha256$abc$salt$PWfQ70pvQyrYSoSMUd6sU4P3VLydnElzxTUhHwZyjVc=",
      "pbkdf2_sha256$0$salt$PWfQ70pvQyrYSoSMUd6sU4P3VLydnElzxTUhHwZyjVc=",
      "pbkdf2_sha256$99999999$salt$PWfQ70pvQyrYSoSMUd6sU4P3VLydnElzxTUhHwZyjVc=",  // above the bound
      "pbkdf2_sha256$480000$$PWfQ70pvQyrYSoSMUd6sU4P3VLydnElzxTUhHwZyjVc=",
      "pbkdf2_sha256$480000$salt$not base64",
      "$pbkdf2-sha256$480000$jx4tPEtaaXiHlqW0w9Lh8A",
      "$pbkdf2-sha256$480000$jx4t+EtaaXiHlqW0w9Lh8A$Tyrv4C7WSLQqBHmt/J0k.487MCQsrMAR6xhqNhSCVmk",  // '+' not ab64
      "pbkdf2:sha256:600000$salt$zz",
      "pbkdf2:sha256$salt$d7ab",  // no iteration count
  };
  for (const char* bad : kBad) {
    auto r = VerifyPassword("x", bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().code(), Code::kInvalidArgument) << bad;
  }
}

TEST(Rehash, PolicyDecisions) {
  Argon2Params current{.memory_kib = 128, .iterations = 2, .parallelism = 1};
  auto same = HashPassword("pw", current);
  ASSERT_TRUE(same.ok());
  EXPECT_FALSE(NeedsRehash(*same, current));
  auto weaker = HashPassword("pw", Argon2Params{.memory_kib = 64, .iterations = 2, .parallelism = 1});
  ASSERT_TRUE(weaker.ok());
  EXPECT_TRUE(NeedsRehash(*weaker, current));
  auto fewer_passes = HashPassword("pw", Argon2Params{.memory_kib = 128, .iterations = 1, .parallelism = 1});
  ASSERT_TRUE(fewer_passes.ok());
  EXPECT_TRUE(NeedsRehash(*fewer_passes, current));
  auto more_lanes = HashPassword("pw", Argon2Params{.memory_kib = 128, .iterations = 2, .parallelism = 2});
  ASSERT_TRUE(more_lanes.ok());
  EXPECT_TRUE(NeedsRehash(*more_lanes, current));
  auto short_tag = HashPassword("pw", Argon2Params{.memory_kib = 128, .iterations = 2, .parallelism = 1, .tag_bytes = 16});
  ASSERT_TRUE(short_tag.ok());
  EXPECT_TRUE(NeedsRehash(*short_tag, current));
  EXPECT_TRUE(NeedsRehash(kDjangoHash, current));
  EXPECT_TRUE(NeedsRehash(kPasslibHash, current));
  EXPECT_TRUE(NeedsRehash(kWerkzeugHash, current));
  EXPECT_TRUE(NeedsRehash("garbage", current));
  // Raising the configured parameters flags hashes made under the old ones.
  EXPECT_TRUE(NeedsRehash(*same, Argon2Params{.memory_kib = 256, .iterations = 2, .parallelism = 1}));
}

TEST(Rehash, LoginUpgradeFlowFromPbkdf2) {
  // What the login path does: verify the legacy hash, then replace it.
  Argon2Params current = kFast;
  auto dk = Pbkdf2HmacSha256("legacy-pw", "0123456789abcdef", 10, 32);
  ASSERT_TRUE(dk.ok());
  std::string stored = "pbkdf2_sha256$10$0123456789abcdef$" + Base64Encode(*dk);
  ASSERT_TRUE(Matches("legacy-pw", stored));
  ASSERT_TRUE(NeedsRehash(stored, current));
  auto upgraded = HashPassword("legacy-pw", current);
  ASSERT_TRUE(upgraded.ok());
  EXPECT_TRUE(Matches("legacy-pw", *upgraded));
  EXPECT_FALSE(NeedsRehash(*upgraded, current));
}

}  // namespace
}  // namespace plinth::crypto
