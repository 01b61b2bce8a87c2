// tests/api/serve_fixture.h — a running `plinth serve` (api::ApiServer, in process, on an
// ephemeral loopback port) over the test app tests/api/schemas/serve.toml, on SQLite or on
// PostgreSQL, with two tenants, users, API keys and a raw HTTP client.
//
// SQLite: the server migrates the file itself (ServeConfig::migrate, the path `make run` takes).
// PostgreSQL: the deployment's roles (data::RoleStatements): the owner migrates (runner::Up),
// the superuser installs the auth support with the admin role as definer, and the server
// connects as the unprivileged runtime role — through a TcpProxy, so a test can take the
// database away — with the BYPASSRLS admin role as ADMIN_DATABASE_URL.
//
// Thread-safety: one ServeEnv per test.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "common/strings.h"
#include "db/pg_fixture.h"
#include "db/tcp_proxy.h"
#include "db/temp_dir.h"
#include "http/http_fixture.h"
#include "plinth/api.h"
#include "plinth/apikey.h"
#include "plinth/auth.h"
#include "plinth/auth_admin.h"
#include "plinth/data.h"
#include "plinth/migrate.h"
#include "plinth/password.h"
#include "plinth/runner.h"
#include "plinth/schema.h"

namespace plinth::testing {

using http::testing::TestClient;
using http::testing::TestResponse;
using Headers = std::vector<std::pair<std::string, std::string>>;

inline constexpr char kPassword[] = "violet-harbour-lantern-93";

inline std::string ServeSchemaPath() { return std::string(PLINTH_SOURCE_DIR) + "/tests/api/schemas/serve.toml"; }

// postgresql://user@host:port/db → the same with another user and port.
inline std::string PgUrlWith(const std::string& uri, const std::string& user, int port) {
  const size_t scheme = uri.find("://");
  const size_t at = uri.find('@', scheme + 3);
  const size_t path = uri.find('/', scheme + 3);
  std::string hostport = uri.substr(at + 1, path - at - 1);
  std::string host = hostport.substr(0, hostport.rfind(':'));
  std::string p = port > 0 ? std::to_string(port) : hostport.substr(hostport.rfind(':') + 1);
  std::string rest = uri.substr(path);
  std::string sep = rest.find('?') == std::string::npos ? "?" : "&";
  return uri.substr(0, scheme + 3) + user + "@" + host + ":" + p + rest + (port > 0 ? sep + "sslmode=disable" : "");
}

inline int PgPort(const std::string& uri) {
  const size_t scheme = uri.find("://");
  const size_t at = uri.find('@', scheme + 3);
  const size_t path = uri.find('/', scheme + 3);
  std::string hostport = uri.substr(at + 1, path - at - 1);
  return std::stoi(hostport.substr(hostport.rfind(':') + 1));
}

class ServeEnv {
 public:
  explicit ServeEnv(const std::string& backend, std::function<void(api::ServeConfig&)> configure = {})
      : pg_backend_(backend == "postgresql") {
    namespace fs = std::filesystem;
    app_dir_ = dir_ / "app";
    fs::create_directories(app_dir_ + "/migrations");
    fs::copy_file(ServeSchemaPath(), app_dir_ + "/schema.toml");
    Diagnostics diags;
    auto s = schema::LoadSchemaFile(app_dir_ + "/schema.toml", diags);
    if (!s.ok()) {
      ADD_FAILURE() << s.status().ToString() << "\n" << diags.ToString();
      return;
    }
    schema_ = std::move(s).value();
    auto ac = auth::LoadAuthConfig(app_dir_ + "/schema.toml", schema_, diags);
    if (!ac.ok()) {
      ADD_FAILURE() << ac.status().ToString() << "\n" << diags.ToString();
      return;
    }
    auth_ = std::move(ac).value();
    if (!WriteInitialMigration()) return;

    api::ServeConfig c;
    c.app_dir = app_dir_;
    c.host = "127.0.0.1";
    c.port = 0;
    c.threads = 2;
    c.access_log.clear();
    c.jwt_secret = "test-secret-0123456789abcdefghijklmnopqrstuvwxyz";
    c.hash_threads = 1;
    c.shutdown_grace = std::chrono::seconds(5);
    c.pool.size = 4;
    c.pool.max_overflow = 4;
    if (pg_backend_) {
      if (!SetUpPostgres(c)) return;
    } else {
      admin_url_ = "sqlite://" + (dir_ / "app.db");
      c.database_url = admin_url_;
      c.migrate = true;
    }
    if (configure) configure(c);
    config_ = c;
    if (!StartServer()) return;
    if (!Seed()) return;
    ok_ = true;
  }

  ~ServeEnv() { StopServer(); }

  bool ok() const { return ok_; }
  bool pg() const { return pg_backend_; }
  uint16_t port() const { return port_; }
  api::ApiServer& server() { return *server_; }
  const std::string& startup_output() const { return startup_; }
  const schema::Schema& schema() const { return schema_; }
  const api::ServeConfig& config() const { return config_; }
  TcpProxy* proxy() { return proxy_.get(); }
  const std::string& admin_url() const { return admin_url_; }

  // Graceful stop (idempotent).
  void StopServer() {
    if (server_) {
      server_->Stop();
      server_.reset();
    }
  }

  // ---- HTTP ------------------------------------------------------------------------------
  TestResponse Call(const std::string& method, const std::string& target, const std::string& key = {},
                    const std::string& body = {}, Headers headers = {}) {
    TestClient client(port_);
    EXPECT_TRUE(client.connected()) << client.connect_error().message();
    if (!key.empty()) headers.emplace_back("Authorization", "Bearer " + key);
    if (!body.empty() && !HasHeader(headers, "Content-Type")) headers.emplace_back("Content-Type", "application/json");
    auto r = client.Request(method, target, headers, body);
    EXPECT_TRUE(r.has_value()) << method << " " << target << ": no response (" << client.last_error().message() << ")";
    return r.value_or(TestResponse{});
  }
  TestResponse Get(const std::string& target, const std::string& key = {}, Headers h = {}) {
    return Call("GET", target, key, {}, std::move(h));
  }
  TestResponse Post(const std::string& target, const std::string& key, const std::string& body, Headers h = {}) {
    return Call("POST", target, key, body, std::move(h));
  }
  TestResponse Patch(const std::string& target, const std::string& key, const std::string& body, Headers h = {}) {
    return Call("PATCH", target, key, body, std::move(h));
  }
  TestResponse Delete(const std::string& target, const std::string& key) { return Call("DELETE", target, key); }

  // POST /api/v1/documents as `key`; the new row's id ("" on failure).
  std::string CreateDocument(const std::string& key, const std::string& body) {
    TestResponse r = Post("/api/v1/documents", key, body);
    EXPECT_EQ(r.status, 201) << r.body;
    if (r.status != 201) return {};
    return r.Json().value("id", std::string());
  }

  // ---- the database, outside the API ---------------------------------------------------------
  std::unique_ptr<db::Connection> Admin() const {
    auto url = db::ParseUrl(admin_url_);
    if (!url.ok()) return nullptr;
    auto c = db::Connect(*url);
    if (!c.ok()) {
      ADD_FAILURE() << c.status().ToString();
      return nullptr;
    }
    return std::move(c).value();
  }
  std::string P(int i) const { return (pg_backend_ ? "$" : "?") + std::to_string(i); }

  Result<auth::CreatedApiKey> MakeKey(auth::ApiKeySpec spec) {
    auto conn = Admin();
    if (!conn) return Status(Code::kInternal, "no admin connection");
    return auth::CreateApiKey(*conn, schema_, auth_, *hasher_, spec);
  }

  // Seeded identities.
  std::string tenant_a, tenant_b;
  std::string admin_a, member_a, user_b;  // users (admin_a has role admin)
  std::string key_a, key_member_a, key_b;  // API keys: admin_a's, member_a's, user_b's
  std::string email_admin_a = "alice@a.example", email_member_a = "adam@a.example", email_b = "bob@b.example";

 private:
  static bool HasHeader(const Headers& h, const std::string& name) {
    for (const auto& [n, v] : h) {
      if (n == name) return true;
    }
    return false;
  }

  bool WriteInitialMigration() {
    auto d = migrate::Diff(schema::Schema{}, schema_, migrate::DiffOptions{});
    if (!d.ok()) {
      ADD_FAILURE() << d.status().ToString();
      return false;
    }
    migrate::Migration m;
    m.version = "0001";
    m.name = "initial";
    m.created_at = "2026-01-01T00:00:00Z";
    m.up = std::move(d->up);
    m.down = std::move(d->down);
    std::ofstream(app_dir_ + "/migrations/0001_initial.json") << migrate::ToFileText(m);
    Diagnostics diags;
    auto loaded = migrate::LoadMigrationDir(app_dir_ + "/migrations", diags);
    if (!loaded.ok()) {
      ADD_FAILURE() << loaded.status().ToString() << diags.ToString();
      return false;
    }
    migrations_ = std::move(loaded).value();
    return true;
  }

  bool Exec(db::Connection& c, const std::string& sql) {
    Status st = c.Exec(sql);
    if (!st.ok()) ADD_FAILURE() << sql << ": " << st.ToString();
    return st.ok();
  }

  bool SetUpPostgres(api::ServeConfig& c) {
    pgdb_ = std::make_unique<TestDatabase>("plinth_api");
    if (!pgdb_->ok()) return false;
    admin_url_ = pgdb_->url();
    const std::string prefix = pgdb_->name();
    data::RoleOptions ro;
    ro.database = pgdb_->name();
    ro.owner_role = prefix + "_owner";
    ro.runtime_role = prefix + "_rt";
    ro.admin_role = prefix + "_admin";
    auto stmts = data::RoleStatements(ro);
    if (!stmts.ok()) {
      ADD_FAILURE() << stmts.status().ToString();
      return false;
    }
    {
      auto admin = Admin();
      if (!admin) return false;
      for (const auto& st : *stmts) {
        if (!Exec(*admin, st)) return false;
      }
    }
    const std::string owner_url = PgUrlWith(admin_url_, ro.owner_role, 0);
    auto url = db::ParseUrl(owner_url);
    auto up = runner::Up(*url, migrations_, "head", runner::RunOptions{});
    if (!up.ok()) {
      ADD_FAILURE() << "migrate up as the owner: " << up.status().ToString();
      return false;
    }
    auto admin = Admin();
    if (!admin) return false;
    for (const auto& st : *stmts) {
      if (!Exec(*admin, st)) return false;
    }
    auth::InstallOptions io;
    io.runtime_role = ro.runtime_role;
    io.definer_role = ro.admin_role;
    Status st = auth::InstallAuthSupport(*admin, schema_, auth_, io);
    if (!st.ok()) {
      ADD_FAILURE() << "install auth support: " << st.ToString();
      return false;
    }
    proxy_ = std::make_unique<TcpProxy>("127.0.0.1", static_cast<uint16_t>(PgPort(admin_url_)));
    c.database_url = PgUrlWith(admin_url_, ro.runtime_role, proxy_->port());
    c.admin_database_url = PgUrlWith(admin_url_, ro.admin_role, 0);
    c.migrate = false;
    return true;
  }

  bool StartServer() {
    std::ostringstream out;
    auto srv = api::ApiServer::Create(config_, out);
    startup_ = out.str();
    if (!srv.ok()) {
      ADD_FAILURE() << "ApiServer::Create: " << srv.status().ToString() << "\n" << startup_;
      return false;
    }
    server_ = std::move(srv).value();
    server_->Start();
    port_ = server_->port();
    return true;
  }

  bool Seed() {
    auto h = crypto::ApiKeyHasher::Create(config_.api_key_pepper);
    if (!h.ok()) return false;
    hasher_ = std::make_unique<crypto::ApiKeyHasher>(std::move(h).value());
    auto conn = Admin();
    if (!conn) return false;
    auto a = auth::CreateTenant(*conn, schema_, "Tenant A", {{"slug", "a"}});
    auto b = auth::CreateTenant(*conn, schema_, "Tenant B", {{"slug", "b"}});
    if (!a.ok() || !b.ok()) {
      ADD_FAILURE() << "tenants: " << (a.ok() ? b.status().ToString() : a.status().ToString());
      return false;
    }
    tenant_a = *a;
    tenant_b = *b;
    crypto::Argon2Params fast;
    fast.memory_kib = 19456;
    fast.iterations = 2;
    auto hash = crypto::HashPassword(kPassword, fast);
    if (!hash.ok()) {
      ADD_FAILURE() << hash.status().ToString();
      return false;
    }
    auto user = [&](const std::string& tenant, const std::string& email, const std::string& role) -> std::string {
      const std::string id = NewId();
      auto r = conn->Query("INSERT INTO users (id, tenant_id, email, password_hash, role) VALUES (" + P(1) + ", " + P(2) +
                               ", " + P(3) + ", " + P(4) + ", " + P(5) + ")",
                           {id, tenant, email, *hash, role});
      if (!r.ok()) ADD_FAILURE() << "user " << email << ": " << r.status().ToString();
      return id;
    };
    admin_a = user(tenant_a, email_admin_a, "admin");
    member_a = user(tenant_a, email_member_a, "member");
    user_b = user(tenant_b, email_b, "admin");
    auto key = [&](const std::string& tenant, const std::string& uid) -> std::string {
      auth::ApiKeySpec spec;
      spec.tenant_id = tenant;
      spec.user_id = uid;
      spec.name = "test key";
      auto k = auth::CreateApiKey(*conn, schema_, auth_, *hasher_, spec);
      if (!k.ok()) {
        ADD_FAILURE() << "api key: " << k.status().ToString();
        return {};
      }
      return k->key;
    };
    key_a = key(tenant_a, admin_a);
    key_member_a = key(tenant_a, member_a);
    key_b = key(tenant_b, user_b);
    return !key_a.empty() && !key_member_a.empty() && !key_b.empty();
  }

  static std::string NewId() {
    static std::atomic<int> n{0};
    char buf[40];
    std::snprintf(buf, sizeof buf, "%08x-1111-4111-8111-%012x", ::getpid() & 0x7fffffff, ++n);
    return buf;
  }

  TempDir dir_;
  bool pg_backend_ = false;
  bool ok_ = false;
  std::string app_dir_;
  schema::Schema schema_;
  auth::AuthConfig auth_;
  std::vector<migrate::Migration> migrations_;
  std::unique_ptr<TestDatabase> pgdb_;
  std::unique_ptr<TcpProxy> proxy_;
  std::string admin_url_;
  api::ServeConfig config_;
  std::unique_ptr<api::ApiServer> server_;
  std::unique_ptr<crypto::ApiKeyHasher> hasher_;
  std::string startup_;
  uint16_t port_ = 0;
};

}  // namespace plinth::testing
