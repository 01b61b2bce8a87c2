// auth_benchmark — what identity, secrets and audit cost on the request path (issue 4):
//   LOGIN      password logins (Argon2id at OWASP's m=19 MiB, t=2, p=1) from 32 clients, enough to
//              keep the hashing pool saturated, while 8 other clients make ordinary requests
//              (API key authentication + a tenant-scoped read through the data runtime): logins/s,
//              logins refused by the full pool (503 + Retry-After in the server), and the other
//              requests' p50/p99 latency with and without the login burst.
//   ENCRYPTED  Runtime::Insert and Runtime::Get of a 200-byte text value in a plain column and in an
//              `encrypted = true` column (AES-256-GCM keyring, AAD = table, column, tenant, id):
//              rows/s of each and the overhead.
//   AUDIT      Runtime::Insert (every insert writes its plinth_audit row) with the background
//              sealer off and on (sealing every 200 ms, i.e. 25x more often than a server's 5 s),
//              and the sealer's own rate on a backlog.
// Each figure is measured in alternating rounds (off / on / off / on …) so that load from elsewhere
// on the machine hits both sides alike; the median round is printed.
//
// usage: auth_benchmark [seconds_per_round=2] [rounds=3] [PG_SUPERUSER_URL]
//   SQLite always (a file in a temporary directory); PostgreSQL too when a superuser URL of a
//   throwaway cluster is given (scripts/pg.sh start DIR PORT): a database of its own with the
//   deployment's roles (owner NOBYPASSRLS, runtime role, BYPASSRLS admin role owning the auth
//   functions), every request as the runtime role through RLS.
// Prints lines "BACKEND SECTION key=value …".
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <iostream>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "bench_support.h"
#include "plinth/apikey.h"
#include "plinth/auth.h"
#include "plinth/auth_admin.h"
#include "plinth/auth_audit.h"
#include "plinth/crypto.h"
#include "plinth/data.h"
#include "plinth/database.h"
#include "plinth/db.h"
#include "plinth/hash_pool.h"
#include "plinth/jwt.h"
#include "plinth/keyring.h"
#include "plinth/migrate.h"
#include "plinth/password.h"
#include "plinth/runner.h"
#include "plinth/schema.h"

const char plinth::bench::kProgramName[] = "auth_benchmark";

namespace {

namespace asio = boost::asio;
namespace data = plinth::data;
namespace db = plinth::db;
namespace auth = plinth::auth;
namespace crypto = plinth::crypto;
using plinth::Status;
using namespace plinth::bench;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr int kTenants = 4;
constexpr int kUsersPerTenant = 16;
constexpr int kRowsPerTenant = 200;
constexpr int kLoginClients = 32;
constexpr int kOtherClients = 8;
constexpr int kDataClients = 8;
constexpr auto kRefusedLoginBackoff = 20ms;  // a client honouring Retry-After, compressed
constexpr char kPassword[] = "a long benchmark passphrase 123";
constexpr char kDbName[] = "plinth_authbench";

constexpr char kSchema[] = R"toml(
[app]
name = "authbench"
tenants = "orgs"
tenant_column = "org_id"

[table.orgs]
columns.id   = { type = "uuid", primary_key = true, default = "uuid" }
columns.name = { type = "text(200)", not_null = true }

[[table.orgs.policies]]
name = "org_reads_itself"
for = "select"
using = "id = auth.tenant_id()"

[table.users]
tenant_scoped = true
columns.id                    = { type = "uuid", primary_key = true, default = "uuid" }
columns.email                 = { type = "text(320)", not_null = true }
columns.username              = { type = "text(50)", not_null = true }
columns.password_hash         = { type = "text(255)", access = "hidden" }
columns.is_active             = { type = "boolean", not_null = true, default = true }
columns.is_locked             = { type = "boolean", not_null = true, default = false }
columns.failed_login_attempts = { type = "integer", not_null = true, default = 0 }
columns.last_login_at         = { type = "timestamp" }
unique = [["email"], ["username"]]

[table.sessions]
tenant_scoped = true
columns.id                = { type = "uuid", primary_key = true, default = "uuid" }
columns.user_id           = { type = "uuid", not_null = true, references = "users", on_delete = "cascade" }
columns.token_jti         = { type = "text(64)", not_null = true }
columns.refresh_token_jti = { type = "text(64)" }
columns.family_id         = { type = "uuid", not_null = true }
columns.device_name       = { type = "text(200)" }
columns.ip_address        = { type = "text(45)" }
columns.expires_at        = { type = "timestamp", not_null = true }
columns.revoked_at        = { type = "timestamp" }

[table.api_keys]
tenant_scoped = true
columns.id           = { type = "uuid", primary_key = true, default = "uuid" }
columns.user_id      = { type = "uuid", references = "users", on_delete = "cascade" }
columns.name         = { type = "text(200)", not_null = true }
columns.key_hash     = { type = "text(64)", not_null = true, access = "hidden" }
columns.prefix       = { type = "text(32)", not_null = true }
columns.scopes       = { type = "json", not_null = true, default = "[]" }
columns.is_active    = { type = "boolean", not_null = true, default = true }
columns.last_used_at = { type = "timestamp" }
unique = [["key_hash"]]
indexes.by_prefix = { columns = ["prefix"], tenant_prefix = false }

[table.plain]
tenant_scoped = true
columns.id   = { type = "uuid", primary_key = true, default = "uuid" }
columns.body = { type = "text", not_null = true }

[[table.plain.policies]]
name = "members"
for = "all"
using = "org_id = auth.tenant_id()"

[table.secret]
tenant_scoped = true
columns.id   = { type = "uuid", primary_key = true, default = "uuid" }
columns.body = { type = "text", not_null = true, encrypted = true }

[[table.secret.policies]]
name = "members"
for = "all"
using = "org_id = auth.tenant_id()"

[auth.users]
table = "users"
login = ["username", "email"]
password = "password_hash"
active = "is_active"
locked = "is_locked"
failed_attempts = "failed_login_attempts"
last_login = "last_login_at"
lockout_after = 100

[auth.sessions]
table = "sessions"
device = "device_name"
ip = "ip_address"

[auth.api_keys]
table = "api_keys"
lookup = "prefix"
hash = "key_hash"
name = "name"
user = "user_id"
scopes = "scopes"
active = "is_active"
last_used = "last_used_at"
)toml";

std::string Id(int a, int n) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%08x-0000-4000-8000-%012x", a, n);
  return buf;
}
std::string TenantId(int t) { return Id(0xa000 + t, 0); }
std::string RowId(int t, int i) { return Id(0xb000 + t, i); }
std::string UserName(int t, int u) { return "user" + std::to_string(t) + "_" + std::to_string(u); }

struct Latencies {
  std::vector<double> ms;
  double Pct(double p) {
    if (ms.empty()) return 0;
    std::sort(ms.begin(), ms.end());
    return ms[std::min(ms.size() - 1, static_cast<size_t>(p * static_cast<double>(ms.size())))];
  }
};

// The app on one backend: migrated, seeded, with the URLs of its roles.
struct App {
  std::string name;  // "sqlite" | "postgresql"
  plinth::schema::Schema schema;
  auth::AuthConfig config;
  std::string admin_url;    // superuser / the file
  std::string runtime_url;  // what the server connects as
  std::string sealer_url;
  std::filesystem::path dir;
  std::vector<std::string> keys;  // one API key per tenant
};

App Prepare(const std::string& backend, const std::string& pg_superuser) {
  App a;
  a.name = backend;
  plinth::Diagnostics diags;
  auto s = plinth::schema::LoadSchemaText(kSchema, "authbench.toml", diags);
  if (!s.ok()) Die(diags.ToString());
  a.schema = std::move(s).value();
  auto c = auth::LoadAuthConfigText(kSchema, "authbench.toml", a.schema, diags);
  if (!c.ok()) Die(diags.ToString());
  a.config = std::move(c).value();

  std::string owner_url;
  std::string runtime_role, definer_role;
  if (backend == "sqlite") {
    char tmpl[] = "/tmp/plinth-authbench-XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) Die("mkdtemp");
    a.dir = tmpl;
    a.admin_url = owner_url = a.runtime_url = a.sealer_url = "sqlite://" + (a.dir / "app.db").string();
  } else {
    auto super = ConnectOrDie(pg_superuser);
    Check(super->Exec(std::string("DROP DATABASE IF EXISTS ") + kDbName + " WITH (FORCE)"), "drop database");
    Check(super->Exec(std::string("CREATE DATABASE ") + kDbName), "create database");
    a.admin_url = WithUserAndDatabase(pg_superuser, "postgres", kDbName);
    data::RoleOptions ro;
    ro.database = kDbName;
    ro.owner_role = "plinth_authbench_owner";
    ro.runtime_role = runtime_role = "plinth_authbench_rt";
    ro.admin_role = definer_role = "plinth_authbench_admin";
    auto roles = data::RoleStatements(ro);
    if (!roles.ok()) Die(roles.status().ToString());
    auto admin = ConnectOrDie(a.admin_url);
    for (const auto& st : *roles) Check(admin->Exec(st), st);
    owner_url = WithUserAndDatabase(pg_superuser, ro.owner_role, kDbName);
    a.runtime_url = a.sealer_url = WithUserAndDatabase(pg_superuser, runtime_role, kDbName);
  }
  auto diff = plinth::migrate::Diff(plinth::schema::Schema{}, a.schema, plinth::migrate::DiffOptions{});
  if (!diff.ok()) Die(diff.status().ToString());
  plinth::migrate::Migration m;
  m.version = "0001";
  m.name = "authbench";
  m.created_at = "2026-01-01T00:00:00Z";
  m.up = diff->up;
  m.down = diff->down;
  auto parsed = plinth::migrate::ParseMigration(plinth::migrate::ToFileText(m), "0001_authbench.json", diags);
  if (!parsed.ok()) Die(parsed.status().ToString());
  auto up = plinth::runner::Up(*db::ParseUrl(owner_url), {*parsed}, "head", plinth::runner::RunOptions{});
  if (!up.ok()) Die("migrate: " + up.status().ToString());
  auto admin = ConnectOrDie(a.admin_url);
  if (backend != "sqlite") {
    data::RoleOptions ro;
    ro.database = kDbName;
    ro.owner_role = "plinth_authbench_owner";
    ro.runtime_role = runtime_role;
    ro.admin_role = definer_role;
    auto grants = data::RoleStatements(ro);  // again: the runtime role's grants on the new tables
    if (!grants.ok()) Die(grants.status().ToString());
    for (const auto& st : *grants) Check(admin->Exec(st), st);
  }
  auth::InstallOptions io;
  io.runtime_role = runtime_role;
  io.definer_role = definer_role;
  Check(auth::InstallAuthSupport(*admin, a.schema, a.config, io), "install auth support");

  // Tenants, users (OWASP Argon2id), one key per tenant, rows.
  const bool pg = backend != "sqlite";
  auto p = [&](int n) { return (pg ? "$" : "?") + std::to_string(n); };
  auto hash = crypto::HashPassword(kPassword, crypto::Argon2Params{});
  if (!hash.ok()) Die(hash.status().ToString());
  Check(admin->Exec("BEGIN"), "begin");
  for (int t = 1; t <= kTenants; ++t) {
    auto r = admin->Query("INSERT INTO orgs (id, name) VALUES (" + p(1) + (pg ? "::uuid" : "") + ", 'org')", {TenantId(t)});
    if (!r.ok()) Die(r.status().ToString());
    for (int u = 1; u <= kUsersPerTenant; ++u) {
      auto ins = admin->Query("INSERT INTO users (id, org_id, email, username, password_hash) VALUES (" + p(1) +
                                  (pg ? "::uuid, " : ", ") + p(2) + (pg ? "::uuid, " : ", ") + p(3) + ", " + p(4) + ", " + p(5) + ")",
                              {Id(0xc000 + t, u), TenantId(t), UserName(t, u) + "@example.com", UserName(t, u), *hash});
      if (!ins.ok()) Die(ins.status().ToString());
    }
    for (int i = 1; i <= kRowsPerTenant; ++i) {
      auto ins = admin->Query("INSERT INTO plain (id, org_id, body) VALUES (" + p(1) + (pg ? "::uuid, " : ", ") + p(2) +
                                  (pg ? "::uuid, " : ", ") + p(3) + ")",
                              {RowId(t, i), TenantId(t), std::string(200, 'x')});
      if (!ins.ok()) Die(ins.status().ToString());
    }
  }
  Check(admin->Exec("COMMIT"), "commit");
  for (int t = 1; t <= kTenants; ++t) {
    auth::ApiKeySpec spec;
    spec.tenant_id = TenantId(t);
    spec.scopes = {"plain:read"};
    auto k = auth::CreateApiKey(*admin, a.schema, a.config, *crypto::ApiKeyHasher::Create(), spec);
    if (!k.ok()) Die(k.status().ToString());
    a.keys.push_back(k->key);
  }
  return a;
}

// A server's worth of objects on one io_context: the runtime's pool, the data runtime (with the
// keyring cipher), the hashing pool and the authenticator.
class Server {
 public:
  // `hash_threads` 0: the pool's default (one per hardware thread).
  Server(const App& app, const crypto::Keyring& ring, unsigned hash_threads = 0)
      : app_(app), cipher_(ring), work_(asio::make_work_guard(io_)) {
    for (int i = 0; i < 2; ++i) threads_.emplace_back([this] { io_.run(); });
    auto url = db::ParseUrl(app.runtime_url);
    db::PoolOptions po;
    po.size = 16;
    auto opened = db::OpenDatabase(io_, *url, po);
    if (!opened.ok()) Die(opened.status().ToString());
    data::RuntimeOptions ro;
    ro.cipher = &cipher_;
    auto rt = Await(data::Runtime::Open(app.schema, std::move(opened).value(), std::move(ro), "0001"));
    if (!rt.ok()) Die(rt.status().ToString());
    rt_ = std::move(rt).value();
    crypto::HashPoolOptions ho;  // defaults: one worker per hardware thread, 8 queued per worker
    ho.threads = hash_threads;
    auto pool = crypto::HashPool::Create(ho);
    if (!pool.ok()) Die(pool.status().ToString());
    pool_ = std::move(pool).value();
    crypto::JwtOptions jo;
    jo.issuer = "authbench";
    jo.audience = "authbench";
    jo.keys = {{"k1", crypto::RandomBytes(32)}};
    jo.current_key_id = "k1";
    auto a = auth::Authenticator::Create(rt_->schema(), app.config, rt_->database(), *pool_, *crypto::ApiKeyHasher::Create(),
                                         *crypto::JwtCodec::Create(jo));
    if (!a.ok()) Die(a.status().ToString());
    auth_ = std::move(a).value();
    auth_->Start(io_);
  }
  ~Server() {
    Await(auth_->Stop());
    auth_.reset();
    pool_->Shutdown();
    Await(rt_->database().Close(db::Clock::now() + 5s));
    rt_.reset();
    work_.reset();
    for (auto& t : threads_) t.join();
  }

  template <typename T>
  T Await(asio::awaitable<T> a) {
    auto wrapped = [](asio::awaitable<T> t) -> asio::awaitable<std::optional<T>> { co_return co_await std::move(t); };
    return std::move(*asio::co_spawn(io_, wrapped(std::move(a)), asio::use_future).get());
  }
  void Await(asio::awaitable<void> a) { asio::co_spawn(io_, std::move(a), asio::use_future).get(); }

  asio::io_context& io() { return io_; }
  data::Runtime& rt() { return *rt_; }
  auth::Authenticator& authn() { return *auth_; }
  crypto::HashPool& pool() { return *pool_; }

 private:
  const App& app_;
  auth::KeyringCipher cipher_;
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  std::vector<std::thread> threads_;
  std::unique_ptr<data::Runtime> rt_;
  std::unique_ptr<crypto::HashPool> pool_;
  std::unique_ptr<auth::Authenticator> auth_;
};

data::RequestInfo Info() {
  data::RequestInfo r;
  r.request_id = "bench";
  r.ip = "127.0.0.1";
  r.user_agent = "auth_benchmark";
  r.deadline = db::Clock::now() + 10s;
  return r;
}

struct LoginRound {
  double logins_per_s = 0, refused_per_s = 0, login_p50 = 0, login_p99 = 0;
  double other_per_s = 0, other_p50 = 0, other_p99 = 0;
};

// `login_clients` logging in, kOtherClients making key-authenticated reads, for `duration`.
LoginRound MeasureLogin(Server& s, const App& app, int login_clients, std::chrono::milliseconds duration) {
  std::mutex mu;
  Latencies login_lat, other_lat;
  std::atomic<uint64_t> logins{0}, refused{0}, others{0}, errors{0};
  std::string first_error;
  auto note = [&](const Status& st) {
    ++errors;
    std::lock_guard lock(mu);
    if (first_error.empty()) first_error = st.ToString();
  };
  std::atomic<bool> stop{false};
  std::vector<std::future<void>> running;
  auto login_client = [&](int c) -> asio::awaitable<void> {
    std::mt19937 gen(static_cast<unsigned>(c + 1));
    asio::steady_timer backoff(co_await asio::this_coro::executor);
    while (!stop) {
      const int t = 1 + static_cast<int>(gen() % kTenants), u = 1 + static_cast<int>(gen() % kUsersPerTenant);
      auth::LoginRequest req{UserName(t, u), kPassword, "", "bench"};
      const auto start = Clock::now();
      auto r = co_await s.authn().Login(std::move(req), Info());
      const double ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
      if (r.ok()) {
        ++logins;
        std::lock_guard lock(mu);
        login_lat.ms.push_back(ms);
      } else if (r.status().code() == plinth::Code::kUnavailable) {
        ++refused;  // the server answers 503 with Retry-After; the client backs off
        backoff.expires_after(kRefusedLoginBackoff);
        co_await backoff.async_wait(asio::use_awaitable);
      } else {
        note(r.status());
      }
    }
  };
  auto other_client = [&](int c) -> asio::awaitable<void> {
    std::mt19937 gen(static_cast<unsigned>(c + 101));
    while (!stop) {
      const int t = 1 + static_cast<int>(gen() % kTenants);
      const auto start = Clock::now();
      auto k = co_await s.authn().AuthenticateApiKey(app.keys[t - 1], "127.0.0.1");
      if (!k.ok()) {
        note(k.status());
        continue;
      }
      auto g = co_await s.rt().Get(k->principal, Info(), "plain", RowId(t, 1 + static_cast<int>(gen() % kRowsPerTenant)));
      const double ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
      if (!g.ok()) {
        note(g.status());
        continue;
      }
      ++others;
      std::lock_guard lock(mu);
      other_lat.ms.push_back(ms);
    }
  };
  for (int c = 0; c < login_clients; ++c) running.push_back(asio::co_spawn(s.io(), login_client(c), asio::use_future));
  for (int c = 0; c < kOtherClients; ++c) running.push_back(asio::co_spawn(s.io(), other_client(c), asio::use_future));
  std::this_thread::sleep_for(duration);
  stop = true;
  for (auto& f : running) f.get();
  if (errors) Die(std::to_string(errors.load()) + " errors, first: " + first_error);
  const double secs = std::chrono::duration<double>(duration).count();
  LoginRound out;
  out.logins_per_s = static_cast<double>(logins) / secs;
  out.refused_per_s = static_cast<double>(refused) / secs;
  out.login_p50 = login_lat.Pct(0.50);
  out.login_p99 = login_lat.Pct(0.99);
  out.other_per_s = static_cast<double>(others) / secs;
  out.other_p50 = other_lat.Pct(0.50);
  out.other_p99 = other_lat.Pct(0.99);
  return out;
}

// Rows/s of inserts or gets on `table` from kDataClients.
double MeasureData(Server& s, const std::string& table, bool write, std::chrono::milliseconds duration, int round,
                   const std::vector<std::string>& select = {}) {
  std::atomic<uint64_t> done{0}, errors{0};
  std::mutex mu;
  std::string first_error;
  std::atomic<bool> stop{false};
  std::vector<std::future<void>> running;
  auto client = [&](int c) -> asio::awaitable<void> {
    std::mt19937 gen(static_cast<unsigned>(c * 31 + round));
    int n = 0;
    while (!stop) {
      const int t = 1 + static_cast<int>(gen() % kTenants);
      data::Principal p;
      p.kind = data::Principal::Kind::kApiKey;
      p.tenant_id = TenantId(t);
      p.credential_id = "bench";
      Status st;
      if (write) {
        data::Fields f{{"body", std::string(200, 'y')}};
        auto r = co_await s.rt().Insert(p, Info(), table, std::move(f));
        st = r.status();
      } else {
        auto r = co_await s.rt().Get(p, Info(), table, RowId(t, 1 + static_cast<int>(gen() % kRowsPerTenant)), select);
        st = r.status();
      }
      ++n;
      if (st.ok()) {
        ++done;
      } else {
        ++errors;
        std::lock_guard lock(mu);
        if (first_error.empty()) first_error = st.ToString();
      }
    }
  };
  for (int c = 0; c < kDataClients; ++c) running.push_back(asio::co_spawn(s.io(), client(c), asio::use_future));
  std::this_thread::sleep_for(duration);
  stop = true;
  for (auto& f : running) f.get();
  if (errors) Die(table + ": " + std::to_string(errors.load()) + " errors, first: " + first_error);
  return static_cast<double>(done) / std::chrono::duration<double>(duration).count();
}

// The `secret` table gets the same rows as `plain`, encrypted through the runtime.
void FillSecret(Server& s) {
  for (int t = 1; t <= kTenants; ++t) {
    data::Principal p;
    p.kind = data::Principal::Kind::kApiKey;
    p.tenant_id = TenantId(t);
    p.credential_id = "bench";
    for (int i = 1; i <= kRowsPerTenant; ++i) {
      data::Fields f{{"id", RowId(t, i)}, {"body", std::string(200, 'x')}};
      auto r = s.Await(s.rt().Insert(p, Info(), "secret", std::move(f)));
      if (!r.ok()) Die("fill secret: " + r.status().ToString());
    }
  }
}

void RunBackend(const std::string& backend, const std::string& pg_url, std::chrono::milliseconds round, int rounds) {
  App app = Prepare(backend, pg_url);
  auto ring = crypto::Keyring::Parse("k1=" + crypto::Base64Encode(crypto::RandomBytes(32)));
  if (!ring.ok()) Die(ring.status().ToString());
  const char* B = backend == "sqlite" ? "SQLITE" : "PG";
  // LOGIN with the default pool (a worker per core) and with one worker (a core left to the rest).
  for (unsigned workers : {0u, 1u}) {
    Server s(app, *ring, workers);
    // Warm: connections, prepared statements, caches.
    (void)MeasureLogin(s, app, 2, 300ms);
    std::vector<double> base_p50, base_p99, base_rps, logins, refused, lp50, lp99, busy_p50, busy_p99, busy_rps;
    for (int r = 0; r < rounds; ++r) {
      LoginRound idle = MeasureLogin(s, app, 0, round);
      LoginRound busy = MeasureLogin(s, app, kLoginClients, round);
      base_p50.push_back(idle.other_p50);
      base_p99.push_back(idle.other_p99);
      base_rps.push_back(idle.other_per_s);
      logins.push_back(busy.logins_per_s);
      refused.push_back(busy.refused_per_s);
      lp50.push_back(busy.login_p50);
      lp99.push_back(busy.login_p99);
      busy_p50.push_back(busy.other_p50);
      busy_p99.push_back(busy.other_p99);
      busy_rps.push_back(busy.other_per_s);
    }
    std::printf("%s LOGIN hash_workers=%u queue=%zu login_clients=%d logins_per_s=%.1f refused_per_s=%.1f login_p50_ms=%.1f "
                "login_p99_ms=%.1f\n",
                B, s.pool().threads(), s.pool().queue_capacity(), kLoginClients, Median(logins), Median(refused),
                Median(lp50), Median(lp99));
    std::printf("%s LOGIN other_requests idle: rps=%.0f p50_ms=%.2f p99_ms=%.2f | during logins: rps=%.0f p50_ms=%.2f "
                "p99_ms=%.2f\n",
                B, Median(base_rps), Median(base_p50), Median(base_p99), Median(busy_rps), Median(busy_p50), Median(busy_p99));
    std::fflush(stdout);
  }
  {
    Server s(app, *ring);

    FillSecret(s);
    for (bool write : {false, true}) {
      std::vector<double> plain, secret, without;
      for (int r = 0; r < rounds; ++r) {
        plain.push_back(MeasureData(s, "plain", write, round, r));
        secret.push_back(MeasureData(s, "secret", write, round, r));
        // A read of the encrypted table that does not select the secret: no decryption and no
        // read_secret audit row (what separates the two costs of reading a secret).
        if (!write) without.push_back(MeasureData(s, "secret", false, round, r, {"id"}));
      }
      const double p = Median(plain), e = Median(secret);
      std::printf("%s ENCRYPTED %s plain_rps=%.0f encrypted_rps=%.0f overhead_pct=%.1f", B, write ? "insert" : "get", p, e,
                  p > 0 ? (p - e) * 100.0 / p : 0.0);
      if (!write) std::printf(" encrypted_table_without_secret_rps=%.0f", Median(without));
      std::printf("\n");
      std::fflush(stdout);
    }

    // Audit chain: inserts with the sealer off and on.
    auto sealer_url = db::ParseUrl(app.sealer_url);
    std::vector<double> off, on;
    uint64_t sealed = 0;
    for (int r = 0; r < rounds; ++r) {
      off.push_back(MeasureData(s, "plain", true, round, 100 + r));
      plinth::audit::SealerOptions so;
      so.interval = 200ms;
      so.on_error = [](const Status& st) { Die("sealer: " + st.ToString()); };
      auto sealer = plinth::audit::BackgroundSealer::Start(*sealer_url, so);  // first: seals the backlog
      if (!sealer.ok()) Die(sealer.status().ToString());
      const uint64_t before = (*sealer)->stats().rows_sealed;
      on.push_back(MeasureData(s, "plain", true, round, 200 + r));
      (*sealer)->Stop();
      sealed += (*sealer)->stats().rows_sealed - before;
    }
    const double o = Median(off), w = Median(on);
    std::printf("%s AUDIT insert sealer_off_rps=%.0f sealer_on_rps=%.0f (every 200 ms) cost_pct=%.1f rows_sealed_while_on=%llu\n",
                B, o, w, o > 0 ? (o - w) * 100.0 / o : 0.0, static_cast<unsigned long long>(sealed));
    std::fflush(stdout);
  }
  // The sealer's own rate on a backlog of unsealed rows (inserted with the sealer off).
  {
    auto conn = ConnectOrDie(app.admin_url);
    const bool pg = backend != "sqlite";
    auto backlog = ConnectOrDie(app.admin_url);
    Check(backlog->Exec(
              pg ? "INSERT INTO plinth_audit (tenant_id, principal_kind, action, table_name, row_key, changes) SELECT NULL, "
                   "'user', 'insert', 'plain', 'row-' || i, jsonb_build_object('body', repeat('y', 200)) FROM "
                   "generate_series(1, 50000) i"
                 : "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 50000) INSERT INTO plinth_audit "
                   "(tenant_id, principal_kind, action, table_name, row_key, changes) SELECT NULL, 'user', 'insert', 'plain', "
                   "'row-' || i, json_object('body', printf('%.200c', 'y')) FROM n"),
          "backlog");
    auto sealer = ConnectOrDie(app.sealer_url);
    const auto start = Clock::now();
    auto r = plinth::audit::SealAll(*sealer);
    const double secs = std::chrono::duration<double>(Clock::now() - start).count();
    if (!r.ok()) Die(r.status().ToString());
    auto verifier = ConnectOrDie(app.admin_url);
    const auto vstart = Clock::now();
    auto v = plinth::audit::Verify(*verifier);
    const double vsecs = std::chrono::duration<double>(Clock::now() - vstart).count();
    if (!v.ok() || !v->ok()) Die("verify failed");
    std::printf("%s AUDIT seal backlog rows=%lld rows_per_s=%.0f | verify rows=%lld rows_per_s=%.0f\n", B,
                static_cast<long long>(r->rows), static_cast<double>(r->rows) / secs, static_cast<long long>(v->rows_checked),
                static_cast<double>(v->rows_checked) / vsecs);
    std::fflush(stdout);
  }
  if (!app.dir.empty()) std::filesystem::remove_all(app.dir);
  if (backend != "sqlite") {
    auto super = ConnectOrDie(pg_url);
    (void)super->Exec(std::string("DROP DATABASE IF EXISTS ") + kDbName + " WITH (FORCE)");
  }
}

}  // namespace

int main(int argc, char** argv) {
  const double seconds = argc > 1 ? std::atof(argv[1]) : 2.0;
  const int rounds = argc > 2 ? std::atoi(argv[2]) : 3;
  const std::string pg = argc > 3 ? argv[3] : "";
  const auto round = std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000));
  std::printf("auth_benchmark: %d rounds of %.1f s per figure, %u hardware threads\n", rounds, seconds,
              std::thread::hardware_concurrency());
  RunBackend("sqlite", "", round, rounds);
  if (!pg.empty()) RunBackend("postgresql", pg, round, rounds);
  return 0;
}
