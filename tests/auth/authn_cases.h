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

// The cases (defined in the .cc beside this header, compiled once for both test binaries).
void CaseKeyTypoRejectedWithoutQuery(const std::string& backend);
void CaseKeyExpiryIpsAndTenants(const std::string& backend);
void CaseRevocationReachesOtherServer(const std::string& backend);
void CaseLastUsedIsBatched(const std::string& backend);
void CaseLoginAndTokens(const std::string& backend);
void CaseUnknownUserLooksLikeWrongPassword(const std::string& backend);
void CaseLockoutAndReset(const std::string& backend);
void CasePbkdf2Rehash(const std::string& backend);
void CaseRefreshRotationAndReuse(const std::string& backend);
void CaseLogoutAndAdminRevocation(const std::string& backend);
void CaseJwtForgeries(const std::string& backend);
void CaseRolesAndPermissions(const std::string& backend);

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
