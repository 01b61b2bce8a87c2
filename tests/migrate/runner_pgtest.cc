// The runner on PostgreSQL: the shared scenarios (scenarios.h), enum changes (add in its own
// committed step, rename, remove and reorder by a type swap), a non-transactional step that
// fails and resumes, and the advisory lock.
#include <algorithm>

#include "migrate/scenarios.h"

namespace plinth::runner::testing {
namespace {

class PgRunner : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = TestDb::Postgres();
    ASSERT_NE(db_, nullptr);
  }
  std::unique_ptr<TestDb> db_;
};

class PgExampleApp : public ::testing::TestWithParam<std::string> {};

TEST_P(PgExampleApp, UpCheckDownBaseUpAgain) {
  auto t = TestDb::Postgres();
  ASSERT_NE(t, nullptr);
  ExampleAppRoundTrip(*t, GetParam());
}

TEST_P(PgExampleApp, MigrateSqlIsExactlyWhatUpAndDownRun) {
  auto t = TestDb::Postgres();
  ASSERT_NE(t, nullptr);
  SqlScriptIsWhatRuns(*t, GetParam());
}

INSTANTIATE_TEST_SUITE_P(Examples, PgExampleApp, ::testing::Values("documents", "escrow", "settings", "curatore"));

TEST_F(PgRunner, FailedMigrationKeepsThePreviousVersion) { FailedMigrationKeepsPreviousVersion(*db_); }
TEST_F(PgRunner, DataLossNeedsPermission) { DataLossNeedsPermission(*db_); }
TEST_F(PgRunner, TamperedFileIsRefusedByName) { TamperedFileRefused(*db_); }
TEST_F(PgRunner, DriftFindsHandMadeChanges) { DriftFindsHandMadeChanges(*db_); }
TEST_F(PgRunner, StampWritesOnlyHistory) { StampWritesOnlyHistory(*db_); }
TEST_F(PgRunner, ConcurrentUpAppliesEachMigrationOnce) { ConcurrentUpAppliesOnce(*db_); }

TEST_F(PgRunner, RowSecurityIsEnabledAndForcedOnEveryPolicyTable) {
  const auto ms = LoadExampleMigrations("documents");
  ASSERT_TRUE(Up(db_->url(), ms, "head", Options()).ok());
  auto db = db_->Connect();
  const schema::Schema s = LoadExampleSchema("documents");
  for (const auto& t : s.tables) {
    if (t.policies.empty()) continue;
    EXPECT_EQ(db->Value("SELECT relrowsecurity::text || ' ' || relforcerowsecurity::text FROM pg_class WHERE oid = '" +
                        t.name + "'::regclass"),
              "true true")
        << t.name;
  }
  // Switching it off by hand is drift.
  db->Exec("ALTER TABLE documents NO FORCE ROW LEVEL SECURITY");
  auto drift = CheckDrift(db_->url(), ms, Options());
  ASSERT_TRUE(drift.ok());
  EXPECT_THAT(DriftText(drift->differences), HasSubstr("table documents: row level security is not forced"));
}

// ---- Enums ----------------------------------------------------------------------------------------

constexpr std::string_view kTickets1 = R"toml(
[app]
name = "tickets"
[enum.status]
values = ["open", "pending", "closed"]
[table.tickets]
columns.id     = { type = "uuid", primary_key = true, default = "uuid" }
columns.status = { type = "status", not_null = true, default = "open" }
indexes.open_ones = { columns = ["id"], where = "status = 'open'" }
)toml";

// Adds 'on_hold' before 'closed' and uses it at once (a new column's default).
constexpr std::string_view kTickets2 = R"toml(
[app]
name = "tickets"
[enum.status]
values = ["open", "pending", "on_hold", "closed"]
[table.tickets]
columns.id     = { type = "uuid", primary_key = true, default = "uuid" }
columns.status = { type = "status", not_null = true, default = "open" }
columns.parked = { type = "status", not_null = true, default = "on_hold" }
indexes.open_ones = { columns = ["id"], where = "status = 'open'" }
)toml";

// Renames 'pending' to 'waiting'.
constexpr std::string_view kTickets3 = R"toml(
[app]
name = "tickets"
[enum.status]
values = ["open", "waiting", "on_hold", "closed"]
renamed_values = { waiting = "pending" }
[table.tickets]
columns.id     = { type = "uuid", primary_key = true, default = "uuid" }
columns.status = { type = "status", not_null = true, default = "open" }
columns.parked = { type = "status", not_null = true, default = "on_hold" }
indexes.open_ones = { columns = ["id"], where = "status = 'open'" }
)toml";

// Removes 'waiting' and moves 'closed' first: a type swap.
constexpr std::string_view kTickets4 = R"toml(
[app]
name = "tickets"
[enum.status]
values = ["closed", "open", "on_hold"]
[table.tickets]
columns.id     = { type = "uuid", primary_key = true, default = "uuid" }
columns.status = { type = "status", not_null = true, default = "open" }
columns.parked = { type = "status", not_null = true, default = "on_hold" }
indexes.open_ones = { columns = ["id"], where = "status = 'open'" }
)toml";

std::string Labels(Sql& db) {
  return db.Value("SELECT string_agg(e.enumlabel, ',' ORDER BY e.enumsortorder) FROM pg_enum e "
                  "WHERE e.enumtypid = 'status'::regtype");
}

TEST_F(PgRunner, EnumAddRenameRemoveAndReorder) {
  std::vector<migrate::Migration> ms;
  AddStage(ms, "tickets", kTickets1);
  AddStage(ms, "on hold", kTickets2);
  AddStage(ms, "pending is waiting", kTickets3);
  {
    auto state = migrate::Replay(ms, ms.size());
    ASSERT_TRUE(state.ok());
    auto diff = migrate::Diff(*state, LoadSchema(kTickets4), migrate::DiffOptions{});
    ASSERT_TRUE(diff.ok()) << diff.status().ToString();
    std::string notes;
    for (const auto& n : diff->notes) notes += n + "\n";
    EXPECT_THAT(notes, HasSubstr("swapped")) << "migrate diff explains the type swap";
    EXPECT_THAT(notes, HasSubstr("removed: waiting"));
    ms.push_back(Next(ms, "drop waiting, closed first", diff->up, diff->down));
  }
  ASSERT_TRUE(ms[3].HasDataLoss(false)) << "removing a value is data-losing";
  auto db = db_->Connect();

  ASSERT_TRUE(Up(db_->url(), ms, "0001", Options()).ok());
  db->Exec("INSERT INTO tickets (status) VALUES ('open'), ('pending'), ('closed')");

  // Add: ALTER TYPE … ADD VALUE runs in its own committed step, before the transaction that uses it.
  std::vector<ScriptStatement> ran;
  auto add = Up(db_->url(), ms, "0002", Options(&ran));
  ASSERT_TRUE(add.ok()) << add.status().ToString();
  const std::string add_sql = Text(ran);
  const size_t add_at = add_sql.find("ALTER TYPE \"status\" ADD VALUE IF NOT EXISTS 'on_hold' BEFORE 'closed'");
  ASSERT_NE(add_at, std::string::npos) << add_sql;
  EXPECT_LT(add_at, add_sql.find("BEGIN;")) << "committed before the transaction that uses the value:\n" << add_sql;
  EXPECT_THAT(add_sql, HasSubstr("(non-transactional)"));
  EXPECT_EQ(Labels(*db), "open,pending,on_hold,closed");
  EXPECT_EQ(db->Value("SELECT count(*) FROM tickets WHERE parked = 'on_hold'"), "3");
  EXPECT_EQ(History(*db).back(), "0002 2/2");

  // Rename: in place, rows follow.
  ran.clear();
  ASSERT_TRUE(Up(db_->url(), ms, "0003", Options(&ran)).ok());
  EXPECT_THAT(Text(ran), HasSubstr("ALTER TYPE \"status\" RENAME VALUE 'pending' TO 'waiting'"));
  EXPECT_EQ(Labels(*db), "open,waiting,on_hold,closed");
  EXPECT_EQ(db->Value("SELECT count(*) FROM tickets WHERE status = 'waiting'"), "1");

  // Remove: refused as data loss. With permission, the type swap is refused by the database while
  // a row holds the removed value: its transaction rolls back, the rows keep their values, and
  // the migration stays partial after its first step (the partial index, dropped CONCURRENTLY
  // in a step of its own before the swap) until the rows are fixed and `up` resumes it.
  auto refused = Up(db_->url(), ms, "head", Options());
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), Code::kDataLoss);
  EXPECT_EQ(History(*db).back(), "0003 1/1");
  auto blocked = Up(db_->url(), ms, "head", Options(nullptr, true));
  ASSERT_FALSE(blocked.ok());
  EXPECT_THAT(blocked.status().message(), HasSubstr("(replace_enum status): invalid input value for enum"));
  EXPECT_THAT(blocked.status().message(), HasSubstr("\"waiting\""));
  EXPECT_THAT(blocked.status().message(), HasSubstr("run `plinth migrate up` to resume at step 2"));
  EXPECT_EQ(History(*db).back(), "0004 1/3");
  EXPECT_EQ(Labels(*db), "open,waiting,on_hold,closed") << "the swap rolled back";
  EXPECT_EQ(db->Value("SELECT count(*) FROM tickets WHERE status = 'waiting'"), "1");

  db->Exec("UPDATE tickets SET status = 'on_hold' WHERE status = 'waiting'");
  ran.clear();
  auto swap = Up(db_->url(), ms, "head", Options(&ran, true));
  ASSERT_TRUE(swap.ok()) << swap.status().ToString();
  EXPECT_THAT(Text(ran), HasSubstr("ALTER TYPE \"status\" RENAME TO"));
  EXPECT_THAT(Text(ran), HasSubstr("CREATE TYPE \"status\" AS ENUM ('closed', 'open', 'on_hold')"));
  EXPECT_EQ(Labels(*db), "closed,open,on_hold");
  EXPECT_EQ(db->Value("SELECT string_agg(status::text, ',' ORDER BY status) FROM tickets"), "closed,open,on_hold")
      << "rows keep their labels and sort in the new order";
  EXPECT_EQ(db->Count("SELECT count(*) FROM pg_type WHERE typname LIKE 'status%'"), 1) << "the old type is gone";
  auto drift = CheckDrift(db_->url(), ms, Options());
  ASSERT_TRUE(drift.ok());
  EXPECT_TRUE(drift->ok()) << DriftText(drift->differences);
  EXPECT_THAT(db->Column("SELECT indexdef FROM pg_indexes WHERE indexname = 'tickets_open_ones_idx'"),
              ElementsAre(HasSubstr("WHERE (status = 'open'::status)")))
      << "the partial index was re-created on the new type";

  // And all the way back (once no row holds a value an earlier migration did not have).
  db->Exec("UPDATE tickets SET status = 'open' WHERE status = 'on_hold'");
  auto down = Down(db_->url(), ms, "base", Options(nullptr, true));
  ASSERT_TRUE(down.ok()) << down.status().ToString();
  EXPECT_THAT(PlinthObjects(*db), IsEmpty());
}

// ---- Non-transactional steps ---------------------------------------------------------------------

// 0002: CREATE INDEX CONCURRENTLY (its own step), then a unique key that existing rows violate.
std::vector<migrate::Migration> ResumableMigrations() {
  std::vector<migrate::Migration> ms;
  AddStage(ms, "items", R"toml(
[app]
name = "items"
[table.items]
columns.id   = { type = "uuid", primary_key = true, default = "uuid" }
columns.code = { type = "text", not_null = true }
columns.qty  = { type = "integer", not_null = true, default = 0 }
)toml");
  auto state = migrate::Replay(ms, 1);
  auto diff = migrate::Diff(*state, LoadSchema(R"toml(
[app]
name = "items"
[table.items]
columns.id   = { type = "uuid", primary_key = true, default = "uuid" }
columns.code = { type = "text", not_null = true, unique = true }
columns.qty  = { type = "integer", not_null = true, default = 0 }
indexes.by_qty = { columns = ["qty"] }
)toml"),
                            migrate::DiffOptions{});
  EXPECT_TRUE(diff.ok());
  if (!diff.ok()) return ms;
  // The index first: it commits on its own before the unique key fails.
  std::vector<migrate::Op> up = diff->up;
  std::vector<migrate::Op> down = diff->down;
  EXPECT_EQ(up.size(), 2u);
  auto index_first = [](const migrate::Op& a, const migrate::Op& b) {
    return (a.kind == migrate::OpKind::kCreateIndex) > (b.kind == migrate::OpKind::kCreateIndex);
  };
  if (!std::is_sorted(up.begin(), up.end(), index_first)) {
    std::reverse(up.begin(), up.end());
    std::reverse(down.begin(), down.end());
  }
  EXPECT_EQ(up[0].kind, migrate::OpKind::kCreateIndex);
  EXPECT_TRUE(up[0].concurrently);
  ms.push_back(Next(ms, "unique codes", up, down));
  return ms;
}

TEST_F(PgRunner, FailedNonTransactionalMigrationResumesOnTheNextUp) {
  const auto ms = ResumableMigrations();
  ASSERT_EQ(ms.size(), 2u);
  ASSERT_TRUE(Up(db_->url(), ms, "0001", Options()).ok());
  auto db = db_->Connect();
  db->Exec("INSERT INTO items (code, qty) VALUES ('a', 1), ('a', 2)");

  auto failed = Up(db_->url(), ms, "head", Options());
  ASSERT_FALSE(failed.ok());
  EXPECT_THAT(failed.status().message(), HasSubstr("failed at step 2 of 2 (add_constraint items.items_code_key)"));
  EXPECT_THAT(failed.status().message(), HasSubstr("step 1 of 2 committed before the failure"));
  EXPECT_THAT(failed.status().message(), HasSubstr("run `plinth migrate up` to resume at step 2"));
  EXPECT_EQ(History(*db).back(), "0002 1/2");
  EXPECT_EQ(db->Value("SELECT indisvalid FROM pg_index WHERE indexrelid = 'items_by_qty_idx'::regclass"), "t");
  auto st = ReadStatus(db_->url(), ms, Options());
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->entries.back().state, MigrationState::kPartial);
  auto drift = CheckDrift(db_->url(), ms, Options());
  ASSERT_TRUE(drift.ok());
  EXPECT_TRUE(drift->differences.empty()) << "the database is what step 1 of 0002 makes it:\n"
                                          << DriftText(drift->differences);

  db->Exec("UPDATE items SET code = 'b' WHERE qty = 2");
  std::vector<ScriptStatement> ran;
  auto resumed = Up(db_->url(), ms, "head", Options(&ran));
  ASSERT_TRUE(resumed.ok()) << resumed.status().ToString();
  ASSERT_EQ(resumed->migrations.size(), 1u);
  EXPECT_EQ(resumed->migrations[0].steps_from, 1u);
  EXPECT_EQ(resumed->migrations[0].steps_to, 2u);
  EXPECT_THAT(Text(ran), ::testing::Not(HasSubstr("CREATE INDEX"))) << "the completed step is not repeated";
  EXPECT_EQ(History(*db).back(), "0002 2/2");
  auto after = CheckDrift(db_->url(), ms, Options());
  ASSERT_TRUE(after.ok());
  EXPECT_TRUE(after->ok()) << DriftText(after->differences);
}

TEST_F(PgRunner, PartiallyAppliedMigrationRollsBackItsCompletedSteps) {
  const auto ms = ResumableMigrations();
  ASSERT_TRUE(Up(db_->url(), ms, "0001", Options()).ok());
  auto db = db_->Connect();
  db->Exec("INSERT INTO items (code, qty) VALUES ('a', 1), ('a', 2)");
  ASSERT_FALSE(Up(db_->url(), ms, "head", Options()).ok());
  ASSERT_EQ(History(*db).back(), "0002 1/2");

  auto down = Down(db_->url(), ms, "0001", Options());
  ASSERT_TRUE(down.ok()) << down.status().ToString();
  EXPECT_THAT(History(*db), ElementsAre(::testing::StartsWith("0001 ")));
  EXPECT_EQ(db->Value("SELECT to_regclass('items_by_qty_idx') IS NULL"), "t");
  auto drift = CheckDrift(db_->url(), ms, Options());
  ASSERT_TRUE(drift.ok());
  EXPECT_TRUE(drift->ok()) << DriftText(drift->differences);
}

// ---- The advisory lock ------------------------------------------------------------------------------

TEST_F(PgRunner, WaitsForTheAdvisoryLockAndNamesItsHolder) {
  const auto ms = CounterMigrations(1);
  auto holder = db_->Connect();
  ASSERT_EQ(holder->Value("SELECT pg_try_advisory_lock(" + std::to_string(MigrationLockKey()) + ")"), "t");
  const std::string pid = holder->Value("SELECT pg_backend_pid()");

  std::vector<std::string> progress;
  RunOptions opts = Options();
  opts.lock_timeout = std::chrono::milliseconds(400);
  opts.progress = [&](const std::string& s) { progress.push_back(s); };
  auto up = Up(db_->url(), ms, "head", opts);
  ASSERT_FALSE(up.ok());
  EXPECT_EQ(up.status().code(), Code::kDeadlineExceeded);
  EXPECT_THAT(up.status().message(), HasSubstr("waiting for the migration lock"));
  EXPECT_THAT(up.status().message(), HasSubstr("held by pid " + pid));
  ASSERT_FALSE(progress.empty());
  EXPECT_THAT(progress[0], HasSubstr("waiting for the migration lock, held by pid " + pid));
  EXPECT_THAT(History(*holder), IsEmpty()) << "nothing ran without the lock";

  holder->Exec("SELECT pg_advisory_unlock(" + std::to_string(MigrationLockKey()) + ")");
  auto after = Up(db_->url(), ms, "head", Options());
  ASSERT_TRUE(after.ok()) << after.status().ToString();
  // pg_locks is cluster-wide: other tests' databases may hold their own migration locks.
  EXPECT_EQ(holder->Value("SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database "
                          "WHERE l.locktype = 'advisory' AND d.datname = current_database()"),
            "0")
      << "the runner released the lock";
}

}  // namespace
}  // namespace plinth::runner::testing
