// SQLite DDL for each migration operation.
//
// SQLite's ALTER TABLE is used only where it is safe: RENAME TABLE, RENAME COLUMN, ADD COLUMN of
// a plain column with a constant default, DROP COLUMN of a column nothing refers to. Every other
// change rebuilds the table inside the migration's transaction (sqlite.org/lang_altertable.html
// "other kinds of table schema changes"), with foreign_keys switched OFF by the runner outside the
// transaction: DROP TABLE of a parent then neither cascades into its children nor nulls them, and
// PRAGMA foreign_key_check runs before COMMIT.
//
// Logical types that SQLite does not enforce get a named CHECK on the column, "<column>_type".
// The name carries no table name so that renaming a table keeps it right; renaming a column that
// has one rebuilds the table so the name follows the column.
//
// Policies and row security render nothing: plinth enforces them in its runtime on SQLite.
#include <algorithm>
#include <map>

#include "common/strings.h"
#include "sql/internal.h"

namespace plinth::sql::internal {
namespace {

using migrate::Op;
using migrate::OpKind;
using schema::Column;
using schema::Constraint;
using schema::ConstraintKind;
using schema::TypeKind;

constexpr Dialect kLite = Dialect::kSqlite;
constexpr std::string_view kRebuildPrefix = "_plinth_new_";
constexpr std::string_view kNowSql = "strftime('%Y-%m-%dT%H:%M:%f000Z', 'now')";

std::string ActionSql(schema::FkAction a) {
  switch (a) {
    case schema::FkAction::kNoAction: return "NO ACTION";
    case schema::FkAction::kRestrict: return "RESTRICT";
    case schema::FkAction::kCascade: return "CASCADE";
    case schema::FkAction::kSetNull: return "SET NULL";
    case schema::FkAction::kSetDefault: return "SET DEFAULT";
  }
  return "NO ACTION";
}

Result<const schema::Table*> NeedTable(const schema::Schema& s, std::string_view name) {
  const schema::Table* t = s.FindTable(name);
  if (t == nullptr) {
    return Status(Code::kFailedPrecondition, "table " + std::string(name) + " does not exist");
  }
  return t;
}

Statement Plain(std::string sql) { return Statement{std::move(sql), Expect::kNothing, {}}; }

// ---- Definitions -----------------------------------------------------------------------------

Result<std::string> ColumnDef(const schema::Schema& s, const schema::Table& t, const Column& c) {
  std::string out = Ident(c.name) + " " + SqliteType(c);
  if (ColumnNotNull(t, c)) out += " NOT NULL";
  PLINTH_ASSIGN_OR_RETURN(std::string def, DefaultSql(kLite, c));
  if (!def.empty()) out += " DEFAULT " + def;
  PLINTH_ASSIGN_OR_RETURN(std::string check, SqliteTypeCheck(s, c));
  if (!check.empty()) out += " CONSTRAINT " + Ident(SqliteTypeCheckName(c)) + " CHECK (" + check + ")";
  return out;
}

Result<std::string> ConstraintDef(const schema::Schema& s, const schema::Table& t, const Constraint& c) {
  if (c.kind != ConstraintKind::kCheck && c.columns.empty()) {
    return Status(Code::kInvalidArgument, "constraint " + t.name + "." + c.name + " has no columns");
  }
  std::string body;
  switch (c.kind) {
    case ConstraintKind::kPrimaryKey: body = "PRIMARY KEY (" + IdentList(c.columns) + ")"; break;
    case ConstraintKind::kUnique: body = "UNIQUE (" + IdentList(c.columns) + ")"; break;
    case ConstraintKind::kCheck: {
      PLINTH_ASSIGN_OR_RETURN(std::string e, RenderExpression(kLite, s, t, c.expression, expr::Context::kCheck));
      body = "CHECK (" + e + ")";
      break;
    }
    case ConstraintKind::kForeignKey:
      if (c.ref_columns.size() != c.columns.size()) {
        return Status(Code::kInvalidArgument, "foreign key " + t.name + "." + c.name +
                                                  ": column count differs from the referenced columns");
      }
      body = "FOREIGN KEY (" + IdentList(c.columns) + ") REFERENCES " + Ident(c.ref_table) + " (" +
             IdentList(c.ref_columns) + ")";
      // An action on a subset of the columns is a trigger on the parent; the key itself is then
      // NO ACTION (checked at the end of the statement, after the trigger ran).
      if (c.on_delete != schema::FkAction::kNoAction && !SqliteNeedsDeleteTrigger(c)) {
        body += " ON DELETE " + ActionSql(c.on_delete);
      }
      if (c.on_update != schema::FkAction::kNoAction && !SqliteNeedsUpdateTrigger(c)) {
        body += " ON UPDATE " + ActionSql(c.on_update);
      }
      break;
  }
  return "CONSTRAINT " + Ident(c.name) + " " + body;
}

Result<std::string> CreateIndex(const schema::Schema& s, const schema::Table& t, const schema::Index& idx) {
  if (idx.columns.empty()) return Status(Code::kInvalidArgument, "index " + idx.name + " has no columns");
  std::string cols;
  for (const auto& c : idx.columns) {
    if (!cols.empty()) cols += ", ";
    cols += Ident(c.name) + (c.descending ? " DESC" : "");
  }
  std::string out = std::string("CREATE ") + (idx.unique ? "UNIQUE " : "") + "INDEX " + Ident(idx.name) +
                    " ON " + Ident(t.name) + " (" + cols + ")";
  if (!idx.where.empty()) {
    PLINTH_ASSIGN_OR_RETURN(std::string pred,
                            RenderExpression(kLite, s, t, idx.where, expr::Context::kIndexPredicate));
    out += " WHERE " + pred;
  }
  return out;
}

// WHERE clause matching a row by its primary key (rowid when the table has none).
std::string RowMatch(const schema::Table& t, std::string_view row) {
  const Constraint* pk = t.PrimaryKey();
  if (pk == nullptr || pk->columns.empty()) return "rowid = " + std::string(row) + ".rowid";
  std::string out;
  for (const auto& c : pk->columns) {
    if (!out.empty()) out += " AND ";
    out += Ident(c) + " = " + std::string(row) + "." + Ident(c);
  }
  return out;
}

std::vector<std::string> CreateOptionTriggers(const schema::Table& t, const schema::TableOptions& from,
                                              const schema::TableOptions& to) {
  std::vector<std::string> out;
  const std::string name = Ident(t.name);
  if (to.timestamps && !from.timestamps) {
    // AFTER UPDATE: a statement that set updated_at itself keeps its value. Relies on
    // recursive_triggers being off (SQLite's default), so the inner UPDATE does not fire it again.
    out.push_back("CREATE TRIGGER " + Ident(TouchTriggerName(t.name)) + " AFTER UPDATE ON " + name +
                  " FOR EACH ROW WHEN NEW.\"updated_at\" IS OLD.\"updated_at\" BEGIN UPDATE " + name +
                  " SET \"updated_at\" = " + std::string(kNowSql) + " WHERE " + RowMatch(t, "NEW") + "; END");
  }
  if (to.append_only && !from.append_only) {
    const std::string message =
        Literal("table " + t.name + " is append-only: rows cannot be updated or deleted");
    out.push_back("CREATE TRIGGER " + Ident(SqliteRefuseUpdateTriggerName(t.name)) + " BEFORE UPDATE ON " +
                  name + " FOR EACH ROW BEGIN SELECT RAISE(ABORT, " + message + "); END");
    out.push_back("CREATE TRIGGER " + Ident(SqliteRefuseDeleteTriggerName(t.name)) + " BEFORE DELETE ON " +
                  name + " FOR EACH ROW BEGIN SELECT RAISE(ABORT, " + message + "); END");
  }
  return out;
}

std::vector<std::string> DropOptionTriggers(const std::string& table, const schema::TableOptions& from,
                                            const schema::TableOptions& to) {
  std::vector<std::string> out;
  if (from.timestamps && !to.timestamps) out.push_back("DROP TRIGGER " + Ident(TouchTriggerName(table)));
  if (from.append_only && !to.append_only) {
    out.push_back("DROP TRIGGER " + Ident(SqliteRefuseUpdateTriggerName(table)));
    out.push_back("DROP TRIGGER " + Ident(SqliteRefuseDeleteTriggerName(table)));
  }
  return out;
}

// The triggers on the parent that carry out a foreign key's set null / set default on a subset
// of its columns: BEFORE DELETE (the child rows are updated before the parent row goes) and
// AFTER UPDATE OF the referenced columns.
Result<std::vector<std::string>> CreateFkTriggers(const schema::Table& child, const Constraint& fk) {
  std::vector<std::string> out;
  if (!SqliteNeedsDeleteTrigger(fk) && !SqliteNeedsUpdateTrigger(fk)) return out;
  std::string match;
  for (size_t i = 0; i < fk.columns.size(); ++i) {
    if (i) match += " AND ";
    match += Ident(fk.columns[i]) + " = OLD." + Ident(fk.ref_columns[i]);
  }
  auto assignments = [&](schema::FkAction action) -> Result<std::string> {
    std::string set;
    for (const auto& name : fk.set_columns) {
      std::string value = "NULL";
      if (action == schema::FkAction::kSetDefault) {
        const Column* c = child.FindColumn(name);
        if (c == nullptr) {
          return Status(Code::kInvalidArgument,
                        "foreign key " + child.name + "." + fk.name + ": no column " + name);
        }
        PLINTH_ASSIGN_OR_RETURN(std::string def, DefaultSql(kLite, *c));
        if (!def.empty()) value = def;
      }
      if (!set.empty()) set += ", ";
      set += Ident(name) + " = " + value;
    }
    return set;
  };
  if (SqliteNeedsDeleteTrigger(fk)) {
    PLINTH_ASSIGN_OR_RETURN(std::string set, assignments(fk.on_delete));
    out.push_back("CREATE TRIGGER " + Ident(FkDeleteTriggerName(fk.name)) + " BEFORE DELETE ON " +
                  Ident(fk.ref_table) + " FOR EACH ROW BEGIN UPDATE " + Ident(child.name) + " SET " + set +
                  " WHERE " + match + "; END");
  }
  if (SqliteNeedsUpdateTrigger(fk)) {
    PLINTH_ASSIGN_OR_RETURN(std::string set, assignments(fk.on_update));
    std::string changed;
    for (const auto& r : fk.ref_columns) {
      if (!changed.empty()) changed += " OR ";
      changed += "OLD." + Ident(r) + " IS NOT NEW." + Ident(r);
    }
    out.push_back("CREATE TRIGGER " + Ident(FkUpdateTriggerName(fk.name)) + " AFTER UPDATE OF " +
                  IdentList(fk.ref_columns) + " ON " + Ident(fk.ref_table) + " FOR EACH ROW WHEN " + changed +
                  " BEGIN UPDATE " + Ident(child.name) + " SET " + set + " WHERE " + match + "; END");
  }
  return out;
}

std::vector<std::string> DropFkTriggers(const Constraint& fk) {
  std::vector<std::string> out;
  if (SqliteNeedsDeleteTrigger(fk)) out.push_back("DROP TRIGGER " + Ident(FkDeleteTriggerName(fk.name)));
  if (SqliteNeedsUpdateTrigger(fk)) out.push_back("DROP TRIGGER " + Ident(FkUpdateTriggerName(fk.name)));
  return out;
}

// Every foreign key (of any table) whose parent is `parent` and that needs triggers on it.
std::vector<std::pair<const schema::Table*, const Constraint*>> FkTriggersOn(const schema::Schema& s,
                                                                             std::string_view parent) {
  std::vector<std::pair<const schema::Table*, const Constraint*>> out;
  for (const auto& t : s.tables) {
    for (const auto& c : t.constraints) {
      if (c.kind == ConstraintKind::kForeignKey && c.ref_table == parent &&
          (SqliteNeedsDeleteTrigger(c) || SqliteNeedsUpdateTrigger(c))) {
        out.emplace_back(&t, &c);
      }
    }
  }
  return out;
}

// Names of the triggers plinth manages on `table` (whatever its options).
std::vector<std::string> ManagedTriggerNames(const schema::Schema& s, const std::string& table) {
  std::vector<std::string> names{TouchTriggerName(table), SqliteRefuseUpdateTriggerName(table),
                                 SqliteRefuseDeleteTriggerName(table)};
  for (const auto& [child, fk] : FkTriggersOn(s, table)) {
    if (SqliteNeedsDeleteTrigger(*fk)) names.push_back(FkDeleteTriggerName(fk->name));
    if (SqliteNeedsUpdateTrigger(*fk)) names.push_back(FkUpdateTriggerName(fk->name));
  }
  return names;
}

// Indexes, option triggers and foreign-key triggers that live on `t` (all dropped with it).
Result<std::vector<std::string>> TableExtras(const schema::Schema& s, const schema::Table& t) {
  std::vector<std::string> out;
  for (const auto& idx : t.indexes) {
    PLINTH_ASSIGN_OR_RETURN(std::string sql, CreateIndex(s, t, idx));
    out.push_back(sql);
  }
  std::vector<std::string> triggers = CreateOptionTriggers(t, schema::TableOptions{}, t.options);
  out.insert(out.end(), triggers.begin(), triggers.end());
  for (const auto& [child, fk] : FkTriggersOn(s, t.name)) {
    PLINTH_ASSIGN_OR_RETURN(std::vector<std::string> fk_triggers, CreateFkTriggers(*child, *fk));
    out.insert(out.end(), fk_triggers.begin(), fk_triggers.end());
  }
  return out;
}

// ---- Table rebuild ---------------------------------------------------------------------------

struct RebuildInput {
  const schema::Schema& before;
  const schema::Table& old_table;
  const schema::Schema& after;
  const schema::Table& new_table;
  // New column → the old column it is copied from, when not the same name.
  std::map<std::string, std::string> renamed_from;
  // Enum → value conversions (old value → new value) applied to its columns.
  std::map<std::string, std::map<std::string, std::string>> enum_maps;
};

bool IsIntegral(TypeKind k) { return k == TypeKind::kInteger || k == TypeKind::kBigint; }

// SQL converting an old column's stored value to the new column's representation. Values that
// cannot be converted are left for the new table's type checks to refuse, loudly.
std::string ConvertValue(const Column& from, const Column& to,
                         const std::map<std::string, std::map<std::string, std::string>>& enum_maps) {
  const std::string src = Ident(from.name);
  if (from.encrypted || to.encrypted) return src;
  const TypeKind a = from.type.kind;
  const TypeKind b = to.type.kind;
  if (a == TypeKind::kEnum && b == TypeKind::kEnum && from.type.enum_name == to.type.enum_name) {
    auto it = enum_maps.find(to.type.enum_name);
    if (it == enum_maps.end() || it->second.empty()) return src;
    std::string out = "CASE " + src;
    for (const auto& [old_value, new_value] : it->second) {
      out += " WHEN " + Literal(old_value) + " THEN " + Literal(new_value);
    }
    return out + " ELSE " + src + " END";
  }
  if (a == TypeKind::kDecimal && IsIntegral(b)) return "CAST(round(" + src + ") AS INTEGER)";
  if (IsIntegral(a) && b == TypeKind::kBoolean) {
    return "CASE WHEN " + src + " IS NULL THEN NULL WHEN " + src + " <> 0 THEN 1 ELSE 0 END";
  }
  if (a == TypeKind::kBoolean && b == TypeKind::kText) {
    return "CASE " + src + " WHEN 1 THEN 'true' WHEN 0 THEN 'false' END";
  }
  if (a == TypeKind::kTimestamp && b == TypeKind::kDate) return "substr(" + src + ", 1, 10)";
  if (a == TypeKind::kDate && b == TypeKind::kTimestamp) return src + " || 'T00:00:00.000000Z'";
  if (a != TypeKind::kUuid && b == TypeKind::kUuid) return "lower(" + src + ")";
  return src;
}

Result<std::vector<Statement>> Rebuild(const RebuildInput& in) {
  const std::string& name = in.new_table.name;
  const std::string table = Ident(name);
  const std::string temp = Ident(std::string(kRebuildPrefix) + name);
  std::vector<Statement> out;

  // (a) A rebuild drops the table's triggers; refuse when some are not plinth's to re-create.
  out.push_back(Statement{
      "SELECT coalesce((SELECT group_concat(name, ', ') FROM sqlite_master WHERE type = 'trigger' AND "
      "tbl_name = " + Literal(in.old_table.name) + " AND name NOT IN (" +
          LiteralList(ManagedTriggerNames(in.before, in.old_table.name)) + ")), 1)",
      Expect::kTrue,
      "table " + name +
          " must be rebuilt, which would drop its triggers that plinth does not manage (named in the "
          "result): drop them before this migration and create them again after it; nothing was changed"});

  // (b) The new definition under a temporary name.
  PLINTH_ASSIGN_OR_RETURN(std::string create,
                          SqliteCreateTableStatement(in.after, in.new_table, std::string(kRebuildPrefix) + name));
  out.push_back(Plain(create));

  // (c) Copy the rows, converting values where the column changed.
  std::string columns;
  std::string values;
  for (const auto& c : in.new_table.columns) {
    auto renamed = in.renamed_from.find(c.name);
    const std::string source = renamed == in.renamed_from.end() ? c.name : renamed->second;
    const Column* old = in.old_table.FindColumn(source);
    if (old == nullptr) continue;  // a new column: its default fills it
    if (!columns.empty()) {
      columns += ", ";
      values += ", ";
    }
    columns += Ident(c.name);
    values += ConvertValue(*old, c, in.enum_maps);
  }
  if (columns.empty()) {
    columns = "rowid";
    values = "rowid";
  }
  out.push_back(Plain("INSERT INTO " + temp + " (" + columns + ") SELECT " + values + " FROM " +
                      Ident(in.old_table.name)));

  // (d) Every row arrived.
  out.push_back(Statement{"SELECT (SELECT count(*) FROM " + temp + ") = (SELECT count(*) FROM " +
                              Ident(in.old_table.name) + ")",
                          Expect::kTrue,
                          "table " + name + ": the rebuilt table does not hold as many rows as the old one"});

  // (e) foreign_keys is OFF: dropping the old table touches no child row.
  out.push_back(Plain("DROP TABLE " + Ident(in.old_table.name)));

  // (f) Legacy rename: views, triggers and other tables' foreign keys keep naming the table,
  // which is again the right one after the rename.
  out.push_back(Plain("PRAGMA legacy_alter_table = ON"));
  out.push_back(Plain("ALTER TABLE " + temp + " RENAME TO " + table));
  out.push_back(Plain("PRAGMA legacy_alter_table = OFF"));

  // (g) What was dropped with the old table.
  PLINTH_ASSIGN_OR_RETURN(std::vector<std::string> extras, TableExtras(in.after, in.new_table));
  for (auto& sql : extras) out.push_back(Plain(std::move(sql)));
  return out;
}

// Whether anything in the schema besides the column's own type check refers to `column` of
// `t` (SQLite's DROP COLUMN refuses those, and a rebuild is needed).
Result<bool> ColumnReferenced(const schema::Schema& s, const schema::Table& t, const std::string& column) {
  auto has = [&](const std::vector<std::string>& v) { return std::find(v.begin(), v.end(), column) != v.end(); };
  for (const auto& c : t.constraints) {
    if (c.kind == ConstraintKind::kCheck) {
      PLINTH_ASSIGN_OR_RETURN(std::set<ColumnRef> cols, ExpressionColumns(s, t, c.expression, expr::Context::kCheck));
      if (cols.count({t.name, column})) return true;
    } else if (has(c.columns)) {
      return true;
    }
  }
  for (const auto& idx : t.indexes) {
    for (const auto& ic : idx.columns) {
      if (ic.name == column) return true;
    }
    if (!idx.where.empty()) {
      PLINTH_ASSIGN_OR_RETURN(std::set<ColumnRef> cols,
                              ExpressionColumns(s, t, idx.where, expr::Context::kIndexPredicate));
      if (cols.count({t.name, column})) return true;
    }
  }
  for (const auto& other : s.tables) {
    for (const auto& c : other.constraints) {
      if (c.kind == ConstraintKind::kForeignKey && c.ref_table == t.name && has(c.ref_columns)) return true;
    }
  }
  if (t.options.timestamps && column == "updated_at") return true;  // the touch trigger
  return false;
}

Unit TxUnit(std::vector<Statement> statements) {
  Unit u;
  u.transactional = true;
  u.statements = std::move(statements);
  return u;
}

std::vector<Statement> Plains(std::vector<std::string> sql) {
  std::vector<Statement> out;
  for (auto& s : sql) out.push_back(Plain(std::move(s)));
  return out;
}

// Rebuilds one table of the operation, from its definition in `before` to that in `after`.
Result<std::vector<Statement>> RebuildTable(const OpInput& in, const std::string& old_name,
                                            const std::string& new_name,
                                            std::map<std::string, std::string> renamed_from = {},
                                            std::map<std::string, std::map<std::string, std::string>> enum_maps = {}) {
  PLINTH_ASSIGN_OR_RETURN(const schema::Table* old_table, NeedTable(in.before, old_name));
  PLINTH_ASSIGN_OR_RETURN(const schema::Table* new_table, NeedTable(in.after, new_name));
  return Rebuild(RebuildInput{in.before, *old_table, in.after, *new_table, std::move(renamed_from),
                              std::move(enum_maps)});
}

// Enum changes: every table with a column of the enum is rebuilt (its CHECK lists the values).
Result<OpOutput> RebuildEnumTables(const OpInput& in, std::map<std::string, std::string> value_map) {
  OpOutput out;
  std::map<std::string, std::map<std::string, std::string>> enum_maps{{in.op.name, std::move(value_map)}};
  for (const auto& t : in.after.tables) {
    const bool uses = std::any_of(t.columns.begin(), t.columns.end(), [&](const Column& c) {
      return !c.encrypted && c.type.kind == TypeKind::kEnum && c.type.enum_name == in.op.name;
    });
    if (!uses) continue;
    PLINTH_ASSIGN_OR_RETURN(std::vector<Statement> sql, RebuildTable(in, t.name, t.name, {}, enum_maps));
    out.units.push_back(TxUnit(std::move(sql)));
    out.rebuilds_table = true;
  }
  return out;
}

Result<OpOutput> AddColumn(const OpInput& in) {
  const Op& op = in.op;
  PLINTH_ASSIGN_OR_RETURN(const schema::Table* table, NeedTable(in.after, op.table));
  const Column* c = table->FindColumn(op.column.name);
  if (c == nullptr) return Status(Code::kFailedPrecondition, "column " + op.table + "." + op.column.name + " missing");
  bool keyed = false;
  for (const auto& k : table->constraints) {
    if ((k.kind == ConstraintKind::kPrimaryKey || k.kind == ConstraintKind::kUnique) &&
        std::find(k.columns.begin(), k.columns.end(), c->name) != k.columns.end()) {
      keyed = true;
    }
  }
  const bool not_null_ok = !ColumnNotNull(*table, *c) || c->default_value.kind == schema::DefaultKind::kLiteral;
  OpOutput out;
  if (!keyed && SqliteDefaultIsConstant(*c) && not_null_ok) {
    PLINTH_ASSIGN_OR_RETURN(std::string def, ColumnDef(in.after, *table, *c));
    out.units.push_back(TxUnit({Plain("ALTER TABLE " + Ident(op.table) + " ADD COLUMN " + def)}));
    return out;
  }
  PLINTH_ASSIGN_OR_RETURN(std::vector<Statement> sql, RebuildTable(in, op.table, op.table));
  out.units.push_back(TxUnit(std::move(sql)));
  out.rebuilds_table = true;
  return out;
}

Result<OpOutput> AlterColumn(const OpInput& in) {
  const Op& op = in.op;
  if (op.old_column.encrypted != op.column.encrypted) {
    return Status(Code::kInvalidArgument,
                  "column " + op.table + "." + op.column.name +
                      ": switching encryption on or off cannot be done in SQL (values must be "
                      "re-encrypted by plinth); add a new column, copy the values through plinth, "
                      "then drop the old column");
  }
  PLINTH_ASSIGN_OR_RETURN(const schema::Table* before_table, NeedTable(in.before, op.table));
  PLINTH_ASSIGN_OR_RETURN(const schema::Table* after_table, NeedTable(in.after, op.table));
  const Column* old_column = before_table->FindColumn(op.old_column.name);
  const Column* new_column = after_table->FindColumn(op.column.name);
  if (old_column == nullptr || new_column == nullptr) {
    return Status(Code::kFailedPrecondition, "column " + op.table + "." + op.column.name + " missing");
  }
  OpOutput out;
  // Changes SQLite does not store (e.g. a decimal's precision) need no work.
  PLINTH_ASSIGN_OR_RETURN(std::string old_def, ColumnDef(in.before, *before_table, *old_column));
  PLINTH_ASSIGN_OR_RETURN(std::string new_def, ColumnDef(in.after, *after_table, *new_column));
  if (old_def == new_def) return out;
  PLINTH_ASSIGN_OR_RETURN(std::vector<Statement> sql, RebuildTable(in, op.table, op.table));
  out.units.push_back(TxUnit(std::move(sql)));
  out.rebuilds_table = true;
  return out;
}

}  // namespace

Result<std::string> SqliteCreateTableStatement(const schema::Schema& s, const schema::Table& t,
                                               std::string_view name_override) {
  std::string sql = "CREATE TABLE " + Ident(name_override.empty() ? std::string_view(t.name) : name_override) + " (";
  bool first = true;
  for (const auto& c : t.columns) {
    PLINTH_ASSIGN_OR_RETURN(std::string def, ColumnDef(s, t, c));
    sql += std::string(first ? "\n  " : ",\n  ") + def;
    first = false;
  }
  for (const auto& c : t.constraints) {
    PLINTH_ASSIGN_OR_RETURN(std::string def, ConstraintDef(s, t, c));
    sql += std::string(first ? "\n  " : ",\n  ") + def;
    first = false;
  }
  return sql + "\n)";
}

// The data runtime's audit table (schema::kSupportAudit): append-only by triggers; the runtime
// writes one row per write in the write's transaction and shows a tenant only its own rows.
static std::vector<std::string> SqliteAuditSupport() {
  const std::string table = Ident(schema::kAuditTable);
  const std::string message = Literal("table plinth_audit is append-only: audit rows cannot be updated or deleted");
  return {
      "CREATE TABLE " + table +
          " (\"seq\" INTEGER PRIMARY KEY AUTOINCREMENT, \"at\" TEXT NOT NULL DEFAULT (" + std::string(kNowSql) +
          "), \"tenant_id\" TEXT, \"principal_kind\" TEXT NOT NULL, \"user_id\" TEXT, \"credential_id\" TEXT, "
          "\"action\" TEXT NOT NULL, \"table_name\" TEXT NOT NULL, \"row_key\" TEXT, "
          "\"changes\" TEXT NOT NULL DEFAULT '{}', \"reason\" TEXT, \"request_id\" TEXT, \"ip\" TEXT, "
          "\"user_agent\" TEXT, \"prev_hash\" BLOB, \"hash\" BLOB)",
      "CREATE INDEX \"plinth_audit_by_tenant\" ON " + table + " (\"tenant_id\", \"seq\")",
      "CREATE TRIGGER \"plinth_audit_refuse_update\" BEFORE UPDATE ON " + table +
          " FOR EACH ROW BEGIN SELECT RAISE(ABORT, " + message + "); END",
      "CREATE TRIGGER \"plinth_audit_refuse_delete\" BEFORE DELETE ON " + table +
          " FOR EACH ROW BEGIN SELECT RAISE(ABORT, " + message + "); END",
  };
}

Result<OpOutput> RenderSqliteOp(const OpInput& in) {
  const Op& op = in.op;
  OpOutput out;
  auto tx = [&](std::vector<std::string> sql) { out.units.push_back(TxUnit(Plains(std::move(sql)))); };
  auto rebuild = [&](std::map<std::string, std::string> renamed_from = {}) -> Status {
    PLINTH_ASSIGN_OR_RETURN(std::vector<Statement> sql, RebuildTable(in, op.table, op.table, std::move(renamed_from)));
    out.units.push_back(TxUnit(std::move(sql)));
    out.rebuilds_table = true;
    return Status::Ok();
  };
  const std::string t = Ident(op.table);
  switch (op.kind) {
    case OpKind::kCreateEnum:
    case OpKind::kDropEnum:
    case OpKind::kRenameEnum:
      break;  // enums are CHECKs on their columns, which list the values, not the type's name
    case OpKind::kAddEnumValue: return RebuildEnumTables(in, {});
    case OpKind::kRenameEnumValue: return RebuildEnumTables(in, {{op.value, op.new_name}});
    case OpKind::kReplaceEnum: return RebuildEnumTables(in, op.value_map);
    case OpKind::kCreateTable: {
      PLINTH_ASSIGN_OR_RETURN(const schema::Table* table, NeedTable(in.after, op.table_def.name));
      PLINTH_ASSIGN_OR_RETURN(std::string create, SqliteCreateTableStatement(in.after, *table));
      std::vector<std::string> sql{create};
      PLINTH_ASSIGN_OR_RETURN(std::vector<std::string> extras, TableExtras(in.after, *table));
      sql.insert(sql.end(), extras.begin(), extras.end());
      // Triggers on other parents for this table's keys (those on itself are in the extras).
      for (const auto& c : table->constraints) {
        if (c.kind != ConstraintKind::kForeignKey || c.ref_table == table->name) continue;
        PLINTH_ASSIGN_OR_RETURN(std::vector<std::string> fk, CreateFkTriggers(*table, c));
        sql.insert(sql.end(), fk.begin(), fk.end());
      }
      tx(std::move(sql));
      break;
    }
    case OpKind::kDropTable: {
      const std::string name = op.table_def.name.empty() ? op.table : op.table_def.name;
      PLINTH_ASSIGN_OR_RETURN(const schema::Table* table, NeedTable(in.before, name));
      // With foreign_keys ON, DROP TABLE deletes the rows first, which would cascade into
      // children: refuse while another table still refers to this one.
      for (const auto& other : in.before.tables) {
        if (other.name == name) continue;
        for (const auto& c : other.constraints) {
          if (c.kind == ConstraintKind::kForeignKey && c.ref_table == name) {
            return Status(Code::kFailedPrecondition,
                          "table " + name + " cannot be dropped while foreign key " + other.name + "." + c.name +
                              " refers to it: drop that key or table first");
          }
        }
      }
      std::vector<std::string> sql;
      for (const auto& c : table->constraints) {
        if (c.kind != ConstraintKind::kForeignKey || c.ref_table == name) continue;
        std::vector<std::string> drops = DropFkTriggers(c);
        sql.insert(sql.end(), drops.begin(), drops.end());
      }
      sql.push_back("DROP TABLE " + Ident(name));
      tx(std::move(sql));
      break;
    }
    case OpKind::kRenameTable: {
      PLINTH_ASSIGN_OR_RETURN(const schema::Table* table, NeedTable(in.after, op.new_name));
      // The modern rename also rewrites other tables' foreign keys and trigger bodies.
      std::vector<std::string> sql{"ALTER TABLE " + t + " RENAME TO " + Ident(op.new_name)};
      // plinth's own triggers are named after the table: re-create them under the new name.
      std::vector<std::string> drops = DropOptionTriggers(op.table, table->options, schema::TableOptions{});
      std::vector<std::string> creates = CreateOptionTriggers(*table, schema::TableOptions{}, table->options);
      sql.insert(sql.end(), drops.begin(), drops.end());
      sql.insert(sql.end(), creates.begin(), creates.end());
      tx(std::move(sql));
      break;
    }
    case OpKind::kAddColumn: return AddColumn(in);
    case OpKind::kDropColumn: {
      PLINTH_ASSIGN_OR_RETURN(const schema::Table* table, NeedTable(in.before, op.table));
      PLINTH_ASSIGN_OR_RETURN(bool referenced, ColumnReferenced(in.before, *table, op.column.name));
      if (referenced) {
        PLINTH_RETURN_IF_ERROR(rebuild());
      } else {
        tx({"ALTER TABLE " + t + " DROP COLUMN " + Ident(op.column.name)});
      }
      break;
    }
    case OpKind::kRenameColumn: {
      PLINTH_ASSIGN_OR_RETURN(const schema::Table* table, NeedTable(in.before, op.table));
      const Column* c = table->FindColumn(op.name);
      if (c == nullptr) return Status(Code::kFailedPrecondition, "column " + op.table + "." + op.name + " missing");
      PLINTH_ASSIGN_OR_RETURN(std::string check, SqliteTypeCheck(in.before, *c));
      if (check.empty()) {
        // SQLite rewrites indexes, checks, triggers and views that name the column.
        tx({"ALTER TABLE " + t + " RENAME COLUMN " + Ident(op.name) + " TO " + Ident(op.new_name)});
      } else {
        PLINTH_RETURN_IF_ERROR(rebuild({{op.new_name, op.name}}));  // the type check's name follows
      }
      break;
    }
    case OpKind::kAlterColumn: return AlterColumn(in);
    case OpKind::kAddConstraint: {
      PLINTH_RETURN_IF_ERROR(rebuild());
      PLINTH_ASSIGN_OR_RETURN(const schema::Table* table, NeedTable(in.after, op.table));
      if (op.constraint.kind == ConstraintKind::kForeignKey && op.constraint.ref_table != op.table) {
        PLINTH_ASSIGN_OR_RETURN(std::vector<std::string> fk, CreateFkTriggers(*table, op.constraint));
        for (auto& sql : fk) out.units.back().statements.push_back(Plain(std::move(sql)));
      }
      break;
    }
    case OpKind::kDropConstraint: {
      PLINTH_RETURN_IF_ERROR(rebuild());
      if (op.constraint.kind == ConstraintKind::kForeignKey && op.constraint.ref_table != op.table) {
        for (auto& sql : DropFkTriggers(op.constraint)) out.units.back().statements.push_back(Plain(std::move(sql)));
      }
      break;
    }
    case OpKind::kCreateIndex: {
      PLINTH_ASSIGN_OR_RETURN(const schema::Table* table, NeedTable(in.after, op.table));
      PLINTH_ASSIGN_OR_RETURN(std::string sql, CreateIndex(in.after, *table, op.index));
      tx({sql});  // SQLite has no concurrent build; the database is locked for the migration anyway
      break;
    }
    case OpKind::kDropIndex: tx({"DROP INDEX " + Ident(op.index.name)}); break;
    case OpKind::kSetTableOptions: {
      PLINTH_ASSIGN_OR_RETURN(const schema::Table* table, NeedTable(in.after, op.table));
      std::vector<std::string> sql = DropOptionTriggers(op.table, op.old_options, op.options);
      std::vector<std::string> creates = CreateOptionTriggers(*table, op.old_options, op.options);
      sql.insert(sql.end(), creates.begin(), creates.end());
      tx(std::move(sql));
      break;
    }
    case OpKind::kInstallSupport:
      if (op.name == schema::kSupportAudit) tx(SqliteAuditSupport());
      break;  // the other components are PostgreSQL functions
    case OpKind::kRemoveSupport:
      if (op.name == schema::kSupportAudit) tx({"DROP TABLE " + Ident(schema::kAuditTable)});
      break;
    case OpKind::kCreatePolicy:
    case OpKind::kDropPolicy:
    case OpKind::kAlterPolicy:
      break;  // enforced by plinth's runtime on SQLite; nothing in the database
    case OpKind::kRawSql:
      if (!Trim(op.sql_sqlite).empty()) tx({op.sql_sqlite});
      break;
  }
  return out;
}

}  // namespace plinth::sql::internal
