// SQLite table rebuilds through the runner: a parent with ON DELETE CASCADE and SET NULL
// children is rebuilt without losing or nulling a child row, and keeps its indexes, triggers and
// constraints; foreign_keys is switched off outside the transaction and back on after.
#include "migrate/scenarios.h"

namespace plinth::runner::testing {
namespace {

constexpr std::string_view kV1 = R"toml(
[app]
name = "family"

[table.parents]
columns.id   = { type = "uuid", primary_key = true, default = "uuid" }
columns.name = { type = "text(50)", not_null = true }
columns.rank = { type = "integer", not_null = true, default = 0, check = "rank >= 0" }
timestamps = true
indexes.by_name = { columns = ["name"] }

[table.children]
columns.id        = { type = "uuid", primary_key = true, default = "uuid" }
columns.parent_id = { type = "uuid", not_null = true, references = "parents", on_delete = "cascade" }
columns.label     = { type = "text(100)" }
indexes.by_parent = { columns = ["parent_id"] }

[table.grandchildren]
columns.id       = { type = "uuid", primary_key = true, default = "uuid" }
columns.child_id = { type = "uuid", not_null = true, references = "children", on_delete = "cascade" }

[table.fosterlings]
columns.id        = { type = "uuid", primary_key = true, default = "uuid" }
columns.parent_id = { type = "uuid", references = "parents", on_delete = "set null" }
)toml";

// The parent's name widens (a type check SQLite cannot ALTER) and it gains a unique key: both
// rebuild `parents`. The child table is rebuilt too (its label loses its length limit).
constexpr std::string_view kV2 = R"toml(
[app]
name = "family"

[table.parents]
columns.id   = { type = "uuid", primary_key = true, default = "uuid" }
columns.name = { type = "text(100)", not_null = true, unique = true }
columns.rank = { type = "integer", not_null = true, default = 0, check = "rank >= 0" }
timestamps = true
indexes.by_name = { columns = ["name"] }

[table.children]
columns.id        = { type = "uuid", primary_key = true, default = "uuid" }
columns.parent_id = { type = "uuid", not_null = true, references = "parents", on_delete = "cascade" }
columns.label     = { type = "text" }
indexes.by_parent = { columns = ["parent_id"] }

[table.grandchildren]
columns.id       = { type = "uuid", primary_key = true, default = "uuid" }
columns.child_id = { type = "uuid", not_null = true, references = "children", on_delete = "cascade" }

[table.fosterlings]
columns.id        = { type = "uuid", primary_key = true, default = "uuid" }
columns.parent_id = { type = "uuid", references = "parents", on_delete = "set null" }
)toml";

constexpr std::string_view kP1 = "11111111-1111-4111-8111-111111111111";
constexpr std::string_view kP2 = "22222222-2222-4222-8222-222222222222";
constexpr std::string_view kC1 = "33333333-3333-4333-8333-333333333333";

class SqliteRebuild : public ::testing::Test {
 protected:
  void SetUp() override {
    t_ = TestDb::Sqlite();
    AddStage(ms_, "family", kV1);
    AddStage(ms_, "wider names", kV2);
    ASSERT_TRUE(Up(t_->url(), ms_, "0001", Options()).ok());
    db_ = t_->Connect();
    const std::string p1(kP1), p2(kP2), c1(kC1);
    db_->Exec("INSERT INTO parents (id, name, rank) VALUES ('" + p1 + "', 'ada', 1), ('" + p2 + "', 'bob', 2)");
    db_->Exec("INSERT INTO children (id, parent_id, label) VALUES ('" + c1 + "', '" + p1 + "', 'c1')");
    db_->Exec("INSERT INTO children (parent_id, label) VALUES ('" + p1 + "', 'c2'), ('" + p2 + "', NULL)");
    db_->Exec("INSERT INTO grandchildren (child_id) VALUES ('" + c1 + "'), ('" + c1 + "')");
    db_->Exec("INSERT INTO fosterlings (parent_id) VALUES ('" + p1 + "'), ('" + p2 + "'), (NULL)");
  }

  std::unique_ptr<TestDb> t_;
  std::vector<migrate::Migration> ms_;
  std::unique_ptr<Sql> db_;
};

TEST_F(SqliteRebuild, ParentRebuildLosesNoChildRowAndKeepsEverything) {
  // The plan really is a rebuild with foreign keys off.
  schema::Schema before = *migrate::Replay(ms_, 1);
  auto plan = sql::RenderPlan(sql::Dialect::kSqlite, ms_[1].up, before);
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  EXPECT_TRUE(plan->sqlite_foreign_keys_off);

  std::vector<ScriptStatement> ran;
  auto up = Up(t_->url(), ms_, "head", Options(&ran));
  ASSERT_TRUE(up.ok()) << up.status().ToString();
  const std::string script = Text(ran);
  EXPECT_THAT(script, HasSubstr("PRAGMA foreign_keys = OFF;\nSELECT foreign_keys = 0 FROM pragma_foreign_keys;\n"
                                "BEGIN IMMEDIATE;"));
  EXPECT_THAT(script, HasSubstr("DROP TABLE \"parents\""));
  EXPECT_THAT(script, HasSubstr("PRAGMA foreign_key_check;\n"));
  EXPECT_THAT(script, HasSubstr("COMMIT;\nPRAGMA foreign_keys = ON;"));

  // No row lost, none nulled.
  EXPECT_EQ(db_->Count("SELECT count(*) FROM parents"), 2);
  EXPECT_EQ(db_->Count("SELECT count(*) FROM children"), 3);
  EXPECT_EQ(db_->Count("SELECT count(*) FROM grandchildren"), 2);
  EXPECT_EQ(db_->Count("SELECT count(*) FROM fosterlings WHERE parent_id IS NOT NULL"), 2);
  EXPECT_EQ(db_->Value("SELECT group_concat(label, ',') FROM (SELECT label FROM children ORDER BY label)"),
            "c1,c2");
  EXPECT_EQ(db_->Value("SELECT rank FROM parents WHERE name = 'bob'"), "2");

  // Indexes, triggers and constraints are all there.
  auto drift = CheckDrift(t_->url(), ms_, Options());
  ASSERT_TRUE(drift.ok());
  EXPECT_TRUE(drift->ok()) << DriftText(drift->differences);
  EXPECT_THAT(db_->Column("SELECT name FROM sqlite_master WHERE tbl_name = 'parents' AND type IN ('index', 'trigger') "
                          "AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name"),
              ElementsAre("parents_by_name_idx", "parents_touch_updated_at"));
  EXPECT_EQ(db_->Value("SELECT foreign_keys FROM pragma_foreign_keys"), "1") << "the runner's connection restored it";
  EXPECT_THAT(db_->Column("SELECT * FROM pragma_foreign_key_check"), IsEmpty());

  const std::string p1(kP1);
  EXPECT_FALSE(db_->TryExec("UPDATE parents SET rank = -1 WHERE id = '" + p1 + "'").ok()) << "check kept";
  EXPECT_FALSE(db_->TryExec("INSERT INTO parents (name) VALUES ('ada')").ok()) << "new unique key enforced";
  EXPECT_FALSE(db_->TryExec("INSERT INTO parents (name) VALUES ('" + std::string(101, 'x') + "')").ok())
      << "text(100) enforced";
  db_->Exec("INSERT INTO parents (name) VALUES ('" + std::string(80, 'y') + "')");  // wider than before
  EXPECT_FALSE(db_->TryExec("INSERT INTO children (parent_id) VALUES ('44444444-4444-4444-8444-444444444444')").ok())
      << "children's foreign key still points at the rebuilt parents";

  // The touch trigger was re-created and works.
  db_->Exec("UPDATE parents SET updated_at = '2000-01-01T00:00:00.000000Z' WHERE id = '" + p1 + "'");
  db_->Exec("UPDATE parents SET rank = 5 WHERE id = '" + p1 + "'");
  EXPECT_NE(db_->Value("SELECT updated_at FROM parents WHERE id = '" + p1 + "'"), "2000-01-01T00:00:00.000000Z");

  // ON DELETE actions still run, through the rebuilt tables.
  db_->Exec("DELETE FROM parents WHERE id = '" + p1 + "'");
  EXPECT_EQ(db_->Count("SELECT count(*) FROM children"), 1);
  EXPECT_EQ(db_->Count("SELECT count(*) FROM grandchildren"), 0);
  EXPECT_EQ(db_->Count("SELECT count(*) FROM fosterlings WHERE parent_id IS NULL"), 2);
}

TEST_F(SqliteRebuild, RollingTheRebuildBackAlsoKeepsTheRows) {
  ASSERT_TRUE(Up(t_->url(), ms_, "head", Options()).ok());
  auto down = Down(t_->url(), ms_, "0001", Options(nullptr, /*allow_data_loss=*/true));
  ASSERT_TRUE(down.ok()) << down.status().ToString();
  EXPECT_EQ(db_->Count("SELECT count(*) FROM children"), 3);
  EXPECT_EQ(db_->Count("SELECT count(*) FROM grandchildren"), 2);
  EXPECT_EQ(db_->Count("SELECT count(*) FROM fosterlings WHERE parent_id IS NOT NULL"), 2);
  auto drift = CheckDrift(t_->url(), ms_, Options());
  ASSERT_TRUE(drift.ok());
  EXPECT_TRUE(drift->ok()) << DriftText(drift->differences);
}

TEST_F(SqliteRebuild, ATriggerPlinthDoesNotManageStopsTheRebuildBeforeAnyChange) {
  db_->Exec("CREATE TRIGGER audit_parent AFTER UPDATE ON parents BEGIN SELECT 1; END");
  const std::string before = Snapshot(*db_);
  auto up = Up(t_->url(), ms_, "head", Options());
  ASSERT_FALSE(up.ok());
  EXPECT_THAT(up.status().message(), HasSubstr("would drop its triggers that plinth does not manage"));
  EXPECT_THAT(up.status().message(), HasSubstr("audit_parent"));
  EXPECT_EQ(Snapshot(*db_), before);
  EXPECT_EQ(db_->Count("SELECT count(*) FROM children"), 3);
}

TEST_F(SqliteRebuild, ForeignKeysOnInsideTheTransactionWouldCascade) {
  // Why the runner switches foreign_keys off outside the transaction: the same DROP TABLE with
  // foreign keys on deletes the children (SQLite ignores PRAGMA foreign_keys inside BEGIN).
  db_->Exec("BEGIN");
  db_->Exec("PRAGMA foreign_keys = OFF");
  EXPECT_EQ(db_->Value("SELECT foreign_keys FROM pragma_foreign_keys"), "1") << "a no-op inside a transaction";
  db_->Exec("CREATE TABLE parents_copy AS SELECT * FROM parents");
  db_->Exec("DROP TABLE parents");
  EXPECT_EQ(db_->Count("SELECT count(*) FROM children"), 0) << "the cascade the runner avoids";
  db_->Exec("ROLLBACK");
  EXPECT_EQ(db_->Count("SELECT count(*) FROM children"), 3);
}

}  // namespace
}  // namespace plinth::runner::testing
