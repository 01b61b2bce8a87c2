// The audit hash chain on PostgreSQL (cases in audit_cases.h), plus what only PostgreSQL has:
// sequence gaps, rows that commit out of seq order, and the runtime role's privileges.
#include "auth/audit_cases.h"

PLINTH_AUDIT_CHAIN_TESTS(AuditChainPg, "postgresql")

namespace plinth::testing {
namespace {

// A row with a lower seq that commits after a higher one was sealed is sealed by a later run
// (a later chain position), and the log verifies.
TEST(AuditChainPg, OutOfOrderCommitIsSealedLater) {
  AuthDb d("postgresql", "tenants.toml");
  ASSERT_TRUE(d.ok());
  auto admin = d.Admin();
  AddAuditRow(*admin, 1);
  auto slow = d.Admin();
  Exec(*slow, "BEGIN");
  AddAuditRow(*slow, 2);  // seq 2, not committed yet
  AddAuditRow(*admin, 3);  // seq 3, committed
  auto sealer = Sealer(d);
  audit::SealReport first = MustSeal(*sealer);
  EXPECT_EQ(first.rows, 2);       // seqs 1 and 3
  EXPECT_EQ(first.open_gaps, 1);  // seq 2 may still come
  auto verifier = Verifier(d);
  audit::VerifyReport v = MustVerify(*verifier);
  EXPECT_TRUE(v.ok()) << (v.first ? v.first->message : "");
  Exec(*slow, "COMMIT");
  v = MustVerify(*verifier);
  EXPECT_TRUE(v.ok()) << (v.first ? v.first->message : "");
  EXPECT_EQ(v.unsealed, 1);  // seq 2: pending in an open gap
  audit::SealReport second = MustSeal(*sealer);
  EXPECT_EQ(second.rows, 1);
  EXPECT_EQ(second.open_gaps, 0);
  EXPECT_EQ(One(*admin, "SELECT pos FROM plinth_audit_chain WHERE seq = 2"), "3");
  v = MustVerify(*verifier);
  EXPECT_TRUE(v.ok()) << (v.first ? v.first->message : "");
  EXPECT_EQ(v.rows_checked, 3);
  EXPECT_EQ(v.unsealed, 0);
}

// A rolled-back insert leaves a gap for good; once settled, a row a superuser slips into it is
// reported as inserted.
TEST(AuditChainPg, RowSlippedIntoSettledGapIsFound) {
  AuthDb d("postgresql", "tenants.toml");
  ASSERT_TRUE(d.ok());
  auto admin = d.Admin();
  AddAuditRow(*admin, 1);
  Exec(*admin, "BEGIN");
  AddAuditRow(*admin, 2);
  Exec(*admin, "ROLLBACK");
  AddAuditRow(*admin, 3);
  auto sealer = Sealer(d);
  audit::SealOptions so;
  so.settle_after = std::chrono::seconds(0);
  EXPECT_EQ(MustSeal(*sealer, so).open_gaps, 1);
  EXPECT_EQ(MustSeal(*sealer, so).open_gaps, 0);  // settled
  auto verifier = Verifier(d);
  EXPECT_TRUE(MustVerify(*verifier).ok());
  Exec(*admin,
       "INSERT INTO plinth_audit (seq, tenant_id, principal_kind, action, table_name) OVERRIDING SYSTEM VALUE "
       "VALUES (2, '" + kTenantA + "', 'user', 'delete', 'notes')");
  audit::VerifyReport v = MustVerify(*verifier);
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.first->kind, audit::FindingKind::kInserted);
  EXPECT_EQ(v.first->seq, 2);
  // And the sealer does not adopt it.
  EXPECT_EQ(MustSeal(*sealer, so).rows, 0);
}

// A1: the runtime role cannot UPDATE, DELETE or TRUNCATE audit rows or an append-only table,
// even after being granted everything (privileges revoked, triggers refuse).
TEST(AuditChainPg, RuntimeRoleCannotChangeAuditRows) {
  AuthDb d("postgresql", "tenants.toml");
  ASSERT_TRUE(d.ok());
  auto admin = d.Admin();
  AddAuditRow(*admin, 1);
  Exec(*admin, "INSERT INTO organizations (id, name) VALUES ('" + kTenantA + "', 'a')");
  Exec(*admin, "INSERT INTO change_log (id, organization_id, message) VALUES ('" + Id(1, 1) + "', '" + kTenantA + "', 'm')");
  auto rt = d.Runtime();
  Exec(*rt, "SELECT set_config('plinth.tenant_id', '" + kTenantA + "', false)");
  EXPECT_EQ(One(*rt, "SELECT count(*) FROM plinth_audit"), "1");
  for (const char* sql : {"UPDATE plinth_audit SET action = 'x'", "DELETE FROM plinth_audit", "TRUNCATE plinth_audit",
                          "UPDATE change_log SET message = 'x'", "DELETE FROM change_log", "TRUNCATE change_log"}) {
    Status st = rt->Exec(sql);
    EXPECT_FALSE(st.ok()) << sql;
    EXPECT_EQ(st.sqlstate(), "42501") << sql << ": " << st.ToString();  // insufficient privilege
  }
  // Granted every privilege back (a careless GRANT ALL), the triggers still refuse (UPDATE and
  // DELETE of audit rows do not even reach a row: there is no UPDATE or DELETE policy).
  Exec(*admin, "GRANT ALL ON plinth_audit, change_log TO " + db::QuoteIdent(d.runtime_role()));
  for (const char* sql : {"TRUNCATE plinth_audit", "TRUNCATE change_log"}) {
    Status st = rt->Exec(sql);
    EXPECT_FALSE(st.ok()) << sql;
    EXPECT_NE(st.message().find("append-only"), std::string::npos) << sql << ": " << st.ToString();
  }
  (void)rt->Exec("UPDATE plinth_audit SET action = 'x'");
  (void)rt->Exec("DELETE FROM plinth_audit");
  (void)rt->Exec("UPDATE change_log SET message = 'x'");
  (void)rt->Exec("DELETE FROM change_log");
  EXPECT_EQ(One(*admin, "SELECT action FROM plinth_audit"), "insert");
  EXPECT_EQ(One(*admin, "SELECT message FROM change_log"), "m");
  // Row by row, the triggers refuse too (as a role that sees the rows: the table owner's
  // policies bind it, so use the admin role with BYPASSRLS, granted everything).
  Exec(*admin, "GRANT ALL ON plinth_audit, change_log TO " + db::QuoteIdent(d.definer_role()));
  auto bypass = d.Definer();
  for (const char* sql : {"UPDATE plinth_audit SET action = 'x'", "DELETE FROM plinth_audit", "UPDATE change_log SET message = 'x'",
                          "DELETE FROM change_log"}) {
    Status st = bypass->Exec(sql);
    EXPECT_FALSE(st.ok()) << sql;
    EXPECT_NE(st.message().find("append-only"), std::string::npos) << sql << ": " << st.ToString();
  }
  EXPECT_EQ(One(*admin, "SELECT count(*) FROM plinth_audit"), "1");
  EXPECT_EQ(One(*admin, "SELECT count(*) FROM change_log"), "1");
}

}  // namespace
}  // namespace plinth::testing
