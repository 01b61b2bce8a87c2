// tests/migrate/runner_util.h — what the runner tests share: a throwaway database of either
// kind, migrations built the way `plinth migrate diff` builds them (from successive schema
// texts) or loaded from an example app, and views of a live database precise enough to assert
// "unchanged" and "nothing of plinth's is left".
//
// Thread-safety: one TestDb per test; Sql objects are used by one thread.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "db/pg_fixture.h"
#include "db/temp_dir.h"
#include "plinth/db.h"
#include "plinth/migrate.h"
#include "plinth/runner.h"
#include "plinth/schema.h"
#include "plinth/sql.h"

namespace plinth::runner::testing {

// ---- Databases -------------------------------------------------------------------------------

// A connection with test conveniences: every failure fails the current test.
class Sql {
 public:
  explicit Sql(std::unique_ptr<db::Connection> conn) : conn_(std::move(conn)) {}

  void Exec(std::string_view sql) {
    Status st = conn_->Exec(sql);
    EXPECT_TRUE(st.ok()) << sql << ": " << st.ToString();
  }
  Status TryExec(std::string_view sql) { return conn_->Exec(sql); }
  // The first column of every row ("NULL" for NULL).
  std::vector<std::string> Column(std::string_view sql) {
    Result<db::QueryResult> r = conn_->Query(sql);
    EXPECT_TRUE(r.ok()) << sql << ": " << r.status().ToString();
    std::vector<std::string> out;
    if (!r.ok()) return out;
    for (const auto& row : r->rows) out.push_back(row.empty() ? "" : row[0].value_or("NULL"));
    return out;
  }
  // Every row, its columns joined with '|'.
  std::vector<std::string> Rows(std::string_view sql) {
    Result<db::QueryResult> r = conn_->Query(sql);
    EXPECT_TRUE(r.ok()) << sql << ": " << r.status().ToString();
    std::vector<std::string> out;
    if (!r.ok()) return out;
    for (const auto& row : r->rows) {
      std::string line;
      for (size_t i = 0; i < row.size(); ++i) line += (i ? "|" : "") + row[i].value_or("NULL");
      out.push_back(line);
    }
    return out;
  }
  std::string Value(std::string_view sql) {
    std::vector<std::string> col = Column(sql);
    EXPECT_EQ(col.size(), 1u) << sql;
    return col.empty() ? "" : col[0];
  }
  long long Count(std::string_view sql) {
    std::string v = Value(sql);
    return v.empty() ? -1 : std::stoll(v);
  }
  db::Connection& conn() { return *conn_; }

 private:
  std::unique_ptr<db::Connection> conn_;
};

// A database that exists for one test: an SQLite file in a temporary directory, or a
// PostgreSQL database on the cluster of $PLINTH_TEST_PG_URL (dropped at the end).
class TestDb {
 public:
  static std::unique_ptr<TestDb> Sqlite() {
    auto t = std::unique_ptr<TestDb>(new TestDb());
    t->dir_ = std::make_unique<plinth::testing::TempDir>();
    t->path_ = *t->dir_ / "test.db";
    t->Parse("sqlite://" + t->path_);
    return t;
  }
  static std::unique_ptr<TestDb> Postgres() {
    auto t = std::unique_ptr<TestDb>(new TestDb());
    t->pg_ = std::make_unique<plinth::testing::TestDatabase>("plinth_runner");
    if (!t->pg_->ok()) return nullptr;
    t->Parse(t->pg_->url());
    return t;
  }

  const db::Url& url() const { return url_; }
  const std::string& url_text() const { return url_text_; }
  sql::Dialect dialect() const { return sql::DialectFor(url_.backend); }
  bool sqlite() const { return url_.backend == db::Backend::kSqlite; }
  // SQLite: the database file.
  const std::string& path() const { return path_; }
  // A scratch directory that lives as long as the database (SQLite: the file's directory).
  std::string Scratch() {
    if (!dir_) dir_ = std::make_unique<plinth::testing::TempDir>();
    return dir_->path();
  }

  std::unique_ptr<Sql> Connect() const {
    db::ConnectOptions opts;
    auto conn = db::Connect(url_, opts);
    EXPECT_TRUE(conn.ok()) << conn.status().ToString();
    if (!conn.ok()) return nullptr;
    return std::make_unique<Sql>(std::move(conn).value());
  }

 private:
  TestDb() = default;
  void Parse(const std::string& text) {
    url_text_ = text;
    auto u = db::ParseUrl(text);
    EXPECT_TRUE(u.ok()) << u.status().ToString();
    if (u.ok()) url_ = *u;
  }

  std::unique_ptr<plinth::testing::TempDir> dir_;
  std::unique_ptr<plinth::testing::TestDatabase> pg_;
  std::string path_;
  std::string url_text_;
  db::Url url_;
};

// ---- Migrations --------------------------------------------------------------------------------

inline std::string SourceDir() { return PLINTH_SOURCE_DIR; }

// Gives `m` its file form: written as `migrate diff` writes it and parsed back (checksum, path).
inline migrate::Migration Finish(const migrate::Migration& m) {
  Diagnostics diags;
  const std::string path = "migrations/" + migrate::FileNameFor(m);
  auto parsed = migrate::ParseMigration(migrate::ToFileText(m), path, diags);
  EXPECT_TRUE(parsed.ok()) << parsed.status().ToString() << "\n" << diags.ToString();
  return parsed.ok() ? std::move(parsed).value() : m;
}

// A migration after `ms` (version, parent) with the given operations.
inline migrate::Migration Next(const std::vector<migrate::Migration>& ms, std::string name, std::vector<migrate::Op> up,
                               std::vector<migrate::Op> down) {
  migrate::Migration m;
  m.version = migrate::NextVersion(ms.empty() ? "" : ms.back().version);
  m.parent = ms.empty() ? "" : ms.back().version;
  m.name = std::move(name);
  m.created_at = "2026-01-01T00:00:00Z";
  m.up = std::move(up);
  m.down = std::move(down);
  return Finish(m);
}

inline schema::Schema LoadSchema(std::string_view toml) {
  Diagnostics diags;
  auto s = schema::LoadSchemaText(toml, "schema.toml", diags);
  EXPECT_TRUE(s.ok()) << s.status().ToString() << "\n" << diags.ToString();
  return s.ok() ? std::move(s).value() : schema::Schema{};
}

// Appends the migration `migrate diff -m name` writes for `toml` after `ms`.
inline void AddStage(std::vector<migrate::Migration>& ms, const std::string& name, std::string_view toml,
                     migrate::DiffOptions opts = {}) {
  auto state = migrate::Replay(ms, ms.size());
  ASSERT_TRUE(state.ok()) << state.status().ToString();
  auto diff = migrate::Diff(*state, LoadSchema(toml), opts);
  ASSERT_TRUE(diff.ok()) << diff.status().ToString();
  ASSERT_FALSE(diff->up.empty()) << "stage " << name << " changes nothing";
  ms.push_back(Next(ms, name, diff->up, diff->down));
}

inline std::vector<migrate::Migration> LoadExampleMigrations(const std::string& app) {
  Diagnostics diags;
  auto ms = migrate::LoadMigrationDir(SourceDir() + "/examples/" + app + "/migrations", diags);
  EXPECT_TRUE(ms.ok()) << ms.status().ToString() << "\n" << diags.ToString();
  EXPECT_FALSE(ms.ok() && ms->empty()) << "examples/" << app << "/migrations is empty";
  return ms.ok() ? std::move(ms).value() : std::vector<migrate::Migration>{};
}

inline schema::Schema LoadExampleSchema(const std::string& app) {
  Diagnostics diags;
  auto s = schema::LoadSchemaFile(SourceDir() + "/examples/" + app + "/schema.toml", diags);
  EXPECT_TRUE(s.ok()) << s.status().ToString() << "\n" << diags.ToString();
  return s.ok() ? std::move(s).value() : schema::Schema{};
}

// Options without output; `trace` collects the script statements executed (when given).
inline RunOptions Options(std::vector<ScriptStatement>* trace = nullptr, bool allow_data_loss = false) {
  RunOptions o;
  o.allow_data_loss = allow_data_loss;
  o.lock_timeout = std::chrono::milliseconds(30'000);
  if (trace != nullptr) {
    o.trace = [trace](const ScriptStatement& s) {
      if (InScript(s.kind)) trace->push_back(s);
    };
  }
  return o;
}

inline std::string Text(const std::vector<ScriptStatement>& statements) {
  std::string out;
  for (const auto& s : statements) out += FormatStatement(s);
  return out;
}

// ---- Views of a live database ----------------------------------------------------------------

// Everything in the database that is not the database's own and not the history table: tables,
// indexes, views, triggers (SQLite); tables, types, functions, schemas, triggers, policies
// (PostgreSQL). Empty after `down base`.
inline std::vector<std::string> PlinthObjects(Sql& db) {
  if (db.conn().backend() == db::Backend::kSqlite) {
    return db.Column(
        "SELECT type || ' ' || name FROM sqlite_master WHERE name NOT LIKE 'sqlite\\_%' ESCAPE '\\' "
        "AND name <> 'plinth_migrations' ORDER BY 1");
  }
  std::vector<std::string> out;
  auto add = [&](std::string_view sql) {
    for (auto& s : db.Column(sql)) out.push_back(std::move(s));
  };
  const std::string user_ns =
      "NOT IN ('pg_catalog', 'information_schema', 'pg_toast') AND n.nspname NOT LIKE 'pg\\_temp%' ESCAPE '\\' "
      "AND n.nspname NOT LIKE 'pg\\_toast\\_temp%' ESCAPE '\\'";
  add("SELECT 'relation ' || n.nspname || '.' || c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = "
      "c.relnamespace WHERE n.nspname " + user_ns +
      " AND c.relname NOT IN ('plinth_migrations', 'plinth_migrations_pkey') ORDER BY 1");
  add("SELECT 'type ' || n.nspname || '.' || t.typname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace "
      "WHERE n.nspname " + user_ns + " AND t.typtype IN ('e', 'd', 'c', 'r') AND NOT EXISTS (SELECT 1 FROM pg_class c "
      "WHERE c.reltype = t.oid) ORDER BY 1");
  add("SELECT 'function ' || n.nspname || '.' || p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = "
      "p.pronamespace WHERE n.nspname " + user_ns + " ORDER BY 1");
  add("SELECT 'schema ' || n.nspname FROM pg_namespace n WHERE n.nspname " + user_ns +
      " AND n.nspname <> 'public' ORDER BY 1");
  add("SELECT 'trigger ' || tgname FROM pg_trigger WHERE NOT tgisinternal ORDER BY 1");
  add("SELECT 'policy ' || policyname FROM pg_policies ORDER BY 1");
  return out;
}

// A text snapshot of the schema objects, their definitions and the history, for "unchanged"
// assertions (SQLite: sqlite_master; PostgreSQL: the catalog rendered by its own functions).
inline std::string Snapshot(Sql& db) {
  std::vector<std::string> lines;
  auto add = [&](std::string_view sql) {
    for (auto& s : db.Rows(sql)) lines.push_back(std::move(s));
  };
  if (db.conn().backend() == db::Backend::kSqlite) {
    add("SELECT type, name, tbl_name, coalesce(sql, '') FROM sqlite_master ORDER BY type, name");
    add("SELECT 'pragma foreign_keys', foreign_keys FROM pragma_foreign_keys");
  } else {
    add("SELECT table_schema, table_name, column_name, ordinal_position, data_type, udt_name, is_nullable, "
        "coalesce(column_default, '') FROM information_schema.columns WHERE table_schema NOT IN ('pg_catalog', "
        "'information_schema') ORDER BY 1, 2, 4");
    add("SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid), convalidated FROM pg_constraint "
        "WHERE connamespace = 'public'::regnamespace ORDER BY 1, 2");
    add("SELECT schemaname, indexname, indexdef FROM pg_indexes WHERE schemaname NOT IN ('pg_catalog', "
        "'information_schema') ORDER BY 1, 2");
    add("SELECT tgrelid::regclass::text, tgname, pg_get_triggerdef(oid) FROM pg_trigger WHERE NOT tgisinternal "
        "ORDER BY 1, 2");
    add("SELECT tablename, policyname, permissive, cmd, coalesce(qual, ''), coalesce(with_check, '') FROM pg_policies "
        "ORDER BY 1, 2");
    add("SELECT relname, relrowsecurity, relforcerowsecurity FROM pg_class WHERE relnamespace = "
        "'public'::regnamespace AND relkind = 'r' ORDER BY 1");
    add("SELECT t.typname, string_agg(e.enumlabel, ',' ORDER BY e.enumsortorder) FROM pg_type t JOIN pg_enum e ON "
        "e.enumtypid = t.oid GROUP BY 1 ORDER BY 1");
    add("SELECT n.nspname, p.proname, pg_get_function_identity_arguments(p.oid) FROM pg_proc p JOIN pg_namespace n "
        "ON n.oid = p.pronamespace WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1, 2, 3");
    add("SELECT nspname FROM pg_namespace ORDER BY 1");
  }
  const bool history = db.conn().backend() == db::Backend::kSqlite
                           ? db.Count("SELECT count(*) FROM sqlite_master WHERE name = 'plinth_migrations'") > 0
                           : db.Value("SELECT to_regclass('plinth_migrations') IS NOT NULL") == "t";
  if (history) {
    add("SELECT version, name, checksum, applied_at, steps_done, steps_total FROM plinth_migrations ORDER BY version");
  }
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  return out;
}

// The history as "version steps_done/steps_total" lines.
inline std::vector<std::string> History(Sql& db) {
  Result<std::vector<HistoryRow>> rows = ReadHistory(db.conn());
  EXPECT_TRUE(rows.ok()) << rows.status().ToString();
  std::vector<std::string> out;
  if (!rows.ok()) return out;
  for (const auto& r : *rows) {
    out.push_back(r.version + " " + std::to_string(r.steps_done) + "/" + std::to_string(r.steps_total));
  }
  return out;
}

inline std::string DriftText(const std::vector<sql::Difference>& diffs) {
  std::string out;
  for (const auto& d : diffs) out += d.object + ": " + d.problem + "\n";
  return out;
}

// The live database compared with what `s` declares (what `plinth check` compares).
inline std::vector<sql::Difference> CompareWithSchema(Sql& db, const schema::Schema& s) {
  auto actual = sql::Introspect(db.conn());
  EXPECT_TRUE(actual.ok()) << actual.status().ToString();
  if (!actual.ok()) return {sql::Difference{"introspection", actual.status().ToString()}};
  return sql::Compare(sql::Expected(sql::DialectFor(db.conn().backend()), s), *actual);
}

}  // namespace plinth::runner::testing
