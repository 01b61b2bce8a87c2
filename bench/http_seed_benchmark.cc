// http_seed_benchmark — the setup step of bench/http.sh (not a Google Benchmark: it prepares the
// database the HTTP benchmark runs against, and is built with the benchmarks).
//
//   http_seed_benchmark --app examples/documents --keys FILE [--tenants 100] [--docs 1000]
//                       (--sqlite FILE | --pg-superuser URL --pg-database NAME)
//
// SQLite: migrates the file. PostgreSQL: creates the deployment's roles (owner, runtime,
// admin; data::RoleStatements), migrates as the owner, grants, installs the auth support with
// the admin role as definer, and prints the runtime and admin URLs ("RUNTIME_URL=…",
// "ADMIN_URL=…") for `plinth serve`. Then both seed T tenants x D documents (multi-row INSERTs
// in one transaction, not HTTP calls), one user and one API key per tenant, and write the
// keys file of ../shared/bench/workload.lua: '<key> <document id of that tenant>' lines.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "bench_support.h"
#include "plinth/apikey.h"
#include "plinth/auth.h"
#include "plinth/auth_admin.h"
#include "plinth/crypto.h"
#include "plinth/data.h"
#include "plinth/db.h"
#include "plinth/migrate.h"
#include "plinth/runner.h"
#include "plinth/schema.h"

const char plinth::bench::kProgramName[] = "http_seed";

namespace {

using namespace plinth;
using bench::ConnectOrDie;
using bench::WithUserAndDatabase;

constexpr int kRowsPerInsert = 500;
constexpr int kKeysFileDocsPerTenant = 20;

[[noreturn]] void Die(const std::string& what, const Status& st) { bench::Die(what + ": " + st.ToString()); }

std::string Arg(int argc, char** argv, const std::string& name, const std::string& def = {}) {
  for (int i = 1; i + 1 < argc; ++i) {
    if (argv[i] == name) return argv[i + 1];
  }
  return def;
}

std::string Uuid(int a, int b) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%08x-0000-4000-8000-%012x", a, b);
  return buf;
}

void Exec(db::Connection& c, const std::string& sql) {
  Status st = c.Exec(sql);
  if (!st.ok()) Die(sql.substr(0, 80), st);
}

}  // namespace

int main(int argc, char** argv) {
  const std::string app = Arg(argc, argv, "--app", "examples/documents");
  const std::string keys_path = Arg(argc, argv, "--keys");
  const int tenants = std::atoi(Arg(argc, argv, "--tenants", "100").c_str());
  const int docs = std::atoi(Arg(argc, argv, "--docs", "1000").c_str());
  const std::string sqlite_file = Arg(argc, argv, "--sqlite");
  const std::string superuser = Arg(argc, argv, "--pg-superuser");
  const std::string dbname = Arg(argc, argv, "--pg-database", "plinth_bench");
  if (keys_path.empty() || (sqlite_file.empty() == superuser.empty())) {
    std::cerr << "usage: http_seed_benchmark --app DIR --keys FILE [--tenants N] [--docs N] "
                 "(--sqlite FILE | --pg-superuser URL --pg-database NAME)\n";
    return 2;
  }
  const auto t0 = std::chrono::steady_clock::now();
  Diagnostics diags;
  auto schema = schema::LoadSchemaFile(app + "/schema.toml", diags);
  if (!schema.ok()) Die("schema " + diags.ToString(), schema.status());
  auto auth_config = auth::LoadAuthConfig(app + "/schema.toml", *schema, diags);
  if (!auth_config.ok()) Die("auth config " + diags.ToString(), auth_config.status());
  auto migrations = migrate::LoadMigrationDir(app + "/migrations", diags);
  if (!migrations.ok()) Die("migrations " + diags.ToString(), migrations.status());

  std::string admin_url;  // where the seed rows are written (outside every policy)
  const bool pg = sqlite_file.empty();
  if (pg) {
    {
      auto su = ConnectOrDie(superuser);
      Exec(*su, "DROP DATABASE IF EXISTS " + db::QuoteIdent(dbname) + " WITH (FORCE)");
      Exec(*su, "CREATE DATABASE " + db::QuoteIdent(dbname));
    }
    data::RoleOptions ro;
    ro.database = dbname;
    ro.owner_role = "plinth_owner";
    ro.runtime_role = "plinth_app";
    ro.admin_role = "plinth_admin";
    auto stmts = data::RoleStatements(ro);
    if (!stmts.ok()) Die("roles", stmts.status());
    admin_url = WithUserAndDatabase(superuser, "postgres", dbname);
    auto su = ConnectOrDie(admin_url);
    for (const auto& s : *stmts) Exec(*su, s);
    auto owner = db::ParseUrl(WithUserAndDatabase(superuser, ro.owner_role, dbname));
    auto up = runner::Up(*owner, *migrations, "head", runner::RunOptions{});
    if (!up.ok()) Die("migrate up as the owner", up.status());
    for (const auto& s : *stmts) Exec(*su, s);
    auth::InstallOptions io;
    io.runtime_role = ro.runtime_role;
    io.definer_role = ro.admin_role;
    Status st = auth::InstallAuthSupport(*su, *schema, *auth_config, io);
    if (!st.ok()) Die("install auth support", st);
    std::cout << "RUNTIME_URL=" << WithUserAndDatabase(superuser, ro.runtime_role, dbname) << "\n";
    std::cout << "ADMIN_URL=" << WithUserAndDatabase(superuser, ro.admin_role, dbname) << "\n";
  } else {
    std::remove(sqlite_file.c_str());
    admin_url = "sqlite://" + sqlite_file;
    auto url = db::ParseUrl(admin_url);
    auto up = runner::Up(*url, *migrations, "head", runner::RunOptions{});
    if (!up.ok()) Die("migrate up", up.status());
    auto conn = ConnectOrDie(admin_url);
    Status st = auth::InstallAuthSupport(*conn, *schema, *auth_config, {});
    if (!st.ok()) Die("install auth support", st);
  }

  auto conn = ConnectOrDie(admin_url);
  auto hasher = crypto::ApiKeyHasher::Create(std::getenv("PLINTH_API_KEY_PEPPER") ? std::getenv("PLINTH_API_KEY_PEPPER") : "");
  if (!hasher.ok()) Die("pepper", hasher.status());
  auto P = [pg](int i) { return (pg ? "$" : "?") + std::to_string(i); };
  std::ofstream keys(keys_path);
  Exec(*conn, pg ? "BEGIN" : "BEGIN IMMEDIATE");
  for (int t = 0; t < tenants; ++t) {
    auto tenant = auth::CreateTenant(*conn, *schema, "tenant-" + std::to_string(t));
    if (!tenant.ok()) Die("tenant", tenant.status());
    const std::string user = Uuid(t + 1, 0);
    auto u = conn->Query("INSERT INTO users (id, tenant_id, email, role) VALUES (" + P(1) + ", " + P(2) + ", " + P(3) +
                             ", " + P(4) + ")",
                         {user, *tenant, "u" + std::to_string(t) + "@example.com", "admin"});
    if (!u.ok()) Die("user", u.status());
    std::vector<std::string> ids;
    for (int start = 0; start < docs; start += kRowsPerInsert) {
      const int n = std::min(kRowsPerInsert, docs - start);
      std::string sql = "INSERT INTO documents (id, tenant_id, user_id, title, content_hash, metadata) VALUES ";
      db::Params params;
      for (int i = 0; i < n; ++i) {
        const int k = start + i;
        const std::string id = Uuid(t + 1, k + 1);
        ids.push_back(id);
        const int b = static_cast<int>(params.size());
        sql += (i ? ", (" : "(") + P(b + 1) + ", " + P(b + 2) + ", " + P(b + 3) + ", " + P(b + 4) + ", " + P(b + 5) +
               ", " + P(b + 6) + ")";
        params.push_back(id);
        params.push_back(*tenant);
        params.push_back(user);
        params.push_back("doc " + std::to_string(t) + "-" + std::to_string(k));
        params.push_back(crypto::HexEncode(crypto::Sha256(id)));
        params.push_back("{\"kind\":\"bench\",\"n\":" + std::to_string(k) + "}");
      }
      auto r = conn->Query(sql, params);
      if (!r.ok()) Die("documents", r.status());
    }
    auth::ApiKeySpec spec;
    spec.tenant_id = *tenant;
    spec.user_id = user;
    spec.name = "bench";
    auto key = auth::CreateApiKey(*conn, *schema, *auth_config, *hasher, spec);
    if (!key.ok()) Die("api key", key.status());
    for (int i = 0; i < std::min<int>(kKeysFileDocsPerTenant, static_cast<int>(ids.size())); ++i) {
      keys << key->key << " " << ids[static_cast<size_t>(i * (ids.size() / kKeysFileDocsPerTenant ? ids.size() / kKeysFileDocsPerTenant : 1))] << "\n";
    }
  }
  Exec(*conn, "COMMIT");
  // The state a database is in after any bulk load that its operator looked after: statistics,
  // and on PostgreSQL the visibility map and hint bits too. Without VACUUM, autovacuum's first
  // pass over the 100,000 fresh rows lands at a random moment of the first minute, inside
  // whichever mix runs then.
  Exec(*conn, pg ? "VACUUM ANALYZE" : "ANALYZE");
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::cerr << "http_seed: " << tenants << " tenants x " << docs << " documents, " << tenants << " keys in " << secs
            << " s (" << (pg ? "PostgreSQL" : "SQLite") << ")\n";
  return 0;
}
