// The cases of authn_cases.h, compiled once into the layer's cases library and run by both
// test binaries (SQLite and PostgreSQL).
#include "auth/authn_cases.h"

namespace plinth::testing {

void CaseKeyTypoRejectedWithoutQuery(const std::string& backend) {
  AuthDb d(backend, "tenants.toml");
  ASSERT_TRUE(d.ok());
  SeedTenants(d);
  auto key = MakeKey(d, Spec(kOrgA, kBob, {"notes:read"}));
  IoRunner io;
  auto pool = Pool();
  Server s(d, io, *pool);
  // One character of the secret changed: the checksum no longer matches.
  std::string typo = key.key;
  const size_t at = crypto::kApiKeyPrefix.size() + 1 + crypto::kApiKeyLookupChars + 1 + 5;
  typo[at] = typo[at] == 'a' ? 'b' : 'a';
  const uint64_t batches = s.db().Stats().batches;
  auto r = s.Await(s.a().AuthenticateApiKey(typo, "127.0.0.1"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kUnauthenticated);
  EXPECT_EQ(s.db().Stats().batches, batches);  // no statement reached the database
  EXPECT_EQ(s.a().Stats().key_lookups, 0u);
  // The real key works; the principal is bob's, in org A, with the key's scope.
  auto ok = s.Await(s.a().AuthenticateApiKey(key.key, "127.0.0.1"));
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(ok->principal.tenant_id, kOrgA);
  EXPECT_EQ(ok->principal.user_id, kBob);
  EXPECT_EQ(ok->principal.kind, data::Principal::Kind::kApiKey);
  EXPECT_EQ(ok->principal.permissions, std::vector<std::string>{"notes:read"});
  EXPECT_EQ(ok->principal.roles, std::vector<std::string>{"member"});
  EXPECT_EQ(ok->key.key_id, key.id);
  // Only the hash is stored.
  auto c = d.Admin();
  EXPECT_EQ(One(*c, "SELECT count(*) FROM api_keys WHERE key_hash = '" + key.key + "'"), "0");
  EXPECT_EQ(One(*c, "SELECT key_hash FROM api_keys WHERE prefix = '" + key.lookup_id + "'").size(), 64u);
  // A second use is served from the cache: no further lookup.
  ASSERT_TRUE(s.Await(s.a().AuthenticateApiKey(key.key, "127.0.0.1")).ok());
  EXPECT_EQ(s.a().Stats().key_lookups, 1u);
  // An unknown (well-formed) key: one lookup, then a negative cache entry.
  auto other = crypto::ApiKeyHasher::Create()->Generate();
  EXPECT_FALSE(s.Await(s.a().AuthenticateApiKey(other.key, "127.0.0.1")).ok());
  EXPECT_FALSE(s.Await(s.a().AuthenticateApiKey(other.key, "127.0.0.1")).ok());
  EXPECT_EQ(s.a().Stats().key_lookups, 2u);
}

void CaseKeyExpiryIpsAndTenants(const std::string& backend) {
  AuthDb d(backend, "tenants.toml");
  ASSERT_TRUE(d.ok());
  SeedTenants(d);
  auto expired_spec = Spec(kOrgA);
  expired_spec.expires_at = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now()) - std::chrono::seconds(5);
  auto expired = MakeKey(d, expired_spec);
  auto fenced_spec = Spec(kOrgA);
  fenced_spec.allowed_ips = {"10.0.0.0/8", "2001:db8::/32"};
  fenced_spec.rate_limit = 120;
  auto fenced = MakeKey(d, fenced_spec);
  auto carol = MakeKey(d, Spec(kOrgB, kCarol));
  IoRunner io;
  auto pool = Pool();
  Server s(d, io, *pool);
  auto e = s.Await(s.a().AuthenticateApiKey(expired.key, "127.0.0.1"));
  EXPECT_EQ(e.status().code(), Code::kUnauthenticated);
  auto f = s.Await(s.a().AuthenticateApiKey(fenced.key, "127.0.0.1"));
  EXPECT_EQ(f.status().code(), Code::kPermissionDenied);
  EXPECT_EQ(s.Await(s.a().AuthenticateApiKey(fenced.key, "192.168.1.1")).status().code(), Code::kPermissionDenied);
  auto in = s.Await(s.a().AuthenticateApiKey(fenced.key, "10.20.30.40"));
  ASSERT_TRUE(in.ok()) << in.status().ToString();
  EXPECT_EQ(in->key.rate_limit, std::optional<int64_t>(120));
  EXPECT_TRUE(s.Await(s.a().AuthenticateApiKey(fenced.key, "2001:db8:1::7")).ok());
  EXPECT_TRUE(s.Await(s.a().AuthenticateApiKey(fenced.key, "::ffff:10.0.0.1")).ok());
  // Carol's key is org B's: its principal can only ever act in B.
  auto c = s.Await(s.a().AuthenticateApiKey(carol.key, "127.0.0.1"));
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->principal.tenant_id, kOrgB);
  // An admin of org A cannot revoke org B's key; org B's can.
  EXPECT_EQ(s.Await(s.a().RevokeApiKey(AdminOf(kOrgA), carol.id)).code(), Code::kNotFound);
  EXPECT_TRUE(s.Await(s.a().AuthenticateApiKey(carol.key, "127.0.0.1")).ok());
  data::Principal member = AdminOf(kOrgB);
  member.role = "member";
  member.roles = {"member"};
  EXPECT_EQ(s.Await(s.a().RevokeApiKey(member, carol.id)).code(), Code::kPermissionDenied);
  EXPECT_TRUE(s.Await(s.a().RevokeApiKey(AdminOf(kOrgB), carol.id)).ok());
  EXPECT_EQ(s.Await(s.a().AuthenticateApiKey(carol.key, "127.0.0.1")).status().code(), Code::kUnauthenticated);
}

void CaseRevocationReachesOtherServer(const std::string& backend) {
  AuthDb d(backend, "tenants.toml");
  ASSERT_TRUE(d.ok());
  SeedTenants(d);
  auto key = MakeKey(d, Spec(kOrgA));
  IoRunner io;
  auto pool = Pool();
  Server one(d, io, *pool);
  Server two(d, io, *pool);
  ASSERT_TRUE(one.Await(one.a().AuthenticateApiKey(key.key, "127.0.0.1")).ok());
  ASSERT_TRUE(two.Await(two.a().AuthenticateApiKey(key.key, "127.0.0.1")).ok());  // cached on both
  // Revoked by another process's path (the CLI's): neither server did it.
  auto c = d.Admin();
  const auto revoked_at = std::chrono::steady_clock::now();
  ASSERT_TRUE(auth::RevokeApiKey(*c, d.schema(), d.config(), key.lookup_id).ok());
  // Each server hears of it on its own listener: poll both until each refuses the key.
  std::optional<std::chrono::steady_clock::duration> took_one, took_two;
  while ((!took_one || !took_two) && std::chrono::steady_clock::now() - revoked_at < std::chrono::milliseconds(1500)) {
    if (!took_one && !one.Await(one.a().AuthenticateApiKey(key.key, "127.0.0.1")).ok()) {
      took_one = std::chrono::steady_clock::now() - revoked_at;
    }
    if (!took_two && !two.Await(two.a().AuthenticateApiKey(key.key, "127.0.0.1")).ok()) {
      took_two = std::chrono::steady_clock::now() - revoked_at;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_TRUE(took_one.has_value()) << "server one still accepts the revoked key";
  ASSERT_TRUE(took_two.has_value()) << "server two still accepts the revoked key";
  EXPECT_LT(*took_one, std::chrono::milliseconds(1100)) << "revocation must be visible within one second";
  EXPECT_LT(*took_two, std::chrono::milliseconds(1100)) << "revocation must be visible within one second";
  // And it stays refused (a refused key is not cached as valid again).
  EXPECT_FALSE(one.Await(one.a().AuthenticateApiKey(key.key, "127.0.0.1")).ok());
  EXPECT_FALSE(two.Await(two.a().AuthenticateApiKey(key.key, "127.0.0.1")).ok());
}

void CaseLastUsedIsBatched(const std::string& backend) {
  AuthDb d(backend, "tenants.toml");
  ASSERT_TRUE(d.ok());
  SeedTenants(d);
  auto k1 = MakeKey(d, Spec(kOrgA));
  auto k2 = MakeKey(d, Spec(kOrgB));
  IoRunner io;
  auto pool = Pool();
  auth::AuthOptions o;
  o.last_used_flush = std::chrono::hours(1);  // only explicit flushes here
  Server s(d, io, *pool, o);
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(s.Await(s.a().AuthenticateApiKey(k1.key, "127.0.0.1")).ok());
    ASSERT_TRUE(s.Await(s.a().AuthenticateApiKey(k2.key, "127.0.0.1")).ok());
  }
  auto c = d.Admin();
  EXPECT_EQ(One(*c, "SELECT count(*) FROM api_keys WHERE last_used_at IS NOT NULL"), "0");
  const uint64_t before = s.db().Stats().batches;
  ASSERT_TRUE(s.Await(s.a().FlushLastUsed()).ok());
  EXPECT_EQ(s.db().Stats().batches, before + 1);  // 40 uses, one write
  EXPECT_EQ(One(*c, "SELECT count(*) FROM api_keys WHERE last_used_at IS NOT NULL"), "2");
  EXPECT_EQ(s.a().Stats().last_used_writes, 1u);
}

// ---- passwords and sessions ----------------------------------------------------------------

void CaseLoginAndTokens(const std::string& backend) {
  AuthDb d(backend, "tenants.toml");
  ASSERT_TRUE(d.ok());
  SeedTenants(d, crypto::Argon2Params{});  // OWASP parameters
  IoRunner io;
  auto pool = Pool(crypto::Argon2Params{});
  Server s(d, io, *pool);
  auto r = s.Await(s.a().Login({"Alice@Example.com", kPassword, "", "laptop"}, Info()));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_FALSE(r->rehashed);
  EXPECT_EQ(r->principal.user_id, kAlice);
  EXPECT_EQ(r->principal.tenant_id, kOrgA);
  auto p = s.Await(s.a().AuthenticateAccessToken(r->tokens.access_token));
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->user_id, kAlice);
  EXPECT_EQ(p->tenant_id, kOrgA);
  EXPECT_EQ(p->roles, std::vector<std::string>{"admin"});
  EXPECT_EQ(p->credential_id, r->tokens.session_id);
  auto c = d.Admin();
  EXPECT_EQ(One(*c, "SELECT device_name FROM sessions"), "laptop");
  EXPECT_NE(One(*c, "SELECT last_login_at FROM users WHERE username = 'alice'"), "NULL");
  // A refresh token is not an access token.
  EXPECT_FALSE(s.Await(s.a().AuthenticateAccessToken(r->tokens.refresh_token)).ok());
}

void CaseUnknownUserLooksLikeWrongPassword(const std::string& backend) {
  AuthDb d(backend, "tenants.toml");
  ASSERT_TRUE(d.ok());
  SeedTenants(d);
  IoRunner io;
  auto pool = Pool();
  Server s(d, io, *pool);
  auto unknown = s.Await(s.a().Login({"nobody@example.com", kPassword, "", ""}, Info()));
  auto wrong = s.Await(s.a().Login({"bob", "not the password at all", "", ""}, Info()));
  ASSERT_FALSE(unknown.ok());
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(unknown.status().code(), wrong.status().code());
  EXPECT_EQ(unknown.status().message(), wrong.status().message());
  EXPECT_EQ(pool->Stats().completed, 2u);  // both spent Argon2 work on the pool
  // Only an admin learns which it was.
  EXPECT_EQ(s.a().AdminLoginStatus(AdminOf(kOrgA), "nobody@example.com").value(), auth::LoginFailure::kUnknownUser);
  EXPECT_EQ(s.a().AdminLoginStatus(AdminOf(kOrgA), "bob").value(), auth::LoginFailure::kWrongPassword);
  data::Principal member;
  member.kind = data::Principal::Kind::kUser;
  EXPECT_EQ(s.a().AdminLoginStatus(member, "bob").status().code(), Code::kPermissionDenied);
}

void CaseLockoutAndReset(const std::string& backend) {
  AuthDb d(backend, "tenants.toml");  // lockout_after = 3
  ASSERT_TRUE(d.ok());
  SeedTenants(d);
  IoRunner io;
  auto pool = Pool();
  Server s(d, io, *pool);
  auto c = d.Admin();
  // Two failures, then success: the counter is reset.
  for (int i = 0; i < 2; ++i) EXPECT_FALSE(s.Await(s.a().Login({"bob", "wrong wrong wrong", "", ""}, Info())).ok());
  EXPECT_EQ(One(*c, "SELECT failed_login_attempts FROM users WHERE username = 'bob'"), "2");
  ASSERT_TRUE(s.Await(s.a().Login({"bob", kPassword, "", ""}, Info())).ok());
  EXPECT_EQ(One(*c, "SELECT failed_login_attempts FROM users WHERE username = 'bob'"), "0");
  // Three consecutive failures lock the account: the right password no longer works, and the
  // caller cannot tell.
  for (int i = 0; i < 3; ++i) EXPECT_FALSE(s.Await(s.a().Login({"bob", "wrong wrong wrong", "", ""}, Info())).ok());
  const std::string locked = One(*c, "SELECT is_locked FROM users WHERE username = 'bob'");
  EXPECT_TRUE(locked == "t" || locked == "1") << locked;
  auto r = s.Await(s.a().Login({"bob", kPassword, "", ""}, Info()));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "invalid login or password");
  EXPECT_EQ(s.a().AdminLoginStatus(AdminOf(kOrgA), "bob").value(), auth::LoginFailure::kLocked);
}

void CasePbkdf2Rehash(const std::string& backend) {
  AuthDb d(backend, "tenants.toml");
  ASSERT_TRUE(d.ok());
  SeedTenants(d);
  // The settings service's format: PBKDF2-SHA256, Django encoding.
  const std::string salt = "s4ltS4ltS4ltS4lt";
  const uint32_t iterations = 480'000;
  auto dk = crypto::Pbkdf2HmacSha256(kPassword, salt, iterations, 32);
  ASSERT_TRUE(dk.ok());
  const std::string django = "pbkdf2_sha256$" + std::to_string(iterations) + "$" + salt + "$" + crypto::Base64Encode(*dk);
  auto c = d.Admin();
  auto up = c->Query(d.pg() ? "UPDATE users SET password_hash = $1 WHERE username = 'carol'"
                            : "UPDATE users SET password_hash = ?1 WHERE username = 'carol'",
                     {django});
  ASSERT_TRUE(up.ok()) << up.status().ToString();
  IoRunner io;
  auto pool = Pool();
  Server s(d, io, *pool);
  auto r = s.Await(s.a().Login({"carol", kPassword, kOrgB, ""}, Info()));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->rehashed);
  const std::string stored = One(*c, "SELECT password_hash FROM users WHERE username = 'carol'");
  EXPECT_EQ(stored.rfind("$argon2id$v=19$m=1024,t=1,p=1$", 0), 0u) << stored;
  auto again = s.Await(s.a().Login({"carol", kPassword, kOrgB, ""}, Info()));
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->rehashed);
  // Weaker Argon2 parameters than configured are upgraded too.
  auto strong_pool = Pool(crypto::Argon2Params{});
  Server strong(d, io, *strong_pool);
  auto up2 = strong.Await(strong.a().Login({"carol", kPassword, kOrgB, ""}, Info()));
  ASSERT_TRUE(up2.ok());
  EXPECT_TRUE(up2->rehashed);
  EXPECT_EQ(One(*c, "SELECT password_hash FROM users WHERE username = 'carol'").rfind("$argon2id$v=19$m=19456,t=2,p=1$", 0), 0u);
}

void CaseRefreshRotationAndReuse(const std::string& backend) {
  AuthDb d(backend, "tenants.toml");
  ASSERT_TRUE(d.ok());
  SeedTenants(d);
  IoRunner io;
  auto pool = Pool();
  Server s(d, io, *pool);
  auto login = s.Await(s.a().Login({"alice", kPassword, "", ""}, Info()));
  ASSERT_TRUE(login.ok());
  auto second = s.Await(s.a().Refresh(login->tokens.refresh_token, Info()));
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_EQ(second->session_id, login->tokens.session_id);
  // The new access token works, the replaced one does not.
  EXPECT_TRUE(s.Await(s.a().AuthenticateAccessToken(second->access_token)).ok());
  EXPECT_FALSE(s.Await(s.a().AuthenticateAccessToken(login->tokens.access_token)).ok());
  // The first refresh token again: reuse. The whole family is revoked.
  EXPECT_EQ(s.Await(s.a().Refresh(login->tokens.refresh_token, Info())).status().code(), Code::kUnauthenticated);
  EXPECT_FALSE(s.Await(s.a().AuthenticateAccessToken(second->access_token)).ok());
  EXPECT_FALSE(s.Await(s.a().Refresh(second->refresh_token, Info())).ok());
  auto c = d.Admin();
  EXPECT_EQ(One(*c, "SELECT count(*) FROM sessions WHERE revoked_at IS NULL"), "0");
}

void CaseLogoutAndAdminRevocation(const std::string& backend) {
  AuthDb d(backend, "tenants.toml");
  ASSERT_TRUE(d.ok());
  SeedTenants(d);
  IoRunner io;
  auto pool = Pool();
  Server s(d, io, *pool);
  auto a = s.Await(s.a().Login({"alice", kPassword, "", ""}, Info()));
  auto b = s.Await(s.a().Login({"bob", kPassword, "", ""}, Info()));
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_TRUE(s.Await(s.a().AuthenticateAccessToken(a->tokens.access_token)).ok());
  ASSERT_TRUE(s.Await(s.a().Logout(a->tokens.access_token)).ok());
  EXPECT_FALSE(s.Await(s.a().AuthenticateAccessToken(a->tokens.access_token)).ok());
  EXPECT_FALSE(s.Await(s.a().Refresh(a->tokens.refresh_token, Info())).ok());
  // Admin revocation of bob's session, seen by another server too.
  Server other(d, io, *pool);
  ASSERT_TRUE(other.Await(other.a().AuthenticateAccessToken(b->tokens.access_token)).ok());
  data::Principal member = AdminOf(kOrgA);
  member.role = "member";
  member.roles = {"member"};
  EXPECT_EQ(s.Await(s.a().RevokeSession(member, b->tokens.session_id, false)).code(), Code::kPermissionDenied);
  ASSERT_TRUE(s.Await(s.a().RevokeSession(AdminOf(kOrgA), b->tokens.session_id, false)).ok());
  EXPECT_FALSE(s.Await(s.a().AuthenticateAccessToken(b->tokens.access_token)).ok());
  const auto t0 = std::chrono::steady_clock::now();
  bool refused = false;
  while (std::chrono::steady_clock::now() - t0 < std::chrono::milliseconds(1500)) {
    if (!other.Await(other.a().AuthenticateAccessToken(b->tokens.access_token)).ok()) {
      refused = true;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_TRUE(refused);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(1100));
}

// RFC 8725 §2/§3 and OWASP: tokens forged or confused in the ways the BCP lists are refused
// by the authenticator.
inline std::string B64(const std::string& s) { return crypto::Base64UrlEncode(s); }
inline std::string Forge(const nlohmann::json& header, const nlohmann::json& claims, const std::string& key) {
  const std::string input = B64(header.dump()) + "." + B64(claims.dump());
  return input + "." + B64(crypto::DigestBytes(crypto::HmacSha256(key, input)));
}

void CaseJwtForgeries(const std::string& backend) {
  AuthDb d(backend, "tenants.toml");
  ASSERT_TRUE(d.ok());
  SeedTenants(d);
  IoRunner io;
  auto pool = Pool();
  Server s(d, io, *pool);
  auto login = s.Await(s.a().Login({"alice", kPassword, "", ""}, Info()));
  ASSERT_TRUE(login.ok());
  const std::string good = login->tokens.access_token;
  ASSERT_TRUE(s.Await(s.a().AuthenticateAccessToken(good)).ok());
  // The real claims, re-signed by the attacker in various ways.
  const auto dot1 = good.find('.'), dot2 = good.rfind('.');
  nlohmann::json claims = nlohmann::json::parse(*crypto::Base64UrlDecode(good.substr(dot1 + 1, dot2 - dot1 - 1)));
  const nlohmann::json header = {{"alg", "HS256"}, {"typ", "at+jwt"}, {"kid", "k1"}};
  std::vector<std::pair<std::string, std::string>> forged;
  // Control: the attacker's re-signing code is right (this one must pass).
  const std::string control = Forge(header, claims, kJwtSecret);
  EXPECT_TRUE(s.Await(s.a().AuthenticateAccessToken(control)).ok());
  {
    const std::string input = B64(nlohmann::json({{"alg", "none"}, {"typ", "at+jwt"}}).dump()) + "." + B64(claims.dump());
    forged.push_back({"alg none, empty signature", input + "."});
    forged.push_back({"alg none, signature kept", input + good.substr(dot2)});
  }
  {
    nlohmann::json h = header;
    h["alg"] = "HS384";
    forged.push_back({"HS384", Forge(h, claims, kJwtSecret)});
    h["alg"] = "RS256";
    forged.push_back({"RS256 header, HMAC with a public key as secret", Forge(h, claims, "-----BEGIN PUBLIC KEY-----MIIBIjAN")});
  }
  forged.push_back({"wrong key", Forge(header, claims, "another secret of at least thirty-two bytes!!")});
  {
    nlohmann::json h = header;
    h["jwk"] = {{"kty", "oct"}, {"k", B64("attacker key attacker key attacker key")}};
    forged.push_back({"embedded jwk", Forge(h, claims, "attacker key attacker key attacker key")});
    h.erase("jwk");
    h["jku"] = "https://attacker.example/jwks.json";
    forged.push_back({"jku", Forge(h, claims, kJwtSecret)});
    h.erase("jku");
    h["kid"] = "../../dev/null";
    forged.push_back({"kid path injection", Forge(h, claims, "")});
    h["kid"] = "k1' OR '1'='1";
    forged.push_back({"kid SQL injection", Forge(h, claims, kJwtSecret)});
  }
  {
    nlohmann::json h = header;
    h["typ"] = "refresh+jwt";
    forged.push_back({"refresh typ", Forge(h, claims, kJwtSecret)});
    h["typ"] = "JWT";
    forged.push_back({"generic typ", Forge(h, claims, kJwtSecret)});
  }
  {
    nlohmann::json c = claims;
    c["iss"] = "someone-else";
    forged.push_back({"wrong iss", Forge(header, c, kJwtSecret)});
    c = claims;
    c["aud"] = "another-app";
    forged.push_back({"wrong aud", Forge(header, c, kJwtSecret)});
    c = claims;
    c["exp"] = c["iat"].get<int64_t>() - 3600;
    c["iat"] = c["iat"].get<int64_t>() - 7200;
    forged.push_back({"expired", Forge(header, c, kJwtSecret)});
    c = claims;
    c["sub"] = kBob;
    forged.push_back({"other user in a valid session", Forge(header, c, kJwtSecret)});
    c = claims;
    c["jti"] = "made-up-jti";
    forged.push_back({"jti not the session's", Forge(header, c, kJwtSecret)});
    c = claims;
    c.erase("sid");
    forged.push_back({"no session", Forge(header, c, kJwtSecret)});
  }
  for (const auto& [what, token] : forged) {
    auto r = s.Await(s.a().AuthenticateAccessToken(token));
    EXPECT_FALSE(r.ok()) << what;
    EXPECT_EQ(r.status().code(), Code::kUnauthenticated) << what;
  }
}

// ---- roles and permissions ----------------------------------------------------------------

void CaseRolesAndPermissions(const std::string& backend) {
  AuthDb d(backend, "settings.toml");
  ASSERT_TRUE(d.ok());
  auto c = d.Admin();
  const std::string admin_role = Id(1, 1), viewer_role = Id(1, 2);
  const std::string p_read = Id(2, 1), p_write = Id(2, 2);
  const std::string user = Id(3, 1);
  auto hash = crypto::HashPassword(kPassword, FastArgon2());
  Exec(*c, "INSERT INTO roles (id, name) VALUES ('" + admin_role + "', 'admin'), ('" + viewer_role + "', 'viewer')");
  Exec(*c, "INSERT INTO permissions (id, resource, action) VALUES ('" + p_read + "', 'settings', 'read'), ('" + p_write +
               "', 'settings', 'write')");
  Exec(*c, "INSERT INTO role_permissions (role_id, permission_id) VALUES ('" + admin_role + "', '" + p_read + "'), ('" +
               admin_role + "', '" + p_write + "'), ('" + viewer_role + "', '" + p_read + "')");
  Exec(*c, "INSERT INTO users (id, username, email, password_hash) VALUES ('" + user + "', 'dora', 'dora@example.com', '" +
               *hash + "')");
  Exec(*c, "INSERT INTO user_roles (user_id, role_id) VALUES ('" + user + "', '" + viewer_role + "')");
  IoRunner io;
  auto pool = Pool();
  Server s(d, io, *pool);
  auto a = s.Await(s.a().ResolveAccess(user));
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(a->roles, std::vector<std::string>{"viewer"});
  EXPECT_EQ(a->permissions, std::vector<std::string>{"settings:read"});
  auto login = s.Await(s.a().Login({"dora", kPassword, "", ""}, Info()));
  ASSERT_TRUE(login.ok()) << login.status().ToString();
  EXPECT_EQ(login->principal.permissions, std::vector<std::string>{"settings:read"});
  // A key of dora's asking for more than she holds gets only what she holds.
  auto key = MakeKey(d, Spec("", user, {"settings:read", "settings:write"}));
  auto k = s.Await(s.a().AuthenticateApiKey(key.key, "127.0.0.1"));
  ASSERT_TRUE(k.ok()) << k.status().ToString();
  EXPECT_EQ(k->principal.permissions, std::vector<std::string>{"settings:read"});
  // Granting a role is visible within a second (PostgreSQL: the roles trigger's notification;
  // SQLite: the one-second cache).
  Exec(*c, "INSERT INTO user_roles (user_id, role_id) VALUES ('" + user + "', '" + admin_role + "')");
  const auto t0 = std::chrono::steady_clock::now();
  bool seen = false;
  while (std::chrono::steady_clock::now() - t0 < std::chrono::milliseconds(1500)) {
    auto now = s.Await(s.a().ResolveAccess(user));
    if (now.ok() && now->permissions.size() == 2) {
      seen = true;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_TRUE(seen);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(1100));
  auto p = s.Await(s.a().AuthenticateAccessToken(login->tokens.access_token));
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->roles, (std::vector<std::string>{"admin", "viewer"}));
  EXPECT_EQ(p->permissions, (std::vector<std::string>{"settings:read", "settings:write"}));
}

}  // namespace plinth::testing
