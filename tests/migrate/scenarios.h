// tests/migrate/scenarios.h — the runner's behaviour, written once and run on both databases
// (runner_test.cc: SQLite; runner_pgtest.cc: PostgreSQL). Each scenario is a function of a fresh
// TestDb that asserts what it names.
#pragma once

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <thread>

#include "migrate/runner_util.h"

namespace plinth::runner::testing {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

// ---- Example apps ------------------------------------------------------------------------------

// `migrate up` from empty, `check` passes, `down base` leaves nothing of plinth's behind, `up`
// again works.
inline void ExampleAppRoundTrip(TestDb& t, const std::string& app) {
  const std::vector<migrate::Migration> ms = LoadExampleMigrations(app);
  const schema::Schema declared = LoadExampleSchema(app);
  ASSERT_FALSE(ms.empty());
  {
    // The generated migrations are up to date with schema.toml.
    auto head = migrate::Replay(ms, ms.size());
    ASSERT_TRUE(head.ok()) << head.status().ToString();
    auto diff = migrate::Diff(*head, declared, migrate::DiffOptions{});
    ASSERT_TRUE(diff.ok()) << diff.status().ToString();
    EXPECT_THAT(diff->up, IsEmpty()) << "examples/" << app << "/migrations is behind schema.toml: run examples/regenerate.sh";
  }
  auto db = t.Connect();
  ASSERT_NE(db, nullptr);

  for (int round = 0; round < 2; ++round) {
    SCOPED_TRACE("round " + std::to_string(round + 1));
    auto up = Up(t.url(), ms, "head", Options());
    ASSERT_TRUE(up.ok()) << up.status().ToString();
    EXPECT_EQ(up->from_version, "");
    EXPECT_EQ(up->to_version, ms.back().version);
    EXPECT_EQ(up->migrations.size(), ms.size());

    auto drift = CheckDrift(t.url(), ms, Options());
    ASSERT_TRUE(drift.ok()) << drift.status().ToString();
    EXPECT_TRUE(drift->ok()) << DriftText(drift->differences);
    EXPECT_EQ(drift->status.current, ms.back().version);
    EXPECT_EQ(drift->status.pending, 0u);
    EXPECT_THAT(DriftText(CompareWithSchema(*db, declared)), IsEmpty()) << "what `plinth check` compares";
    EXPECT_THAT(PlinthObjects(*db), ::testing::Not(IsEmpty()));

    // Rolling back every migration drops tables: refused without --allow-data-loss, nothing changed.
    const std::string before = Snapshot(*db);
    auto refused = Down(t.url(), ms, "base", Options());
    ASSERT_FALSE(refused.ok());
    EXPECT_EQ(refused.status().code(), Code::kDataLoss);
    EXPECT_THAT(refused.status().message(), HasSubstr("--allow-data-loss"));
    EXPECT_EQ(Snapshot(*db), before);

    auto down = Down(t.url(), ms, "base", Options(nullptr, /*allow_data_loss=*/true));
    ASSERT_TRUE(down.ok()) << down.status().ToString();
    EXPECT_EQ(down->to_version, "");
    EXPECT_EQ(down->migrations.size(), ms.size());
    EXPECT_THAT(PlinthObjects(*db), IsEmpty()) << "down base leaves no table, type, function, trigger or policy";
    EXPECT_THAT(History(*db), IsEmpty());
  }
}

// `migrate sql` (BuildScript + FormatScript) prints exactly the statements `up` and `down`
// execute, comments included.
inline void SqlScriptIsWhatRuns(TestDb& t, const std::string& app) {
  const std::vector<migrate::Migration> ms = LoadExampleMigrations(app);
  auto script = BuildScript(t.dialect(), ms, "base", "head");
  ASSERT_TRUE(script.ok()) << script.status().ToString();
  std::vector<ScriptStatement> expected = script->setup;
  expected[0].comment.clear();  // the header comment of `migrate sql`
  for (const auto& m : script->migrations) expected.insert(expected.end(), m.statements.begin(), m.statements.end());

  std::vector<ScriptStatement> ran;
  auto up = Up(t.url(), ms, "head", Options(&ran));
  ASSERT_TRUE(up.ok()) << up.status().ToString();
  EXPECT_EQ(Text(ran), Text(expected));
  ASSERT_EQ(ran.size(), expected.size());
  for (size_t i = 0; i < ran.size(); ++i) EXPECT_EQ(ran[i].kind, expected[i].kind) << ran[i].sql;
  // The printed script is the same text.
  std::string printed = FormatScript(*script);
  EXPECT_NE(printed.find(Text(std::vector<ScriptStatement>(expected.begin() + 1, expected.end()))),
            std::string::npos);

  auto down_script = BuildScript(t.dialect(), ms, "head", "base");
  ASSERT_TRUE(down_script.ok()) << down_script.status().ToString();
  std::vector<ScriptStatement> expected_down;
  for (const auto& m : down_script->migrations) {
    expected_down.insert(expected_down.end(), m.statements.begin(), m.statements.end());
  }
  std::vector<ScriptStatement> ran_down;
  auto down = Down(t.url(), ms, "base", Options(&ran_down, true));
  ASSERT_TRUE(down.ok()) << down.status().ToString();
  EXPECT_EQ(Text(ran_down), Text(expected_down));
}

// ---- Small apps ----------------------------------------------------------------------------------

inline constexpr std::string_view kItemsV1 = R"toml(
[app]
name = "items"
[table.items]
columns.id     = { type = "uuid", primary_key = true, default = "uuid" }
columns.code   = { type = "text(20)", not_null = true }
columns.qty    = { type = "integer", not_null = true, default = 0, check = "qty >= 0" }
columns.legacy = { type = "text" }
indexes.by_qty = { columns = ["qty"] }
)toml";

// v2: a new column, a unique key over existing rows, a new index.
inline constexpr std::string_view kItemsV2 = R"toml(
[app]
name = "items"
[table.items]
columns.id     = { type = "uuid", primary_key = true, default = "uuid" }
columns.code   = { type = "text(20)", not_null = true, unique = true }
columns.qty    = { type = "integer", not_null = true, default = 0, check = "qty >= 0" }
columns.legacy = { type = "text" }
columns.note   = { type = "text" }
indexes.by_qty = { columns = ["qty"] }
indexes.by_note = { columns = ["note"] }
)toml";

// v3: drops a column (data loss).
inline constexpr std::string_view kItemsV3 = R"toml(
[app]
name = "items"
[table.items]
columns.id     = { type = "uuid", primary_key = true, default = "uuid" }
columns.code   = { type = "text(20)", not_null = true, unique = true }
columns.qty    = { type = "integer", not_null = true, default = 0, check = "qty >= 0" }
columns.note   = { type = "text" }
indexes.by_qty = { columns = ["qty"] }
indexes.by_note = { columns = ["note"] }
)toml";

inline std::vector<migrate::Migration> ItemsMigrations() {
  std::vector<migrate::Migration> ms;
  migrate::DiffOptions one_transaction;
  one_transaction.concurrent_indexes = false;
  AddStage(ms, "items", kItemsV1, one_transaction);
  AddStage(ms, "unique codes and notes", kItemsV2, one_transaction);
  AddStage(ms, "drop legacy", kItemsV3, one_transaction);
  return ms;
}

inline void InsertItem(Sql& db, const std::string& code, int qty, const std::string& legacy) {
  db.Exec("INSERT INTO items (code, qty, legacy) VALUES ('" + code + "', " + std::to_string(qty) + ", '" + legacy + "')");
}

// A migration that fails on the database leaves it exactly at the previous version: schema,
// rows and history unchanged, and the error names the migration, the operation and the
// database's message.
inline void FailedMigrationKeepsPreviousVersion(TestDb& t) {
  const auto ms = ItemsMigrations();
  auto db = t.Connect();
  ASSERT_TRUE(Up(t.url(), ms, "0001", Options()).ok());
  InsertItem(*db, "A-1", 1, "x");
  InsertItem(*db, "A-1", 2, "y");  // duplicate code: 0002's unique key cannot be added
  const std::string before = Snapshot(*db);

  auto up = Up(t.url(), ms, "head", Options(nullptr, true));
  ASSERT_FALSE(up.ok());
  const std::string& msg = up.status().message();
  EXPECT_EQ(up.status().code(), Code::kAlreadyExists) << up.status().ToString();
  EXPECT_THAT(msg, HasSubstr("migration 0002 (unique codes and notes) failed at step"));
  EXPECT_THAT(msg, HasSubstr("(add_constraint items.items_code_key)"));
  EXPECT_THAT(msg, HasSubstr(t.sqlite() ? "UNIQUE constraint failed" : "could not create unique index"));
  EXPECT_THAT(msg, HasSubstr("the database is still at version 0001"));
  EXPECT_EQ(Snapshot(*db), before) << "schema and history unchanged";
  EXPECT_EQ(db->Count("SELECT count(*) FROM items"), 2);
  EXPECT_THAT(History(*db), ElementsAre(::testing::StartsWith("0001 ")));

  // Fix the data; the same command now succeeds.
  db->Exec("UPDATE items SET code = 'A-2' WHERE qty = 2");
  auto again = Up(t.url(), ms, "0002", Options());
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(again->to_version, "0002");
}

// Operations marked data-losing need allow_data_loss, in both directions.
inline void DataLossNeedsPermission(TestDb& t) {
  const auto ms = ItemsMigrations();
  ASSERT_TRUE(ms[2].HasDataLoss(false));
  auto db = t.Connect();
  ASSERT_TRUE(Up(t.url(), ms, "0002", Options()).ok());
  InsertItem(*db, "B-1", 1, "keep me");
  const std::string before = Snapshot(*db);

  auto refused = Up(t.url(), ms, "head", Options());
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), Code::kDataLoss);
  EXPECT_THAT(refused.status().message(), HasSubstr("0003 (drop legacy): drop_column items.legacy"));
  EXPECT_THAT(refused.status().message(), HasSubstr("--allow-data-loss"));
  EXPECT_EQ(Snapshot(*db), before);
  EXPECT_EQ(db->Value("SELECT legacy FROM items"), "keep me");

  auto allowed = Up(t.url(), ms, "head", Options(nullptr, true));
  ASSERT_TRUE(allowed.ok()) << allowed.status().ToString();
  EXPECT_EQ(allowed->to_version, "0003");
  EXPECT_FALSE(db->TryExec("SELECT legacy FROM items").ok());

  // Down to 0001 drops the note column and the unique key: data loss again.
  auto down = Down(t.url(), ms, "0001", Options());
  ASSERT_FALSE(down.ok());
  EXPECT_EQ(down.status().code(), Code::kDataLoss);
  EXPECT_THAT(down.status().message(), HasSubstr("drop_column items.note"));
  ASSERT_TRUE(Down(t.url(), ms, "0001", Options(nullptr, true)).ok());
  EXPECT_THAT(History(*db), ElementsAre(::testing::StartsWith("0001 ")));
}

// An applied migration whose file changed is refused by name, and runs with allow_changed.
inline void TamperedFileRefused(TestDb& t) {
  auto ms = ItemsMigrations();
  ASSERT_TRUE(Up(t.url(), ms, "0001", Options()).ok());
  migrate::Migration tampered = ms[0];
  for (auto& op : tampered.up) {
    if (op.kind == migrate::OpKind::kCreateTable) op.table_def.columns[1].type.max_length = 30;  // text(20) → text(30)
  }
  ms[0] = Finish(tampered);
  ASSERT_NE(ms[0].checksum, ItemsMigrations()[0].checksum);

  auto db = t.Connect();
  const std::string before = Snapshot(*db);
  auto up = Up(t.url(), ms, "0002", Options());
  ASSERT_FALSE(up.ok());
  EXPECT_EQ(up.status().code(), Code::kFailedPrecondition);
  EXPECT_THAT(up.status().message(), HasSubstr("migrations/0001_items.json changed after it was applied"));
  EXPECT_THAT(up.status().message(), HasSubstr("--allow-changed"));
  EXPECT_EQ(Snapshot(*db), before);

  auto st = ReadStatus(t.url(), ms, Options());
  ASSERT_TRUE(st.ok()) << st.status().ToString();
  ASSERT_GE(st->entries.size(), 1u);
  EXPECT_EQ(st->entries[0].state, MigrationState::kChanged);
  EXPECT_EQ(st->entries[1].state, MigrationState::kPending);

  RunOptions allow = Options();
  allow.allow_changed = true;
  auto forced = Up(t.url(), ms, "0002", allow);
  ASSERT_TRUE(forced.ok()) << forced.status().ToString();
  EXPECT_EQ(forced->to_version, "0002");
}

// A column added by hand is drift; so is an index dropped by hand.
inline void DriftFindsHandMadeChanges(TestDb& t) {
  const auto ms = LoadExampleMigrations("documents");
  ASSERT_TRUE(Up(t.url(), ms, "head", Options()).ok());
  auto db = t.Connect();
  db->Exec("ALTER TABLE documents ADD COLUMN sneaky text");
  db->Exec("DROP INDEX documents_by_user_idx");
  auto drift = CheckDrift(t.url(), ms, Options());
  ASSERT_TRUE(drift.ok()) << drift.status().ToString();
  EXPECT_FALSE(drift->ok());
  const std::string text = DriftText(drift->differences);
  EXPECT_THAT(text, HasSubstr("column documents.sneaky: in the database, not in the schema"));
  EXPECT_THAT(text, HasSubstr("index documents_by_user_idx: missing"));
  EXPECT_EQ(drift->differences.size(), 2u) << text;
}

// stamp writes history rows without running anything; base clears them.
inline void StampWritesOnlyHistory(TestDb& t) {
  const auto ms = LoadExampleMigrations("documents");
  auto stamped = Stamp(t.url(), ms, "head", Options());
  ASSERT_TRUE(stamped.ok()) << stamped.status().ToString();
  EXPECT_EQ(stamped->to_version, ms.back().version);
  auto db = t.Connect();
  EXPECT_THAT(PlinthObjects(*db), IsEmpty()) << "stamp runs no migration";
  EXPECT_EQ(History(*db).size(), ms.size());
  auto st = ReadStatus(t.url(), ms, Options());
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->pending, 0u);
  EXPECT_EQ(st->current, ms.back().version);
  auto up = Up(t.url(), ms, "head", Options());
  ASSERT_TRUE(up.ok());
  EXPECT_THAT(up->migrations, IsEmpty()) << "a stamped database has nothing to apply";

  ASSERT_TRUE(Stamp(t.url(), ms, "0002", Options()).ok());
  EXPECT_THAT(History(*db), ElementsAre(::testing::StartsWith("0001 "), ::testing::StartsWith("0002 ")));
  ASSERT_TRUE(Stamp(t.url(), ms, "base", Options()).ok());
  EXPECT_THAT(History(*db), IsEmpty());
}

// Migrations whose every application leaves a row: applying one twice would fail (primary key)
// or show as a second row.
inline std::vector<migrate::Migration> CounterMigrations(size_t n) {
  std::vector<migrate::Migration> ms;
  AddStage(ms, "run log", R"toml(
[app]
name = "counter"
[table.run_log]
columns.version = { type = "text(10)", primary_key = true }
)toml");
  for (size_t i = 0; i < n; ++i) {
    const std::string v = migrate::NextVersion(ms.back().version);
    migrate::Op up;
    up.kind = migrate::OpKind::kRawSql;
    up.sql_postgres = up.sql_sqlite = "INSERT INTO run_log (version) VALUES ('" + v + "')";
    migrate::Op down = up;
    down.sql_postgres = down.sql_sqlite = "DELETE FROM run_log WHERE version = '" + v + "'";
    ms.push_back(Next(ms, "count " + v, {up}, {down}));
  }
  return ms;
}

// Two runners at once (threads here; processes in tests/cli): each migration runs exactly once.
inline void ConcurrentUpAppliesOnce(TestDb& t) {
  const auto ms = CounterMigrations(12);
  Result<RunReport> a = Status(Code::kInternal, "not run");
  Result<RunReport> b = Status(Code::kInternal, "not run");
  std::thread ta([&] { a = Up(t.url(), ms, "head", Options()); });
  std::thread tb([&] { b = Up(t.url(), ms, "head", Options()); });
  ta.join();
  tb.join();
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  EXPECT_EQ(a->migrations.size() + b->migrations.size(), ms.size()) << "every migration applied by one of them";
  auto db = t.Connect();
  EXPECT_EQ(db->Count("SELECT count(*) FROM run_log"), static_cast<long long>(ms.size() - 1));
  EXPECT_EQ(History(*db).size(), ms.size());
}

}  // namespace plinth::runner::testing
