// ApplyOp and Replay: the state transition of each operation, with strict preconditions.
//
// Every case first checks everything it needs and computes the rewritten parts, then mutates:
// an error leaves the state untouched.
#include <algorithm>
#include <cctype>
#include <set>

#include "common/strings.h"
#include "migrate_core/expr_refs.h"
#include "migrate_core/state.h"
#include "plinth/migrate.h"

namespace plinth::migrate {

using internal::ColumnRef;
using internal::IsIdentifier;
using schema::Column;
using schema::Constraint;
using schema::ConstraintKind;
using schema::DefaultKind;
using schema::Schema;
using schema::Table;
using schema::TypeKind;

namespace {

// Support component names an install_support may use.
constexpr std::string_view kSupportComponents[] = {schema::kSupportTimestamps, schema::kSupportAppendOnly,
                                                   schema::kSupportAuth, schema::kSupportAudit};
// The column the timestamps trigger maintains.
constexpr std::string_view kUpdatedAtColumn = "updated_at";

std::string Quote(std::string_view s) { return "'" + std::string(s) + "'"; }

template <typename T>
bool ContainsItem(const std::vector<T>& v, const T& x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

bool Distinct(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  return std::adjacent_find(v.begin(), v.end()) == v.end();
}

std::set<std::string> AsSet(const std::vector<std::string>& v) { return {v.begin(), v.end()}; }

// Resolves columns against the state, with `extra` (a table being created) visible too.
internal::HasColumnFn HasColumnIn(const Schema& state, const Table* extra = nullptr) {
  return [&state, extra](std::string_view table, std::string_view column) {
    const Table* t = extra && extra->name == table ? extra : state.FindTable(table);
    return t != nullptr && t->FindColumn(column) != nullptr;
  };
}

// Every stored expression of the state, with where it lives.
struct ExprSite {
  std::string table;
  std::string what;  // "check c", "index i", "policy p"
  const std::string* text;
};

std::vector<ExprSite> ExpressionsOf(const Table& t) {
  std::vector<ExprSite> out;
  for (const auto& c : t.constraints) {
    if (c.kind == ConstraintKind::kCheck) out.push_back({t.name, "check " + c.name, &c.expression});
  }
  for (const auto& i : t.indexes) {
    if (!i.where.empty()) out.push_back({t.name, "index " + i.name, &i.where});
  }
  for (const auto& p : t.policies) {
    if (!p.using_expr.empty()) out.push_back({t.name, "policy " + p.name, &p.using_expr});
    if (!p.check_expr.empty()) out.push_back({t.name, "policy " + p.name, &p.check_expr});
  }
  return out;
}

// What the relation namespace (tables, indexes, key constraints: PostgreSQL gives each an
// entry in pg_class) holds under `name`, or "".
std::string RelationUsing(const Schema& s, std::string_view name) {
  for (const auto& t : s.tables) {
    if (t.name == name) return "table " + t.name;
    for (const auto& i : t.indexes) {
      if (i.name == name) return "index " + i.name + " on " + t.name;
    }
    for (const auto& c : t.constraints) {
      if ((c.kind == ConstraintKind::kPrimaryKey || c.kind == ConstraintKind::kUnique) && c.name == name) {
        return "constraint " + c.name + " on " + t.name;
      }
    }
  }
  return "";
}

// Foreign keys (as table.name) anywhere in the state referencing `table`'s columns `cols`
// (as a set).
std::vector<std::string> ForeignKeysOnKey(const Schema& s, std::string_view table, const std::vector<std::string>& cols) {
  std::vector<std::string> out;
  std::set<std::string> key = AsSet(cols);
  for (const auto& t : s.tables) {
    for (const auto& c : t.constraints) {
      if (c.kind == ConstraintKind::kForeignKey && c.ref_table == table && AsSet(c.ref_columns) == key) {
        out.push_back(t.name + "." + c.name);
      }
    }
  }
  return out;
}

bool IsIntegerLiteral(std::string_view v) {
  if (!v.empty() && v[0] == '-') v.remove_prefix(1);
  return !v.empty() && std::all_of(v.begin(), v.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
}

Status CheckColumnDef(const Schema& state, const Column& c) {
  if (!IsIdentifier(c.name)) return Status(Code::kInvalidArgument, "column name " + Quote(c.name) + " is not an identifier");
  const auto& t = c.type;
  if (t.kind == TypeKind::kEnum && state.FindEnum(t.enum_name) == nullptr) {
    return Status(Code::kFailedPrecondition, "column " + c.name + ": enum " + t.enum_name + " does not exist");
  }
  const auto& d = c.default_value;
  if (c.encrypted && d.kind != DefaultKind::kNone) {
    return Status(Code::kInvalidArgument, "column " + c.name + " is encrypted and cannot have a default");
  }
  switch (d.kind) {
    case DefaultKind::kNone:
      if (!d.value.empty()) return Status(Code::kInvalidArgument, "column " + c.name + ": a default without kind has a value");
      break;
    case DefaultKind::kNow:
      if (t.kind != TypeKind::kTimestamp && t.kind != TypeKind::kDate) {
        return Status(Code::kInvalidArgument, "column " + c.name + ": default now needs a timestamp or date column");
      }
      break;
    case DefaultKind::kNewUuid:
      if (t.kind != TypeKind::kUuid) {
        return Status(Code::kInvalidArgument, "column " + c.name + ": default uuid needs a uuid column");
      }
      break;
    case DefaultKind::kLiteral:
      if (t.kind == TypeKind::kEnum) {
        const schema::Enum* e = state.FindEnum(t.enum_name);
        if (!ContainsItem(e->values, d.value)) {
          return Status(Code::kFailedPrecondition, "column " + c.name + ": default " + Quote(d.value) +
                                                       " is not a value of enum " + e->name);
        }
      } else if (t.kind == TypeKind::kBoolean && d.value != "true" && d.value != "false") {
        return Status(Code::kInvalidArgument, "column " + c.name + ": boolean default must be true or false");
      } else if ((t.kind == TypeKind::kInteger || t.kind == TypeKind::kBigint) && !IsIntegerLiteral(d.value)) {
        return Status(Code::kInvalidArgument, "column " + c.name + ": default " + Quote(d.value) + " is not an integer");
      }
      break;
  }
  return Status::Ok();
}

// Columns of `owner` named in an expression on `owner` must exist; so must the tables of
// exists and their columns. `allow_exists` is false for checks and index predicates.
Status CheckExpression(const Schema& state, const Table& owner, const std::string& expr, std::string_view what,
                       bool allow_exists) {
  auto has_column = HasColumnIn(state, &owner);
  auto refs = internal::CollectRefs(expr, owner.name, has_column);
  if (!refs.ok()) return refs.status().WithContext(what);
  if (!allow_exists && !refs->tables.empty()) {
    return Status(Code::kInvalidArgument, std::string(what) + ": exists is allowed in policies only");
  }
  for (const auto& table : refs->tables) {
    if (table != owner.name && state.FindTable(table) == nullptr) {
      return Status(Code::kFailedPrecondition, std::string(what) + " uses table " + table + ", which does not exist");
    }
  }
  for (const ColumnRef& r : refs->columns) {
    if (!has_column(r.table, r.column)) {
      return Status(Code::kFailedPrecondition,
                    std::string(what) + " uses column " + r.table + "." + r.column + ", which does not exist");
    }
    if (!allow_exists && owner.FindColumn(r.column)->encrypted) {
      return Status(Code::kInvalidArgument, std::string(what) + " uses encrypted column " + r.column);
    }
  }
  return Status::Ok();
}

// Checks a constraint of `owner` (in the state, or being created with `owner`'s constraints).
Status CheckConstraintDef(const Schema& state, const Table& owner, const Constraint& c) {
  std::string what = "constraint " + c.name;
  if (!IsIdentifier(c.name)) return Status(Code::kInvalidArgument, what + ": name is not an identifier");
  bool is_fk = c.kind == ConstraintKind::kForeignKey;
  bool is_check = c.kind == ConstraintKind::kCheck;
  if (is_check != !c.expression.empty()) {
    return Status(Code::kInvalidArgument, what + (is_check ? ": a check needs an expression" : ": only checks have an expression"));
  }
  if (is_check != c.columns.empty()) {
    return Status(Code::kInvalidArgument, what + (is_check ? ": a check has no column list" : ": needs columns"));
  }
  if (!is_fk && (!c.ref_table.empty() || !c.ref_columns.empty() || !c.set_columns.empty() ||
                 c.on_delete != schema::FkAction::kNoAction || c.on_update != schema::FkAction::kNoAction)) {
    return Status(Code::kInvalidArgument, what + ": only foreign keys reference a table");
  }
  if (is_check) return CheckExpression(state, owner, c.expression, what, /*allow_exists=*/false);
  if (!Distinct(c.columns)) return Status(Code::kInvalidArgument, what + ": a column is listed twice");
  for (const auto& name : c.columns) {
    const Column* col = owner.FindColumn(name);
    if (col == nullptr) return Status(Code::kFailedPrecondition, what + ": column " + name + " does not exist");
    if (col->encrypted) return Status(Code::kInvalidArgument, what + ": column " + name + " is encrypted");
    if (c.kind == ConstraintKind::kPrimaryKey && !col->not_null) {
      return Status(Code::kInvalidArgument, what + ": primary key column " + name + " must be not_null");
    }
  }
  if (!is_fk) return Status::Ok();

  const Table* ref = c.ref_table == owner.name ? &owner : state.FindTable(c.ref_table);
  if (ref == nullptr) return Status(Code::kFailedPrecondition, what + ": referenced table " + c.ref_table + " does not exist");
  if (c.ref_columns.size() != c.columns.size()) {
    return Status(Code::kInvalidArgument, what + ": " + std::to_string(c.columns.size()) + " columns reference " +
                                              std::to_string(c.ref_columns.size()));
  }
  for (size_t i = 0; i < c.columns.size(); ++i) {
    const Column* rc = ref->FindColumn(c.ref_columns[i]);
    if (rc == nullptr) {
      return Status(Code::kFailedPrecondition, what + ": referenced column " + c.ref_table + "." + c.ref_columns[i] +
                                                   " does not exist");
    }
    const Column* col = owner.FindColumn(c.columns[i]);
    if (!(rc->type == col->type)) {
      return Status(Code::kFailedPrecondition, what + ": " + col->name + " is " + col->type.ToString() + " but " +
                                                   c.ref_table + "." + rc->name + " is " + rc->type.ToString());
    }
  }
  if (!internal::HasKeyOn(*ref, c.ref_columns)) {
    return Status(Code::kFailedPrecondition, what + ": " + c.ref_table + " (" + Join(c.ref_columns, ", ") +
                                                 ") is not a primary key or unique key");
  }
  bool sets = c.on_delete == schema::FkAction::kSetNull || c.on_delete == schema::FkAction::kSetDefault ||
              c.on_update == schema::FkAction::kSetNull || c.on_update == schema::FkAction::kSetDefault;
  if (!c.set_columns.empty() && !sets) {
    return Status(Code::kInvalidArgument, what + ": set_columns needs a set null or set default action");
  }
  for (const auto& sc : c.set_columns) {
    if (!ContainsItem(c.columns, sc)) return Status(Code::kInvalidArgument, what + ": set column " + sc + " is not a key column");
  }
  return Status::Ok();
}

Status CheckPolicyDef(const Schema& state, const Table& owner, const schema::Policy& p) {
  std::string what = "policy " + p.name;
  if (!IsIdentifier(p.name)) return Status(Code::kInvalidArgument, what + ": name is not an identifier");
  using schema::PolicyCommand;
  if ((p.command == PolicyCommand::kSelect || p.command == PolicyCommand::kDelete) && !p.check_expr.empty()) {
    return Status(Code::kInvalidArgument, what + ": a " + std::string(PolicyCommandName(p.command)) +
                                              " policy has no check expression (only using)");
  }
  if (p.command == PolicyCommand::kInsert && !p.using_expr.empty()) {
    return Status(Code::kInvalidArgument, what + ": an insert policy has no using expression (only check)");
  }
  if (!p.using_expr.empty()) PLINTH_RETURN_IF_ERROR(CheckExpression(state, owner, p.using_expr, what, true));
  if (!p.check_expr.empty()) PLINTH_RETURN_IF_ERROR(CheckExpression(state, owner, p.check_expr, what, true));
  if (!state.support.count(std::string(schema::kSupportAuth))) {
    return Status(Code::kFailedPrecondition, what + ": support component auth is not installed (install_support auth first)");
  }
  return Status::Ok();
}

Status CheckOptions(const Schema& state, const Table& t, const schema::TableOptions& o) {
  if (o.timestamps) {
    if (!state.support.count(std::string(schema::kSupportTimestamps))) {
      return Status(Code::kFailedPrecondition, "timestamps need support component timestamps (install_support first)");
    }
    const Column* c = t.FindColumn(kUpdatedAtColumn);
    if (c == nullptr || c->type.kind != TypeKind::kTimestamp) {
      return Status(Code::kFailedPrecondition, "timestamps need an updated_at timestamp column");
    }
  }
  if (o.append_only && !state.support.count(std::string(schema::kSupportAppendOnly))) {
    return Status(Code::kFailedPrecondition, "append_only needs support component append_only (install_support first)");
  }
  return Status::Ok();
}

Status CheckEnumValues(const std::vector<std::string>& values) {
  if (values.empty()) return Status(Code::kInvalidArgument, "an enum needs at least one value");
  for (const auto& v : values) {
    if (v.empty()) return Status(Code::kInvalidArgument, "enum values cannot be empty");
    if (v.size() > internal::kMaxIdentifierBytes) {
      return Status(Code::kInvalidArgument, "enum value " + Quote(v) + " is longer than 63 bytes");
    }
  }
  if (!Distinct(values)) return Status(Code::kInvalidArgument, "enum values must be distinct");
  return Status::Ok();
}

// Differences between a table in the state and a definition an operation carries.
std::string TableDefDifference(const Table& state, const Table& def) {
  Schema a, b;
  a.tables.push_back(internal::StoredTableDef(state));
  b.tables.push_back(internal::StoredTableDef(def));
  b.tables.back().name = a.tables.back().name;
  return internal::StateDifference(a, b);
}

// Columns of enum type `name` anywhere in the state, as table.column.
std::vector<std::string> ColumnsOfEnum(const Schema& s, std::string_view name) {
  std::vector<std::string> out;
  for (const auto& t : s.tables) {
    for (const auto& c : t.columns) {
      if (c.type.kind == TypeKind::kEnum && c.type.enum_name == name) out.push_back(t.name + "." + c.name);
    }
  }
  return out;
}

class Applier {
 public:
  Applier(Schema& state, const Op& op) : s_(state), op_(op) {}

  Status Run();

 private:
  Status Fail(std::string message, Code code = Code::kFailedPrecondition) const {
    return Status(code, op_.Describe() + ": " + message);
  }
  Status Wrap(const Status& st) const {
    return st.ok() ? st : Status(st.code(), op_.Describe() + ": " + st.message());
  }
  Result<Table*> NeedTable(const std::string& name) {
    Table* t = s_.FindTable(name);
    if (t == nullptr) return Fail("table " + name + " does not exist");
    return t;
  }
  Result<schema::Enum*> NeedEnum(const std::string& name) {
    schema::Enum* e = s_.FindEnum(name);
    if (e == nullptr) return Fail("enum " + name + " does not exist");
    return e;
  }
  Status NewRelationName(const std::string& name) const {
    if (!IsIdentifier(name)) return Fail(Quote(name) + " is not an identifier", Code::kInvalidArgument);
    if (std::string used = RelationUsing(s_, name); !used.empty()) return Fail("name " + name + " is taken by " + used);
    return Status::Ok();
  }

  Status CreateEnum();
  Status DropEnum();
  Status AddEnumValue();
  Status RenameEnumValue();
  Status ReplaceEnum();
  Status RenameEnum();
  Status CreateTable();
  Status DropTable();
  Status RenameTable();
  Status AddColumn();
  Status DropColumn();
  Status RenameColumn();
  Status AlterColumn();
  Status AddConstraint();
  Status DropConstraint();
  Status CreateIndex();
  Status DropIndex();
  Status SetTableOptions();
  Status CreatePolicy();
  Status DropPolicy();
  Status AlterPolicy();
  Status InstallSupport();
  Status RemoveSupport();

  Schema& s_;
  const Op& op_;
};

Status Applier::Run() {
  switch (op_.kind) {
    case OpKind::kCreateEnum: return CreateEnum();
    case OpKind::kDropEnum: return DropEnum();
    case OpKind::kAddEnumValue: return AddEnumValue();
    case OpKind::kRenameEnumValue: return RenameEnumValue();
    case OpKind::kReplaceEnum: return ReplaceEnum();
    case OpKind::kRenameEnum: return RenameEnum();
    case OpKind::kCreateTable: return CreateTable();
    case OpKind::kDropTable: return DropTable();
    case OpKind::kRenameTable: return RenameTable();
    case OpKind::kAddColumn: return AddColumn();
    case OpKind::kDropColumn: return DropColumn();
    case OpKind::kRenameColumn: return RenameColumn();
    case OpKind::kAlterColumn: return AlterColumn();
    case OpKind::kAddConstraint: return AddConstraint();
    case OpKind::kDropConstraint: return DropConstraint();
    case OpKind::kCreateIndex: return CreateIndex();
    case OpKind::kDropIndex: return DropIndex();
    case OpKind::kSetTableOptions: return SetTableOptions();
    case OpKind::kCreatePolicy: return CreatePolicy();
    case OpKind::kDropPolicy: return DropPolicy();
    case OpKind::kAlterPolicy: return AlterPolicy();
    case OpKind::kInstallSupport: return InstallSupport();
    case OpKind::kRemoveSupport: return RemoveSupport();
    case OpKind::kRawSql:
      // Hand-written SQL is opaque to the model: it must not change objects plinth manages
      // (drift detection reports it when it does).
      return Status::Ok();
  }
  return Fail("unknown operation kind", Code::kInternal);
}

// ---- enums ---------------------------------------------------------------------------------

Status Applier::CreateEnum() {
  const auto& e = op_.enum_def;
  if (!IsIdentifier(e.name)) return Fail(Quote(e.name) + " is not an identifier", Code::kInvalidArgument);
  if (s_.FindEnum(e.name)) return Fail("enum " + e.name + " already exists");
  // PostgreSQL gives every table a row type of its name: types and tables share names.
  if (s_.FindTable(e.name)) return Fail("name " + e.name + " is taken by table " + e.name);
  PLINTH_RETURN_IF_ERROR(Wrap(CheckEnumValues(e.values)));
  s_.enums.push_back(internal::StoredEnum(e));
  return Status::Ok();
}

Status Applier::DropEnum() {
  PLINTH_ASSIGN_OR_RETURN(schema::Enum * e, NeedEnum(op_.enum_def.name));
  if (e->values != op_.enum_def.values) {
    return Fail("enum " + e->name + " has values [" + Join(e->values, ", ") + "], the operation says [" +
                Join(op_.enum_def.values, ", ") + "]");
  }
  if (auto users = ColumnsOfEnum(s_, e->name); !users.empty()) {
    return Fail("enum " + e->name + " is used by " + Join(users, ", "));
  }
  std::erase_if(s_.enums, [&](const schema::Enum& x) { return x.name == op_.enum_def.name; });
  return Status::Ok();
}

Status Applier::AddEnumValue() {
  PLINTH_ASSIGN_OR_RETURN(schema::Enum * e, NeedEnum(op_.name));
  std::vector<std::string> values = e->values;
  if (ContainsItem(values, op_.value)) return Fail("enum " + e->name + " already has value " + Quote(op_.value));
  auto at = values.end();
  if (!op_.before.empty()) {
    at = std::find(values.begin(), values.end(), op_.before);
    if (at == values.end()) return Fail("enum " + e->name + " has no value " + Quote(op_.before) + " to insert before");
  }
  values.insert(at, op_.value);
  PLINTH_RETURN_IF_ERROR(Wrap(CheckEnumValues(values)));
  e->values = std::move(values);
  return Status::Ok();
}

Status Applier::RenameEnumValue() {
  PLINTH_ASSIGN_OR_RETURN(schema::Enum * e, NeedEnum(op_.name));
  auto it = std::find(e->values.begin(), e->values.end(), op_.value);
  if (it == e->values.end()) return Fail("enum " + e->name + " has no value " + Quote(op_.value));
  if (ContainsItem(e->values, op_.new_name)) return Fail("enum " + e->name + " already has value " + Quote(op_.new_name));
  std::vector<std::string> values = e->values;
  values[static_cast<size_t>(it - e->values.begin())] = op_.new_name;
  PLINTH_RETURN_IF_ERROR(Wrap(CheckEnumValues(values)));
  e->values = std::move(values);
  // Defaults hold the label by identity (PostgreSQL stores the enum's OID): they follow.
  for (auto& t : s_.tables) {
    for (auto& c : t.columns) {
      if (c.type.kind == TypeKind::kEnum && c.type.enum_name == op_.name &&
          c.default_value.kind == DefaultKind::kLiteral && c.default_value.value == op_.value) {
        c.default_value.value = op_.new_name;
      }
    }
  }
  return Status::Ok();
}

Status Applier::ReplaceEnum() {
  PLINTH_ASSIGN_OR_RETURN(schema::Enum * e, NeedEnum(op_.name));
  if (op_.enum_def.name != op_.name) return Fail("the new definition names enum " + op_.enum_def.name, Code::kInvalidArgument);
  if (e->values != op_.old_values) {
    return Fail("enum " + e->name + " has values [" + Join(e->values, ", ") + "], the operation expects [" +
                Join(op_.old_values, ", ") + "]");
  }
  const auto& values = op_.enum_def.values;
  PLINTH_RETURN_IF_ERROR(Wrap(CheckEnumValues(values)));
  if (values == op_.old_values) return Fail("the values do not change", Code::kInvalidArgument);
  for (const auto& [removed, kept] : op_.value_map) {
    if (!ContainsItem(op_.old_values, removed) || ContainsItem(values, removed)) {
      return Fail("value_map: " + Quote(removed) + " is not a value the replacement removes", Code::kInvalidArgument);
    }
    if (!ContainsItem(values, kept)) {
      return Fail("value_map: " + Quote(kept) + " is not a value of the new enum", Code::kInvalidArgument);
    }
  }
  for (const auto& t : s_.tables) {
    for (const auto& c : t.columns) {
      if (c.type.kind == TypeKind::kEnum && c.type.enum_name == op_.name &&
          c.default_value.kind == DefaultKind::kLiteral && !ContainsItem(values, c.default_value.value)) {
        return Fail("column " + t.name + "." + c.name + " defaults to " + Quote(c.default_value.value) +
                    ", which the replacement removes: change the default first");
      }
    }
  }
  e->values = values;
  return Status::Ok();
}

Status Applier::RenameEnum() {
  PLINTH_ASSIGN_OR_RETURN(schema::Enum * e, NeedEnum(op_.name));
  if (!IsIdentifier(op_.new_name)) return Fail(Quote(op_.new_name) + " is not an identifier", Code::kInvalidArgument);
  if (s_.FindEnum(op_.new_name)) return Fail("enum " + op_.new_name + " already exists");
  if (s_.FindTable(op_.new_name)) return Fail("name " + op_.new_name + " is taken by table " + op_.new_name);
  e->name = op_.new_name;
  for (auto& t : s_.tables) {
    for (auto& c : t.columns) {
      if (c.type.kind == TypeKind::kEnum && c.type.enum_name == op_.name) c.type.enum_name = op_.new_name;
    }
  }
  return Status::Ok();
}

// ---- tables --------------------------------------------------------------------------------

Status Applier::CreateTable() {
  const Table& def = op_.table_def;
  PLINTH_RETURN_IF_ERROR(NewRelationName(def.name));
  if (s_.FindEnum(def.name)) return Fail("name " + def.name + " is taken by enum " + def.name);
  if (def.columns.empty()) return Fail("a table needs at least one column", Code::kInvalidArgument);
  if (!def.indexes.empty() || !def.policies.empty()) {
    return Fail("indexes and policies are created by their own operations", Code::kInvalidArgument);
  }
  std::vector<std::string> names;
  for (const auto& c : def.columns) {
    PLINTH_RETURN_IF_ERROR(Wrap(CheckColumnDef(s_, c)));
    names.push_back(c.name);
  }
  if (!Distinct(names)) return Fail("a column name is used twice", Code::kInvalidArgument);
  names.clear();
  int primary_keys = 0;
  std::set<std::string> relation_names{def.name};
  for (const auto& c : def.constraints) {
    PLINTH_RETURN_IF_ERROR(Wrap(CheckConstraintDef(s_, def, c)));
    names.push_back(c.name);
    if (c.kind == ConstraintKind::kPrimaryKey) ++primary_keys;
    if (c.kind == ConstraintKind::kPrimaryKey || c.kind == ConstraintKind::kUnique) {
      if (std::string used = RelationUsing(s_, c.name); !used.empty() || !relation_names.insert(c.name).second) {
        return Fail("constraint name " + c.name + " is taken" + (used.empty() ? "" : " by " + used));
      }
    }
  }
  if (!Distinct(names)) return Fail("a constraint name is used twice", Code::kInvalidArgument);
  if (primary_keys > 1) return Fail("a table has at most one primary key", Code::kInvalidArgument);
  PLINTH_RETURN_IF_ERROR(Wrap(CheckOptions(s_, def, def.options)));
  s_.tables.push_back(internal::StoredTableDef(def));
  return Status::Ok();
}

Status Applier::DropTable() {
  const std::string& name = op_.table_def.name;
  PLINTH_ASSIGN_OR_RETURN(Table * t, NeedTable(name));
  if (std::string d = TableDefDifference(*t, op_.table_def); !d.empty()) {
    return Fail("the definition does not match the table in the state (" + d + ")");
  }
  if (!t->indexes.empty()) return Fail("drop its index " + t->indexes.front().name + " first (drop_index)");
  if (!t->policies.empty()) return Fail("drop its policy " + t->policies.front().name + " first (drop_policy)");
  for (const auto& other : s_.tables) {
    if (other.name == name) continue;
    for (const auto& c : other.constraints) {
      if (c.kind == ConstraintKind::kForeignKey && c.ref_table == name) {
        return Fail("foreign key " + other.name + "." + c.name + " references it: drop it first");
      }
    }
    for (const ExprSite& site : ExpressionsOf(other)) {
      auto refs = internal::CollectRefs(*site.text, other.name, HasColumnIn(s_));
      if (refs.ok() && ContainsItem(refs->tables, name)) {
        return Fail(site.what + " on " + other.name + " uses it: change or drop it first");
      }
    }
  }
  std::erase_if(s_.tables, [&](const Table& x) { return x.name == name; });
  return Status::Ok();
}

Status Applier::RenameTable() {
  PLINTH_RETURN_IF_ERROR(NeedTable(op_.table).status());
  const std::string& from = op_.table;
  const std::string& to = op_.new_name;
  PLINTH_RETURN_IF_ERROR(NewRelationName(to));
  if (s_.FindEnum(to)) return Fail("name " + to + " is taken by enum " + to);
  // Rewrite every expression that names the table (computed before anything changes).
  std::vector<std::pair<std::string*, std::string>> rewrites;
  auto has_column = HasColumnIn(s_);
  for (auto& table : s_.tables) {
    auto rewrite = [&](std::string& text) -> Status {
      auto r = internal::RenameTableInExpr(text, table.name, has_column, from, to);
      if (!r.ok()) return Wrap(r.status());
      if (*r != text) rewrites.emplace_back(&text, std::move(*r));
      return Status::Ok();
    };
    for (auto& c : table.constraints) {
      if (c.kind == ConstraintKind::kCheck) PLINTH_RETURN_IF_ERROR(rewrite(c.expression));
    }
    for (auto& i : table.indexes) {
      if (!i.where.empty()) PLINTH_RETURN_IF_ERROR(rewrite(i.where));
    }
    for (auto& p : table.policies) {
      if (!p.using_expr.empty()) PLINTH_RETURN_IF_ERROR(rewrite(p.using_expr));
      if (!p.check_expr.empty()) PLINTH_RETURN_IF_ERROR(rewrite(p.check_expr));
    }
  }
  for (auto& [text, replacement] : rewrites) *text = std::move(replacement);
  for (auto& table : s_.tables) {
    for (auto& c : table.constraints) {
      if (c.kind == ConstraintKind::kForeignKey && c.ref_table == from) c.ref_table = to;
    }
  }
  s_.FindTable(from)->name = to;
  return Status::Ok();
}

// ---- columns -------------------------------------------------------------------------------

Status Applier::AddColumn() {
  PLINTH_ASSIGN_OR_RETURN(Table * t, NeedTable(op_.table));
  PLINTH_RETURN_IF_ERROR(Wrap(CheckColumnDef(s_, op_.column)));
  if (t->FindColumn(op_.column.name)) return Fail("column " + op_.column.name + " already exists");
  t->columns.push_back(internal::StoredColumn(op_.column));
  return Status::Ok();
}

// Where column `table`.`column` is used (constraints, indexes, expressions, foreign keys of
// other tables); "" when nowhere.
std::string ColumnUse(const Schema& s, const Table& t, const std::string& column) {
  for (const auto& c : t.constraints) {
    if (ContainsItem(c.columns, column) || ContainsItem(c.set_columns, column)) return "constraint " + c.name;
  }
  for (const auto& i : t.indexes) {
    for (const auto& ic : i.columns) {
      if (ic.name == column) return "index " + i.name;
    }
  }
  for (const auto& other : s.tables) {
    for (const auto& c : other.constraints) {
      if (c.kind == ConstraintKind::kForeignKey && c.ref_table == t.name && ContainsItem(c.ref_columns, column)) {
        return "foreign key " + other.name + "." + c.name;
      }
    }
    for (const ExprSite& site : ExpressionsOf(other)) {
      auto refs = internal::CollectRefs(*site.text, other.name, HasColumnIn(s));
      if (refs.ok() && ContainsItem(refs->columns, ColumnRef{t.name, column})) return site.what + " on " + other.name;
    }
  }
  return "";
}

Status Applier::DropColumn() {
  PLINTH_ASSIGN_OR_RETURN(Table * t, NeedTable(op_.table));
  const Column* c = t->FindColumn(op_.column.name);
  if (c == nullptr) return Fail("column " + op_.column.name + " does not exist");
  if (!c->SameAs(op_.column)) return Fail("the definition does not match column " + c->name + " in the state");
  if (t->columns.size() == 1) return Fail("a table keeps at least one column: drop the table instead");
  if (t->options.timestamps && c->name == kUpdatedAtColumn) {
    return Fail("the timestamps option maintains updated_at: turn it off first (set_table_options)");
  }
  if (std::string use = ColumnUse(s_, *t, c->name); !use.empty()) return Fail("column " + c->name + " is used by " + use);
  std::erase_if(t->columns, [&](const Column& x) { return x.name == op_.column.name; });
  return Status::Ok();
}

Status Applier::RenameColumn() {
  PLINTH_ASSIGN_OR_RETURN(Table * t, NeedTable(op_.table));
  const std::string& from = op_.name;
  const std::string& to = op_.new_name;
  if (t->FindColumn(from) == nullptr) return Fail("column " + from + " does not exist");
  if (!IsIdentifier(to)) return Fail(Quote(to) + " is not an identifier", Code::kInvalidArgument);
  if (t->FindColumn(to)) return Fail("column " + to + " already exists");
  if (t->options.timestamps && from == kUpdatedAtColumn) {
    return Fail("the timestamps option maintains updated_at: it cannot be renamed");
  }
  std::vector<std::pair<std::string*, std::string>> rewrites;
  auto has_column = HasColumnIn(s_);
  for (auto& table : s_.tables) {
    auto rewrite = [&](std::string& text) -> Status {
      auto r = internal::RenameColumnInExpr(text, table.name, has_column, t->name, from, to);
      if (!r.ok()) return Wrap(r.status());
      if (*r != text) rewrites.emplace_back(&text, std::move(*r));
      return Status::Ok();
    };
    for (auto& c : table.constraints) {
      if (c.kind == ConstraintKind::kCheck) PLINTH_RETURN_IF_ERROR(rewrite(c.expression));
    }
    for (auto& i : table.indexes) {
      if (!i.where.empty()) PLINTH_RETURN_IF_ERROR(rewrite(i.where));
    }
    for (auto& p : table.policies) {
      if (!p.using_expr.empty()) PLINTH_RETURN_IF_ERROR(rewrite(p.using_expr));
      if (!p.check_expr.empty()) PLINTH_RETURN_IF_ERROR(rewrite(p.check_expr));
    }
  }
  for (auto& [text, replacement] : rewrites) *text = std::move(replacement);
  auto rename_in = [&](std::vector<std::string>& names) {
    for (auto& n : names) {
      if (n == from) n = to;
    }
  };
  for (auto& c : t->constraints) {
    rename_in(c.columns);
    rename_in(c.set_columns);
  }
  for (auto& i : t->indexes) {
    for (auto& ic : i.columns) {
      if (ic.name == from) ic.name = to;
    }
  }
  for (auto& table : s_.tables) {
    for (auto& c : table.constraints) {
      if (c.kind == ConstraintKind::kForeignKey && c.ref_table == t->name) rename_in(c.ref_columns);
    }
  }
  t->FindColumn(from)->name = to;
  return Status::Ok();
}

Status Applier::AlterColumn() {
  PLINTH_ASSIGN_OR_RETURN(Table * t, NeedTable(op_.table));
  if (op_.old_column.name != op_.column.name) {
    return Fail("alter_column keeps the name (use rename_column)", Code::kInvalidArgument);
  }
  Column* c = t->FindColumn(op_.column.name);
  if (c == nullptr) return Fail("column " + op_.column.name + " does not exist");
  if (!c->SameAs(op_.old_column)) return Fail("old_column does not match column " + c->name + " in the state");
  if (op_.column.SameAs(op_.old_column)) return Fail("the column does not change", Code::kInvalidArgument);
  PLINTH_RETURN_IF_ERROR(Wrap(CheckColumnDef(s_, op_.column)));
  if (op_.column.encrypted && !c->encrypted) {
    Table probe = *t;
    probe.FindColumn(c->name)->encrypted = true;
    for (const auto& k : t->constraints) {
      if (k.kind == ConstraintKind::kCheck) {
        if (Status st = CheckExpression(s_, probe, k.expression, "check " + k.name, false); !st.ok()) return Wrap(st);
      } else if (ContainsItem(k.columns, c->name)) {
        return Fail("constraint " + k.name + " uses the column, which cannot be encrypted");
      }
    }
    for (const auto& i : t->indexes) {
      for (const auto& ic : i.columns) {
        if (ic.name == c->name) return Fail("index " + i.name + " uses the column, which cannot be encrypted");
      }
    }
  }
  if (!op_.column.not_null) {
    const Constraint* pk = t->PrimaryKey();
    if (pk && ContainsItem(pk->columns, c->name)) return Fail("primary key column " + c->name + " must stay not_null");
  }
  if (t->options.timestamps && c->name == kUpdatedAtColumn && op_.column.type.kind != TypeKind::kTimestamp) {
    return Fail("the timestamps option needs updated_at to stay a timestamp");
  }
  *c = internal::StoredColumn(op_.column);
  return Status::Ok();
}

// ---- constraints and indexes -------------------------------------------------------------

Status Applier::AddConstraint() {
  PLINTH_ASSIGN_OR_RETURN(Table * t, NeedTable(op_.table));
  const Constraint& c = op_.constraint;
  if (t->FindConstraint(c.name)) return Fail("constraint " + c.name + " already exists on " + t->name);
  PLINTH_RETURN_IF_ERROR(Wrap(CheckConstraintDef(s_, *t, c)));
  if (c.kind == ConstraintKind::kPrimaryKey && t->PrimaryKey()) {
    return Fail("table " + t->name + " already has primary key " + t->PrimaryKey()->name);
  }
  if (c.kind == ConstraintKind::kPrimaryKey || c.kind == ConstraintKind::kUnique) {
    PLINTH_RETURN_IF_ERROR(NewRelationName(c.name));
  }
  t->constraints.push_back(internal::StoredConstraint(c));
  return Status::Ok();
}

Status Applier::DropConstraint() {
  PLINTH_ASSIGN_OR_RETURN(Table * t, NeedTable(op_.table));
  const Constraint* c = t->FindConstraint(op_.constraint.name);
  if (c == nullptr) return Fail("constraint " + op_.constraint.name + " does not exist on " + t->name);
  if (!c->SameAs(op_.constraint)) return Fail("the definition does not match constraint " + c->name + " in the state");
  if (c->kind == ConstraintKind::kPrimaryKey || c->kind == ConstraintKind::kUnique) {
    std::vector<std::string> fks = ForeignKeysOnKey(s_, t->name, c->columns);
    if (!fks.empty()) return Fail("foreign key " + fks.front() + " references this key: drop it first");
  }
  std::erase_if(t->constraints, [&](const Constraint& x) { return x.name == op_.constraint.name; });
  return Status::Ok();
}

Status Applier::CreateIndex() {
  PLINTH_ASSIGN_OR_RETURN(Table * t, NeedTable(op_.table));
  const schema::Index& i = op_.index;
  PLINTH_RETURN_IF_ERROR(NewRelationName(i.name));
  if (i.columns.empty()) return Fail("an index needs columns", Code::kInvalidArgument);
  std::vector<std::string> names;
  for (const auto& ic : i.columns) {
    const Column* c = t->FindColumn(ic.name);
    if (c == nullptr) return Fail("column " + ic.name + " does not exist");
    if (c->encrypted) return Fail("column " + ic.name + " is encrypted and cannot be indexed", Code::kInvalidArgument);
    names.push_back(ic.name);
  }
  if (!Distinct(names)) return Fail("a column is listed twice", Code::kInvalidArgument);
  if (!i.where.empty()) PLINTH_RETURN_IF_ERROR(Wrap(CheckExpression(s_, *t, i.where, "where", false)));
  t->indexes.push_back(internal::StoredIndex(i));
  return Status::Ok();
}

Status Applier::DropIndex() {
  PLINTH_ASSIGN_OR_RETURN(Table * t, NeedTable(op_.table));
  const schema::Index* i = t->FindIndex(op_.index.name);
  if (i == nullptr) return Fail("index " + op_.index.name + " does not exist on " + t->name);
  if (!i->SameAs(op_.index)) return Fail("the definition does not match index " + i->name + " in the state");
  if (i->unique && i->where.empty()) {
    std::vector<std::string> cols;
    for (const auto& ic : i->columns) cols.push_back(ic.name);
    std::vector<std::string> fks = ForeignKeysOnKey(s_, t->name, cols);
    if (!fks.empty()) return Fail("foreign key " + fks.front() + " may rely on this unique index: drop it first");
  }
  std::erase_if(t->indexes, [&](const schema::Index& x) { return x.name == op_.index.name; });
  return Status::Ok();
}

Status Applier::SetTableOptions() {
  PLINTH_ASSIGN_OR_RETURN(Table * t, NeedTable(op_.table));
  if (!(t->options == op_.old_options)) return Fail("old_options do not match the table's options in the state");
  if (op_.options == op_.old_options) return Fail("the options do not change", Code::kInvalidArgument);
  PLINTH_RETURN_IF_ERROR(Wrap(CheckOptions(s_, *t, op_.options)));
  t->options = op_.options;
  return Status::Ok();
}

// ---- policies and support ------------------------------------------------------------------

Status Applier::CreatePolicy() {
  PLINTH_ASSIGN_OR_RETURN(Table * t, NeedTable(op_.table));
  if (t->FindPolicy(op_.policy.name)) return Fail("policy " + op_.policy.name + " already exists on " + t->name);
  PLINTH_RETURN_IF_ERROR(Wrap(CheckPolicyDef(s_, *t, op_.policy)));
  t->policies.push_back(internal::StoredPolicy(op_.policy));
  return Status::Ok();
}

Status Applier::DropPolicy() {
  PLINTH_ASSIGN_OR_RETURN(Table * t, NeedTable(op_.table));
  const schema::Policy* p = t->FindPolicy(op_.policy.name);
  if (p == nullptr) return Fail("policy " + op_.policy.name + " does not exist on " + t->name);
  if (!p->SameAs(op_.policy)) return Fail("the definition does not match policy " + p->name + " in the state");
  std::erase_if(t->policies, [&](const schema::Policy& x) { return x.name == op_.policy.name; });
  return Status::Ok();
}

Status Applier::AlterPolicy() {
  PLINTH_ASSIGN_OR_RETURN(Table * t, NeedTable(op_.table));
  const auto& o = op_.old_policy;
  const auto& n = op_.policy;
  if (o.name != n.name) return Fail("alter_policy keeps the name", Code::kInvalidArgument);
  if (o.command != n.command || o.restrictive != n.restrictive) {
    return Fail("ALTER POLICY cannot change the command or permissive/restrictive: drop and create it",
                Code::kInvalidArgument);
  }
  auto it = std::find_if(t->policies.begin(), t->policies.end(), [&](const schema::Policy& p) { return p.name == o.name; });
  if (it == t->policies.end()) return Fail("policy " + o.name + " does not exist on " + t->name);
  if (!it->SameAs(o)) return Fail("old_policy does not match policy " + o.name + " in the state");
  if (n.SameAs(o)) return Fail("the policy does not change", Code::kInvalidArgument);
  PLINTH_RETURN_IF_ERROR(Wrap(CheckPolicyDef(s_, *t, n)));
  *it = internal::StoredPolicy(n);
  return Status::Ok();
}

Status Applier::InstallSupport() {
  if (std::find(std::begin(kSupportComponents), std::end(kSupportComponents), op_.name) == std::end(kSupportComponents)) {
    return Fail("unknown support component " + Quote(op_.name) + " (expected timestamps, append_only, auth or audit)",
                Code::kInvalidArgument);
  }
  if (s_.support.count(op_.name)) return Fail("support component " + op_.name + " is already installed");
  s_.support.insert(op_.name);
  return Status::Ok();
}

Status Applier::RemoveSupport() {
  if (!s_.support.count(op_.name)) return Fail("support component " + op_.name + " is not installed");
  if (schema::RequiredSupport(s_).count(op_.name)) {
    return Fail("support component " + op_.name + " is still needed by a table or policy");
  }
  s_.support.erase(op_.name);
  return Status::Ok();
}

}  // namespace

Status ApplyOp(Schema& state, const Op& op) { return Applier(state, op).Run(); }

Result<Schema> Replay(const std::vector<Migration>& migrations, size_t count) {
  Schema state;
  count = std::min(count, migrations.size());
  for (size_t m = 0; m < count; ++m) {
    const Migration& mig = migrations[m];
    for (size_t i = 0; i < mig.up.size(); ++i) {
      Status st = ApplyOp(state, mig.up[i]);
      if (!st.ok()) {
        std::string where = mig.path.empty() ? "migration " + mig.version : mig.path;
        return st.WithContext(where + ": up[" + std::to_string(i) + "]");
      }
    }
  }
  return state;
}

}  // namespace plinth::migrate
