// JWT HS256: round trip, and the forgeries of RFC 8725 / OWASP — alg none, algorithm substitution
// (HS384/HS512, RS256/ES256, HS256 keyed with a public key), key material in the header
// (jwk/jku/x5u/x5c/crit), kid injection, typ confusion between access and refresh tokens, wrong
// iss/aud, expiry, nbf, iat, tampering, malformed segments — and key configuration errors.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <chrono>
#include <string>

#include "plinth/crypto.h"
#include "plinth/jwt.h"

namespace plinth::crypto {
namespace {

using json = nlohmann::json;
using std::chrono::seconds;
using std::chrono::sys_seconds;

const std::string kSecret = "0123456789abcdefghijklmnopqrstuvwxyzABCDEF";  // 42 bytes, 42 distinct
const std::string kOtherSecret = "ZYXWVUTSRQPONMLKJIHGFEDCBAzyxwvutsrqponmlk";
const sys_seconds kNow{seconds(1'700'000'000)};

JwtCodec MakeCodec(std::vector<JwtKey> keys = {{"", kSecret}}, std::string current = "") {
  auto codec = JwtCodec::Create({.issuer = "https://plinth.test",
                                 .audience = "plinth-api",
                                 .keys = std::move(keys),
                                 .current_key_id = std::move(current),
                                 .leeway = seconds(30)});
  EXPECT_TRUE(codec.ok()) << codec.status().ToString();
  return std::move(codec).value();
}

JwtClaims BaseClaims() {
  JwtClaims c;
  c.subject = "user-42";
  c.jti = "jti-1";
  c.tenant_id = "tenant-7";
  c.session_id = "session-9";
  c.roles = {"admin", "editor"};
  c.issued_at = kNow;
  c.expires_at = kNow + seconds(900);
  c.extra = {{"email", "a@example.com"}, {"scope", "read write"}};
  return c;
}

json BaseHeader(std::string typ = "at+jwt") { return {{"alg", "HS256"}, {"typ", typ}}; }

json BasePayload() {
  return {{"iss", "https://plinth.test"}, {"aud", "plinth-api"}, {"sub", "user-42"},
          {"jti", "jti-1"},               {"iat", 1'700'000'000},  {"exp", 1'700'000'900}};
}

std::string B64(std::string_view s) { return Base64UrlEncode(s); }

std::string Mac(const EVP_MD* md, std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(md, key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()), data.size(),
       out, &len);
  return std::string(reinterpret_cast<char*>(out), len);
}

// A token assembled by hand (as an attacker would), MAC'd with `md` under `key`.
std::string Forge(const json& header, const json& payload, std::string_view key = kSecret,
                  const EVP_MD* md = EVP_sha256()) {
  std::string input = B64(header.dump()) + "." + B64(payload.dump());
  return input + "." + B64(Mac(md, key, input));
}

Status VerifyStatus(const JwtCodec& codec, std::string_view token, TokenType type = TokenType::kAccess,
                    sys_seconds now = kNow) {
  auto r = codec.Verify(token, type, now);
  return r.ok() ? Status::Ok() : r.status();
}

void ExpectRefused(const JwtCodec& codec, std::string_view token, std::string_view reason,
                   TokenType type = TokenType::kAccess, sys_seconds now = kNow) {
  Status s = VerifyStatus(codec, token, type, now);
  ASSERT_FALSE(s.ok()) << "accepted: " << token;
  EXPECT_EQ(s.code(), Code::kUnauthenticated);
  EXPECT_NE(s.message().find(reason), std::string::npos) << s.message();
  if (token.size() > 8) {
    EXPECT_EQ(s.message().find(std::string(token)), std::string::npos) << "message echoes the token";
  }
}

TEST(Jwt, SignAndVerifyRoundTrip) {
  JwtCodec codec = MakeCodec();
  JwtClaims claims = BaseClaims();
  claims.not_before = kNow - seconds(5);
  auto token = codec.Sign(claims, TokenType::kAccess);
  ASSERT_TRUE(token.ok()) << token.status().ToString();
  auto verified = codec.Verify(*token, TokenType::kAccess, kNow);
  ASSERT_TRUE(verified.ok()) << verified.status().ToString();
  EXPECT_EQ(verified->subject, "user-42");
  EXPECT_EQ(verified->jti, "jti-1");
  EXPECT_EQ(verified->tenant_id, "tenant-7");
  EXPECT_EQ(verified->session_id, "session-9");
  EXPECT_EQ(verified->roles, (std::vector<std::string>{"admin", "editor"}));
  EXPECT_EQ(verified->issued_at, kNow);
  EXPECT_EQ(verified->expires_at, kNow + seconds(900));
  ASSERT_TRUE(verified->not_before.has_value());
  EXPECT_EQ(*verified->not_before, kNow - seconds(5));
  EXPECT_EQ(verified->extra, (json{{"email", "a@example.com"}, {"scope", "read write"}}));
  // The header is exactly what the verifier demands; no padding anywhere.
  std::string header = *Base64UrlDecode(token->substr(0, token->find('.')));
  EXPECT_EQ(json::parse(header), (json{{"alg", "HS256"}, {"typ", "at+jwt"}}));
  EXPECT_EQ(token->find('='), std::string::npos);
}

TEST(Jwt, HandBuiltTokenVerifies) {
  // Sanity check of the forging helper: a correct hand-built token is accepted, so the refusals
  // below are caused by the one thing each test changes.
  EXPECT_TRUE(VerifyStatus(MakeCodec(), Forge(BaseHeader(), BasePayload())).ok());
}

TEST(Jwt, AlgNoneIsRefused) {
  JwtCodec codec = MakeCodec();
  for (const char* alg : {"none", "None", "NONE", "nOnE"}) {
    json h = {{"alg", alg}, {"typ", "at+jwt"}};
    std::string unsigned_token = B64(h.dump()) + "." + B64(BasePayload().dump()) + ".";
    ExpectRefused(codec, unsigned_token, "");
    // Even with a valid HS256 MAC over it.
    ExpectRefused(codec, Forge(h, BasePayload()), "algorithm must be HS256");
  }
}

TEST(Jwt, OtherAlgorithmsAreRefused) {
  JwtCodec codec = MakeCodec();
  // HS384 / HS512 with correct MACs under the real secret.
  ExpectRefused(codec, Forge({{"alg", "HS384"}, {"typ", "at+jwt"}}, BasePayload(), kSecret, EVP_sha384()),
                "algorithm must be HS256");
  ExpectRefused(codec, Forge({{"alg", "HS512"}, {"typ", "at+jwt"}}, BasePayload(), kSecret, EVP_sha512()),
                "algorithm must be HS256");
  for (const char* alg : {"RS256", "ES256", "PS256", "EdDSA", "hs256", "HS256 ", ""}) {
    ExpectRefused(codec, Forge({{"alg", alg}, {"typ", "at+jwt"}}, BasePayload()), "algorithm must be HS256");
  }
  ExpectRefused(codec, Forge({{"typ", "at+jwt"}}, BasePayload()), "algorithm must be HS256");
  ExpectRefused(codec, Forge({{"alg", json::array({"HS256"})}, {"typ", "at+jwt"}}, BasePayload()),
                "algorithm must be HS256");
}

TEST(Jwt, KeyConfusionWithAPublicKeyFails) {
  // The classic RS256→HS256 attack: MAC the token with the server's public key as HMAC secret.
  const std::string public_key_pem =
      "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE6vMPl8WTE1pBsVWAgUVj1t0KKb1e\n"
      "-----END PUBLIC KEY-----\n";
  JwtCodec codec = MakeCodec();
  ExpectRefused(codec, Forge(BaseHeader(), BasePayload(), public_key_pem), "signature mismatch");
  ExpectRefused(codec, Forge({{"alg", "RS256"}, {"typ", "at+jwt"}}, BasePayload(), public_key_pem),
                "algorithm must be HS256");
}

TEST(Jwt, KeyMaterialAndCriticalHeadersAreRefused) {
  JwtCodec codec = MakeCodec();
  const json jwk = {{"kty", "oct"}, {"k", B64("attacker-chosen-key-material-32by")}};
  struct Case {
    const char* name;
    json value;
  };
  const Case kCases[] = {{"jwk", jwk},
                         {"jku", "https://attacker.example/jwks.json"},
                         {"x5u", "https://attacker.example/cert.pem"},
                         {"x5c", json::array({"MIIB..."})},
                         {"x5t", "abc"},
                         {"x5t#S256", "abc"},
                         {"crit", json::array({"exp"})}};
  for (const Case& c : kCases) {
    json h = BaseHeader();
    h[c.name] = c.value;
    // Correctly MAC'd with the real key: the header alone is the reason.
    ExpectRefused(codec, Forge(h, BasePayload()), std::string("\"") + c.name + "\" is not accepted");
  }
  // The jwk attack proper: MAC'd with the key the attacker embedded.
  json h = BaseHeader();
  h["jwk"] = jwk;
  ExpectRefused(codec, Forge(h, BasePayload(), "attacker-chosen-key-material-32by"), "not accepted");
}

TEST(Jwt, KidIsOnlyAPlainLookup) {
  JwtCodec codec = MakeCodec({{"k1", kSecret}, {"k2", kOtherSecret}}, "k2");
  for (const char* kid : {"k3", "../../../dev/null", "k1' OR '1'='1", "", "/etc/passwd", "K1"}) {
    json h = BaseHeader();
    h["kid"] = kid;
    ExpectRefused(codec, Forge(h, BasePayload(), ""), "kid");
    ExpectRefused(codec, Forge(h, BasePayload(), kSecret), "kid");
  }
  json h = BaseHeader();
  h["kid"] = 1;
  ExpectRefused(codec, Forge(h, BasePayload()), "kid must be a string");
  // Several keys and no kid: refused rather than guessed.
  ExpectRefused(codec, Forge(BaseHeader(), BasePayload()), "missing kid");
  // kid naming k1 but MAC'd with k2's secret.
  h["kid"] = "k1";
  ExpectRefused(codec, Forge(h, BasePayload(), kOtherSecret), "signature mismatch");
}

TEST(Jwt, RotationVerifiesOldKeyAndSignsWithCurrent) {
  JwtCodec old_codec = MakeCodec({{"k1", kSecret}}, "k1");
  auto old_token = old_codec.Sign(BaseClaims(), TokenType::kAccess);
  ASSERT_TRUE(old_token.ok());
  JwtCodec rotated = MakeCodec({{"k1", kSecret}, {"k2", kOtherSecret}}, "k2");
  EXPECT_TRUE(VerifyStatus(rotated, *old_token).ok());
  auto new_token = rotated.Sign(BaseClaims(), TokenType::kAccess);
  ASSERT_TRUE(new_token.ok());
  json header = json::parse(*Base64UrlDecode(new_token->substr(0, new_token->find('.'))));
  EXPECT_EQ(header["kid"], "k2");
  EXPECT_TRUE(VerifyStatus(rotated, *new_token).ok());
  ExpectRefused(old_codec, *new_token, "unknown kid");  // k2 is not known to the old config
  // Retiring k1 invalidates its tokens.
  JwtCodec retired = MakeCodec({{"k2", kOtherSecret}}, "k2");
  ExpectRefused(retired, *old_token, "unknown kid");
}

TEST(Jwt, TypConfusionBetweenAccessAndRefreshIsRefused) {
  JwtCodec codec = MakeCodec();
  auto access = codec.Sign(BaseClaims(), TokenType::kAccess);
  auto refresh = codec.Sign(BaseClaims(), TokenType::kRefresh);
  ASSERT_TRUE(access.ok() && refresh.ok());
  EXPECT_TRUE(VerifyStatus(codec, *access, TokenType::kAccess).ok());
  EXPECT_TRUE(VerifyStatus(codec, *refresh, TokenType::kRefresh).ok());
  ExpectRefused(codec, *refresh, "typ must be \"at+jwt\"", TokenType::kAccess);
  ExpectRefused(codec, *access, "typ must be \"refresh+jwt\"", TokenType::kRefresh);
  // Missing typ, generic "JWT", non-string: refused. The media-type form is accepted (RFC 9068).
  ExpectRefused(codec, Forge({{"alg", "HS256"}}, BasePayload()), "typ");
  ExpectRefused(codec, Forge(BaseHeader("JWT"), BasePayload()), "typ");
  ExpectRefused(codec, Forge({{"alg", "HS256"}, {"typ", 1}}, BasePayload()), "typ");
  EXPECT_TRUE(VerifyStatus(codec, Forge(BaseHeader("application/at+jwt"), BasePayload())).ok());
  EXPECT_TRUE(VerifyStatus(codec, Forge(BaseHeader("AT+JWT"), BasePayload())).ok());
}

TEST(Jwt, IssuerAndAudienceMustMatch) {
  JwtCodec codec = MakeCodec();
  json p = BasePayload();
  p["iss"] = "https://evil.test";
  ExpectRefused(codec, Forge(BaseHeader(), p), "wrong issuer");
  p.erase("iss");
  ExpectRefused(codec, Forge(BaseHeader(), p), "wrong issuer");
  p = BasePayload();
  p["aud"] = "other-api";
  ExpectRefused(codec, Forge(BaseHeader(), p), "wrong audience");
  p["aud"] = json::array({"other-api", "third"});
  ExpectRefused(codec, Forge(BaseHeader(), p), "wrong audience");
  p["aud"] = json::array({"other-api", "plinth-api"});
  EXPECT_TRUE(VerifyStatus(codec, Forge(BaseHeader(), p)).ok());
  p.erase("aud");
  ExpectRefused(codec, Forge(BaseHeader(), p), "wrong audience");
  // A codec for another audience refuses our tokens.
  auto other = JwtCodec::Create({.issuer = "https://plinth.test", .audience = "billing", .keys = {{"", kSecret}}});
  ASSERT_TRUE(other.ok());
  auto token = codec.Sign(BaseClaims(), TokenType::kAccess);
  ExpectRefused(*other, *token, "wrong audience");
}

TEST(Jwt, ExpiryNotBeforeAndIssuedAtWithBoundedLeeway) {
  JwtCodec codec = MakeCodec();  // leeway 30 s
  auto token = codec.Sign(BaseClaims(), TokenType::kAccess);  // exp = now + 900
  ASSERT_TRUE(token.ok());
  sys_seconds exp = kNow + seconds(900);
  EXPECT_TRUE(VerifyStatus(codec, *token, TokenType::kAccess, exp + seconds(29)).ok());
  ExpectRefused(codec, *token, "expired", TokenType::kAccess, exp + seconds(30));
  ExpectRefused(codec, *token, "expired", TokenType::kAccess, exp + seconds(86400));

  JwtClaims future = BaseClaims();
  future.not_before = kNow + seconds(120);
  auto nbf_token = codec.Sign(future, TokenType::kAccess);
  ASSERT_TRUE(nbf_token.ok());
  ExpectRefused(codec, *nbf_token, "not yet valid", TokenType::kAccess, kNow);
  EXPECT_TRUE(VerifyStatus(codec, *nbf_token, TokenType::kAccess, kNow + seconds(90)).ok());

  json p = BasePayload();
  p["iat"] = 1'700'000'000 + 3600;
  ExpectRefused(codec, Forge(BaseHeader(), p), "issued in the future");

  for (const char* claim : {"exp", "iat"}) {
    json missing = BasePayload();
    missing.erase(claim);
    ExpectRefused(codec, Forge(BaseHeader(), missing), std::string("missing \"") + claim + "\"");
    json wrong_type = BasePayload();
    wrong_type[claim] = "1700000900";
    ExpectRefused(codec, Forge(BaseHeader(), wrong_type), "not a number");
    wrong_type[claim] = -1;
    ExpectRefused(codec, Forge(BaseHeader(), wrong_type), "out of range");
  }
  // Fractional NumericDates are legal.
  p = BasePayload();
  p["exp"] = 1'700'000'900.5;
  EXPECT_TRUE(VerifyStatus(codec, Forge(BaseHeader(), p)).ok());

  auto too_lax = JwtCodec::Create({.issuer = "i", .audience = "a", .keys = {{"", kSecret}}, .leeway = seconds(301)});
  EXPECT_EQ(too_lax.status().code(), Code::kInvalidArgument);
}

TEST(Jwt, RequiredClaimsAndTypes) {
  JwtCodec codec = MakeCodec();
  for (const char* claim : {"sub", "jti"}) {
    json p = BasePayload();
    p.erase(claim);
    ExpectRefused(codec, Forge(BaseHeader(), p), claim);
    p[claim] = "";
    ExpectRefused(codec, Forge(BaseHeader(), p), claim);
    p[claim] = 5;
    ExpectRefused(codec, Forge(BaseHeader(), p), claim);
  }
  json p = BasePayload();
  p["roles"] = "admin";
  ExpectRefused(codec, Forge(BaseHeader(), p), "roles");
  p["roles"] = json::array({"admin", 1});
  ExpectRefused(codec, Forge(BaseHeader(), p), "roles");
  p = BasePayload();
  p["tid"] = 7;
  ExpectRefused(codec, Forge(BaseHeader(), p), "tid");
}

TEST(Jwt, TamperingIsDetected) {
  JwtCodec codec = MakeCodec();
  auto token = codec.Sign(BaseClaims(), TokenType::kAccess);
  ASSERT_TRUE(token.ok());
  std::size_t dot1 = token->find('.'), dot2 = token->rfind('.');
  // Payload with a different subject, original signature.
  json p = json::parse(*Base64UrlDecode(token->substr(dot1 + 1, dot2 - dot1 - 1)));
  p["sub"] = "admin";
  std::string swapped = token->substr(0, dot1 + 1) + B64(p.dump()) + token->substr(dot2);
  ExpectRefused(codec, swapped, "signature mismatch");
  // Roles escalated.
  p = json::parse(*Base64UrlDecode(token->substr(dot1 + 1, dot2 - dot1 - 1)));
  p["roles"] = json::array({"superadmin"});
  ExpectRefused(codec, token->substr(0, dot1 + 1) + B64(p.dump()) + token->substr(dot2), "signature mismatch");
  // Every single-character change of the signature segment.
  const std::string b64chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  for (std::size_t i = dot2 + 1; i < token->size(); ++i) {
    std::string t = *token;
    t[i] = t[i] == 'A' ? 'B' : 'A';
    EXPECT_FALSE(codec.Verify(t, TokenType::kAccess, kNow).ok()) << "signature char " << i;
  }
  // Every single-character change of header and payload.
  for (std::size_t i = 0; i < dot2; ++i) {
    if ((*token)[i] == '.') continue;
    std::string t = *token;
    t[i] = t[i] == 'A' ? 'B' : 'A';
    EXPECT_FALSE(codec.Verify(t, TokenType::kAccess, kNow).ok()) << "char " << i;
  }
  // Signed with another secret.
  ExpectRefused(codec, Forge(BaseHeader(), BasePayload(), kOtherSecret), "signature mismatch");
}

TEST(Jwt, MalformedTokensAreRefused) {
  JwtCodec codec = MakeCodec();
  std::string good = Forge(BaseHeader(), BasePayload());
  std::size_t dot2 = good.rfind('.');
  std::string h = B64(BaseHeader().dump()), p = B64(BasePayload().dump());
  ExpectRefused(codec, good.substr(0, dot2 + 1), "empty segment");          // empty signature
  ExpectRefused(codec, good.substr(0, dot2), "three dot-separated");        // two segments
  ExpectRefused(codec, good + ".extra", "three dot-separated");             // four segments
  ExpectRefused(codec, good + ".", "three dot-separated");
  ExpectRefused(codec, "." + p + "." + good.substr(dot2 + 1), "empty segment");
  ExpectRefused(codec, "", "three dot-separated");
  ExpectRefused(codec, "..", "empty segment");
  ExpectRefused(codec, "not-a-token", "three dot-separated");
  ExpectRefused(codec, good + "=", "malformed signature");                   // padding
  ExpectRefused(codec, h + "=." + p + "." + good.substr(dot2 + 1), "header is not base64url");
  ExpectRefused(codec, h + "." + p + "." + B64(std::string(16, 'x')), "malformed signature");  // short MAC
  ExpectRefused(codec, std::string(9000, 'a'), "too long");
  // Header / payload that are not JSON objects (MAC'd correctly).
  auto mac_over = [&](const std::string& header_b64, const std::string& payload_b64) {
    std::string input = header_b64 + "." + payload_b64;
    return input + "." + B64(Mac(EVP_sha256(), kSecret, input));
  };
  ExpectRefused(codec, mac_over(B64("not json"), p), "header is not valid JSON");
  ExpectRefused(codec, mac_over(B64("[\"HS256\"]"), p), "header is not a JSON object");
  ExpectRefused(codec, mac_over(h, B64("{\"sub\":")), "payload is not valid JSON");
  ExpectRefused(codec, mac_over(h, B64("[1,2]")), "payload is not a JSON object");
  ExpectRefused(codec, mac_over(h, B64("\"string\"")), "payload is not a JSON object");
  // Duplicate member names (parser-differential attacks).
  ExpectRefused(codec, mac_over(B64(R"({"alg":"none","alg":"HS256","typ":"at+jwt"})"), p), "duplicate member");
  ExpectRefused(codec,
                mac_over(h, B64(R"({"iss":"https://plinth.test","aud":"plinth-api","sub":"user-42","sub":"admin",)"
                                R"("jti":"j","iat":1700000000,"exp":1700000900})")),
                "duplicate member");
}

TEST(Jwt, ShortOrWeakSecretsAreRefusedAtConfiguration) {
  auto short_key = JwtCodec::Create({.issuer = "i", .audience = "a", .keys = {{"k1", std::string(kSecret, 0, 31)}}});
  ASSERT_FALSE(short_key.ok());
  EXPECT_EQ(short_key.status().code(), Code::kInvalidArgument);
  EXPECT_NE(short_key.status().message().find("31 bytes"), std::string::npos) << short_key.status().message();
  EXPECT_NE(short_key.status().message().find("256 bits"), std::string::npos);
  EXPECT_NE(short_key.status().message().find("'k1'"), std::string::npos);
  EXPECT_EQ(short_key.status().message().find(kSecret.substr(0, 31)), std::string::npos);

  auto placeholder = JwtCodec::Create({.issuer = "i", .audience = "a", .keys = {{"", std::string(64, 'x')}}});
  ASSERT_FALSE(placeholder.ok());
  EXPECT_NE(placeholder.status().message().find("distinct"), std::string::npos);

  EXPECT_TRUE(JwtCodec::Create({.issuer = "i", .audience = "a", .keys = {{"", std::string(kSecret, 0, 32)}}}).ok());
  EXPECT_FALSE(JwtCodec::Create({.issuer = "", .audience = "a", .keys = {{"", kSecret}}}).ok());
  EXPECT_FALSE(JwtCodec::Create({.issuer = "i", .audience = "", .keys = {{"", kSecret}}}).ok());
  EXPECT_FALSE(JwtCodec::Create({.issuer = "i", .audience = "a", .keys = {}}).ok());
  EXPECT_FALSE(JwtCodec::Create({.issuer = "i", .audience = "a", .keys = {{"k1", kSecret}, {"k1", kOtherSecret}},
                                 .current_key_id = "k1"})
                   .ok());
  EXPECT_FALSE(JwtCodec::Create({.issuer = "i", .audience = "a", .keys = {{"k1", kSecret}, {"k2", kOtherSecret}}}).ok());
  EXPECT_FALSE(JwtCodec::Create({.issuer = "i", .audience = "a", .keys = {{"k1", kSecret}}, .current_key_id = "k9"}).ok());
}

TEST(Jwt, SignRefusesIncompleteClaims) {
  JwtCodec codec = MakeCodec();
  JwtClaims c = BaseClaims();
  c.subject.clear();
  EXPECT_EQ(codec.Sign(c, TokenType::kAccess).status().code(), Code::kInvalidArgument);
  c = BaseClaims();
  c.jti.clear();
  EXPECT_FALSE(codec.Sign(c, TokenType::kAccess).ok());
  c = BaseClaims();
  c.expires_at = c.issued_at;
  EXPECT_FALSE(codec.Sign(c, TokenType::kAccess).ok());
  c = BaseClaims();
  c.extra["sub"] = "admin";
  EXPECT_FALSE(codec.Sign(c, TokenType::kAccess).ok());
  c = BaseClaims();
  c.extra = json::array();
  EXPECT_FALSE(codec.Sign(c, TokenType::kAccess).ok());
}

TEST(Jwt, RandomTokenIdsAreDistinct) {
  std::string a = RandomTokenId(), b = RandomTokenId();
  EXPECT_EQ(a.size(), 22u);
  EXPECT_NE(a, b);
  EXPECT_TRUE(Base64UrlDecode(a).ok());
}

}  // namespace
}  // namespace plinth::crypto
