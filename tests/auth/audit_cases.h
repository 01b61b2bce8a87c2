// tests/auth/audit_cases.h — the audit chain's cases, run on SQLite (audit_chain_test.cc) and
// PostgreSQL (audit_chain_pgtest.cc): sealing, verification of an intact log, a superuser's
// edit, deletion, reordering and insertion each reported at the right row, sequence gaps and
// out-of-order commits, external checkpoints, and the append-only protection of audit rows.
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "auth/harness.h"
#include "plinth/auth_audit.h"

namespace plinth::testing {

inline const std::string kTenantA = "0000000a-0000-4000-8000-000000000001";
inline const std::string kTenantB = "0000000b-0000-4000-8000-000000000002";

// An audit row as the data runtime writes one (as the database administrator here).
inline void AddAuditRow(db::Connection& c, int n, const std::string& tenant = kTenantA) {
  const bool pg = c.backend() == db::Backend::kPostgres;
  const std::string sql = pg ? "INSERT INTO plinth_audit (tenant_id, principal_kind, user_id, action, table_name, row_key, changes) "
                               "VALUES ($1::uuid, 'user', NULL, 'insert', 'notes', $2, $3::jsonb)"
                             : "INSERT INTO plinth_audit (tenant_id, principal_kind, user_id, action, table_name, row_key, changes) "
                               "VALUES (?1, 'user', NULL, 'insert', 'notes', ?2, ?3)";
  auto r = c.Query(sql, {tenant, "row-" + std::to_string(n), "{\"body\":\"note " + std::to_string(n) + "\"}"});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
}

// Lets the superuser change audit rows (what someone bypassing plinth does).
inline void Unprotect(db::Connection& c) {
  if (c.backend() == db::Backend::kPostgres) {
    Exec(c, "SET session_replication_role = replica");
  } else {
    Exec(c, "DROP TRIGGER plinth_audit_refuse_update");
    Exec(c, "DROP TRIGGER plinth_audit_refuse_delete");
  }
}

inline audit::VerifyReport MustVerify(db::Connection& c, const audit::VerifyOptions& o = {}) {
  auto r = audit::Verify(c, o);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? *r : audit::VerifyReport{};
}

inline audit::SealReport MustSeal(db::Connection& c, const audit::SealOptions& o = {}) {
  auto r = audit::Seal(c, o);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? *r : audit::SealReport{};
}

// The connection the sealer runs on: the runtime role on PostgreSQL (it may seal, but cannot
// read other tenants' rows), the file on SQLite.
inline std::unique_ptr<db::Connection> Sealer(const AuthDb& d) { return d.pg() ? d.Runtime() : d.Admin(); }
// The verifier: the admin role (BYPASSRLS) on PostgreSQL.
inline std::unique_ptr<db::Connection> Verifier(const AuthDb& d) { return d.pg() ? d.Definer() : d.Admin(); }

// The cases (defined in the .cc beside this header, compiled once for both test binaries).
void CaseIntactChain(const std::string& backend);
void CaseEditFound(const std::string& backend);
void CaseDeletionFound(const std::string& backend);
void CaseReorderFound(const std::string& backend);
void CaseTailTruncationNeedsCheckpoint(const std::string& backend);
void CaseRecomputedLinkFound(const std::string& backend);
void CaseBackgroundSealerUnderConcurrentWriters(const std::string& backend);
void CaseTwoSealersRacingForkNothing(const std::string& backend);

}  // namespace plinth::testing

#define PLINTH_AUDIT_CHAIN_TESTS(Suite, backend)                                             \
  TEST(Suite, IntactChainVerifies) { ::plinth::testing::CaseIntactChain(backend); }          \
  TEST(Suite, EditedRowIsFound) { ::plinth::testing::CaseEditFound(backend); }               \
  TEST(Suite, DeletedRowIsFound) { ::plinth::testing::CaseDeletionFound(backend); }          \
  TEST(Suite, ReorderedRowsAreFound) { ::plinth::testing::CaseReorderFound(backend); }       \
  TEST(Suite, RecomputedLinkIsFound) { ::plinth::testing::CaseRecomputedLinkFound(backend); } \
  TEST(Suite, TailTruncationFoundByCheckpoint) { ::plinth::testing::CaseTailTruncationNeedsCheckpoint(backend); } \
  TEST(Suite, BackgroundSealerUnderConcurrentWriters) {                                                     \
    ::plinth::testing::CaseBackgroundSealerUnderConcurrentWriters(backend);                                 \
  }                                                                                                         \
  TEST(Suite, TwoSealersRacingForkNothing) { ::plinth::testing::CaseTwoSealersRacingForkNothing(backend); }
