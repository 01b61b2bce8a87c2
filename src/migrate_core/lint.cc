// Lint: the lock-aware linter for PostgreSQL. Each rule names what the operation does to a
// running database (rewrite, ACCESS EXCLUSIVE lock, failure on existing rows, lost data, broken
// running code) and the plan that avoids it. Rules apply to tables that existed before the
// migration: a table created by the migration is empty and unused.
#include <algorithm>
#include <set>

#include "common/strings.h"
#include "migrate_core/state.h"
#include "plinth/migrate.h"

namespace plinth::migrate {

using schema::Column;
using schema::ConstraintKind;
using schema::DefaultKind;
using schema::Schema;

namespace {

constexpr std::string_view kExpandContract =
    "expand and contract: add a new column of the new type, write both (application or trigger), "
    "backfill it in batches, move readers to it, then drop the old column in a later migration";

class Linter {
 public:
  Linter(const Migration& m, Schema& state, std::vector<LintFinding>& out) : m_(m), state_(state), out_(out) {}

  void Run() {
    for (size_t i = 0; i < m_.up.size(); ++i) {
      index_ = i;
      const Op& op = m_.up[i];
      Check(op);
      if (ApplyOp(state_, op).ok()) Track(op);
    }
  }

 private:
  void Add(std::string_view rule, std::string message, std::string plan) {
    out_.push_back(LintFinding{std::string(rule), m_.version, index_, std::move(message), std::move(plan)});
  }

  bool Existing(const std::string& table) const {
    return state_.FindTable(table) != nullptr && !created_.count(table);
  }

  // Whether a later operation of this migration drops `table` (its indexes go with it).
  bool DroppedLater(const std::string& table) const {
    for (size_t j = index_ + 1; j < m_.up.size(); ++j) {
      if (m_.up[j].kind == OpKind::kDropTable && m_.up[j].table_def.name == table) return true;
    }
    return false;
  }

  void Track(const Op& op) {
    if (op.kind == OpKind::kCreateTable) created_.insert(op.table_def.name);
    if (op.kind == OpKind::kRenameTable && created_.erase(op.table)) created_.insert(op.new_name);
  }

  void Check(const Op& op) {
    switch (op.kind) {
      case OpKind::kAddColumn: return AddColumn(op);
      case OpKind::kAlterColumn: return AlterColumn(op);
      case OpKind::kCreateIndex:
      case OpKind::kDropIndex: return Index(op);
      case OpKind::kAddConstraint: return AddConstraint(op);
      case OpKind::kReplaceEnum: return ReplaceEnum(op);
      case OpKind::kRenameColumn:
        if (Existing(op.table)) {
          Add("renaming-column",
              "renames " + op.table + "." + op.name + " to " + op.new_name +
                  ": application code still running with the old name fails from the moment it commits",
              "expand and contract: add the new column, write both, backfill, move readers, then drop the old "
              "column; or first deploy code that works with either name");
        }
        return;
      case OpKind::kRenameTable:
        if (Existing(op.table)) {
          Add("renaming-table",
              "renames table " + op.table + " to " + op.new_name +
                  ": application code still running with the old name fails from the moment it commits",
              "create the new table and move the data over while code uses both, or first deploy code that "
              "works with either name");
        }
        return;
      case OpKind::kDropColumn:
        if (Existing(op.table)) {
          Add("dropping-column",
              "drops " + op.table + "." + op.column.name + " and its data; running code that still reads or "
                                                           "writes it fails",
              "first deploy code that no longer uses the column, keep a copy of the data if it may be needed, "
              "then drop it (running it needs --allow-data-loss)");
        }
        return;
      case OpKind::kDropTable:
        if (Existing(op.table_def.name)) {
          Add("dropping-table",
              "drops table " + op.table_def.name + " and its data; running code that still uses it fails",
              "first deploy code that no longer uses the table, keep a copy of the data if it may be needed, "
              "then drop it (running it needs --allow-data-loss)");
        }
        return;
      case OpKind::kRawSql:
        Add("raw-sql", "hand-written SQL is not analysed: its locks, rewrites and failures are unknown to plinth",
            "review it: set a lock_timeout, avoid statements that rewrite large tables, build indexes "
            "CONCURRENTLY (outside a transaction), add constraints NOT VALID then VALIDATE");
        return;
      default:
        return;
    }
  }

  void AddColumn(const Op& op) {
    if (!Existing(op.table)) return;
    const Column& c = op.column;
    std::string name = op.table + "." + c.name;
    if (c.default_value.kind == DefaultKind::kNewUuid) {
      Add("adding-volatile-default",
          "adds " + name + " with default uuid: a volatile default makes PostgreSQL rewrite the whole table under "
                           "an ACCESS EXCLUSIVE lock, blocking reads and writes (a constant default is free since "
                           "PostgreSQL 11)",
          "add the column without a default, set the default in a later migration (it then applies to new rows "
          "only) and fill existing rows in batches");
    } else if (c.not_null && c.default_value.kind == DefaultKind::kNone) {
      Add("adding-required-column",
          "adds " + name + " NOT NULL without a default: the migration fails as soon as " + op.table + " has a row",
          "give it a default, or add it nullable, fill it in batches, and make it not_null in a later migration");
    }
  }

  void AlterColumn(const Op& op) {
    if (!Existing(op.table)) return;
    const Column& from = op.old_column;
    const Column& to = op.column;
    std::string name = op.table + "." + to.name;
    if (from.encrypted != to.encrypted) {
      Add("changing-column-type",
          std::string(to.encrypted ? "encrypts " : "decrypts ") + name +
              ": the stored type changes, so PostgreSQL rewrites the table and its indexes under an ACCESS "
              "EXCLUSIVE lock, and the values must be re-written by the application",
          std::string(kExpandContract));
    } else if (internal::TypeChangeRewrites(from.type, to.type)) {
      bool widening = from.type.kind == schema::TypeKind::kInteger && to.type.kind == schema::TypeKind::kBigint;
      Add("changing-column-type",
          "changes " + name + " from " + from.type.ToString() + " to " + to.type.ToString() +
              ": PostgreSQL rewrites the table and rebuilds its indexes under an ACCESS EXCLUSIVE lock, blocking "
              "reads and writes for the whole rewrite" +
              (widening ? " (integer → bigint is a rewrite too)" : ""),
          std::string(kExpandContract));
    }
    if (to.not_null && !from.not_null) {
      Add("setting-not-null",
          "makes " + name + " NOT NULL: PostgreSQL scans the whole table under an ACCESS EXCLUSIVE lock to check "
                            "for nulls (and the migration fails if it finds one)",
          "first add a check `" + to.name + " is not null` (plinth adds checks NOT VALID and validates them without "
          "blocking writes), then set not_null in a later migration: PostgreSQL 12+ uses the valid check and "
          "skips the scan; then remove the check");
    }
  }

  void Index(const Op& op) {
    if (op.concurrently || !Existing(op.table)) return;
    bool create = op.kind == OpKind::kCreateIndex;
    if (!create && DroppedLater(op.table)) return;
    Add("index-without-concurrently",
        create ? "creates index " + op.index.name + " on " + op.table +
                     " without CONCURRENTLY: writes to the table are blocked (SHARE lock) while the index builds"
               : "drops index " + op.index.name + " on " + op.table +
                     " without CONCURRENTLY: takes an ACCESS EXCLUSIVE lock on the table",
        "mark the operation \"concurrently\": true (`plinth migrate diff` does so by default): plinth runs it in a "
        "step of its own outside the transaction");
  }

  void AddConstraint(const Op& op) {
    if (!Existing(op.table)) return;
    const auto& c = op.constraint;
    std::string name = op.table + "." + c.name;
    switch (c.kind) {
      case ConstraintKind::kForeignKey:
        Add("adding-foreign-key",
            "adds foreign key " + name + " on an existing table: plinth adds it NOT VALID (a brief SHARE ROW "
                                         "EXCLUSIVE lock on " + op.table + " and " + c.ref_table +
                ") and then runs VALIDATE CONSTRAINT, which scans " + op.table + " without blocking writes",
            "nothing to change in the migration; fix rows that violate it first (VALIDATE fails on them) and run it "
            "off-peak on a large table");
        return;
      case ConstraintKind::kCheck:
        Add("adding-check",
            "adds check " + name + " on an existing table: plinth adds it NOT VALID (a brief lock) and then runs "
                                   "VALIDATE CONSTRAINT, which scans " + op.table + " without blocking writes",
            "nothing to change in the migration; fix rows that violate it first (VALIDATE fails on them)");
        return;
      case ConstraintKind::kPrimaryKey:
      case ConstraintKind::kUnique:
        Add("adding-unique-constraint",
            "adds " + std::string(c.kind == ConstraintKind::kPrimaryKey ? "primary key " : "unique constraint ") +
                name + " on an existing table: its index is built under an ACCESS EXCLUSIVE lock, blocking reads "
                       "and writes for the whole build",
            "declare a unique index instead (plinth builds it CONCURRENTLY and foreign keys may reference it), or "
            "build the index concurrently first and attach it with ADD CONSTRAINT … USING INDEX in raw_sql");
        return;
    }
  }

  void ReplaceEnum(const Op& op) {
    std::vector<std::string> users, removed;
    for (const auto& t : state_.tables) {
      for (const auto& c : t.columns) {
        if (c.type.kind == schema::TypeKind::kEnum && c.type.enum_name == op.name && Existing(t.name)) {
          users.push_back(t.name + "." + c.name);
        }
      }
    }
    if (users.empty()) return;  // only new tables use it: nothing to rewrite
    for (const auto& v : op.old_values) {
      if (std::find(op.enum_def.values.begin(), op.enum_def.values.end(), v) == op.enum_def.values.end()) {
        removed.push_back(v);
      }
    }
    Add("enum-value-removal",
        "swaps enum " + op.name + " for a new type (" +
            (removed.empty() ? std::string("values reordered") : "values removed: " + Join(removed, ", ")) +
            "): every table using it is rewritten under an ACCESS EXCLUSIVE lock (" + Join(users, ", ") + ")",
        "on large tables keep the old values (stop writing them in the application) instead; otherwise convert "
        "the rows that hold removed values first and run the swap off-peak");
  }

  const Migration& m_;
  Schema& state_;
  std::vector<LintFinding>& out_;
  std::set<std::string> created_;
  size_t index_ = 0;
};

}  // namespace

std::vector<LintFinding> Lint(const std::vector<Migration>& migrations, size_t first, size_t count) {
  std::vector<LintFinding> out;
  Schema state;
  first = std::min(first, migrations.size());
  size_t last = std::min(migrations.size(), first + std::min(count, migrations.size() - first));
  for (size_t m = 0; m < first; ++m) {
    for (const Op& op : migrations[m].up) (void)ApplyOp(state, op);
  }
  for (size_t m = first; m < last; ++m) Linter(migrations[m], state, out).Run();
  return out;
}

}  // namespace plinth::migrate
