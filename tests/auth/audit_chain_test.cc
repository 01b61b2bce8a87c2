// The audit hash chain on SQLite (cases in audit_cases.h), plus SQLite-only protection checks.
#include "auth/audit_cases.h"

PLINTH_AUDIT_CHAIN_TESTS(AuditChainSqlite, "sqlite")

namespace plinth::testing {
namespace {

// A1 on SQLite: audit rows and append-only tables refuse UPDATE and DELETE (triggers).
TEST(AuditChainSqlite, AuditRowsAreAppendOnly) {
  AuthDb d("sqlite", "tenants.toml");
  ASSERT_TRUE(d.ok());
  auto c = d.Admin();
  AddAuditRow(*c, 1);
  EXPECT_FALSE(c->Exec("UPDATE plinth_audit SET action = 'x' WHERE seq = 1").ok());
  EXPECT_FALSE(c->Exec("DELETE FROM plinth_audit WHERE seq = 1").ok());
  Exec(*c, "INSERT INTO organizations (id, name) VALUES ('" + kTenantA + "', 'a')");
  Exec(*c, "INSERT INTO change_log (id, organization_id, message) VALUES ('" + Id(1, 1) + "', '" + kTenantA + "', 'm')");
  EXPECT_FALSE(c->Exec("UPDATE change_log SET message = 'x'").ok());
  EXPECT_FALSE(c->Exec("DELETE FROM change_log").ok());
  EXPECT_EQ(One(*c, "SELECT count(*) FROM change_log"), "1");
}

}  // namespace
}  // namespace plinth::testing
