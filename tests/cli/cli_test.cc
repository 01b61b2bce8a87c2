// The `plinth` binary on SQLite: help and usage errors, validate, migrate diff (the documents
// history reproduced byte for byte), up/down/status/history/stamp/sql/check/lint, `plinth check`,
// tampered files, and two `migrate up` processes at once.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "cli/cli_util.h"
#include "migrate/scenarios.h"

namespace plinth::cli::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using plinth::testing::TempDir;

constexpr std::string_view kEpoch = "1767225600";  // examples/regenerate.sh's SOURCE_DATE_EPOCH

class CliTest : public ::testing::Test {
 protected:
  std::string DbUrl() const { return "sqlite://" + dir_.path() + "/app.db"; }
  std::map<std::string, std::string> Env(const std::string& app) const {
    return {{"DATABASE_URL", DbUrl()}, {"PLINTH_APP", app}, {"SOURCE_DATE_EPOCH", std::string(kEpoch)}};
  }
  TempDir dir_;
};

// ---- Help and usage ------------------------------------------------------------------------------

TEST_F(CliTest, EveryCommandHasHelp) {
  const std::vector<std::vector<std::string>> commands = {
      {},           {"validate"},          {"check"},          {"migrate"},          {"migrate", "diff"},
      {"migrate", "up"},   {"migrate", "down"},  {"migrate", "status"}, {"migrate", "history"},
      {"migrate", "stamp"}, {"migrate", "sql"},  {"migrate", "check"},  {"migrate", "lint"}};
  for (auto args : commands) {
    args.push_back("--help");
    RunResult r = RunPlinth(args);
    std::string cmd;
    for (const auto& a : args) cmd += a + " ";
    EXPECT_EQ(r.exit_code, 0) << cmd << Show(r);
    EXPECT_THAT(r.out, HasSubstr("Usage: ")) << cmd;
  }
  RunResult top = RunPlinth({"--help"});
  EXPECT_THAT(top.out, HasSubstr("DATABASE_URL"));
  EXPECT_THAT(top.out, HasSubstr("PLINTH_APP"));
  EXPECT_THAT(RunPlinth({"migrate", "up", "--help"}).out, HasSubstr("--allow-data-loss"));
  EXPECT_THAT(RunPlinth({"migrate", "up", "--help"}).out, HasSubstr("--lock-timeout"));
}

TEST_F(CliTest, UsageErrorsExitWithTwo) {
  const std::string app = CopyApp(dir_, "documents");
  RunResult no_url = RunPlinth({"--app", app, "migrate", "up"});
  EXPECT_EQ(no_url.exit_code, 2) << Show(no_url);
  EXPECT_THAT(no_url.err, HasSubstr("pass --database-url URL or set DATABASE_URL"));

  RunResult bad_url = RunPlinth({"--app", app, "--database-url", "mysql://db/x", "migrate", "status"});
  EXPECT_EQ(bad_url.exit_code, 2) << Show(bad_url);

  EXPECT_EQ(RunPlinth({"frobnicate"}).exit_code, 2);
  EXPECT_EQ(RunPlinth({}).exit_code, 2) << "a command is required";
  EXPECT_EQ(RunPlinth({"migrate"}).exit_code, 2);
  EXPECT_EQ(RunPlinth({"--app", app, "migrate", "sql", "--dialect", "oracle"}).exit_code, 2);
  RunResult down = RunPlinth({"--app", app, "--database-url", DbUrl(), "migrate", "down"});
  EXPECT_EQ(down.exit_code, 2) << Show(down);
  RunResult no_app = RunPlinth({"--app", dir_ / "nowhere", "validate"});
  EXPECT_EQ(no_app.exit_code, 2) << Show(no_app);
  EXPECT_THAT(no_app.err, HasSubstr("does not exist"));
  RunResult no_schema = RunPlinth({"--app", dir_.path(), "validate"});
  EXPECT_EQ(no_schema.exit_code, 2) << Show(no_schema);
  EXPECT_THAT(no_schema.err, HasSubstr("no schema.toml in"));
  RunResult unknown_target = RunPlinth({"--app", app, "migrate", "sql", "--dialect", "sqlite", "--to", "0042"});
  EXPECT_EQ(unknown_target.exit_code, 2) << Show(unknown_target);
  EXPECT_THAT(unknown_target.err, HasSubstr("unknown migration \"0042\""));
}

TEST_F(CliTest, GlobalOptionsWorkAfterTheCommandAndFromTheEnvironment) {
  const std::string app = CopyApp(dir_, "documents");
  RunResult after = RunPlinth({"migrate", "up", "--app", app, "--database-url", DbUrl(), "-q"});
  EXPECT_EQ(after.exit_code, 0) << Show(after);
  EXPECT_EQ(after.out, "") << "--quiet";
  RunResult env = RunPlinth({"migrate", "status"}, Env(app));
  EXPECT_EQ(env.exit_code, 0) << Show(env);
  EXPECT_THAT(env.out, HasSubstr("current: 0004, head: 0004, pending: 0"));
}

// ---- validate --------------------------------------------------------------------------------------

TEST_F(CliTest, ValidateReportsEveryErrorWithItsPosition) {
  fs::create_directories(dir_ / "bad");
  WriteText(dir_ / "bad/schema.toml", R"toml([app]
name = "bad"
[table.users]
columns.id    = { type = "uuid", primary_key = true }
columns.age   = { type = "intger" }
columns.boss  = { type = "uuid", references = "people" }
)toml");
  RunResult r = RunPlinth({"--app", dir_ / "bad", "validate"});
  EXPECT_EQ(r.exit_code, 1) << Show(r);
  EXPECT_THAT(r.err, HasSubstr("bad/schema.toml:5:26: error: column 'users.age': unknown type 'intger'"));
  EXPECT_THAT(r.err, HasSubstr("  hint: did you mean 'integer'?"));
  EXPECT_THAT(r.err, HasSubstr("bad/schema.toml:6:47: error: the foreign key of column 'users.boss' references table "
                               "'people', which is not declared"));
  EXPECT_THAT(r.err, HasSubstr("2 errors"));

  RunResult ok = RunPlinth({"--app", Example("curatore"), "validate"});
  EXPECT_EQ(ok.exit_code, 0) << Show(ok);
  EXPECT_THAT(ok.out, HasSubstr("is valid: 6 tables, 5 enums"));
}

// ---- migrate diff ------------------------------------------------------------------------------------

TEST_F(CliTest, DiffReproducesTheDocumentsHistoryByteForByte) {
  fs::create_directories(dir_ / "app");
  const std::string app = dir_ / "app";
  const std::vector<std::pair<std::string, std::string>> stages = {
      {"stages/0001_initial_schema.toml", "initial schema"},
      {"stages/0002_enable_row_level_security.toml", "enable row level security"},
      {"stages/0003_add_templates.toml", "add templates"},
      {"schema.toml", "add tenant configs"}};
  for (const auto& [file, message] : stages) {
    fs::copy_file(Example("documents") + "/" + file, app + "/schema.toml", fs::copy_options::overwrite_existing);
    RunResult r = RunPlinth({"migrate", "diff", "-m", message}, Env(app));
    ASSERT_EQ(r.exit_code, 0) << file << "\n" << Show(r);
    EXPECT_THAT(r.out, HasSubstr("wrote "));
  }
  std::vector<std::string> ours, theirs;
  for (const auto& e : fs::directory_iterator(app + "/migrations")) ours.push_back(e.path().filename());
  for (const auto& e : fs::directory_iterator(Example("documents") + "/migrations")) theirs.push_back(e.path().filename());
  std::sort(ours.begin(), ours.end());
  std::sort(theirs.begin(), theirs.end());
  ASSERT_EQ(ours, theirs);
  for (const auto& f : ours) {
    EXPECT_EQ(ReadText(app + "/migrations/" + f), ReadText(Example("documents") + "/migrations/" + f))
        << f << " differs from examples/documents/migrations: run examples/regenerate.sh";
  }
  RunResult again = RunPlinth({"migrate", "diff", "-m", "again"}, Env(app));
  EXPECT_EQ(again.exit_code, 0) << Show(again);
  EXPECT_THAT(again.out, HasSubstr("nothing to do"));
  EXPECT_EQ(std::distance(fs::directory_iterator(app + "/migrations"), fs::directory_iterator()), 4);
}

TEST_F(CliTest, DiffMarksDataLossAndPrintsLintWarnings) {
  fs::create_directories(dir_ / "app");
  const std::string app = dir_ / "app";
  WriteText(app + "/schema.toml", R"toml([app]
name = "shop"
[table.orders]
columns.id     = { type = "uuid", primary_key = true, default = "uuid" }
columns.total  = { type = "integer", not_null = true, default = 0 }
columns.remark = { type = "text" }
)toml");
  ASSERT_EQ(RunPlinth({"migrate", "diff", "-m", "orders"}, Env(app)).exit_code, 0);
  WriteText(app + "/schema.toml", R"toml([app]
name = "shop"
[table.orders]
columns.id     = { type = "uuid", primary_key = true, default = "uuid" }
columns.total  = { type = "bigint", not_null = true, default = 0 }
columns.placed = { type = "timestamp", not_null = true }
)toml");
  RunResult r = RunPlinth({"migrate", "diff", "-m", "bigger totals"}, Env(app));
  ASSERT_EQ(r.exit_code, 0) << Show(r);
  EXPECT_THAT(r.out, HasSubstr("wrote "));
  EXPECT_THAT(r.out, HasSubstr("drop_column orders.remark  [data loss: needs --allow-data-loss]"));
  EXPECT_THAT(r.err, HasSubstr("[changing-column-type]"));
  EXPECT_THAT(r.err, HasSubstr("safe plan: "));
  EXPECT_TRUE(fs::exists(app + "/migrations/0002_bigger_totals.json"));

  RunResult lint = RunPlinth({"migrate", "lint"}, Env(app));
  EXPECT_EQ(lint.exit_code, 1) << Show(lint);
  EXPECT_THAT(lint.err, HasSubstr("0002 operation"));
  EXPECT_THAT(lint.err, HasSubstr("[changing-column-type]"));
  RunResult first = RunPlinth({"migrate", "lint", "--to", "0001"}, Env(app));
  EXPECT_EQ(first.exit_code, 0) << Show(first);
  EXPECT_THAT(first.out, HasSubstr("no findings in 1 migration(s)"));

  RunResult up = RunPlinth({"migrate", "up"}, Env(app));
  EXPECT_EQ(up.exit_code, 1) << Show(up);
  EXPECT_THAT(up.err, HasSubstr("needs --allow-data-loss"));
  EXPECT_THAT(up.err, HasSubstr("0002 (bigger totals): drop_column orders.remark"));
  EXPECT_EQ(RunPlinth({"migrate", "up", "--allow-data-loss"}, Env(app)).exit_code, 0);
}

// ---- The lifecycle ---------------------------------------------------------------------------------

TEST_F(CliTest, DocumentsUpCheckStatusHistoryDownAndUpAgain) {
  const std::string app = CopyApp(dir_, "documents");
  const auto env = Env(app);
  RunResult up = RunPlinth({"migrate", "up"}, env);
  ASSERT_EQ(up.exit_code, 0) << Show(up);
  EXPECT_THAT(up.out, HasSubstr("applied 0001 initial schema in "));
  EXPECT_THAT(up.out, HasSubstr("applied 0004 add tenant configs in "));
  EXPECT_THAT(up.out, HasSubstr("the database is at 0004 (head) (was base)"));

  RunResult check = RunPlinth({"check"}, env);
  EXPECT_EQ(check.exit_code, 0) << Show(check);
  EXPECT_THAT(check.out, HasSubstr("check passed"));
  EXPECT_THAT(check.out, ::testing::ContainsRegex("table tenant_configs +pass"));
  EXPECT_THAT(check.out, ::testing::ContainsRegex("index documents_recent_idx +pass +on documents \\(tenant_id, "
                                                  "created_at desc\\)"));
  EXPECT_THAT(check.out, ::testing::ContainsRegex("migrations applied +pass +at 0004, head 0004"));
  EXPECT_THAT(check.out, Not(HasSubstr("FAIL")));

  RunResult status = RunPlinth({"migrate", "status"}, env);
  EXPECT_EQ(status.exit_code, 0) << Show(status);
  EXPECT_THAT(status.out, ::testing::ContainsRegex("VERSION +NAME +STATE +APPLIED AT \\(UTC\\) +DURATION +STEPS"));
  EXPECT_THAT(status.out, ::testing::ContainsRegex("0002 +enable row level security +applied +20[0-9-]+T[0-9:.]+Z"));
  EXPECT_THAT(status.out, HasSubstr("current: 0004, head: 0004, pending: 0"));

  RunResult history = RunPlinth({"migrate", "history"}, env);
  EXPECT_EQ(history.exit_code, 0) << Show(history);
  EXPECT_THAT(history.out, ::testing::ContainsRegex("VERSION +NAME +CHECKSUM +APPLIED AT \\(UTC\\) +DURATION +STEPS"));
  EXPECT_THAT(history.out, ::testing::ContainsRegex("0001 +initial schema +[0-9a-f]{12} +20[0-9-]+T[0-9:.]+Z +[0-9]+ ms"));
  EXPECT_EQ(Lines(history.out).size(), 6u) << "header, rule, four rows";

  RunResult drift = RunPlinth({"migrate", "check"}, env);
  EXPECT_EQ(drift.exit_code, 0) << Show(drift);
  EXPECT_THAT(drift.out, HasSubstr("no drift"));

  RunResult back = RunPlinth({"migrate", "down", "-1", "--allow-data-loss"}, env);
  EXPECT_EQ(back.exit_code, 0) << Show(back);
  EXPECT_THAT(back.out, HasSubstr("rolled back 0004 add tenant configs"));
  RunResult pending = RunPlinth({"migrate", "status"}, env);
  EXPECT_THAT(pending.out, ::testing::ContainsRegex("0004 +add tenant configs +pending"));
  EXPECT_THAT(pending.out, HasSubstr("current: 0003, head: 0004, pending: 1"));
  RunResult behind = RunPlinth({"check"}, env);
  EXPECT_EQ(behind.exit_code, 1) << Show(behind);
  EXPECT_THAT(behind.out, HasSubstr("1 migration is pending: run `plinth migrate up`"));
  EXPECT_EQ(RunPlinth({"migrate", "check"}, env).exit_code, 1);

  RunResult refused = RunPlinth({"migrate", "down", "base"}, env);
  EXPECT_EQ(refused.exit_code, 1) << Show(refused);
  EXPECT_THAT(refused.err, HasSubstr("--allow-data-loss"));
  RunResult base = RunPlinth({"migrate", "down", "base", "--allow-data-loss"}, env);
  EXPECT_EQ(base.exit_code, 0) << Show(base);
  EXPECT_THAT(base.out, HasSubstr("the database is at base"));
  RunResult again = RunPlinth({"migrate", "up"}, env);
  EXPECT_EQ(again.exit_code, 0) << Show(again);
  EXPECT_EQ(RunPlinth({"check"}, env).exit_code, 0);
}

TEST_F(CliTest, MigrateSqlPrintsExactlyWhatUpExecutes) {
  const std::string app = CopyApp(dir_, "settings");
  RunResult sql = RunPlinth({"migrate", "sql", "--dialect", "sqlite"}, Env(app));
  ASSERT_EQ(sql.exit_code, 0) << Show(sql);
  ASSERT_THAT(sql.out, ::testing::StartsWith("-- plinth migrate sql: sqlite, base -> 0001\n"));
  RunResult up = RunPlinth({"-q", "migrate", "up", "--echo"}, Env(app));
  ASSERT_EQ(up.exit_code, 0) << Show(up);
  EXPECT_EQ(up.out, sql.out.substr(sql.out.find('\n') + 1));
  EXPECT_THAT(up.out, HasSubstr("CREATE TABLE \"settings_audit_log\""));

  RunResult down_sql = RunPlinth({"migrate", "sql", "--dialect", "sqlite", "--from", "head", "--to", "base"}, Env(app));
  ASSERT_EQ(down_sql.exit_code, 0) << Show(down_sql);
  RunResult down = RunPlinth({"-q", "migrate", "down", "base", "--allow-data-loss", "--echo"}, Env(app));
  ASSERT_EQ(down.exit_code, 0) << Show(down);
  // `down` does not create the history table: the script's setup statement is not run.
  const std::string body = down_sql.out.substr(down_sql.out.find(");\n") + 3);
  EXPECT_EQ(down.out, body);
}

// ---- Failures ----------------------------------------------------------------------------------------

TEST_F(CliTest, CheckAndMigrateCheckFindAColumnAddedByHand) {
  const std::string app = CopyApp(dir_, "documents");
  ASSERT_EQ(RunPlinth({"migrate", "up"}, Env(app)).exit_code, 0);
  {
    auto url = db::ParseUrl(DbUrl());
    auto conn = db::Connect(*url);
    ASSERT_TRUE(conn.ok());
    ASSERT_TRUE((*conn)->Exec("ALTER TABLE documents ADD COLUMN sneaky TEXT").ok());
  }
  RunResult check = RunPlinth({"check"}, Env(app));
  EXPECT_EQ(check.exit_code, 1) << Show(check);
  EXPECT_THAT(check.out, ::testing::ContainsRegex("table documents +FAIL"));
  EXPECT_THAT(check.out, HasSubstr("table documents: column documents.sneaky: in the database, not in the schema"));
  EXPECT_THAT(check.out, HasSubstr("check FAILED: 1 of"));
  RunResult drift = RunPlinth({"migrate", "check"}, Env(app));
  EXPECT_EQ(drift.exit_code, 1) << Show(drift);
  EXPECT_THAT(drift.out, HasSubstr("column documents.sneaky: in the database, not in the schema"));
}

TEST_F(CliTest, CheckSaysWhyItCannotConnect) {
  const std::string app = CopyApp(dir_, "documents");
  RunResult r = RunPlinth({"check"}, Env(app));
  EXPECT_EQ(r.exit_code, 1) << Show(r);
  EXPECT_THAT(r.out, ::testing::ContainsRegex("database connection +FAIL +cannot connect"));
  EXPECT_THAT(r.out, HasSubstr("does not exist"));
  EXPECT_THAT(r.out, HasSubstr("run `plinth migrate up` to create and migrate it"));
  EXPECT_FALSE(fs::exists(dir_ / "app.db")) << "check creates nothing";
}

TEST_F(CliTest, CheckReportsSchemaChangesNoMigrationHolds) {
  const std::string app = CopyApp(dir_, "documents");
  ASSERT_EQ(RunPlinth({"migrate", "up"}, Env(app)).exit_code, 0);
  std::string schema = ReadText(app + "/schema.toml");
  WriteText(app + "/schema.toml", schema + "\n[table.notes]\ncolumns.id = { type = \"uuid\", primary_key = true }\n");
  RunResult r = RunPlinth({"check"}, Env(app));
  EXPECT_EQ(r.exit_code, 1) << Show(r);
  EXPECT_THAT(r.out, HasSubstr("schema.toml has changes that no migration holds (run `plinth migrate diff -m …`)"));
  EXPECT_THAT(r.out, HasSubstr("create_table notes"));
  EXPECT_THAT(r.out, ::testing::ContainsRegex("table notes +FAIL"));
}

TEST_F(CliTest, TamperedMigrationIsRefusedByNameUnlessAllowed) {
  const std::string app = CopyApp(dir_, "documents");
  ASSERT_EQ(RunPlinth({"migrate", "up", "0001"}, Env(app)).exit_code, 0);
  const std::string file = app + "/migrations/0001_initial_schema.json";
  std::string text = ReadText(file);
  const size_t at = text.find("\"text(200)\"");
  ASSERT_NE(at, std::string::npos);
  text.replace(at, 11, "\"text(250)\"");
  WriteText(file, text);

  RunResult up = RunPlinth({"migrate", "up"}, Env(app));
  EXPECT_EQ(up.exit_code, 1) << Show(up);
  EXPECT_THAT(up.err, HasSubstr("0001_initial_schema.json changed after it was applied"));
  EXPECT_THAT(up.err, HasSubstr("--allow-changed"));
  RunResult status = RunPlinth({"migrate", "status"}, Env(app));
  EXPECT_EQ(status.exit_code, 1) << Show(status);
  EXPECT_THAT(status.out, ::testing::ContainsRegex("0001 +initial schema +changed"));
  RunResult forced = RunPlinth({"migrate", "up", "--allow-changed"}, Env(app));
  EXPECT_EQ(forced.exit_code, 0) << Show(forced);
  EXPECT_THAT(forced.out, HasSubstr("(allowed by --allow-changed)"));
  EXPECT_THAT(forced.out, HasSubstr("applied 0004 add tenant configs"));
}

TEST_F(CliTest, StampRecordsWithoutRunning) {
  const std::string app = CopyApp(dir_, "documents");
  RunResult stamp = RunPlinth({"migrate", "stamp", "0002"}, Env(app));
  EXPECT_EQ(stamp.exit_code, 0) << Show(stamp);
  EXPECT_THAT(stamp.out, HasSubstr("recorded 0001 initial schema as applied"));
  EXPECT_THAT(stamp.out, HasSubstr("no migration was run"));
  RunResult history = RunPlinth({"migrate", "history"}, Env(app));
  EXPECT_THAT(history.out, ::testing::ContainsRegex("0002 +enable row level security"));
  EXPECT_EQ(Lines(history.out).size(), 4u);
  RunResult status = RunPlinth({"migrate", "status"}, Env(app));
  EXPECT_THAT(status.out, HasSubstr("current: 0002, head: 0004, pending: 2"));
  ASSERT_EQ(RunPlinth({"migrate", "stamp", "base"}, Env(app)).exit_code, 0);
  EXPECT_THAT(RunPlinth({"migrate", "history"}, Env(app)).out, HasSubstr("no history"));
}

// ---- Two processes at once -------------------------------------------------------------------------

void WriteMigrations(const std::string& app, const std::vector<migrate::Migration>& ms) {
  fs::create_directories(app + "/migrations");
  for (const auto& m : ms) WriteText(app + "/migrations/" + migrate::FileNameFor(m), migrate::ToFileText(m));
}

TEST_F(CliTest, TwoConcurrentUpProcessesApplyEachMigrationOnce) {
  const std::string app = dir_ / "counter";
  const auto ms = runner::testing::CounterMigrations(20);
  WriteMigrations(app, ms);
  const std::string path = dir_ / "app.db";
  // The test holds the database's write lock (BEGIN IMMEDIATE) until both processes wait for it.
  auto url = db::ParseUrl(DbUrl());
  auto holder = db::Connect(*url);
  ASSERT_TRUE(holder.ok());
  ASSERT_TRUE((*holder)->Exec("BEGIN IMMEDIATE").ok());
  Process a({"migrate", "up"}, Env(app));
  Process b({"migrate", "up"}, Env(app));
  EXPECT_TRUE(Eventually([&] { return HasOpen(a.pid(), path) && HasOpen(b.pid(), path); }))
      << "both processes opened the database";
  ASSERT_TRUE((*holder)->Exec("COMMIT").ok());
  RunResult ra = a.Wait();
  RunResult rb = b.Wait();
  EXPECT_EQ(ra.exit_code, 0) << Show(ra);
  EXPECT_EQ(rb.exit_code, 0) << Show(rb);
  EXPECT_EQ(CountOf(ra.out + rb.out, "applied "), ms.size()) << "each migration applied by exactly one:\n"
                                                              << ra.out << "\n" << rb.out;
  auto rows = (*holder)->Query("SELECT count(*) FROM run_log");
  ASSERT_TRUE(rows.ok());
  EXPECT_EQ(rows->rows[0][0], std::to_string(ms.size() - 1));
  auto history = runner::ReadHistory(**holder);
  ASSERT_TRUE(history.ok());
  EXPECT_EQ(history->size(), ms.size());
}

}  // namespace
}  // namespace plinth::cli::testing
