// tests/auth/authn_cases.h — the request-path Authenticator's cases on both databases
// (authn_test.cc: SQLite, authn_pgtest.cc: PostgreSQL as the runtime role): API keys (typo
// without a query, expiry, revocation seen by a second server within one second, allowed IPs,
// tenants, last_used batching), password logins (Argon2id, PBKDF2 rehash, lockout, unknown user
// = wrong password), sessions (refresh rotation, reuse revokes the family, logout), JWT
// forgeries from RFC 8725's list, roles and permissions.
#pragma once

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "auth/harness.h"
#include "db/async_runner.h"
#include "plinth/apikey.h"
#include "plinth/auth.h"
#include "plinth/crypto.h"
#include "plinth/database.h"
#include "plinth/hash_pool.h"
#include "plinth/jwt.h"
#include "plinth/password.h"

namespace plinth::testing {

inline const std::string kOrgA = "000000aa-0000-4000-8000-000000000001";
inline const std::string kOrgB = "000000bb-0000-4000-8000-000000000002";
inline const std::string kAlice = "0000a11c-0000-4000-8000-000000000001";  // org A, admin
inline const std::string kBob = "00000b0b-0000-4000-8000-000000000002";    // org A, member
inline const std::string kCarol = "0000ca20-0000-4000-8000-000000000003";  // org B
inline const std::string kPassword = "correct horse battery staple 42";
inline const std::string kJwtSecret = "0123456789abcdefghijklmnopqrstuvwxyzABCDEF";

// Cheap Argon2id for tests that are not about the parameters.
inline crypto::Argon2Params FastArgon2() {
  crypto::Argon2Params p;
  p.memory_kib = 1024;
  p.iterations = 1;
  return p;
}

inline crypto::JwtCodec TestJwt() {
  crypto::JwtOptions o;
  o.issuer = "plinth-test";
  o.audience = "tenants";
  o.keys = {{"k1", kJwtSecret}};
  o.current_key_id = "k1";
  return std::move(crypto::JwtCodec::Create(o)).value();
}

// One "server": a request-path Database as the runtime role and an Authenticator on it.
class Server {
 public:
  Server(const AuthDb& d, IoRunner& io, crypto::HashPool& pool, auth::AuthOptions o = {}) : io_(io) {
    auto url = db::ParseUrl(d.runtime_url());
    db::PoolOptions po;
    po.size = 2;
    auto database = db::OpenDatabase(io.io(), *url, po);
    if (!database.ok()) {
      ADD_FAILURE() << database.status().ToString();
      return;
    }
    db_ = std::move(database).value();
    auto a = auth::Authenticator::Create(d.schema(), d.config(), *db_, pool, *crypto::ApiKeyHasher::Create(), TestJwt(), o);
    if (!a.ok()) {
      ADD_FAILURE() << a.status().ToString();
      return;
    }
    auth_ = std::move(a).value();
    auth_->Start(io.io());
    if (db_->backend() == db::Backend::kPostgres) {
      // The listener's subscription starts asynchronously and, when it does, flushes every cache
      // (anything may have changed before it listened). Wait for that, so that the cases'
      // counts of lookups do not depend on when it happens.
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
      while (auth_->Stats().flushes == 0 && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
      }
      EXPECT_GE(auth_->Stats().flushes, 1u) << "the LISTEN subscription did not start";
    }
  }
  ~Server() {
    if (auth_) io_.Await(auth_->Stop());
    auth_.reset();
    if (db_) io_.Await(db_->Close(db::Clock::now() + std::chrono::seconds(5)));
  }
  auth::Authenticator& a() { return *auth_; }
  db::Database& db() { return *db_; }
  template <typename T>
  T Await(boost::asio::awaitable<T> t) {
    return io_.Await(std::move(t));
  }

 private:
  IoRunner& io_;
  std::unique_ptr<db::Database> db_;
  std::unique_ptr<auth::Authenticator> auth_;
};

inline data::RequestInfo Info() {
  data::RequestInfo r;
  r.request_id = "req";
  r.ip = "127.0.0.1";
  r.user_agent = "test";
  r.deadline = db::Clock::now() + std::chrono::seconds(30);
  return r;
}

inline data::Principal AdminOf(const std::string& tenant) {
  data::Principal p;
  p.kind = data::Principal::Kind::kUser;
  p.tenant_id = tenant;
  p.role = "admin";
  p.roles = {"admin"};
  return p;
}

// Organisations A and B, users alice (A, admin), bob (A), carol (B).
inline void SeedTenants(const AuthDb& d, const crypto::Argon2Params& params = FastArgon2()) {
  auto c = d.Admin();
  Exec(*c, "INSERT INTO organizations (id, name) VALUES ('" + kOrgA + "', 'A'), ('" + kOrgB + "', 'B')");
  auto hash = crypto::HashPassword(kPassword, params);
  ASSERT_TRUE(hash.ok());
  const bool pg = d.pg();
  const std::string sql = pg ? "INSERT INTO users (id, organization_id, email, username, password_hash, role) VALUES "
                               "($1::uuid, $2::uuid, $3, $4, $5, $6::user_role)"
                             : "INSERT INTO users (id, organization_id, email, username, password_hash, role) VALUES "
                               "(?1, ?2, ?3, ?4, ?5, ?6)";
  for (auto [id, org, name, role] : std::vector<std::tuple<std::string, std::string, std::string, std::string>>{
           {kAlice, kOrgA, "alice", "admin"}, {kBob, kOrgA, "bob", "member"}, {kCarol, kOrgB, "carol", "member"}}) {
    auto r = c->Query(sql, {id, org, name + "@example.com", name, *hash, role});
    ASSERT_TRUE(r.ok()) << r.status().ToString();
  }
}

inline auth::CreatedApiKey MakeKey(const AuthDb& d, auth::ApiKeySpec spec) {
  auto c = d.Admin();
  auto k = auth::CreateApiKey(*c, d.schema(), d.config(), *crypto::ApiKeyHasher::Create(), spec);
  EXPECT_TRUE(k.ok()) << k.status().ToString();
  return k.ok() ? *k : auth::CreatedApiKey{};
}

inline auth::ApiKeySpec Spec(const std::string& tenant, const std::string& user = {}, std::vector<std::string> scopes = {}) {
  auth::ApiKeySpec s;
  s.tenant_id = tenant;
  s.user_id = user;
  s.scopes = std::move(scopes);
  return s;
}

inline std::unique_ptr<crypto::HashPool> Pool(const crypto::Argon2Params& p = FastArgon2()) {
  crypto::HashPoolOptions o;
  o.threads = 2;
  o.params = p;
  return std::move(crypto::HashPool::Create(o)).value();
}

// ---- API keys ------------------------------------------------------------------------------

inline void CaseKeyTypoRejectedWithoutQuery(const std::string& backend) {
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

inline void CaseKeyExpiryIpsAndTenants(const std::string& backend) {
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

inline void CaseRevocationReachesOtherServer(const std::string& backend) {
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

inline void CaseLastUsedIsBatched(const std::string& backend) {
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

inline void CaseLoginAndTokens(const std::string& backend) {
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

inline void CaseUnknownUserLooksLikeWrongPassword(const std::string& backend) {
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

inline void CaseLockoutAndReset(const std::string& backend) {
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

inline void CasePbkdf2Rehash(const std::string& backend) {
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

inline void CaseRefreshRotationAndReuse(const std::string& backend) {
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

inline void CaseLogoutAndAdminRevocation(const std::string& backend) {
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

inline void CaseJwtForgeries(const std::string& backend) {
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

inline void CaseRolesAndPermissions(const std::string& backend) {
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

#define PLINTH_AUTHN_TESTS(Suite, backend)                                                                          \
  TEST(Suite, ApiKeyTypoRejectedWithoutQuery) { ::plinth::testing::CaseKeyTypoRejectedWithoutQuery(backend); }      \
  TEST(Suite, ApiKeyExpiryIpsAndTenants) { ::plinth::testing::CaseKeyExpiryIpsAndTenants(backend); }                \
  TEST(Suite, RevocationReachesOtherServerWithinOneSecond) { ::plinth::testing::CaseRevocationReachesOtherServer(backend); } \
  TEST(Suite, LastUsedIsWrittenInBatches) { ::plinth::testing::CaseLastUsedIsBatched(backend); }                    \
  TEST(Suite, LoginGivesTokens) { ::plinth::testing::CaseLoginAndTokens(backend); }                                 \
  TEST(Suite, UnknownUserLooksLikeWrongPassword) { ::plinth::testing::CaseUnknownUserLooksLikeWrongPassword(backend); } \
  TEST(Suite, LockoutAndReset) { ::plinth::testing::CaseLockoutAndReset(backend); }                                 \
  TEST(Suite, Pbkdf2AndWeakArgon2AreRehashed) { ::plinth::testing::CasePbkdf2Rehash(backend); }                     \
  TEST(Suite, RefreshRotatesAndReuseRevokesFamily) { ::plinth::testing::CaseRefreshRotationAndReuse(backend); }     \
  TEST(Suite, LogoutAndAdminRevocation) { ::plinth::testing::CaseLogoutAndAdminRevocation(backend); }               \
  TEST(Suite, JwtForgeriesRejected) { ::plinth::testing::CaseJwtForgeries(backend); }                               \
  TEST(Suite, RolesAndPermissions) { ::plinth::testing::CaseRolesAndPermissions(backend); }
