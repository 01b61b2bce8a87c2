// The isolation conformance suite on PostgreSQL (RLS through the runtime role) beside SQLite
// (the runtime's compiled predicates): every case must hold on both and give the identical
// transcript. Then the PostgreSQL policy mutants, which must turn the suite red, the role
// checks of Runtime::Open, the catalog gates G1–G6 and the context-strategy seam.
#include <gtest/gtest.h>

#include "data/conformance.h"
#include "data/pg_env.h"

namespace plinth::testing {
namespace {

std::string CaseName(const ::testing::TestParamInfo<Case>& info) { return info.param.name; }

PgEnvOptions OnePooledConnection(data::ContextStrategy context = data::ContextStrategy::kSetConfig) {
  PgEnvOptions o;
  // One connection: every principal's batches run on the same backend, one after another, so a
  // context that outlived its batch would be seen by the next principal.
  o.pool.size = 1;
  o.pool.max_overflow = 0;
  o.context = context;
  return o;
}

class PgConformance : public ::testing::TestWithParam<Case> {};

TEST_P(PgConformance, HoldsAndMatchesSqlite) {
  const std::string schema = ReadSchemaFile("isolation.toml");
  Checker pg_result, sqlite_result;
  {
    PgEnv pg(schema, OnePooledConnection());
    ASSERT_TRUE(pg.ok());
    pg_result = RunCase(pg, GetParam());
  }
  {
    SqliteEnv lite(schema, EnvOptions{});
    ASSERT_TRUE(lite.ok());
    sqlite_result = RunCase(lite, GetParam());
  }
  EXPECT_TRUE(pg_result.violations.empty()) << "PostgreSQL:\n" << Lines(pg_result.violations);
  EXPECT_TRUE(sqlite_result.violations.empty()) << "SQLite:\n" << Lines(sqlite_result.violations);
  EXPECT_EQ(Lines(pg_result.transcript), Lines(sqlite_result.transcript));
}

INSTANTIATE_TEST_SUITE_P(Isolation, PgConformance, ::testing::ValuesIn(IsolationCases()), CaseName);

// The SET LOCAL strategy (Citus) gives the same answers.
TEST(PgContextStrategy, SetLocalMatchesSetConfig) {
  const std::string schema = ReadSchemaFile("isolation.toml");
  for (const char* name : {"T5_UpsertOnOtherTenantsKey", "P1P2_ContextDoesNotLeak", "AuditRows"}) {
    for (const Case& cs : IsolationCases()) {
      if (cs.name != name) continue;
      Checker a, b;
      {
        PgEnv env(schema, OnePooledConnection(data::ContextStrategy::kSetLocal));
        ASSERT_TRUE(env.ok());
        a = RunCase(env, cs);
      }
      {
        PgEnv env(schema, OnePooledConnection(data::ContextStrategy::kSetConfig));
        ASSERT_TRUE(env.ok());
        b = RunCase(env, cs);
      }
      EXPECT_TRUE(a.violations.empty()) << name << "\n" << Lines(a.violations);
      EXPECT_EQ(Lines(a.transcript), Lines(b.transcript)) << name;
    }
  }
}

// The cases the mutants run, in one seeded database each.
size_t MutantViolations(PgMutant m) {
  PgEnvOptions o = OnePooledConnection();
  o.mutant = m;
  PgEnv env(ReadSchemaFile("isolation.toml"), o);
  if (!env.ok()) {
    ADD_FAILURE() << "the mutant environment did not open: " << env.open_status().ToString();
    return 0;
  }
  Checker c;
  SeedWorld(env, c);
  for (const Case& cs : IsolationCases()) {
    if (cs.name == "T1_ListsAndCounts" || cs.name == "T2_InsertForOtherTenant" || cs.name == "T3_MoveRowToOtherTenant" ||
        cs.name == "T1_ReadsById") {
      cs.run(env, c);
    }
  }
  return c.violations.size();
}

TEST(PgPolicyMutants, TheUnmutatedDatabaseIsGreen) { EXPECT_EQ(MutantViolations(PgMutant::kNone), 0u); }
TEST(PgPolicyMutants, DroppingTheChecksTurnsItRed) { EXPECT_GT(MutantViolations(PgMutant::kDropChecks), 0u); }
// Defence in depth: the writes are checked against the SELECT policies (they return the row)
// and every statement carries tenant_id = $tenant.
TEST(PgPolicyMutants, AWeakenedTenantCheckAloneStillKeepsTenantsApart) {
  EXPECT_EQ(MutantViolations(PgMutant::kTenantCheckOnly), 0u);
}
TEST(PgPolicyMutants, UsingTrueTurnsItRed) { EXPECT_GT(MutantViolations(PgMutant::kUsingTrue), 0u); }
TEST(PgPolicyMutants, NoForceWithTheOwnerConnectedTurnsItRed) { EXPECT_GT(MutantViolations(PgMutant::kNoForce), 0u); }
TEST(PgPolicyMutants, ABypassRlsRuntimeRoleTurnsItRed) { EXPECT_GT(MutantViolations(PgMutant::kBypassRls), 0u); }

// ---- Runtime::Open refuses roles the policies would not bind -------------------------------

Status OpenAs(PgEnv& env, const std::string& role, bool admin_as_runtime = false) {
  auto url = db::ParseUrl(env.UrlAs(role));
  auto database = db::OpenDatabase(env.loop().io(), *url, db::PoolOptions{});
  if (!database.ok()) return database.status();
  data::RuntimeOptions o;
  TestCipher cipher;
  o.cipher = &cipher;
  if (admin_as_runtime) {
    auto admin_url = db::ParseUrl(env.UrlAs(env.runtime_role()));
    auto admin = db::OpenDatabase(env.loop().io(), *admin_url, db::PoolOptions{});
    if (!admin.ok()) return admin.status();
    o.admin_database = std::move(admin).value();
  }
  auto rt = env.Run(data::Runtime::Open(env.schema(), std::move(database).value(), std::move(o), "0001"));
  if (rt.ok()) env.Run((*rt)->database().Close(db::Clock::now() + std::chrono::seconds(5)));
  return rt.ok() ? Status::Ok() : rt.status();
}

TEST(PgOpen, AcceptsTheRuntimeRole) {
  PgEnv env(ReadSchemaFile("isolation.toml"), PgEnvOptions{});
  ASSERT_TRUE(env.ok());
  EXPECT_TRUE(OpenAs(env, env.runtime_role()).ok());
}

TEST(PgOpen, RefusesTheOwnerTheSuperuserAndBypassRls) {
  PgEnv env(ReadSchemaFile("isolation.toml"), PgEnvOptions{});
  ASSERT_TRUE(env.ok());
  Status owner = OpenAs(env, env.owner_role());
  EXPECT_EQ(owner.code(), Code::kFailedPrecondition) << owner.ToString();
  EXPECT_NE(owner.message().find("owns tables"), std::string::npos) << owner.ToString();
  Status su = OpenAs(env, "postgres");
  EXPECT_EQ(su.code(), Code::kFailedPrecondition);
  EXPECT_NE(su.message().find("superuser"), std::string::npos) << su.ToString();
  Status admin = OpenAs(env, env.admin_role());
  EXPECT_EQ(admin.code(), Code::kFailedPrecondition);
  EXPECT_NE(admin.message().find("BYPASSRLS"), std::string::npos) << admin.ToString();
  // A member of a BYPASSRLS role could SET ROLE to it.
  ASSERT_TRUE(env.AdminQuery("GRANT " + db::QuoteIdent(env.admin_role()) + " TO " + db::QuoteIdent(env.runtime_role())).ok());
  Status member = OpenAs(env, env.runtime_role());
  EXPECT_EQ(member.code(), Code::kFailedPrecondition);
  EXPECT_NE(member.message().find("member"), std::string::npos) << member.ToString();
  ASSERT_TRUE(env.AdminQuery("REVOKE " + db::QuoteIdent(env.admin_role()) + " FROM " + db::QuoteIdent(env.runtime_role())).ok());
  // The admin pool must be able to bypass, and must not be the runtime role.
  Status no_bypass = OpenAs(env, env.runtime_role(), /*admin_as_runtime=*/true);
  EXPECT_EQ(no_bypass.code(), Code::kFailedPrecondition) << no_bypass.ToString();
}

TEST(PgOpen, RefusesATableWithoutForcedRowSecurity) {
  PgEnv env(ReadSchemaFile("isolation.toml"), PgEnvOptions{});
  ASSERT_TRUE(env.ok());
  ASSERT_TRUE(env.AdminQuery("ALTER TABLE documents NO FORCE ROW LEVEL SECURITY").ok());
  Status st = OpenAs(env, env.runtime_role());
  EXPECT_EQ(st.code(), Code::kFailedPrecondition);
  EXPECT_NE(st.message().find("documents"), std::string::npos) << st.ToString();
}

// ---- Catalog gates (security.md §8 G1–G6) ---------------------------------------------------

std::vector<std::string> Column(const Result<db::QueryResult>& r, size_t i = 0) {
  std::vector<std::string> out;
  if (!r.ok()) {
    out.push_back("ERROR " + r.status().ToString());
    return out;
  }
  for (const auto& row : r->rows) out.push_back(row[i].value_or("NULL"));
  return out;
}

TEST(PgCatalogGates, G1_EveryTenantTableForcesRlsWithARestrictiveTenantPolicy) {
  PgEnv env(ReadSchemaFile("isolation.toml"), PgEnvOptions{});
  ASSERT_TRUE(env.ok());
  for (const schema::Table& t : env.schema().tables) {
    if (!t.options.tenant_scoped) continue;
    auto rls = env.AdminQuery("SELECT relrowsecurity AND relforcerowsecurity FROM pg_class WHERE relname = $1", {t.name});
    EXPECT_EQ(Column(rls), std::vector<std::string>{"t"}) << t.name;
    auto pol = env.AdminQuery(
        "SELECT count(*) FROM pg_policies WHERE tablename = $1 AND permissive = 'RESTRICTIVE' AND cmd = 'ALL' "
        "AND qual LIKE '%tenant_id = ( SELECT auth.tenant_id()%' AND with_check LIKE '%tenant_id = ( SELECT auth.tenant_id()%'",
        {t.name});
    EXPECT_EQ(Column(pol), std::vector<std::string>{"1"}) << t.name;
  }
}

TEST(PgCatalogGates, G2_TheRuntimeRoleCannotEscape) {
  PgEnv env(ReadSchemaFile("isolation.toml"), PgEnvOptions{});
  ASSERT_TRUE(env.ok());
  auto role = env.AdminQuery("SELECT rolsuper, rolbypassrls, rolinherit FROM pg_roles WHERE rolname = $1", {env.runtime_role()});
  ASSERT_TRUE(role.ok());
  ASSERT_EQ(role->rows.size(), 1u);
  EXPECT_EQ(role->rows[0][0], "f");
  EXPECT_EQ(role->rows[0][1], "f");
  auto owns = env.AdminQuery("SELECT count(*) FROM pg_class c JOIN pg_roles r ON r.oid = c.relowner WHERE r.rolname = $1",
                             {env.runtime_role()});
  EXPECT_EQ(Column(owns), std::vector<std::string>{"0"});
  std::vector<std::string> tables{"plinth_audit"};
  for (const auto& t : env.schema().tables) tables.push_back(t.name);
  for (const auto& t : tables) {
    for (const char* privilege : {"TRUNCATE", "REFERENCES", "TRIGGER"}) {
      auto has = env.AdminQuery("SELECT has_table_privilege($1, $2, $3)", {env.runtime_role(), t, privilege});
      EXPECT_EQ(Column(has), std::vector<std::string>{"f"}) << t << " " << privilege;
    }
  }
  for (const char* privilege : {"UPDATE", "DELETE"}) {
    auto audit = env.AdminQuery("SELECT has_table_privilege($1, 'plinth_audit', $2)", {env.runtime_role(), privilege});
    EXPECT_EQ(Column(audit), std::vector<std::string>{"f"}) << privilege;
    auto history = env.AdminQuery("SELECT has_table_privilege($1, 'plinth_migrations', $2)", {env.runtime_role(), privilege});
    EXPECT_EQ(Column(history), std::vector<std::string>{"f"}) << privilege;
  }
  for (const char* privilege : {"SELECT", "INSERT"}) {
    auto audit = env.AdminQuery("SELECT has_table_privilege($1, 'plinth_audit', $2)", {env.runtime_role(), privilege});
    EXPECT_EQ(Column(audit), std::vector<std::string>{"t"}) << privilege;
  }
  // As the runtime role itself, in the database.
  auto url = db::ParseUrl(env.UrlAs(env.runtime_role()));
  auto conn = db::Connect(*url);
  ASSERT_TRUE(conn.ok()) << conn.status().ToString();
  EXPECT_FALSE((*conn)->Exec("TRUNCATE documents").ok());
  EXPECT_FALSE((*conn)->Exec("DELETE FROM plinth_audit").ok());
  EXPECT_FALSE((*conn)->Exec("ALTER TABLE documents NO FORCE ROW LEVEL SECURITY").ok());
  EXPECT_FALSE((*conn)->Exec("SET ROLE " + db::QuoteIdent(env.owner_role())).ok());
  auto no_context = (*conn)->Query("SELECT count(*) FROM documents");
  EXPECT_EQ(Column(no_context), std::vector<std::string>{"0"});
}

TEST(PgCatalogGates, G3_NoPermissivePolicyAdmitsEveryRow) {
  PgEnv env(ReadSchemaFile("isolation.toml"), PgEnvOptions{});
  ASSERT_TRUE(env.ok());
  auto sloppy = env.AdminQuery(
      "SELECT tablename || '.' || policyname FROM pg_policies WHERE permissive = 'PERMISSIVE' AND "
      "(qual IN ('true', '(1 = 1)') OR with_check IN ('true', '(1 = 1)') OR qual ~* 'auth\\.(user_id|tenant_id)\\(\\)\\)? IS NULL' "
      "OR qual ~* 'current_setting\\([^)]*\\) IS NULL')");
  EXPECT_EQ(Column(sloppy), std::vector<std::string>{});
}

TEST(PgCatalogGates, G4G5_NoViewsAndNoSecurityDefinerFunctions) {
  PgEnv env(ReadSchemaFile("isolation.toml"), PgEnvOptions{});
  ASSERT_TRUE(env.ok());
  auto views = env.AdminQuery("SELECT relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                              "WHERE n.nspname IN ('public', 'auth', 'plinth') AND c.relkind IN ('v', 'm')");
  EXPECT_EQ(Column(views), std::vector<std::string>{});
  auto definers = env.AdminQuery("SELECT proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
                                 "WHERE n.nspname IN ('public', 'auth', 'plinth') AND p.prosecdef");
  EXPECT_EQ(Column(definers), std::vector<std::string>{});
}

TEST(PgCatalogGates, G6_TenantKeysAndForeignKeysLeadWithTheTenant) {
  PgEnv env(ReadSchemaFile("isolation.toml"), PgEnvOptions{});
  ASSERT_TRUE(env.ok());
  std::string tenant_tables;
  for (const auto& t : env.schema().tables) {
    if (t.options.tenant_scoped) tenant_tables += (tenant_tables.empty() ? "'" : ", '") + t.name + "'";
  }
  auto uniques = env.AdminQuery(
      "SELECT i.indexrelid::regclass::text FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid WHERE i.indisunique "
      "AND c.relname IN (" + tenant_tables + ") AND NOT EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid "
      "AND a.attname = 'tenant_id' AND a.attnum = ANY(i.indkey))");
  EXPECT_EQ(Column(uniques), std::vector<std::string>{});
  auto fks = env.AdminQuery(
      "SELECT con.conname FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid JOIN pg_class r ON r.oid = con.confrelid "
      "WHERE con.contype = 'f' AND c.relname IN (" + tenant_tables + ") AND r.relname IN (" + tenant_tables + ") "
      "AND NOT EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'tenant_id' AND a.attnum = ANY(con.conkey))");
  EXPECT_EQ(Column(fks), std::vector<std::string>{});
}

// ---- The audit table as the runtime role ------------------------------------------------------

TEST(PgAudit, ATenantReadsOnlyItsOwnAuditRowsAndCannotForgeOthers) {
  PgEnv env(ReadSchemaFile("isolation.toml"), PgEnvOptions{});
  ASSERT_TRUE(env.ok());
  Checker c;
  SeedWorld(env, c);
  ASSERT_TRUE(c.violations.empty()) << Lines(c.violations);
  auto url = db::ParseUrl(env.UrlAs(env.runtime_role()));
  auto conn = db::Connect(*url);
  ASSERT_TRUE(conn.ok());
  ASSERT_TRUE((*conn)->Exec("BEGIN").ok());
  ASSERT_TRUE((*conn)->Query("SELECT set_config('plinth.tenant_id', $1, true)", {World::A}).ok());
  auto mine = (*conn)->Query("SELECT DISTINCT tenant_id::text FROM plinth_audit");
  EXPECT_EQ(Column(mine), std::vector<std::string>{World::A});
  auto forged = (*conn)->Query(
      "INSERT INTO plinth_audit (tenant_id, principal_kind, action, table_name) VALUES ($1, 'user', 'x', 'y')", {World::B});
  EXPECT_EQ(forged.status().code(), Code::kPolicyViolation) << forged.status().ToString();
  ASSERT_TRUE((*conn)->Exec("ROLLBACK").ok());
  auto none = (*conn)->Query("SELECT count(*) FROM plinth_audit");
  EXPECT_EQ(Column(none), std::vector<std::string>{"0"});
}

TEST(PgHealth, ReportsBackendPoolAndMigrationVersion) {
  PgEnv env(ReadSchemaFile("isolation.toml"), PgEnvOptions{});
  ASSERT_TRUE(env.ok());
  data::Health h = env.Run(env.rt().CheckHealth(db::Clock::now() + std::chrono::seconds(5)));
  EXPECT_TRUE(h.ping.connected) << h.ping.status.ToString();
  EXPECT_EQ(h.backend, "postgresql");
  EXPECT_EQ(h.migration_version, "0001");
  EXPECT_TRUE(h.migrations_at_head);
  EXPECT_GE(h.pool.max, 1);
}

}  // namespace
}  // namespace plinth::testing
