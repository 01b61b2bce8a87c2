// Diff: the operations that turn one schema state into another, in an order that applies, and
// their inverse. docs/migrations.md ("How diff orders operations") is the specification.
//
// The differ keeps a working state and applies every operation to it as it is emitted, so each
// decision is taken against the state the operation will really meet, and each operation's
// inverse is computed against the state before it. Decisions that must be taken before the
// renames run (what to drop early) compare a *preview*: `from` with its dropped tables and
// columns removed and the renames applied, which names everything as `to` does.
#include <algorithm>
#include <map>
#include <set>

#include "common/strings.h"
#include "migrate_core/expr_refs.h"
#include "migrate_core/state.h"
#include "plinth/migrate.h"

namespace plinth::migrate {

using schema::Column;
using schema::Constraint;
using schema::ConstraintKind;
using schema::Schema;
using schema::Table;
using schema::TableOptions;
using schema::TypeKind;

namespace {

bool Contains(const std::vector<std::string>& v, const std::string& x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

bool IsKey(const Constraint& c) { return c.kind == ConstraintKind::kPrimaryKey || c.kind == ConstraintKind::kUnique; }

TableOptions Intersect(const TableOptions& a, const TableOptions& b) {
  TableOptions o;
  o.tenant_scoped = a.tenant_scoped && b.tenant_scoped;
  o.timestamps = a.timestamps && b.timestamps;
  o.append_only = a.append_only && b.append_only;
  o.row_security = a.row_security && b.row_security;
  return o;
}

std::string SqlLiteral(std::string_view v) {
  std::string out = "'";
  for (char c : v) {
    if (c == '\'') out.push_back('\'');
    out.push_back(c);
  }
  out.push_back('\'');
  return out;
}

// How the values of an enum that exists on both sides change.
struct EnumPlan {
  std::string name;                                     // the target's name
  std::vector<std::pair<std::string, std::string>> renames;  // old label → new label
  std::vector<std::pair<std::string, std::string>> adds;     // value, before ("" = at the end)
  bool replace = false;                                 // removed or reordered values: type swap
  std::map<std::string, std::string> value_map;         // for the swap: removed → kept (hinted)
};

// Whether an operation uses enum `e`'s label `value` (a default or a string literal in an
// expression): an added value used in the same migration must be committed before use.
bool OpUsesEnumValue(const Op& op, const std::string& e, const std::string& value) {
  auto column_uses = [&](const Column& c) {
    return c.type.kind == TypeKind::kEnum && c.type.enum_name == e &&
           c.default_value.kind == schema::DefaultKind::kLiteral && c.default_value.value == value;
  };
  std::string literal = SqlLiteral(value);
  auto text_uses = [&](const std::string& t) { return t.find(literal) != std::string::npos; };
  switch (op.kind) {
    case OpKind::kCreateTable:
      for (const auto& c : op.table_def.columns) {
        if (column_uses(c)) return true;
      }
      for (const auto& c : op.table_def.constraints) {
        if (text_uses(c.expression)) return true;
      }
      return false;
    case OpKind::kAddColumn:
    case OpKind::kAlterColumn:
      return column_uses(op.column);
    case OpKind::kAddConstraint:
      return text_uses(op.constraint.expression);
    case OpKind::kCreateIndex:
      return text_uses(op.index.where);
    case OpKind::kCreatePolicy:
    case OpKind::kAlterPolicy:
      return text_uses(op.policy.using_expr) || text_uses(op.policy.check_expr);
    default:
      return false;
  }
}

class Differ {
 public:
  Differ(const Schema& from, const Schema& to, const DiffOptions& opts) : from_(from), to_(to), opts_(opts), w_(from) {}

  Result<DiffResult> Run();

 private:
  // ---- matching ----
  void MatchEnums();
  void MatchTables();
  void MatchColumns();
  const std::string* FromTableOf(const std::string& target) const {
    auto it = table_to_from_.find(target);
    return it == table_to_from_.end() ? nullptr : &it->second;
  }
  bool TableMatched(const std::string& from_name) const { return table_from_to_.count(from_name) > 0; }

  // ---- planning ----
  Status PlanEnumValues();
  Status BuildPreview();
  void FindRetypedColumns();
  bool UsesRetyped(const std::string& table, const std::string& expr) const;

  // ---- phases ----
  Status InstallSupport();
  Status Enums();
  Status EarlyDrops();
  Status DisableOptions();
  Status DropColumns();
  Status DropTables();
  Status Renames();
  Status CreateTables();
  Status AddColumns();
  Status AlterColumns();
  Status EnumSwapsAndDrops();
  Status EnableOptions();
  Status AddConstraints(bool foreign_keys);
  Status CreateIndexes();
  Status Policies();
  Status RemoveSupport();
  void NoteEnumValuesUsed();
  Status Verify(const DiffResult& r) const;

  Status Emit(Op op);

  const Schema& from_;
  const Schema& to_;
  const DiffOptions& opts_;
  Schema w_;        // working state: `from` + everything emitted so far
  Schema preview_;  // `from` without its dropped tables and columns, renames applied

  std::map<std::string, std::string> enum_to_from_, enum_from_to_;
  std::map<std::string, std::string> table_to_from_, table_from_to_;
  // Matched tables (by target name): target column → from column.
  std::map<std::string, std::map<std::string, std::string>> column_to_from_;
  std::vector<EnumPlan> enum_plans_;
  std::set<std::pair<std::string, std::string>> retyped_;  // (target table, target column)
  std::set<std::string> created_tables_;                   // target names created here

  std::vector<Op> up_;
  std::vector<Op> inverses_;  // inverse of up_[i], in up order
  std::vector<std::string> notes_;
};

// ---- matching --------------------------------------------------------------------------------

void Differ::MatchEnums() {
  for (const auto& e : to_.enums) {
    if (from_.FindEnum(e.name)) {
      enum_to_from_[e.name] = e.name;
      enum_from_to_[e.name] = e.name;
    }
  }
  if (!opts_.use_rename_hints) return;
  for (const auto& e : to_.enums) {
    if (enum_to_from_.count(e.name) || e.renamed_from.empty()) continue;
    const std::string& old = e.renamed_from;
    if (from_.FindEnum(old) && !to_.FindEnum(old) && !enum_from_to_.count(old)) {
      enum_to_from_[e.name] = old;
      enum_from_to_[old] = e.name;
    }
  }
}

void Differ::MatchTables() {
  for (const auto& t : to_.tables) {
    if (from_.FindTable(t.name)) {
      table_to_from_[t.name] = t.name;
      table_from_to_[t.name] = t.name;
    }
  }
  if (!opts_.use_rename_hints) return;
  for (const auto& t : to_.tables) {
    if (table_to_from_.count(t.name) || t.renamed_from.empty()) continue;
    const std::string& old = t.renamed_from;
    if (from_.FindTable(old) && !to_.FindTable(old) && !table_from_to_.count(old)) {
      table_to_from_[t.name] = old;
      table_from_to_[old] = t.name;
    }
  }
}

void Differ::MatchColumns() {
  for (const auto& [target, source] : table_to_from_) {
    const Table& tt = *to_.FindTable(target);
    const Table& ft = *from_.FindTable(source);
    auto& map = column_to_from_[target];
    std::set<std::string> used;
    for (const auto& c : tt.columns) {
      if (ft.FindColumn(c.name)) {
        map[c.name] = c.name;
        used.insert(c.name);
      }
    }
    if (!opts_.use_rename_hints) continue;
    for (const auto& c : tt.columns) {
      if (map.count(c.name) || c.renamed_from.empty()) continue;
      const std::string& old = c.renamed_from;
      if (ft.FindColumn(old) && !tt.FindColumn(old) && !used.count(old)) {
        map[c.name] = old;
        used.insert(old);
      }
    }
  }
}

// ---- planning --------------------------------------------------------------------------------

Status Differ::PlanEnumValues() {
  for (const auto& target : to_.enums) {
    auto it = enum_to_from_.find(target.name);
    if (it == enum_to_from_.end()) continue;
    const schema::Enum& source = *from_.FindEnum(it->second);
    EnumPlan plan;
    plan.name = target.name;
    const std::vector<std::string>& wanted = target.values;
    std::vector<std::string> current = source.values;
    // Hinted renames (new label = old label) whose old label exists and new label does not.
    for (const auto& [new_label, old_label] : target.renamed_values) {
      if (!opts_.use_rename_hints) break;
      if (Contains(current, old_label) && !Contains(current, new_label) && !Contains(wanted, old_label) &&
          Contains(wanted, new_label)) {
        plan.renames.emplace_back(old_label, new_label);
        *std::find(current.begin(), current.end(), old_label) = new_label;
      }
    }
    // Is `current` a subsequence of `wanted`? Then adding values is enough.
    size_t k = 0;
    for (const auto& v : wanted) {
      if (k < current.size() && current[k] == v) ++k;
    }
    bool additions_only = k == current.size();
    for (size_t i = 0; i < wanted.size(); ++i) {
      if (Contains(current, wanted[i])) continue;
      std::string before;
      if (additions_only) {
        for (size_t j = i + 1; j < wanted.size(); ++j) {
          if (Contains(current, wanted[j])) {
            before = wanted[j];
            break;
          }
        }
      }
      plan.adds.emplace_back(wanted[i], before);
    }
    if (!additions_only) {
      plan.replace = true;
      // A hint naming a label that exists on both sides folds the old one into it.
      if (opts_.use_rename_hints) {
        for (const auto& [new_label, old_label] : target.renamed_values) {
          if (Contains(current, old_label) && !Contains(wanted, old_label) && Contains(wanted, new_label)) {
            plan.value_map[old_label] = new_label;
          }
        }
      }
    }
    if (!plan.renames.empty() || !plan.adds.empty() || plan.replace) enum_plans_.push_back(std::move(plan));
  }
  return Status::Ok();
}

Status Differ::BuildPreview() {
  preview_ = from_;
  std::erase_if(preview_.tables, [&](const Table& t) { return !TableMatched(t.name); });
  for (auto& t : preview_.tables) {
    const auto& map = column_to_from_[table_from_to_[t.name]];
    std::set<std::string> kept;
    for (const auto& [target, source] : map) kept.insert(source);
    std::erase_if(t.columns, [&](const Column& c) { return !kept.count(c.name); });
  }
  auto apply = [&](const Op& op) -> Status {
    Status st = ApplyOp(preview_, op);
    return st.ok() ? st : st.WithContext("cannot plan the renames");
  };
  for (const auto& [target, source] : enum_to_from_) {
    if (target == source) continue;
    Op op;
    op.kind = OpKind::kRenameEnum;
    op.name = source;
    op.new_name = target;
    PLINTH_RETURN_IF_ERROR(apply(op));
  }
  for (const EnumPlan& plan : enum_plans_) {
    for (const auto& [old_label, new_label] : plan.renames) {
      Op op;
      op.kind = OpKind::kRenameEnumValue;
      op.name = plan.name;
      op.value = old_label;
      op.new_name = new_label;
      PLINTH_RETURN_IF_ERROR(apply(op));
    }
  }
  for (const auto& [target, source] : table_to_from_) {
    if (target == source) continue;
    Op op;
    op.kind = OpKind::kRenameTable;
    op.table = source;
    op.new_name = target;
    PLINTH_RETURN_IF_ERROR(apply(op));
  }
  for (const auto& [table, map] : column_to_from_) {
    for (const auto& [target, source] : map) {
      if (target == source) continue;
      Op op;
      op.kind = OpKind::kRenameColumn;
      op.table = table;
      op.name = source;
      op.new_name = target;
      PLINTH_RETURN_IF_ERROR(apply(op));
    }
  }
  return Status::Ok();
}

void Differ::FindRetypedColumns() {
  std::set<std::string> swapped;
  for (const EnumPlan& p : enum_plans_) {
    if (p.replace) swapped.insert(p.name);
  }
  for (const auto& pt : preview_.tables) {
    const Table& tt = *to_.FindTable(pt.name);
    for (const auto& pc : pt.columns) {
      const Column* tc = tt.FindColumn(pc.name);
      if (tc == nullptr) continue;
      bool swap = pc.type.kind == TypeKind::kEnum && swapped.count(pc.type.enum_name);
      if (swap || !(pc.type == tc->type) || pc.encrypted != tc->encrypted) retyped_.emplace(pt.name, pc.name);
    }
  }
}

bool Differ::UsesRetyped(const std::string& table, const std::string& expr) const {
  if (retyped_.empty() || expr.empty()) return false;
  auto has_column = [this](std::string_view t, std::string_view c) {
    const Table* x = preview_.FindTable(t);
    return x != nullptr && x->FindColumn(c) != nullptr;
  };
  auto refs = internal::CollectRefs(expr, table, has_column);
  if (!refs.ok()) return true;  // unreadable: re-create it to be safe
  for (const auto& r : refs->columns) {
    if (retyped_.count({r.table, r.column})) return true;
  }
  return false;
}

// ---- emitting --------------------------------------------------------------------------------

Status Differ::Emit(Op op) {
  auto inverse = internal::InverseOf(w_, op);
  Status st = ApplyOp(w_, op);
  if (!st.ok()) return st.WithContext("cannot plan the migration");
  if (!inverse.ok()) return inverse.status().WithContext("cannot plan the migration");
  op.data_loss = op.data_loss || internal::OpLosesData(w_, op);
  up_.push_back(std::move(op));
  inverses_.push_back(std::move(*inverse));
  return Status::Ok();
}

Status Differ::InstallSupport() {
  std::set<std::string> wanted = internal::EffectiveSupport(to_);
  for (const auto& name : wanted) {
    if (w_.support.count(name)) continue;
    Op op;
    op.kind = OpKind::kInstallSupport;
    op.name = name;
    PLINTH_RETURN_IF_ERROR(Emit(std::move(op)));
  }
  return Status::Ok();
}

Status Differ::Enums() {
  for (const auto& e : to_.enums) {
    auto it = enum_to_from_.find(e.name);
    if (it == enum_to_from_.end() || it->second == e.name) continue;
    Op op;
    op.kind = OpKind::kRenameEnum;
    op.name = it->second;
    op.new_name = e.name;
    notes_.push_back("enum " + e.name + " is renamed from " + it->second + " (renamed_from)");
    PLINTH_RETURN_IF_ERROR(Emit(std::move(op)));
  }
  for (const auto& e : to_.enums) {
    if (enum_to_from_.count(e.name)) continue;
    Op op;
    op.kind = OpKind::kCreateEnum;
    op.enum_def = internal::StoredEnum(e);
    PLINTH_RETURN_IF_ERROR(Emit(std::move(op)));
  }
  for (const EnumPlan& plan : enum_plans_) {
    for (const auto& [old_label, new_label] : plan.renames) {
      Op op;
      op.kind = OpKind::kRenameEnumValue;
      op.name = plan.name;
      op.value = old_label;
      op.new_name = new_label;
      notes_.push_back("enum " + plan.name + ": value '" + old_label + "' is renamed to '" + new_label +
                       "' (renamed_values)");
      PLINTH_RETURN_IF_ERROR(Emit(std::move(op)));
    }
    for (const auto& [value, before] : plan.adds) {
      Op op;
      op.kind = OpKind::kAddEnumValue;
      op.name = plan.name;
      op.value = value;
      op.before = before;
      PLINTH_RETURN_IF_ERROR(Emit(std::move(op)));
    }
  }
  return Status::Ok();
}

Status Differ::EarlyDrops() {
  std::vector<Op> policies, foreign_keys, indexes, others;
  std::set<std::pair<std::string, std::string>> dropped_constraints;  // (from table, name)
  std::vector<std::pair<std::string, std::vector<std::string>>> dropped_keys;  // (from table, columns)

  auto drop_policy = [&](const Table& t, const schema::Policy& p) {
    Op op;
    op.kind = OpKind::kDropPolicy;
    op.table = t.name;
    op.policy = internal::StoredPolicy(p);
    policies.push_back(std::move(op));
  };
  auto drop_index = [&](const Table& t, const schema::Index& i, bool table_survives) {
    Op op;
    op.kind = OpKind::kDropIndex;
    op.table = t.name;
    op.index = internal::StoredIndex(i);
    op.concurrently = table_survives && opts_.concurrent_indexes;
    indexes.push_back(std::move(op));
    if (i.unique && i.where.empty()) {
      std::vector<std::string> cols;
      for (const auto& c : i.columns) cols.push_back(c.name);
      dropped_keys.emplace_back(t.name, cols);
    }
  };
  auto drop_constraint = [&](const Table& t, const Constraint& c) {
    if (!dropped_constraints.insert({t.name, c.name}).second) return;
    Op op;
    op.kind = OpKind::kDropConstraint;
    op.table = t.name;
    op.constraint = internal::StoredConstraint(c);
    (c.kind == ConstraintKind::kForeignKey ? foreign_keys : others).push_back(std::move(op));
    if (IsKey(c)) dropped_keys.emplace_back(t.name, c.columns);
  };

  for (const Table& ft : from_.tables) {
    auto match = table_from_to_.find(ft.name);
    if (match == table_from_to_.end()) {
      // A dropped table: its policies and indexes go first (drop_table carries the rest).
      for (const auto& p : ft.policies) drop_policy(ft, p);
      for (const auto& i : ft.indexes) drop_index(ft, i, false);
      continue;
    }
    const Table& pt = *preview_.FindTable(match->second);
    const Table& tt = *to_.FindTable(match->second);
    for (const auto& p : pt.policies) {
      const schema::Policy* q = tt.FindPolicy(p.name);
      bool retyped = UsesRetyped(pt.name, p.using_expr) || UsesRetyped(pt.name, p.check_expr);
      bool incompatible = q == nullptr || q->command != p.command || q->restrictive != p.restrictive;
      if (incompatible || retyped) {
        if (retyped && q != nullptr) {
          notes_.push_back("policy " + tt.name + "." + p.name +
                           " is dropped and re-created: PostgreSQL cannot change the type of a column a policy uses");
        }
        drop_policy(ft, *ft.FindPolicy(p.name));
      }
    }
    for (const auto& i : pt.indexes) {
      const schema::Index* j = tt.FindIndex(i.name);
      if (j == nullptr || !j->SameAs(i) || UsesRetyped(pt.name, i.where)) drop_index(ft, *ft.FindIndex(i.name), true);
    }
    for (const auto& c : pt.constraints) {
      const Constraint* d = tt.FindConstraint(c.name);
      bool retyped = c.kind == ConstraintKind::kCheck && UsesRetyped(pt.name, c.expression);
      if (d == nullptr || !d->SameAs(c) || retyped) drop_constraint(ft, *ft.FindConstraint(c.name));
    }
  }
  // Foreign keys that reference a key being dropped go first, and come back once it is back.
  for (size_t k = 0; k < dropped_keys.size(); ++k) {
    auto [table, cols] = dropped_keys[k];  // a copy: the loop may append
    std::set<std::string> key(cols.begin(), cols.end());
    for (const Table& ft : from_.tables) {
      for (const Constraint& c : ft.constraints) {
        if (c.kind == ConstraintKind::kForeignKey && c.ref_table == table &&
            std::set<std::string>(c.ref_columns.begin(), c.ref_columns.end()) == key) {
          drop_constraint(ft, c);
        }
      }
    }
  }
  for (auto* list : {&policies, &foreign_keys, &indexes, &others}) {
    for (Op& op : *list) PLINTH_RETURN_IF_ERROR(Emit(std::move(op)));
  }
  return Status::Ok();
}

Status Differ::DisableOptions() {
  for (const auto& [source, target] : table_from_to_) {
    const Table& cur = *w_.FindTable(source);
    TableOptions mid = Intersect(cur.options, to_.FindTable(target)->options);
    if (mid == cur.options) continue;
    Op op;
    op.kind = OpKind::kSetTableOptions;
    op.table = source;
    op.old_options = cur.options;
    op.options = mid;
    PLINTH_RETURN_IF_ERROR(Emit(std::move(op)));
  }
  return Status::Ok();
}

Status Differ::DropColumns() {
  for (const Table& ft : from_.tables) {
    auto match = table_from_to_.find(ft.name);
    if (match == table_from_to_.end()) continue;
    std::set<std::string> kept;
    for (const auto& [target, source] : column_to_from_[match->second]) kept.insert(source);
    for (const Column& c : ft.columns) {
      if (kept.count(c.name)) continue;
      Op op;
      op.kind = OpKind::kDropColumn;
      op.table = ft.name;
      op.column = internal::StoredColumn(*w_.FindTable(ft.name)->FindColumn(c.name));
      PLINTH_RETURN_IF_ERROR(Emit(std::move(op)));
    }
  }
  return Status::Ok();
}

Status Differ::DropTables() {
  std::vector<std::string> remaining;
  for (const Table& ft : from_.tables) {
    if (!TableMatched(ft.name)) remaining.push_back(ft.name);
  }
  // Foreign keys of remaining dropped tables that reference `name` (other than itself).
  auto incoming = [&](const std::string& name) {
    std::vector<std::pair<std::string, Constraint>> out;
    for (const auto& other : remaining) {
      if (other == name) continue;
      for (const Constraint& c : w_.FindTable(other)->constraints) {
        if (c.kind == ConstraintKind::kForeignKey && c.ref_table == name) out.emplace_back(other, c);
      }
    }
    return out;
  };
  while (!remaining.empty()) {
    // Children before parents: the first table nothing else still references.
    auto next = std::find_if(remaining.begin(), remaining.end(),
                             [&](const std::string& n) { return incoming(n).empty(); });
    if (next == remaining.end()) {
      // A cycle: drop the foreign keys into the first table, then the table.
      next = remaining.begin();
      for (auto& [table, fk] : incoming(*next)) {
        Op op;
        op.kind = OpKind::kDropConstraint;
        op.table = table;
        op.constraint = internal::StoredConstraint(fk);
        PLINTH_RETURN_IF_ERROR(Emit(std::move(op)));
      }
    }
    Op op;
    op.kind = OpKind::kDropTable;
    op.table_def = internal::StoredTableDef(*w_.FindTable(*next));
    PLINTH_RETURN_IF_ERROR(Emit(std::move(op)));
    remaining.erase(next);
  }
  return Status::Ok();
}

Status Differ::Renames() {
  for (const Table& tt : to_.tables) {
    const std::string* source = FromTableOf(tt.name);
    if (source == nullptr || *source == tt.name) continue;
    Op op;
    op.kind = OpKind::kRenameTable;
    op.table = *source;
    op.new_name = tt.name;
    notes_.push_back("table " + tt.name + " is renamed from " + *source + " (renamed_from)");
    PLINTH_RETURN_IF_ERROR(Emit(std::move(op)));
  }
  for (const Table& tt : to_.tables) {
    auto it = column_to_from_.find(tt.name);
    if (it == column_to_from_.end()) continue;
    for (const Column& c : tt.columns) {
      auto m = it->second.find(c.name);
      if (m == it->second.end() || m->second == c.name) continue;
      Op op;
      op.kind = OpKind::kRenameColumn;
      op.table = tt.name;
      op.name = m->second;
      op.new_name = c.name;
      notes_.push_back("column " + tt.name + "." + c.name + " is renamed from " + m->second + " (renamed_from)");
      PLINTH_RETURN_IF_ERROR(Emit(std::move(op)));
    }
  }
  return Status::Ok();
}

Status Differ::CreateTables() {
  std::vector<const Table*> pending;
  for (const Table& tt : to_.tables) {
    if (!FromTableOf(tt.name)) pending.push_back(&tt);
  }
  auto is_pending = [&](const std::string& name) {
    return std::any_of(pending.begin(), pending.end(), [&](const Table* t) { return t->name == name; });
  };
  auto waits_for_other = [&](const Table* t) {
    for (const Constraint& c : t->constraints) {
      if (c.kind == ConstraintKind::kForeignKey && c.ref_table != t->name && is_pending(c.ref_table)) return true;
    }
    return false;
  };
  while (!pending.empty()) {
    // Parents before children: the first table whose referenced tables all exist.
    auto next = std::find_if(pending.begin(), pending.end(), [&](const Table* t) { return !waits_for_other(t); });
    bool cycle = next == pending.end();
    if (cycle) next = pending.begin();
    const Table& tt = **next;
    Table def = internal::StoredTableDef(tt);
    // Foreign keys whose referenced table or key does not exist yet are added later.
    std::erase_if(def.constraints, [&](const Constraint& c) {
      if (c.kind != ConstraintKind::kForeignKey) return false;
      if (c.ref_table == tt.name) return !internal::HasKeyOn(def, c.ref_columns);
      const Table* ref = w_.FindTable(c.ref_table);
      bool later = ref == nullptr || !internal::HasKeyOn(*ref, c.ref_columns);
      if (later && ref == nullptr) {
        notes_.push_back("foreign key " + tt.name + "." + c.name + " is added after table " + c.ref_table +
                         " is created (the tables reference each other)");
      }
      return later;
    });
    Op op;
    op.kind = OpKind::kCreateTable;
    op.table_def = std::move(def);
    created_tables_.insert(tt.name);
    pending.erase(next);
    PLINTH_RETURN_IF_ERROR(Emit(std::move(op)));
  }
  return Status::Ok();
}

Status Differ::AddColumns() {
  for (const Table& tt : to_.tables) {
    if (created_tables_.count(tt.name)) continue;
    for (const Column& c : tt.columns) {
      if (w_.FindTable(tt.name)->FindColumn(c.name)) continue;
      Op op;
      op.kind = OpKind::kAddColumn;
      op.table = tt.name;
      op.column = internal::StoredColumn(c);
      PLINTH_RETURN_IF_ERROR(Emit(std::move(op)));
    }
  }
  return Status::Ok();
}

Status Differ::AlterColumns() {
  for (const Table& tt : to_.tables) {
    for (const Column& c : tt.columns) {
      const Column* cur = w_.FindTable(tt.name)->FindColumn(c.name);
      if (cur->SameAs(c)) continue;
      Op op;
      op.kind = OpKind::kAlterColumn;
      op.table = tt.name;
      op.old_column = internal::StoredColumn(*cur);
      op.column = internal::StoredColumn(c);
      PLINTH_RETURN_IF_ERROR(Emit(std::move(op)));
    }
  }
  return Status::Ok();
}

Status Differ::EnumSwapsAndDrops() {
  for (const EnumPlan& plan : enum_plans_) {
    if (!plan.replace) continue;
    const schema::Enum& cur = *w_.FindEnum(plan.name);
    const schema::Enum& target = *to_.FindEnum(plan.name);
    Op op;
    op.kind = OpKind::kReplaceEnum;
    op.name = plan.name;
    op.old_values = cur.values;
    op.enum_def = internal::StoredEnum(target);
    op.value_map = plan.value_map;
    std::vector<std::string> removed, users;
    for (const auto& v : cur.values) {
      if (!Contains(target.values, v)) removed.push_back(v + (plan.value_map.count(v) ? " (→ " + plan.value_map.at(v) + ")" : ""));
    }
    for (const auto& t : w_.tables) {
      for (const auto& c : t.columns) {
        if (c.type.kind == TypeKind::kEnum && c.type.enum_name == plan.name) users.push_back(t.name + "." + c.name);
      }
    }
    op.note = "PostgreSQL cannot " + std::string(removed.empty() ? "reorder" : "remove") + " enum values: " + plan.name +
              " is swapped for a new type with values [" + Join(target.values, ", ") + "]" +
              (users.empty() ? std::string() : ", converting " + Join(users, ", ")) +
              (removed.empty() ? std::string()
                               : "; removed: " + Join(removed, ", ") +
                                     " (rows holding an unmapped removed value make the conversion fail)");
    notes_.push_back("enum " + plan.name + ": " + op.note);
    PLINTH_RETURN_IF_ERROR(Emit(std::move(op)));
  }
  for (const auto& e : from_.enums) {
    if (enum_from_to_.count(e.name)) continue;
    Op op;
    op.kind = OpKind::kDropEnum;
    op.enum_def = internal::StoredEnum(*w_.FindEnum(e.name));
    PLINTH_RETURN_IF_ERROR(Emit(std::move(op)));
  }
  return Status::Ok();
}

Status Differ::EnableOptions() {
  for (const Table& tt : to_.tables) {
    const Table& cur = *w_.FindTable(tt.name);
    if (cur.options == tt.options) continue;
    Op op;
    op.kind = OpKind::kSetTableOptions;
    op.table = tt.name;
    op.old_options = cur.options;
    op.options = tt.options;
    PLINTH_RETURN_IF_ERROR(Emit(std::move(op)));
  }
  return Status::Ok();
}

Status Differ::AddConstraints(bool foreign_keys) {
  // Primary keys first, then unique constraints, then checks: the order a reader expects.
  // Foreign keys come in a pass of their own, after the keys and unique indexes they reference.
  static const std::vector<ConstraintKind> kKeysAndChecks = {ConstraintKind::kPrimaryKey, ConstraintKind::kUnique,
                                                             ConstraintKind::kCheck};
  static const std::vector<ConstraintKind> kForeignKeys = {ConstraintKind::kForeignKey};
  for (const Table& tt : to_.tables) {
    for (ConstraintKind kind : foreign_keys ? kForeignKeys : kKeysAndChecks) {
      for (const Constraint& c : tt.constraints) {
        if (c.kind != kind || w_.FindTable(tt.name)->FindConstraint(c.name)) continue;
        Op op;
        op.kind = OpKind::kAddConstraint;
        op.table = tt.name;
        op.constraint = internal::StoredConstraint(c);
        PLINTH_RETURN_IF_ERROR(Emit(std::move(op)));
      }
    }
  }
  return Status::Ok();
}

Status Differ::CreateIndexes() {
  for (const Table& tt : to_.tables) {
    for (const schema::Index& i : tt.indexes) {
      if (w_.FindTable(tt.name)->FindIndex(i.name)) continue;
      Op op;
      op.kind = OpKind::kCreateIndex;
      op.table = tt.name;
      op.index = internal::StoredIndex(i);
      // A table created by this migration is empty: no need to build its indexes concurrently.
      op.concurrently = !created_tables_.count(tt.name) && opts_.concurrent_indexes;
      PLINTH_RETURN_IF_ERROR(Emit(std::move(op)));
    }
  }
  return Status::Ok();
}

Status Differ::Policies() {
  for (const Table& tt : to_.tables) {
    for (const schema::Policy& p : tt.policies) {
      const schema::Policy* cur = w_.FindTable(tt.name)->FindPolicy(p.name);
      if (cur != nullptr && cur->SameAs(p)) continue;
      Op op;
      op.table = tt.name;
      op.policy = internal::StoredPolicy(p);
      if (cur == nullptr) {
        op.kind = OpKind::kCreatePolicy;
      } else {
        op.kind = OpKind::kAlterPolicy;
        op.old_policy = internal::StoredPolicy(*cur);
      }
      PLINTH_RETURN_IF_ERROR(Emit(std::move(op)));
    }
  }
  return Status::Ok();
}

Status Differ::RemoveSupport() {
  std::set<std::string> wanted = internal::EffectiveSupport(to_);
  std::set<std::string> have = w_.support;
  for (const auto& name : have) {
    if (wanted.count(name)) continue;
    Op op;
    op.kind = OpKind::kRemoveSupport;
    op.name = name;
    PLINTH_RETURN_IF_ERROR(Emit(std::move(op)));
  }
  return Status::Ok();
}

void Differ::NoteEnumValuesUsed() {
  for (size_t i = 0; i < up_.size(); ++i) {
    Op& add = up_[i];
    if (add.kind != OpKind::kAddEnumValue) continue;
    for (size_t j = i + 1; j < up_.size(); ++j) {
      if (OpUsesEnumValue(up_[j], add.name, add.value)) {
        add.note = "'" + add.value + "' is used by " + up_[j].Describe() +
                   ": it must be committed before that use (PostgreSQL refuses a new enum value in the "
                   "transaction that added it)";
        notes_.push_back("enum " + add.name + ": " + add.note);
        break;
      }
    }
  }
}

Status Differ::Verify(const DiffResult& r) const {
  if (std::string d = internal::StateDifference(w_, to_); !d.empty()) {
    return Status(Code::kInternal, "the planned migration does not reach the schema (" + d + "): this is a bug in plinth");
  }
  Schema back = w_;
  for (size_t i = 0; i < r.down.size(); ++i) {
    Status st = ApplyOp(back, r.down[i]);
    if (!st.ok()) return Status(Code::kInternal, "the planned down migration does not apply (" + st.message() + "): this is a bug in plinth");
  }
  if (std::string d = internal::StateDifference(back, from_); !d.empty()) {
    return Status(Code::kInternal, "the planned down migration does not restore the state (" + d + "): this is a bug in plinth");
  }
  return Status::Ok();
}

Result<DiffResult> Differ::Run() {
  MatchEnums();
  MatchTables();
  MatchColumns();
  PLINTH_RETURN_IF_ERROR(PlanEnumValues());
  PLINTH_RETURN_IF_ERROR(BuildPreview());
  FindRetypedColumns();

  PLINTH_RETURN_IF_ERROR(InstallSupport());
  PLINTH_RETURN_IF_ERROR(EarlyDrops());
  PLINTH_RETURN_IF_ERROR(DisableOptions());
  PLINTH_RETURN_IF_ERROR(DropColumns());
  PLINTH_RETURN_IF_ERROR(DropTables());
  PLINTH_RETURN_IF_ERROR(Enums());
  PLINTH_RETURN_IF_ERROR(Renames());
  PLINTH_RETURN_IF_ERROR(CreateTables());
  PLINTH_RETURN_IF_ERROR(AddColumns());
  PLINTH_RETURN_IF_ERROR(AlterColumns());
  PLINTH_RETURN_IF_ERROR(EnumSwapsAndDrops());
  PLINTH_RETURN_IF_ERROR(EnableOptions());
  PLINTH_RETURN_IF_ERROR(AddConstraints(/*foreign_keys=*/false));
  PLINTH_RETURN_IF_ERROR(CreateIndexes());
  PLINTH_RETURN_IF_ERROR(AddConstraints(/*foreign_keys=*/true));
  PLINTH_RETURN_IF_ERROR(Policies());
  PLINTH_RETURN_IF_ERROR(RemoveSupport());
  NoteEnumValuesUsed();

  DiffResult r;
  r.up = std::move(up_);
  r.down.assign(std::make_move_iterator(inverses_.rbegin()), std::make_move_iterator(inverses_.rend()));
  r.notes = std::move(notes_);
  PLINTH_RETURN_IF_ERROR(Verify(r));
  return r;
}

}  // namespace

Result<DiffResult> Diff(const Schema& from, const Schema& to, const DiffOptions& opts) {
  return Differ(from, to, opts).Run();
}

}  // namespace plinth::migrate
