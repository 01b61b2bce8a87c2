// tests/data/pg_env.h — the PostgreSQL Env: a throwaway database with its own owner, runtime
// and admin roles (data::RoleStatements, as `plinth roles apply` creates them), migrated as
// the owner, the Runtime connected as the runtime role — so every policy is enforced by RLS.
// Mutations (the policy mutants) are applied as the superuser after the migration.
//
// Thread-safety: one PgEnv per test.
#pragma once

#include "data/harness.h"
#include "db/pg_fixture.h"

namespace plinth::testing {

// The URI with another user: postgresql://USER@host:port/db?params.
inline std::string PgUrlWithUser(const std::string& uri, const std::string& user) {
  size_t scheme = uri.find("://");
  if (scheme == std::string::npos) return uri;
  size_t start = scheme + 3;
  size_t at = uri.find('@', start);
  size_t slash = uri.find('/', start);
  if (at != std::string::npos && (slash == std::string::npos || at < slash)) {
    return uri.substr(0, start) + user + uri.substr(at);
  }
  return uri.substr(0, start) + user + "@" + uri.substr(start);
}

enum class PgMutant : unsigned char {
  kNone,
  kDropChecks,        // every policy's WITH CHECK (true)
  kUsingTrue,         // every policy's USING (true)
  kNoForce,           // NO FORCE ROW LEVEL SECURITY, runtime connected as the owner
  kBypassRls,         // the runtime role gets BYPASSRLS
  kTenantCheckOnly,   // only the tenant policy's WITH CHECK (true): defence in depth holds
};

struct PgEnvOptions : EnvOptions {
  PgMutant mutant = PgMutant::kNone;
  bool connect_as_owner = false;
};

inline Status ExecAll(db::Connection& conn, const std::vector<std::string>& statements) {
  for (const auto& s : statements) {
    Status st = conn.Exec(s);
    if (!st.ok()) return st.WithContext(s);
  }
  return Status::Ok();
}

class PgEnv : public Env {
 public:
  PgEnv(const std::string& schema_text, const PgEnvOptions& o) {
    db_ = std::make_unique<TestDatabase>("plinth_data");
    if (!db_->ok()) return;
    auto s = LoadSchema(schema_text);
    if (!s.ok()) {
      ADD_FAILURE() << s.status().ToString();
      return;
    }
    schema_ = std::move(s).value();
    owner_ = db_->name() + "_o";
    app_ = db_->name() + "_r";
    admin_ = db_->name() + "_a";
    data::RoleOptions ro;
    ro.database = db_->name();
    ro.owner_role = owner_;
    ro.runtime_role = app_;
    ro.admin_role = admin_;
    auto statements = data::RoleStatements(ro);
    if (!statements.ok()) {
      ADD_FAILURE() << statements.status().ToString();
      return;
    }
    auto su = db_->Connect();
    if (!su) return;
    Status st = ExecAll(*su, *statements);
    if (!st.ok()) {
      ADD_FAILURE() << "roles: " << st.ToString();
      return;
    }
    roles_created_ = true;
    st = Migrate(PgUrlWithUser(db_->url(), owner_), schema_);
    if (!st.ok()) {
      ADD_FAILURE() << "migrate as the owner: " << st.ToString();
      return;
    }
    st = Mutate(*su, o.mutant);
    if (!st.ok()) {
      ADD_FAILURE() << "mutant: " << st.ToString();
      return;
    }
    const bool as_owner = o.connect_as_owner || o.mutant == PgMutant::kNoForce;
    auto open = [&](const std::string& role) -> Result<std::unique_ptr<db::Database>> {
      PLINTH_ASSIGN_OR_RETURN(db::Url url, db::ParseUrl(PgUrlWithUser(db_->url(), role)));
      return db::OpenDatabase(loop_.io(), url, o.pool);
    };
    auto database = open(as_owner ? owner_ : app_);
    if (!database.ok()) {
      ADD_FAILURE() << database.status().ToString();
      return;
    }
    data::RuntimeOptions rto;
    rto.cipher = &cipher_;
    rto.context = o.context;
    rto.require_unprivileged_role =
        o.check_roles && o.mutant != PgMutant::kBypassRls && o.mutant != PgMutant::kNoForce && !as_owner;
    rto.require_forced_row_security = o.mutant != PgMutant::kNoForce;
    if (o.with_admin) {
      auto admin = open(admin_);
      if (!admin.ok()) {
        ADD_FAILURE() << admin.status().ToString();
        return;
      }
      rto.admin_database = std::move(admin).value();
    }
    auto rt = Run(data::Runtime::Open(schema_, std::move(database).value(), std::move(rto), "0001"));
    if (!rt.ok()) {
      open_status_ = rt.status();
      if (o.check_roles) ADD_FAILURE() << "open: " << rt.status().ToString();
      return;
    }
    rt_ = std::move(rt).value();
  }

  ~PgEnv() override {
    if (rt_) Run(rt_->database().Close(db::Clock::now() + std::chrono::seconds(5)));
    rt_.reset();
    if (!db_) return;
    const std::string admin_url = AdminPgUrl();
    db_.reset();  // drops the database
    if (!roles_created_) return;
    auto url = db::ParseUrl(admin_url);
    if (!url.ok()) return;
    auto conn = db::Connect(*url);
    if (!conn.ok()) return;
    for (const auto& r : {owner_, app_, admin_}) {
      Status st = (*conn)->Exec("DROP ROLE IF EXISTS " + db::QuoteIdent(r));
      if (!st.ok()) ADD_FAILURE() << "drop role " << r << ": " << st.ToString();
    }
  }

  std::string backend() const override { return "postgresql"; }
  const Status& open_status() const { return open_status_; }
  const std::string& owner_role() const { return owner_; }
  const std::string& runtime_role() const { return app_; }
  const std::string& admin_role() const { return admin_; }
  std::string UrlAs(const std::string& role) const { return PgUrlWithUser(db_->url(), role); }
  TestDatabase& database() { return *db_; }

  Result<db::QueryResult> AdminQuery(const std::string& sql, const db::Params& params = {}) override {
    auto conn = db_->Connect();
    if (!conn) return Status(Code::kUnavailable, "cannot connect as the superuser");
    return conn->Query(sql, params);
  }

 private:
  Status Mutate(db::Connection& su, PgMutant m) {
    std::vector<std::string> sql;
    for (const schema::Table& t : schema_.tables) {
      const std::string name = db::QuoteIdent(t.name);
      for (const schema::Policy& p : t.policies) {
        const std::string alter = "ALTER POLICY " + db::QuoteIdent(p.name) + " ON " + name;
        if (m == PgMutant::kDropChecks && !p.check_expr.empty()) sql.push_back(alter + " WITH CHECK (true)");
        if (m == PgMutant::kUsingTrue && !p.using_expr.empty()) sql.push_back(alter + " USING (true)");
        if (m == PgMutant::kTenantCheckOnly && p.name == "tenant_isolation") sql.push_back(alter + " WITH CHECK (true)");
      }
      if (m == PgMutant::kNoForce && t.options.row_security) {
        sql.push_back("ALTER TABLE " + name + " NO FORCE ROW LEVEL SECURITY");
      }
    }
    if (m == PgMutant::kBypassRls) sql.push_back("ALTER ROLE " + db::QuoteIdent(app_) + " BYPASSRLS");
    return ExecAll(su, sql);
  }

  std::unique_ptr<TestDatabase> db_;
  std::string owner_, app_, admin_;
  bool roles_created_ = false;
  Status open_status_;
};

}  // namespace plinth::testing
