// tests/auth/harness.h — a migrated database for the auth layer's tests on either backend:
// the test schema (tests/auth/schemas) loaded with its [auth] section, migrated by the same
// migrate::Diff + runner::Up path as `plinth migrate up`, and — on PostgreSQL — the roles of a
// real deployment (data::RoleStatements: owner NOBYPASSRLS owning the tables, runtime role,
// admin role with BYPASSRLS that owns the auth functions), with InstallAuthSupport applied.
//
// Thread-safety: one AuthDb per test.
#pragma once

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include <memory>
#include <string>
#include <thread>

#include "common/strings.h"
#include "db/pg_fixture.h"
#include "db/temp_dir.h"
#include "plinth/auth.h"
#include "plinth/auth_admin.h"
#include "plinth/data.h"
#include "plinth/migrate.h"
#include "plinth/runner.h"
#include "plinth/schema.h"

namespace plinth::testing {

namespace asio = boost::asio;

inline std::string AuthSchemaPath(const std::string& name) {
  return std::string(PLINTH_SOURCE_DIR) + "/tests/auth/schemas/" + name;
}

inline Result<migrate::Migration> AuthInitialMigration(const schema::Schema& s) {
  PLINTH_ASSIGN_OR_RETURN(migrate::DiffResult d, migrate::Diff(schema::Schema{}, s, migrate::DiffOptions{}));
  migrate::Migration m;
  m.version = "0001";
  m.name = "initial";
  m.created_at = "2026-01-01T00:00:00Z";
  m.up = std::move(d.up);
  m.down = std::move(d.down);
  Diagnostics diags;
  return migrate::ParseMigration(migrate::ToFileText(m), "0001_initial.json", diags);
}

// postgresql://USER@host/db…: the same URI with another user name.
inline std::string PgUrlWithUser(const std::string& uri, const std::string& user) {
  size_t scheme = uri.find("://");
  size_t at = uri.find('@', scheme + 3);
  size_t slash = uri.find('/', scheme + 3);
  if (scheme == std::string::npos || at == std::string::npos || (slash != std::string::npos && at > slash)) return uri;
  return uri.substr(0, scheme + 3) + user + uri.substr(at);
}

// Runs coroutines on a background io_context thread.
class AuthLoop {
 public:
  AuthLoop() : work_(asio::make_work_guard(io_)), thread_([this] { io_.run(); }) {}
  ~AuthLoop() {
    work_.reset();
    io_.stop();
    thread_.join();
  }
  asio::io_context& io() { return io_; }
  template <typename T>
  T Run(asio::awaitable<T> a) {
    return asio::co_spawn(io_, std::move(a), asio::use_future).get();
  }

 private:
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  std::thread thread_;
};

class AuthDb {
 public:
  // `backend` "sqlite" or "postgresql".
  AuthDb(const std::string& backend, const std::string& schema_file) {
    Diagnostics diags;
    const std::string path = AuthSchemaPath(schema_file);
    auto s = schema::LoadSchemaFile(path, diags);
    if (!s.ok()) {
      ADD_FAILURE() << s.status().ToString() << "\n" << diags.ToString();
      return;
    }
    schema_ = std::move(s).value();
    auto c = auth::LoadAuthConfig(path, schema_, diags);
    if (!c.ok()) {
      ADD_FAILURE() << c.status().ToString() << "\n" << diags.ToString();
      return;
    }
    config_ = std::move(c).value();
    if (backend == "sqlite") {
      dir_ = std::make_unique<TempDir>();
      admin_url_ = "sqlite://" + (*dir_ / "app.db");
      owner_url_ = runtime_url_ = definer_url_ = admin_url_;
    } else {
      pg_ = std::make_unique<TestDatabase>("plinth_auth");
      if (!pg_->ok()) return;
      admin_url_ = pg_->url();
      const std::string prefix = pg_->name();
      owner_role_ = prefix + "_owner";
      runtime_role_ = prefix + "_rt";
      definer_role_ = prefix + "_admin";
      data::RoleOptions ro;
      ro.database = pg_->name();
      ro.owner_role = owner_role_;
      ro.runtime_role = runtime_role_;
      ro.admin_role = definer_role_;
      auto stmts = data::RoleStatements(ro);
      if (!stmts.ok()) {
        ADD_FAILURE() << stmts.status().ToString();
        return;
      }
      auto admin = Connect(admin_url_);
      if (!admin) return;
      for (const auto& st : *stmts) {
        Status x = admin->Exec(st);
        if (!x.ok()) {
          ADD_FAILURE() << st << ": " << x.ToString();
          return;
        }
      }
      owner_url_ = PgUrlWithUser(admin_url_, owner_role_);
      runtime_url_ = PgUrlWithUser(admin_url_, runtime_role_);
      definer_url_ = PgUrlWithUser(admin_url_, definer_role_);
    }
    auto url = db::ParseUrl(owner_url_);
    auto m = AuthInitialMigration(schema_);
    if (!url.ok() || !m.ok()) {
      ADD_FAILURE() << "migration: " << (m.ok() ? url.status().ToString() : m.status().ToString());
      return;
    }
    runner::RunOptions opts;
    auto up = runner::Up(*url, {*m}, "head", opts);
    if (!up.ok()) {
      ADD_FAILURE() << "migrate up: " << up.status().ToString();
      return;
    }
    if (pg_) {
      // The runtime role's grants on what the migration created (as `plinth migrate up` leaves it).
      data::RoleOptions ro;
      ro.database = pg_->name();
      ro.owner_role = owner_role_;
      ro.runtime_role = runtime_role_;
      ro.admin_role = definer_role_;
      auto admin = Connect(admin_url_);
      auto again = data::RoleStatements(ro);
      for (const auto& st : *again) {
        Status x = admin->Exec(st);
        if (!x.ok()) ADD_FAILURE() << st << ": " << x.ToString();
      }
    }
    auto admin = Connect(admin_url_);
    if (!admin) return;
    auth::InstallOptions io;
    io.runtime_role = runtime_role_;
    io.definer_role = definer_role_;
    Status st = auth::InstallAuthSupport(*admin, schema_, config_, io);
    if (!st.ok()) {
      ADD_FAILURE() << "install auth support: " << st.ToString();
      return;
    }
    ok_ = true;
  }

  bool ok() const { return ok_; }
  bool pg() const { return pg_ != nullptr; }
  const schema::Schema& schema() const { return schema_; }
  const auth::AuthConfig& config() const { return config_; }
  const std::string& admin_url() const { return admin_url_; }
  const std::string& runtime_url() const { return runtime_url_; }
  const std::string& definer_url() const { return definer_url_; }
  const std::string& runtime_role() const { return runtime_role_; }
  const std::string& definer_role() const { return definer_role_; }

  // Superuser (PostgreSQL) / the file (SQLite).
  std::unique_ptr<db::Connection> Admin() const { return Connect(admin_url_); }
  std::unique_ptr<db::Connection> Runtime() const { return Connect(runtime_url_); }
  // The deployment's admin role: BYPASSRLS, owns nothing but the auth functions.
  std::unique_ptr<db::Connection> Definer() const { return Connect(definer_url_); }

  static std::unique_ptr<db::Connection> Connect(const std::string& u) {
    auto url = db::ParseUrl(u);
    if (!url.ok()) {
      ADD_FAILURE() << url.status().ToString();
      return nullptr;
    }
    auto c = db::Connect(*url);
    if (!c.ok()) {
      ADD_FAILURE() << c.status().ToString();
      return nullptr;
    }
    return std::move(c).value();
  }

 private:
  schema::Schema schema_;
  auth::AuthConfig config_;
  std::unique_ptr<TempDir> dir_;
  std::unique_ptr<TestDatabase> pg_;
  std::string admin_url_, owner_url_, runtime_url_, definer_url_;
  std::string owner_role_, runtime_role_, definer_role_;
  bool ok_ = false;
};

// Fixed ids for readable tests.
inline std::string Id(int a, int n) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%08x-0000-4000-8000-%012x", a, n);
  return buf;
}

inline std::string One(db::Connection& c, const std::string& sql, const db::Params& p = {}) {
  auto r = c.Query(sql, p);
  if (!r.ok()) {
    ADD_FAILURE() << sql << ": " << r.status().ToString();
    return "<error>";
  }
  if (r->rows.empty() || r->rows[0].empty()) return "<none>";
  return r->rows[0][0].value_or("NULL");
}

inline void Exec(db::Connection& c, const std::string& sql) {
  Status st = c.Exec(sql);
  EXPECT_TRUE(st.ok()) << sql << ": " << st.ToString();
}

}  // namespace plinth::testing
