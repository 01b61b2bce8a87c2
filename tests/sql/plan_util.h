// tests/sql/plan_util.h — running migration plans in tests: an executor that does what the
// runner does with a MigrationPlan, and a Migrator that keeps the schema state in step with a
// real database so every test can end with "no drift".
//
// Thread-safety: one Migrator per test.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "plinth/db.h"
#include "plinth/migrate.h"
#include "plinth/schema.h"
#include "plinth/sql.h"

namespace plinth::sql::testing {

inline schema::Schema MustLoad(std::string_view toml) {
  Diagnostics diags;
  Result<schema::Schema> s = schema::LoadSchemaText(toml, "schema.toml", diags);
  EXPECT_TRUE(s.ok()) << s.status().ToString() << "\n" << diags.ToString();
  return s.ok() ? std::move(s).value() : schema::Schema{};
}

inline schema::Schema LoadExample(const std::string& app) {
  Diagnostics diags;
  Result<schema::Schema> s =
      schema::LoadSchemaFile(std::string(PLINTH_SOURCE_DIR) + "/examples/" + app + "/schema.toml", diags);
  EXPECT_TRUE(s.ok()) << s.status().ToString() << "\n" << diags.ToString();
  return s.ok() ? std::move(s).value() : schema::Schema{};
}

inline bool IsTrueValue(const std::optional<std::string>& v) {
  return v && (*v == "t" || *v == "true" || *v == "1");
}

inline Status RunStatement(db::Connection& conn, const Statement& st) {
  if (st.expect == Expect::kNothing) return conn.Exec(st.sql);
  Result<db::QueryResult> r = conn.Query(st.sql);
  if (!r.ok()) return r.status();
  if (st.expect == Expect::kNoRows) {
    if (!r->rows.empty()) return Status(Code::kFailedPrecondition, st.failure);
    return Status::Ok();
  }
  if (r->rows.size() != 1 || r->rows[0].size() != 1 || !IsTrueValue(r->rows[0][0])) {
    std::string got = r->rows.empty() || r->rows[0].empty() ? "no value" : r->rows[0][0].value_or("NULL");
    return Status(Code::kFailedPrecondition, st.failure + " [" + got + "]");
  }
  return Status::Ok();
}

// Executes a plan as the runner does: consecutive transactional units share one transaction, a
// non-transactional unit runs between transactions in autocommit mode; on SQLite with
// sqlite_foreign_keys_off, foreign_keys is OFF outside the transactions and
// PRAGMA foreign_key_check runs before each COMMIT.
inline Status ExecutePlan(db::Connection& conn, const MigrationPlan& plan) {
  const bool sqlite = conn.backend() == db::Backend::kSqlite;
  const bool fk_off = sqlite && plan.sqlite_foreign_keys_off;
  if (fk_off) PLINTH_RETURN_IF_ERROR(conn.Exec("PRAGMA foreign_keys = OFF"));
  bool in_tx = false;
  auto commit = [&]() -> Status {
    if (fk_off) {
      PLINTH_RETURN_IF_ERROR(RunStatement(
          conn, Statement{"PRAGMA foreign_key_check", Expect::kNoRows, "foreign_key_check found violations"}));
    }
    in_tx = false;
    return conn.Exec("COMMIT");
  };
  Status result;
  for (const Unit& unit : plan.units) {
    if (unit.transactional && !in_tx) {
      result = conn.Exec(sqlite ? "BEGIN IMMEDIATE" : "BEGIN");
      if (!result.ok()) break;
      in_tx = true;
    } else if (!unit.transactional && in_tx) {
      result = commit();
      if (!result.ok()) break;
    }
    for (const Statement& st : unit.statements) {
      result = RunStatement(conn, st);
      if (!result.ok()) {
        result = result.WithContext(unit.op_description);
        break;
      }
    }
    if (!result.ok()) break;
  }
  if (result.ok() && in_tx) result = commit();
  if (!result.ok() && conn.InTransaction()) (void)conn.Exec("ROLLBACK");
  if (fk_off) {
    Status restore = conn.Exec("PRAGMA foreign_keys = ON");
    if (result.ok()) result = restore;
  }
  return result;
}

inline std::string DriftText(const std::vector<Difference>& diffs) {
  std::string out;
  for (const auto& d : diffs) out += d.object + ": " + d.problem + "\n";
  return out;
}

// A database and the schema state it is known to hold.
class Migrator {
 public:
  Migrator(Dialect dialect, std::unique_ptr<db::Connection> conn) : dialect_(dialect), conn_(std::move(conn)) {}

  static std::unique_ptr<Migrator> Sqlite() {
    Result<db::Url> url = db::ParseUrl("sqlite::memory:");
    EXPECT_TRUE(url.ok()) << url.status().ToString();
    Result<std::unique_ptr<db::Connection>> conn = db::Connect(*url);
    EXPECT_TRUE(conn.ok()) << conn.status().ToString();
    if (!conn.ok()) return nullptr;
    return std::make_unique<Migrator>(Dialect::kSqlite, std::move(conn).value());
  }

  Result<MigrationPlan> Plan(const std::vector<migrate::Op>& ops) const { return RenderPlan(dialect_, ops, state_); }

  // Renders `ops` against the known state, runs the plan and, when it succeeds, advances the
  // state.
  Status Apply(const std::vector<migrate::Op>& ops) {
    PLINTH_ASSIGN_OR_RETURN(MigrationPlan plan, Plan(ops));
    last_plan_ = plan;
    PLINTH_RETURN_IF_ERROR(ExecutePlan(*conn_, plan));
    for (const auto& op : ops) PLINTH_RETURN_IF_ERROR(migrate::ApplyOp(state_, op));
    return Status::Ok();
  }

  Result<std::vector<migrate::Op>> DiffTo(const schema::Schema& target, bool concurrent_indexes = false) const {
    migrate::DiffOptions opts;
    opts.concurrent_indexes = concurrent_indexes;
    PLINTH_ASSIGN_OR_RETURN(migrate::DiffResult diff, migrate::Diff(state_, target, opts));
    return diff.up;
  }

  Status MigrateTo(const schema::Schema& target, bool concurrent_indexes = false) {
    PLINTH_ASSIGN_OR_RETURN(std::vector<migrate::Op> ops, DiffTo(target, concurrent_indexes));
    return Apply(ops);
  }

  std::vector<Difference> Drift() {
    Result<Catalog> actual = Introspect(*conn_);
    EXPECT_TRUE(actual.ok()) << actual.status().ToString();
    if (!actual.ok()) return {Difference{"introspection", actual.status().ToString()}};
    return Compare(Expected(dialect_, state_), *actual);
  }

  void Exec(std::string_view sql) {
    Status st = conn_->Exec(sql);
    EXPECT_TRUE(st.ok()) << sql << ": " << st.ToString();
  }
  Status TryExec(std::string_view sql) { return conn_->Exec(sql); }

  // The single value `sql` returns (nullopt for NULL; fails the test on errors).
  std::optional<std::string> Value(std::string_view sql) {
    Result<db::QueryResult> r = conn_->Query(sql);
    EXPECT_TRUE(r.ok()) << sql << ": " << r.status().ToString();
    if (!r.ok() || r->rows.empty() || r->rows[0].empty()) {
      ADD_FAILURE() << sql << ": no value";
      return std::nullopt;
    }
    return r->rows[0][0];
  }
  std::string Text(std::string_view sql) { return Value(sql).value_or("NULL"); }
  long long Count(std::string_view sql) { return std::stoll(Value(sql).value_or("-1")); }

  std::vector<std::string> Column(std::string_view sql) {
    Result<db::QueryResult> r = conn_->Query(sql);
    EXPECT_TRUE(r.ok()) << sql << ": " << r.status().ToString();
    std::vector<std::string> out;
    if (r.ok()) {
      for (const auto& row : r->rows) out.push_back(row.empty() ? "" : row[0].value_or("NULL"));
    }
    return out;
  }

  Dialect dialect() const { return dialect_; }
  db::Connection& conn() { return *conn_; }
  schema::Schema& state() { return state_; }
  const MigrationPlan& last_plan() const { return last_plan_; }

 private:
  Dialect dialect_;
  std::unique_ptr<db::Connection> conn_;
  schema::Schema state_;
  MigrationPlan last_plan_;
};

// Helpers to write operations by hand.
inline migrate::Op MakeOp(migrate::OpKind kind, std::string table = {}) {
  migrate::Op op;
  op.kind = kind;
  op.table = std::move(table);
  return op;
}

inline const schema::Table& TableOf(const schema::Schema& s, std::string_view name) {
  const schema::Table* t = s.FindTable(name);
  if (t == nullptr) {
    ADD_FAILURE() << "no table " << name;
    static const schema::Table kNone;
    return kNone;
  }
  return *t;
}

inline const schema::Column& ColumnOf(const schema::Schema& s, std::string_view table, std::string_view column) {
  const schema::Column* c = TableOf(s, table).FindColumn(column);
  if (c == nullptr) {
    ADD_FAILURE() << "no column " << table << "." << column;
    static const schema::Column kNone;
    return kNone;
  }
  return *c;
}

}  // namespace plinth::sql::testing
