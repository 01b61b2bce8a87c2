// The assembly of `plinth serve`: schema, migrations, pools, data runtime, authenticator,
// routes and the HTTP server, built in that order and torn down in reverse.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_future.hpp>

#include <filesystem>
#include <future>
#include <iostream>
#include <thread>

#include "api/server_internal.h"
#include "plinth/auth_admin.h"
#include "plinth/auth_audit.h"
#include "plinth/crypto.h"
#include "plinth/jwt.h"
#include "plinth/keyring.h"
#include "plinth/migrate.h"
#include "plinth/runner.h"

namespace plinth::api {

namespace fs = std::filesystem;
namespace asio = boost::asio;
using internal::RunSync;

namespace {

constexpr size_t kJwtSecretBytes = 32;
constexpr auto kTeardownBudget = std::chrono::seconds(5);
// How often committed audit rows are chained (docs/security.md "Audit chain"), when the
// audit_seal_interval / audit_seal_batch settings leave it to the backend.
constexpr auto kAuditSealInterval = std::chrono::seconds(5);
// SQLite has one write lock, and a sealing run holds it for as long as it chains rows (~50 µs a
// row): every API write waits behind it. At 1,000 writes/s a 5 s run stalled writes for ~250 ms
// (bench/http.sh, the p99 of `create`); runs every 250 ms, of at most 500 rows each, keep the
// stall to a few milliseconds.
constexpr auto kAuditSealIntervalSqlite = std::chrono::milliseconds(250);
constexpr int64_t kAuditSealRowsSqlite = 500;

bool IsUuid(std::string_view s) {
  if (s.size() != 36) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (c != '-') return false;
    } else if (!std::isxdigit(static_cast<unsigned char>(c))) {
      return false;
    }
  }
  return true;
}

bool HasEncryptedColumns(const schema::Schema& s) {
  for (const auto& t : s.tables) {
    for (const auto& c : t.columns) {
      if (c.encrypted) return true;
    }
  }
  return false;
}

Result<std::string> CurrentUser(const db::Url& url) {
  PLINTH_ASSIGN_OR_RETURN(auto conn, db::Connect(url));
  PLINTH_ASSIGN_OR_RETURN(db::QueryResult r, conn->Query("SELECT current_user"));
  if (r.rows.empty() || r.rows[0].empty() || !r.rows[0][0]) return Status(Code::kInternal, "current_user returned nothing");
  return *r.rows[0][0];
}

// ENABLE_AUTH=false: the tenant requests act as — an id as given, else looked up by slug or
// name (or the oldest tenant when `spec` is empty).
Result<std::string> ResolveDefaultTenant(const db::Url& url, const schema::Schema& s, const std::string& spec) {
  if (s.app.tenants_table.empty()) return std::string();
  if (IsUuid(spec)) return spec;
  const schema::Table* t = s.FindTable(s.app.tenants_table);
  if (t == nullptr) return Status(Code::kInternal, "the tenant table is missing from the schema");
  const bool pg = url.backend == db::Backend::kPostgres;
  const std::string p1 = pg ? "$1" : "?1";
  std::string where;
  for (const char* col : {"slug", "name"}) {
    if (spec.empty() || t->FindColumn(col) == nullptr) continue;
    if (!where.empty()) where += " OR ";
    where += db::QuoteIdent(col) + " = " + p1;
  }
  if (!spec.empty() && where.empty()) {
    return Status(Code::kInvalidArgument, "DEFAULT_TENANT '" + spec + "' is not a uuid and table " + t->name +
                                              " has no slug or name column to find it by");
  }
  std::string sql = "SELECT " + std::string(pg ? "id::text" : "id") + " FROM " + db::QuoteIdent(t->name);
  if (!where.empty()) sql += " WHERE " + where;
  if (t->FindColumn("created_at") != nullptr) sql += " ORDER BY created_at";
  sql += " LIMIT 1";
  PLINTH_ASSIGN_OR_RETURN(auto conn, db::Connect(url));
  db::Params params;
  if (!spec.empty()) params.push_back(spec);
  PLINTH_ASSIGN_OR_RETURN(db::QueryResult r, conn->Query(sql, params));
  if (r.rows.empty() || !r.rows[0][0]) {
    return Status(Code::kNotFound, spec.empty() ? "ENABLE_AUTH=false needs a tenant, and table " + t->name + " is empty"
                                                : "no tenant '" + spec + "' in table " + t->name + " (DEFAULT_TENANT)");
  }
  return *r.rows[0][0];
}

asio::awaitable<void> SignalDone(std::promise<void>* done) {
  done->set_value();
  co_return;
}

}  // namespace

struct ApiServer::Impl {
  ServeConfig config;
  asio::io_context io;
  std::unique_ptr<http::IoThreads> threads;
  metrics::MetricsRegistry metrics;
  schema::Schema schema;
  auth::AuthConfig auth_config;
  std::optional<crypto::Keyring> keyring;
  std::unique_ptr<auth::KeyringCipher> cipher;
  std::unique_ptr<crypto::HashPool> hash_pool;
  std::optional<crypto::ApiKeyHasher> hasher;
  std::unique_ptr<data::Runtime> runtime;
  std::unique_ptr<auth::Authenticator> authenticator;
  std::unique_ptr<audit::BackgroundSealer> sealer;  // chains committed audit rows (auth_audit.h)
  std::unique_ptr<ratelimit::RateLimiter> key_limiter, login_limiter;
  internal::Services services;
  std::deque<internal::TableRoute> routes;
  std::unique_ptr<http::Server> server;
  bool started = false;
  bool torn_down = false;

  ~Impl() { Teardown(); }

  Status Build(std::ostream& out);
  void Teardown();
};

Status ApiServer::Impl::Build(std::ostream& out) {
  const ServeConfig& c = config;
  if (c.database_url.empty()) {
    return Status(Code::kInvalidArgument,
                  "no database given: pass --database-url URL or set DATABASE_URL (sqlite://var/app.db, "
                  "postgresql://app@host/db)");
  }
  PLINTH_ASSIGN_OR_RETURN(db::Url url, db::ParseUrl(c.database_url));

  // The app: schema, its [auth] mapping, migrations.
  const fs::path app = c.app_dir.empty() ? fs::path(".") : fs::path(c.app_dir);
  const std::string schema_path = (app / "schema.toml").string();
  std::error_code ec;
  if (!fs::exists(schema_path, ec)) {
    return Status(Code::kNotFound, "no schema.toml in " + app.string() +
                                       ": pass --app DIR or set PLINTH_APP to the directory of schema.toml and migrations/");
  }
  Diagnostics diags;
  auto loaded = schema::LoadSchemaFile(schema_path, diags);
  if (!loaded.ok()) return Status(Code::kInvalidArgument, loaded.status().message() + "\n" + diags.ToString());
  schema = std::move(loaded).value();
  auto ac = auth::LoadAuthConfig(schema_path, schema, diags);
  if (!ac.ok()) return Status(Code::kInvalidArgument, ac.status().message() + "\n" + diags.ToString());
  auth_config = std::move(ac).value();
  std::vector<migrate::Migration> migrations;
  const std::string mig_dir = (app / "migrations").string();
  if (fs::is_directory(mig_dir, ec)) {
    auto m = migrate::LoadMigrationDir(mig_dir, diags);
    if (!m.ok()) return Status(Code::kInvalidArgument, m.status().message() + "\n" + diags.ToString());
    migrations = std::move(m).value();
  }
  const std::string head = migrations.empty() ? std::string() : migrations.back().version;

  // --migrate: migrations (as the owner role), then the auth support objects.
  db::Url migrate_url = url;
  if (!c.migrate_database_url.empty()) {
    auto mu = db::ParseUrl(c.migrate_database_url);
    if (!mu.ok()) return mu.status().WithContext("MIGRATE_DATABASE_URL");
    migrate_url = *mu;
  }
  std::optional<db::Url> admin_url;
  if (!c.admin_database_url.empty()) {
    auto au = db::ParseUrl(c.admin_database_url);
    if (!au.ok()) return au.status().WithContext("ADMIN_DATABASE_URL");
    admin_url = *au;
  }
  if (c.migrate) {
    runner::RunOptions ro;
    ro.progress = [&out](const std::string& line) { out << "migrate: " << line << "\n"; };
    auto report = runner::Up(migrate_url, migrations, "head", ro);
    if (!report.ok()) return report.status().WithContext("--migrate");
    out << "migrate: database at " << (report->to_version.empty() ? "base" : report->to_version) << " ("
        << report->migrations.size() << " applied now)\n";
    if (auth_config.present) {
      auth::InstallOptions io_opts;
      if (url.backend == db::Backend::kPostgres) {
        io_opts.runtime_role = c.runtime_role;
        if (io_opts.runtime_role.empty()) {
          auto user = CurrentUser(url);
          if (!user.ok()) return user.status().WithContext("finding the runtime role of DATABASE_URL");
          io_opts.runtime_role = *user;
        }
        if (admin_url) {
          auto definer = CurrentUser(*admin_url);
          if (!definer.ok()) return definer.status().WithContext("finding the role of ADMIN_DATABASE_URL");
          io_opts.definer_role = *definer;
        }
      }
      auto conn = db::Connect(migrate_url);
      if (!conn.ok()) return conn.status().WithContext("--migrate");
      Status st = auth::InstallAuthSupport(**conn, schema, auth_config, io_opts);
      if (!st.ok()) {
        return st.WithContext(
            "installing the auth support objects (PostgreSQL: MIGRATE_DATABASE_URL must be a superuser, or set "
            "ADMIN_DATABASE_URL to the BYPASSRLS role that owns the lookup functions)");
      }
    }
  }

  // Encrypted columns: the keyring, checked against what the database holds.
  if (!c.encryption_keys.empty()) {
    auto kr = crypto::Keyring::Parse(c.encryption_keys);
    if (!kr.ok()) return kr.status().WithContext("PLINTH_ENCRYPTION_KEYS");
    keyring.emplace(std::move(kr).value());
    cipher = std::make_unique<auth::KeyringCipher>(*keyring);
  }
  if (HasEncryptedColumns(schema)) {
    if (!keyring) {
      return Status(Code::kFailedPrecondition,
                    "app " + schema.app.name + " has encrypted columns: set PLINTH_ENCRYPTION_KEYS "
                                               "(id=base64key; generate one with: openssl rand -base64 32)");
    }
    auto conn = db::Connect(c.migrate ? migrate_url : url);
    if (!conn.ok()) return conn.status().WithContext("checking the keyring");
    PLINTH_RETURN_IF_ERROR(auth::CheckKeyring(**conn, schema, *keyring));
  }

  // The pools and the data runtime.
  const int nthreads = c.threads > 0 ? c.threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  threads = std::make_unique<http::IoThreads>(io, nthreads);
  auto database = db::OpenDatabase(io, url, c.pool);
  if (!database.ok()) return database.status().WithContext("DATABASE_URL");
  data::RuntimeOptions ro;
  ro.cipher = cipher.get();
  ro.max_list_limit = c.max_list_limit;
  ro.require_unprivileged_role = c.require_unprivileged_role;
  if (admin_url) {
    db::PoolOptions admin_pool = c.pool;
    admin_pool.size = std::min(admin_pool.size, 2);
    admin_pool.max_overflow = std::min(admin_pool.max_overflow, 4);
    auto admin_db = db::OpenDatabase(io, *admin_url, admin_pool);
    if (!admin_db.ok()) return admin_db.status().WithContext("ADMIN_DATABASE_URL");
    ro.admin_database = std::move(admin_db).value();
  }
  auto rt = RunSync(io, data::Runtime::Open(schema, std::move(database).value(), std::move(ro), head));
  if (!rt.ok()) return rt.status().WithContext("opening the data runtime on " + url.Redacted());
  runtime = std::move(rt).value();

  // The audit chain's sealer, as the runtime role (PostgreSQL: plinth_auth.audit_seal, installed
  // by `plinth seed` / --migrate). Without it the log is still written, only not chained yet.
  if (!(url.backend == db::Backend::kSqlite && url.path == ":memory:")) {
    audit::SealerOptions so;
    so.interval = kAuditSealInterval;
    if (url.backend == db::Backend::kSqlite) {
      so.interval = kAuditSealIntervalSqlite;
      so.seal.max_rows = kAuditSealRowsSqlite;
    }
    if (c.audit_seal_interval.count() > 0) {
      so.interval = std::chrono::duration_cast<std::chrono::milliseconds>(c.audit_seal_interval);
    }
    if (c.audit_seal_batch > 0) so.seal.max_rows = c.audit_seal_batch;
    so.connect.sqlite_synchronous_full = c.pool.sqlite_synchronous_full;
    so.on_error = [](const Status& st) { std::cerr << "warning: " + st.ToString() + "\n" << std::flush; };
    auto sl = audit::BackgroundSealer::Start(url, so);
    if (sl.ok()) {
      sealer = std::move(sl).value();
    } else {
      out << "warning: the audit log is not being chained (" << sl.status().ToString()
          << "): run `plinth seed` (or serve --migrate) to install the audit chain\n";
    }
  }

  // Credentials.
  crypto::HashPoolOptions hp;
  hp.threads = c.hash_threads;
  hp.queue_capacity = c.hash_queue;
  auto pool = crypto::HashPool::Create(hp);
  if (!pool.ok()) return pool.status();
  hash_pool = std::move(pool).value();
  auto h = crypto::ApiKeyHasher::Create(c.api_key_pepper);
  if (!h.ok()) return h.status().WithContext("PLINTH_API_KEY_PEPPER");
  hasher.emplace(std::move(h).value());

  internal::Services& s = services;
  s.config = &config;
  s.runtime = runtime.get();
  s.schema = &runtime->schema();
  s.hash_pool = hash_pool.get();
  s.metrics = &metrics;
  s.head_version = head;
  s.database_url_redacted = url.Redacted();
  s.started = Clock::now();
  s.query_limits.default_limit = c.default_list_limit;
  s.query_limits.max_limit = c.max_list_limit;

  if (c.enable_auth) {
    if (!auth_config.present) {
      return Status(Code::kFailedPrecondition,
                    "app " + schema.app.name + " has no [auth] section, so no request could authenticate: add one "
                    "(docs/security.md) or set ENABLE_AUTH=false for development");
    }
    std::string secret = c.jwt_secret;
    if (secret.empty()) {
      secret = crypto::RandomBytes(kJwtSecretBytes);
      out << "warning: JWT_SECRET is not set: access tokens are signed with a random secret and stop working when this "
             "process ends\n";
    }
    crypto::JwtOptions jo;
    jo.issuer = c.jwt_issuer;
    jo.audience = c.jwt_audience.empty() ? schema.app.name : c.jwt_audience;
    jo.keys.push_back(crypto::JwtKey{"", std::move(secret)});
    auto jwt = crypto::JwtCodec::Create(std::move(jo));
    if (!jwt.ok()) return jwt.status().WithContext("JWT_SECRET");
    auth::AuthOptions ao;
    ao.access_ttl = c.access_token_ttl;
    ao.refresh_ttl = c.refresh_token_ttl;
    auto a = auth::Authenticator::Create(runtime->schema(), auth_config, runtime->database(), *hash_pool, *hasher,
                                         std::move(jwt).value(), ao);
    if (!a.ok()) return a.status();
    authenticator = std::move(a).value();
    authenticator->Start(io);
    s.authenticator = authenticator.get();
  } else {
    const db::Url& lookup = admin_url ? *admin_url : (c.migrate_database_url.empty() ? url : migrate_url);
    auto tenant = ResolveDefaultTenant(lookup, schema, c.default_tenant);
    if (!tenant.ok()) return tenant.status().WithContext("ENABLE_AUTH=false");
    s.anonymous.kind = data::Principal::Kind::kUser;
    s.anonymous.tenant_id = *tenant;
    s.anonymous.role = c.anonymous_role;
    if (!c.anonymous_role.empty()) s.anonymous.roles = {c.anonymous_role};
    s.anonymous.credential_id = "anonymous";
    out << "warning: ENABLE_AUTH=false: no credentials are checked; every request acts as tenant "
        << (tenant->empty() ? std::string("(none)") : *tenant) << " with role " << c.anonymous_role << "\n";
  }
  if (c.key_rate_limit.enabled()) {
    key_limiter = std::make_unique<ratelimit::RateLimiter>(
        ratelimit::Options{c.key_rate_limit.rate, c.key_rate_limit.burst, ratelimit::Options{}.max_keys});
    key_limiter->RegisterMetrics(metrics, "key");
    s.key_limiter = key_limiter.get();
  }
  if (c.login_rate_limit.enabled()) {
    login_limiter = std::make_unique<ratelimit::RateLimiter>(
        ratelimit::Options{c.login_rate_limit.rate, c.login_rate_limit.burst, ratelimit::Options{}.max_keys});
    login_limiter->RegisterMetrics(metrics, "login");
    s.login_limiter = login_limiter.get();
  }

  // The documents served as they are.
  rest::OpenApiOptions oo;
  oo.server_url = c.public_url.empty() ? "/" : c.public_url;
  oo.limits = s.query_limits;
  oo.body_limits = s.body_limits;
  s.openapi_json = rest::OpenApiDocument(*s.schema, oo);
  auto docs = rest::DocsPage(s.openapi_json);
  if (!docs.ok()) return docs.status().WithContext("rendering /docs");
  s.docs_html = std::move(docs).value();

  internal::RegisterServiceMetrics(s);
  http::Router router;
  PLINTH_RETURN_IF_ERROR(internal::AddHealthRoutes(router, s));
  PLINTH_RETURN_IF_ERROR(internal::AddDocumentRoutes(router, s));
  PLINTH_RETURN_IF_ERROR(internal::AddAuthRoutes(router, s));
  PLINTH_RETURN_IF_ERROR(internal::AddTableRoutes(router, s, routes));

  http::ServerOptions so;
  so.host = c.host;
  so.port = c.port;
  so.max_body_bytes = c.max_body_bytes;
  so.max_header_bytes = c.max_header_bytes;
  so.max_connections = c.max_connections;
  so.header_timeout = c.header_timeout;
  so.body_timeout = c.body_timeout;
  so.idle_timeout = c.idle_timeout;
  so.write_timeout = c.write_timeout;
  so.request_timeout = c.request_timeout;
  if (c.ip_rate_limit.enabled()) {
    so.ip_rate_limit = ratelimit::Options{c.ip_rate_limit.rate, c.ip_rate_limit.burst, ratelimit::Options{}.max_keys};
  }
  auto cors = http::CorsOptions::FromAllowedOrigins(c.allowed_origins, c.cors_allow_credentials);
  if (!cors.ok()) return cors.status().WithContext("ALLOWED_ORIGINS");
  so.cors = std::move(cors).value();
  so.access_log.path = c.access_log;
  auto srv = http::Server::Create(io, std::move(so), std::move(router), metrics);
  if (!srv.ok()) return srv.status().WithContext("listening on " + c.host + ":" + std::to_string(c.port));
  server = std::move(srv).value();

  const std::string shown_host =
      (c.host == "0.0.0.0" || c.host == "::" || c.host.empty()) ? std::string("127.0.0.1")
                                                               : (c.host.find(':') != std::string::npos ? "[" + c.host + "]" : c.host);
  const std::string base_url = "http://" + shown_host + ":" + std::to_string(server->port());
  if (!c.demo_key_file.empty()) {
    internal::DemoInputs d;
    d.config = &config;
    d.schema = s.schema;
    d.auth = &auth_config;
    d.hasher = &*hasher;
    d.runtime = runtime.get();
    d.authenticator = authenticator.get();
    d.io = &io;
    d.base_url = base_url;
    PLINTH_RETURN_IF_ERROR(internal::RunDemo(d, out));
  }
  out << "plinth serve: app " << schema.app.name << " (" << routes.size() << " resources) on "
      << (url.backend == db::Backend::kPostgres ? "PostgreSQL" : "SQLite") << " " << url.Redacted() << ", "
      << nthreads << " threads\n"
      << "listening on " << base_url << "  (API reference: " << base_url << "/docs, health: " << base_url
      << "/health/ready, metrics: " << base_url << "/metrics)\n";
  out.flush();
  return Status::Ok();
}

void ApiServer::Impl::Teardown() {
  if (torn_down) return;
  torn_down = true;
  const auto deadline = Clock::now() + (started ? config.shutdown_grace : Clock::duration(kTeardownBudget));
  if (server) server->Stop(deadline);
  sealer.reset();  // a last run chains the rows of the requests just finished
  if (threads) {
    if (authenticator) RunSync(io, authenticator->Stop());
    if (runtime) RunSync(io, runtime->database().Close(Clock::now() + kTeardownBudget));
  }
  if (hash_pool) hash_pool->Shutdown();
  if (threads) threads->Stop();
  server.reset();
  authenticator.reset();
  runtime.reset();
  hash_pool.reset();
  threads.reset();
}

ApiServer::ApiServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ApiServer::~ApiServer() = default;

Result<std::unique_ptr<ApiServer>> ApiServer::Create(ServeConfig config, std::ostream& out) {
  auto impl = std::make_unique<Impl>();
  impl->config = std::move(config);
  Status st = impl->Build(out);
  if (!st.ok()) return st;
  return std::unique_ptr<ApiServer>(new ApiServer(std::move(impl)));
}

uint16_t ApiServer::port() const { return impl_->server->port(); }
const ServeConfig& ApiServer::config() const { return impl_->config; }

void ApiServer::Start() {
  if (impl_->started) return;
  impl_->started = true;
  impl_->server->Start();
}

void ApiServer::Stop() { impl_->Teardown(); }

void ApiServer::RunUntilSignal() {
  std::promise<void> done;
  std::future<void> stopped = done.get_future();
  std::promise<void>* p = &done;
  impl_->server->StopOnSignals(impl_->config.shutdown_grace, [p]() { return SignalDone(p); });
  Start();
  stopped.wait();
  Stop();
}

std::string ApiServer::RenderMetrics() const { return impl_->metrics.Render(); }

int Serve(ServeConfig config, std::ostream& out, std::ostream& err) {
  auto server = ApiServer::Create(std::move(config), out);
  if (!server.ok()) {
    err << "error: " << server.status().message() << "\n";
    return 1;
  }
  (*server)->RunUntilSignal();
  out << "plinth serve: stopped\n";
  out.flush();
  return 0;
}

}  // namespace plinth::api
