// The `plinth` binary on PostgreSQL: each example app up / check / down base / up, `migrate sql`
// against `up --echo`, `check` failing on row security switched off and on a server that is not
// there, and two `migrate up` processes at once behind the advisory lock (with CREATE INDEX
// CONCURRENTLY steps, which a blocking lock would deadlock).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "cli/cli_util.h"
#include "migrate/scenarios.h"

namespace plinth::cli::testing {
namespace {

using ::testing::ContainsRegex;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using plinth::testing::TempDir;

class CliPgTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = runner::testing::TestDb::Postgres();
    ASSERT_NE(db_, nullptr);
  }
  std::map<std::string, std::string> Env(const std::string& app) const {
    return {{"DATABASE_URL", db_->url_text()}, {"PLINTH_APP", app}};
  }
  std::unique_ptr<runner::testing::TestDb> db_;
  TempDir dir_;
};

class CliPgExample : public CliPgTest, public ::testing::WithParamInterface<std::string> {};

TEST_P(CliPgExample, UpCheckDownBaseUpAgain) {
  const auto env = Env(Example(GetParam()));
  RunResult up = RunPlinth({"migrate", "up"}, env);
  ASSERT_EQ(up.exit_code, 0) << Show(up);
  RunResult check = RunPlinth({"check"}, env);
  EXPECT_EQ(check.exit_code, 0) << Show(check);
  EXPECT_THAT(check.out, HasSubstr("check passed"));
  EXPECT_THAT(check.out, ContainsRegex("database connection +pass +PostgreSQL 1[0-9]"));
  EXPECT_THAT(check.out, ContainsRegex("row security on [a-z_]+ +pass +enabled \\+ forced"));
  EXPECT_THAT(check.out, ContainsRegex("enum [a-z_]+ +pass"));
  EXPECT_THAT(check.out, ContainsRegex("support functions +pass"));
  EXPECT_THAT(RunPlinth({"migrate", "check"}, env).exit_code, 0);

  RunResult down = RunPlinth({"migrate", "down", "base", "--allow-data-loss"}, env);
  ASSERT_EQ(down.exit_code, 0) << Show(down);
  auto db = db_->Connect();
  EXPECT_THAT(runner::testing::PlinthObjects(*db), IsEmpty());
  RunResult gone = RunPlinth({"check"}, env);
  EXPECT_EQ(gone.exit_code, 1) << Show(gone);
  EXPECT_THAT(gone.out, HasSubstr("pending: run `plinth migrate up`"));

  RunResult again = RunPlinth({"migrate", "up"}, env);
  ASSERT_EQ(again.exit_code, 0) << Show(again);
  EXPECT_EQ(RunPlinth({"check"}, env).exit_code, 0);
}

INSTANTIATE_TEST_SUITE_P(Examples, CliPgExample, ::testing::Values("documents", "escrow", "settings", "curatore"));

TEST_F(CliPgTest, MigrateSqlPrintsExactlyWhatUpExecutes) {
  const auto env = Env(Example("documents"));
  RunResult sql = RunPlinth({"migrate", "sql", "--dialect", "postgresql"}, env);
  ASSERT_EQ(sql.exit_code, 0) << Show(sql);
  RunResult dialect_from_url = RunPlinth({"migrate", "sql"}, env);
  EXPECT_EQ(dialect_from_url.out, sql.out) << "--dialect defaults to the database's";
  RunResult up = RunPlinth({"-q", "migrate", "up", "--echo"}, env);
  ASSERT_EQ(up.exit_code, 0) << Show(up);
  EXPECT_EQ(up.out, sql.out.substr(sql.out.find('\n') + 1));
  EXPECT_THAT(up.out, HasSubstr("ALTER TABLE \"documents\" FORCE ROW LEVEL SECURITY;"));
}

TEST_F(CliPgTest, CheckFailsWhenRowSecurityIsNotForced) {
  const auto env = Env(Example("documents"));
  ASSERT_EQ(RunPlinth({"migrate", "up"}, env).exit_code, 0);
  auto db = db_->Connect();
  db->Exec("ALTER TABLE documents NO FORCE ROW LEVEL SECURITY");
  db->Exec("DROP POLICY owner_or_admin_deletes ON documents");
  RunResult check = RunPlinth({"check"}, env);
  EXPECT_EQ(check.exit_code, 1) << Show(check);
  EXPECT_THAT(check.out, ContainsRegex("row security on documents +FAIL"));
  EXPECT_THAT(check.out, HasSubstr("table documents: row level security is not forced"));
  EXPECT_THAT(check.out, HasSubstr("policy documents.owner_or_admin_deletes: missing"));
  EXPECT_THAT(check.out, ContainsRegex("table documents +pass")) << "the table itself is fine";
}

TEST_F(CliPgTest, CheckSaysWhyItCannotConnect) {
  // A port nothing listens on (the test cluster's port + 1 is not ours to assume: use port 1).
  RunResult r = RunPlinth({"check"}, {{"DATABASE_URL", "postgresql://nobody:secret@127.0.0.1:1/app?connect_timeout=2"},
                                      {"PLINTH_APP", Example("documents")}});
  EXPECT_EQ(r.exit_code, 1) << Show(r);
  EXPECT_THAT(r.out, ContainsRegex("database connection +FAIL +cannot connect"));
  EXPECT_THAT(r.out, HasSubstr("refused"));
  EXPECT_THAT(r.out + r.err, Not(HasSubstr("secret"))) << "the password is never printed";
}

TEST_F(CliPgTest, TwoConcurrentUpProcessesWaitForTheLockAndApplyEachMigrationOnce) {
  // A counter app whose migrations also build indexes CONCURRENTLY (non-transactional steps).
  std::vector<migrate::Migration> ms = runner::testing::CounterMigrations(8);
  runner::testing::AddStage(ms, "indexed", R"toml(
[app]
name = "counter"
[table.run_log]
columns.version = { type = "text(10)", primary_key = true }
columns.note    = { type = "text" }
indexes.by_note = { columns = ["note"] }
)toml");
  ASSERT_TRUE(ms.back().up.back().concurrently);
  const std::string app = dir_ / "counter";
  fs::create_directories(app + "/migrations");
  for (const auto& m : ms) WriteText(app + "/migrations/" + migrate::FileNameFor(m), migrate::ToFileText(m));

  // The test holds the migration lock until both processes report that they wait for it.
  auto holder = db_->Connect();
  ASSERT_EQ(holder->Value("SELECT pg_try_advisory_lock(" + std::to_string(runner::MigrationLockKey()) + ")"), "t");
  Process a({"migrate", "up"}, Env(app));
  Process b({"migrate", "up"}, Env(app));
  EXPECT_TRUE(Eventually([&] {
    return a.Stdout().find("waiting for the migration lock") != std::string::npos &&
           b.Stdout().find("waiting for the migration lock") != std::string::npos;
  })) << a.Stdout() << b.Stdout();
  holder->Exec("SELECT pg_advisory_unlock(" + std::to_string(runner::MigrationLockKey()) + ")");
  RunResult ra = a.Wait();
  RunResult rb = b.Wait();
  EXPECT_EQ(ra.exit_code, 0) << Show(ra);
  EXPECT_EQ(rb.exit_code, 0) << Show(rb);
  EXPECT_EQ(CountOf(ra.out + rb.out, "applied "), ms.size()) << ra.out << "\n" << rb.out;
  EXPECT_EQ(holder->Count("SELECT count(*) FROM run_log"), 8);
  EXPECT_EQ(runner::testing::History(*holder).size(), ms.size());
  EXPECT_EQ(holder->Value("SELECT indisvalid FROM pg_index WHERE indexrelid = 'run_log_by_note_idx'::regclass"), "t");
}

}  // namespace
}  // namespace plinth::cli::testing
