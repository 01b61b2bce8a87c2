// The cases of audit_cases.h, compiled once into the layer's cases library and run by both
// test binaries (SQLite and PostgreSQL).
#include "auth/audit_cases.h"

namespace plinth::testing {

void CaseIntactChain(const std::string& backend) {
  AuthDb d(backend, "tenants.toml");
  ASSERT_TRUE(d.ok());
  auto admin = d.Admin();
  for (int i = 1; i <= 25; ++i) AddAuditRow(*admin, i, i % 2 ? kTenantA : kTenantB);
  auto sealer = Sealer(d);
  if (d.pg()) {
    // The runtime role sees no audit row without a tenant, yet seals them all.
    EXPECT_EQ(One(*sealer, "SELECT count(*) FROM plinth_audit"), "0");
  }
  audit::SealOptions so;
  so.max_rows = 10;
  auto all = audit::SealAll(*sealer, so);
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  EXPECT_EQ(all->rows, 25);
  EXPECT_EQ(all->head_pos, 25);
  EXPECT_EQ(all->head_hash.size(), 64u);
  // Nothing new: a run seals nothing and keeps the head.
  audit::SealReport again = MustSeal(*sealer);
  EXPECT_EQ(again.rows, 0);
  EXPECT_EQ(again.head_hash, all->head_hash);
  auto verifier = Verifier(d);
  audit::VerifyReport v = MustVerify(*verifier);
  EXPECT_TRUE(v.ok()) << (v.first ? v.first->message : "");
  EXPECT_EQ(v.rows_checked, 25);
  EXPECT_EQ(v.seals_checked, 3);
  EXPECT_EQ(v.unsealed, 0);
  // Rows after the last seal are pending, not a finding.
  AddAuditRow(*admin, 26);
  v = MustVerify(*verifier);
  EXPECT_TRUE(v.ok());
  EXPECT_EQ(v.unsealed, 1);
  // A checkpoint recorded outside the database matches.
  audit::VerifyOptions vo;
  vo.checkpoints = {{all->head_pos, all->head_hash}};
  EXPECT_TRUE(MustVerify(*verifier, vo).ok());
}

inline std::unique_ptr<AuthDb> SealedLog(const std::string& backend, int rows) {
  auto d = std::make_unique<AuthDb>(backend, "tenants.toml");
  if (!d->ok()) return nullptr;
  auto admin = d->Admin();
  for (int i = 1; i <= rows; ++i) AddAuditRow(*admin, i);
  auto sealer = Sealer(*d);
  auto r = audit::SealAll(*sealer);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return d;
}

void CaseEditFound(const std::string& backend) {
  auto d = SealedLog(backend, 10);
  ASSERT_TRUE(d);
  auto admin = d->Admin();
  Unprotect(*admin);
  // One byte of row 7's changes.
  Exec(*admin, d->pg() ? "UPDATE plinth_audit SET changes = '{\"body\":\"note X\"}'::jsonb WHERE seq = 7"
                       : "UPDATE plinth_audit SET changes = '{\"body\":\"note X\"}' WHERE seq = 7");
  audit::VerifyReport v = MustVerify(*Verifier(*d));
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.first->kind, audit::FindingKind::kAltered);
  EXPECT_EQ(v.first->seq, 7);
  EXPECT_EQ(v.first->pos, 7);
}

void CaseDeletionFound(const std::string& backend) {
  auto d = SealedLog(backend, 10);
  ASSERT_TRUE(d);
  auto admin = d->Admin();
  Unprotect(*admin);
  Exec(*admin, "DELETE FROM plinth_audit WHERE seq = 4");
  audit::VerifyReport v = MustVerify(*Verifier(*d));
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.first->kind, audit::FindingKind::kMissing);
  EXPECT_EQ(v.first->seq, 4);
}

void CaseReorderFound(const std::string& backend) {
  auto d = SealedLog(backend, 10);
  ASSERT_TRUE(d);
  auto admin = d->Admin();
  Unprotect(*admin);
  // Swap rows 5 and 6: each takes the other's content (the seqs stay in place).
  if (d->pg()) {
    Exec(*admin,
         "UPDATE plinth_audit a SET row_key = b.row_key, changes = b.changes FROM plinth_audit b "
         "WHERE (a.seq, b.seq) IN ((5, 6), (6, 5))");
  } else {
    Exec(*admin, "CREATE TEMP TABLE swap AS SELECT seq, row_key, changes FROM plinth_audit WHERE seq IN (5, 6)");
    Exec(*admin,
         "UPDATE plinth_audit SET row_key = (SELECT row_key FROM swap WHERE swap.seq = 11 - plinth_audit.seq), "
         "changes = (SELECT changes FROM swap WHERE swap.seq = 11 - plinth_audit.seq) WHERE seq IN (5, 6)");
  }
  EXPECT_EQ(One(*admin, "SELECT row_key FROM plinth_audit WHERE seq = 5"), "row-6");
  audit::VerifyReport v = MustVerify(*Verifier(*d));
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.first->kind, audit::FindingKind::kAltered);
  EXPECT_EQ(v.first->seq, 5);
}

void CaseTailTruncationNeedsCheckpoint(const std::string& backend) {
  auto d = SealedLog(backend, 10);
  ASSERT_TRUE(d);
  auto verifier = Verifier(*d);
  auto head = MustSeal(*Sealer(*d));  // nothing new; reports the head
  ASSERT_EQ(head.head_pos, 10);
  auto cps = audit::ParseCheckpoints(audit::FormatCheckpoint(head));
  ASSERT_TRUE(cps.ok());
  auto admin = d->Admin();
  Unprotect(*admin);
  // A careful superuser removes the last three rows together with their chain entries and the
  // seal: the database alone looks consistent…
  Exec(*admin, "DELETE FROM plinth_audit WHERE seq > 7");
  Exec(*admin, "DELETE FROM plinth_audit_chain WHERE pos > 7");
  Exec(*admin, "DELETE FROM plinth_audit_seals");
  EXPECT_TRUE(MustVerify(*verifier).ok());
  // … but not to the checkpoint kept outside it.
  audit::VerifyOptions vo;
  vo.checkpoints = *cps;
  audit::VerifyReport v = MustVerify(*verifier, vo);
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.first->kind, audit::FindingKind::kCheckpointMismatch);
  EXPECT_EQ(v.first->pos, 10);
}

// A superuser who also recomputes the stored link of the row he edited is caught at the next
// link, and by the seal.
void CaseRecomputedLinkFound(const std::string& backend) {
  auto d = SealedLog(backend, 6);
  ASSERT_TRUE(d);
  auto admin = d->Admin();
  Unprotect(*admin);
  Exec(*admin, "UPDATE plinth_audit SET row_key = 'forged' WHERE seq = 3");
  Exec(*admin, "UPDATE plinth_audit_chain SET hash = '" + std::string(64, 'a') + "' WHERE pos = 3");
  audit::VerifyReport v = MustVerify(*Verifier(*d));
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.first->seq, 3);
}

// `writers` connections insert `rows` audit rows each at once (seq w * 1000 + i, two tenants).
static void WriteAuditRowsConcurrently(AuthDb& d, int writers, int rows) {
  std::vector<std::thread> threads;
  for (int w = 0; w < writers; ++w) {
    threads.emplace_back([&d, w, rows] {
      auto c = d.Admin();
      for (int i = 0; i < rows; ++i) AddAuditRow(*c, w * 1000 + i, w % 2 ? kTenantA : kTenantB);
    });
  }
  for (auto& t : threads) t.join();
}

// Every one of the `rows` audit rows is in one linear chain that verifies, each exactly once.
static void ExpectOneLinearChain(AuthDb& d, int rows) {
  audit::VerifyReport v = MustVerify(*Verifier(d));
  EXPECT_TRUE(v.ok()) << (v.first ? v.first->message : "");
  EXPECT_EQ(v.rows_checked, rows);
  EXPECT_EQ(v.unsealed, 0);
  auto admin = d.Admin();
  EXPECT_EQ(One(*admin, "SELECT count(DISTINCT seq) FROM plinth_audit_chain"), std::to_string(rows));
  EXPECT_EQ(One(*admin, "SELECT count(*) FROM plinth_audit_chain"), std::to_string(rows));
  EXPECT_EQ(One(*admin, "SELECT max(pos) - min(pos) + 1 FROM plinth_audit_chain"), std::to_string(rows));
}

// A3 with the server's sealer running: writers on four connections insert audit rows at once
// (on PostgreSQL their seqs commit out of order) while the background sealer chains every 10 ms;
// after it stops (a last run) every row is in one linear chain that verifies, each exactly once.
void CaseBackgroundSealerUnderConcurrentWriters(const std::string& backend) {
  AuthDb d(backend, "tenants.toml");
  ASSERT_TRUE(d.ok());
  auto url = db::ParseUrl(d.pg() ? d.runtime_url() : d.admin_url());
  ASSERT_TRUE(url.ok());
  audit::SealerOptions so;
  so.interval = std::chrono::milliseconds(10);
  so.seal.max_rows = 7;  // several seals per run
  std::atomic<int> errors{0};
  so.on_error = [&](const Status& st) {
    ++errors;
    ADD_FAILURE() << st.ToString();
  };
  auto sealer = audit::BackgroundSealer::Start(*url, so);
  ASSERT_TRUE(sealer.ok()) << sealer.status().ToString();
  constexpr int kWriters = 4, kRows = 40;
  WriteAuditRowsConcurrently(d, kWriters, kRows);
  (*sealer)->Stop();  // the last run chains what the interval left
  EXPECT_EQ(errors.load(), 0);
  const auto stats = (*sealer)->stats();
  EXPECT_GT(stats.runs, 1u);
  EXPECT_EQ(stats.rows_sealed, static_cast<uint64_t>(kWriters * kRows));
  EXPECT_EQ(stats.head_pos, kWriters * kRows);
  ExpectOneLinearChain(d, kWriters * kRows);
}

// Two servers' sealers (or the server's and `plinth audit seal` from cron) on one database, both
// every millisecond, while writers insert: the chain stays one line with every row once. On
// SQLite this is the head check of the two-step seal (a sealer that finds the head moved after
// it hashed starts over); on PostgreSQL the advisory lock.
void CaseTwoSealersRacingForkNothing(const std::string& backend) {
  AuthDb d(backend, "tenants.toml");
  ASSERT_TRUE(d.ok());
  auto url = db::ParseUrl(d.pg() ? d.runtime_url() : d.admin_url());
  ASSERT_TRUE(url.ok());
  std::atomic<int> errors{0}, head_moved{0};
  audit::SealerOptions so;
  so.interval = std::chrono::milliseconds(1);
  so.seal.max_rows = 3;
  so.on_error = [&](const Status& st) {
    if (st.code() == Code::kRetryable) {
      ++head_moved;  // the other sealer won five times in a row: this one tries again next interval
      return;
    }
    ++errors;
    ADD_FAILURE() << st.ToString();
  };
  auto one = audit::BackgroundSealer::Start(*url, so);
  ASSERT_TRUE(one.ok()) << one.status().ToString();
  auto two = audit::BackgroundSealer::Start(*url, so);
  ASSERT_TRUE(two.ok()) << two.status().ToString();
  constexpr int kWriters = 3, kRows = 60;
  WriteAuditRowsConcurrently(d, kWriters, kRows);
  (*one)->Stop();
  (*two)->Stop();
  EXPECT_EQ(errors.load(), 0);
  const auto a = (*one)->stats(), b = (*two)->stats();
  EXPECT_EQ(a.rows_sealed + b.rows_sealed, static_cast<uint64_t>(kWriters * kRows)) << "each row sealed by one of them, once";
  ExpectOneLinearChain(d, kWriters * kRows);
}

}  // namespace plinth::testing
