// tests/cli/auth_cli_cases.h — the identity commands of the real `plinth` binary on both
// databases (auth_cli_test.cc: SQLite, auth_cli_pgtest.cc: PostgreSQL): `plinth seed` of the
// example apps run twice (settings' roles and permissions, the documents "Fintech" template,
// curatore's default organisation and admin from ADMIN_EMAIL / ADMIN_PASSWORD, a weak password
// refused), `tenant create`, `apikey create | list | revoke` (a key revoked by the CLI process is
// refused by a running authenticator within a second), `keys check | rotate` (rows under three
// keys, rotation in slices, a rerun that changes nothing) and `audit seal | verify` finding a
// superuser's edit, deletion and reordering of audit rows at the right row.
//
// Each case runs `plinth` as a subprocess against a database of its own: an SQLite file, or on
// PostgreSQL a throwaway database whose superuser URL the CLI uses (the deployment's roles are
// the auth layer's tests' business: tests/auth).
#pragma once

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <regex>

#include "cli/cli_util.h"
#include "db/async_runner.h"
#include "db/pg_fixture.h"
#include "plinth/auth.h"
#include "plinth/auth_admin.h"
#include "plinth/crypto.h"
#include "plinth/database.h"
#include "plinth/hash_pool.h"
#include "plinth/keyring.h"

namespace plinth::cli::testing {

using ::testing::HasSubstr;
using ::testing::Not;
using plinth::testing::TempDir;

inline const std::string kStrongPassword = "violet tractor under 9 moons";

// The app directory (an example with its migrations and seed.toml) and its database.
class AuthCliApp {
 public:
  AuthCliApp(const std::string& backend, const std::string& app) : pg_(backend == "postgresql") {
    app_dir_ = CopyApp(dir_, app);
    std::error_code ec;
    fs::copy_file(Example(app) + "/seed.toml", app_dir_ + "/seed.toml", ec);
    EXPECT_FALSE(ec) << "examples/" << app << "/seed.toml: " << ec.message();
    if (pg_) {
      pgdb_ = std::make_unique<plinth::testing::TestDatabase>("plinth_cli_auth");
      url_ = pgdb_->url();
    } else {
      url_ = "sqlite://" + dir_.path() + "/app.db";
    }
  }

  bool pg() const { return pg_; }
  const std::string& url() const { return url_; }
  const std::string& dir() const { return app_dir_; }
  std::string File(const std::string& name) const { return dir_ / name; }

  std::map<std::string, std::string> Env(std::map<std::string, std::string> extra = {}) const {
    extra["DATABASE_URL"] = url_;
    extra["PLINTH_APP"] = app_dir_;
    return extra;
  }
  RunResult Run(const std::vector<std::string>& args, std::map<std::string, std::string> extra = {}) const {
    return RunPlinth(args, Env(std::move(extra)));
  }
  // Runs and expects exit 0.
  RunResult Ok(const std::vector<std::string>& args, std::map<std::string, std::string> extra = {}) const {
    RunResult r = Run(args, std::move(extra));
    EXPECT_EQ(r.exit_code, 0) << "plinth " << ::testing::PrintToString(args) << "\n" << Show(r);
    return r;
  }

  std::unique_ptr<db::Connection> Connect() const {
    auto u = db::ParseUrl(url_);
    EXPECT_TRUE(u.ok()) << u.status().ToString();
    if (!u.ok()) return nullptr;
    auto c = db::Connect(*u);
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    return c.ok() ? std::move(c).value() : nullptr;
  }
  // "$n" or "?n".
  std::string P(int n) const { return (pg_ ? "$" : "?") + std::to_string(n); }

  schema::Schema Schema() const {
    Diagnostics diags;
    auto s = schema::LoadSchemaFile(app_dir_ + "/schema.toml", diags);
    EXPECT_TRUE(s.ok()) << diags.ToString();
    return s.ok() ? std::move(s).value() : schema::Schema{};
  }
  auth::AuthConfig AuthConfig(const schema::Schema& s) const {
    Diagnostics diags;
    auto c = auth::LoadAuthConfig(app_dir_ + "/schema.toml", s, diags);
    EXPECT_TRUE(c.ok()) << diags.ToString();
    return c.ok() ? std::move(c).value() : auth::AuthConfig{};
  }

 private:
  bool pg_;
  TempDir dir_;
  std::string app_dir_;
  std::unique_ptr<plinth::testing::TestDatabase> pgdb_;
  std::string url_;
};

inline std::string One(db::Connection& c, const std::string& sql, const db::Params& p = {}) {
  auto r = c.Query(sql, p);
  EXPECT_TRUE(r.ok()) << sql << ": " << r.status().ToString();
  if (!r.ok() || r->rows.empty() || r->rows[0].empty()) return "<none>";
  return r->rows[0][0].value_or("NULL");
}

// Every row of `table` as text, in a stable order: the proof that a second seed changed nothing.
inline std::string Dump(db::Connection& c, const std::string& table, const std::string& order) {
  auto r = c.Query("SELECT * FROM " + db::QuoteIdent(table) + " ORDER BY " + order);
  EXPECT_TRUE(r.ok()) << table << ": " << r.status().ToString();
  std::string out;
  if (!r.ok()) return out;
  for (const auto& row : r->rows) {
    for (const auto& v : row) out += v.value_or("NULL") + "|";
    out += "\n";
  }
  return out;
}

inline std::string LastLine(const std::string& text) {
  auto lines = Lines(text);
  return lines.empty() ? std::string() : lines.back();
}

// ---- seed ------------------------------------------------------------------------------------

// The cases (defined in the .cc beside this header, compiled once for both test binaries).
void CaseSeedSettingsTwice(const std::string& backend);
void CaseSeedCuratoreAdmin(const std::string& backend);
void CaseTenantAndApiKeys(const std::string& backend);
void CaseKeysRotate(const std::string& backend);
void CaseAuditVerifyFindsTampering(const std::string& backend);

}  // namespace plinth::cli::testing

#define PLINTH_AUTH_CLI_TESTS(Suite, backend)                                                                     \
  TEST(Suite, SeedSettingsRolesAndPermissionsTwice) { ::plinth::cli::testing::CaseSeedSettingsTwice(backend); }   \
  TEST(Suite, SeedCuratoreAdminRefusesWeakPasswords) { ::plinth::cli::testing::CaseSeedCuratoreAdmin(backend); }  \
  TEST(Suite, TenantCreateAndApiKeysCreateListRevoke) { ::plinth::cli::testing::CaseTenantAndApiKeys(backend); }  \
  TEST(Suite, KeysRotateInSlicesThenNothing) { ::plinth::cli::testing::CaseKeysRotate(backend); }                 \
  TEST(Suite, AuditVerifyFindsEditDeletionAndReordering) { ::plinth::cli::testing::CaseAuditVerifyFindsTampering(backend); }
