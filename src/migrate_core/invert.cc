// Invert: the operation that undoes another, computed against the state before it.
#include <algorithm>

#include "common/strings.h"
#include "migrate_core/state.h"
#include "plinth/migrate.h"

namespace plinth::migrate {

namespace {

bool Has(const std::vector<std::string>& v, const std::string& x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

// The reverse of a replace_enum's value_map: a value the replacement introduced maps back to
// the single old value that was mapped onto it. Merges (several old values onto one) and values
// that already existed cannot be told apart afterwards and are left unmapped.
std::map<std::string, std::string> ReverseValueMap(const Op& op) {
  std::map<std::string, std::vector<std::string>> sources;
  for (const auto& [removed, kept] : op.value_map) sources[kept].push_back(removed);
  std::map<std::string, std::string> out;
  for (const auto& [kept, removed] : sources) {
    if (removed.size() == 1 && !Has(op.old_values, kept)) out[kept] = removed.front();
  }
  return out;
}

}  // namespace

namespace internal {

Result<Op> InverseOf(const schema::Schema& before, const Op& op) {
  auto missing = [&]() {
    return Status(Code::kFailedPrecondition, op.Describe() + ": the object it changes is not in the state");
  };
  const schema::Table* table = before.FindTable(op.kind == OpKind::kDropTable ? op.table_def.name : op.table);
  Op inv;
  inv.table = op.table;
  switch (op.kind) {
    case OpKind::kCreateEnum:
      inv.kind = OpKind::kDropEnum;
      inv.enum_def = StoredEnum(op.enum_def);
      break;
    case OpKind::kDropEnum:
      inv.kind = OpKind::kCreateEnum;
      if (before.FindEnum(op.enum_def.name) == nullptr) return missing();
      inv.enum_def = StoredEnum(*before.FindEnum(op.enum_def.name));
      break;
    case OpKind::kAddEnumValue: {
      const schema::Enum* e = before.FindEnum(op.name);
      if (e == nullptr) return missing();
      inv.kind = OpKind::kReplaceEnum;
      inv.name = op.name;
      inv.enum_def = StoredEnum(*e);
      inv.old_values = e->values;
      auto at = op.before.empty() ? inv.old_values.end()
                                  : std::find(inv.old_values.begin(), inv.old_values.end(), op.before);
      inv.old_values.insert(at, op.value);
      inv.note = "PostgreSQL cannot drop an enum value: enum " + op.name + " is swapped for a type without '" +
                 op.value + "'; this fails if rows still hold '" + op.value + "' (change them first)";
      break;
    }
    case OpKind::kRenameEnumValue:
      inv.kind = OpKind::kRenameEnumValue;
      inv.name = op.name;
      inv.value = op.new_name;
      inv.new_name = op.value;
      break;
    case OpKind::kReplaceEnum: {
      inv.kind = OpKind::kReplaceEnum;
      inv.name = op.name;
      inv.old_values = op.enum_def.values;
      inv.enum_def.name = op.name;
      inv.enum_def.values = op.old_values;
      inv.value_map = ReverseValueMap(op);
      std::vector<std::string> removed;
      for (const auto& v : inv.old_values) {
        if (!Has(inv.enum_def.values, v)) removed.push_back(v);
      }
      inv.note = "restores enum " + op.name + " to [" + Join(op.old_values, ", ") + "] by a type swap" +
                 (removed.empty() ? std::string()
                                  : "; rows holding " + Join(removed, ", ") + " fail the conversion unless mapped");
      break;
    }
    case OpKind::kRenameEnum:
      inv.kind = OpKind::kRenameEnum;
      inv.name = op.new_name;
      inv.new_name = op.name;
      break;
    case OpKind::kCreateTable:
      inv.kind = OpKind::kDropTable;
      inv.table_def = StoredTableDef(op.table_def);
      break;
    case OpKind::kDropTable:
      inv.kind = OpKind::kCreateTable;
      if (table == nullptr) return missing();
      inv.table_def = StoredTableDef(*table);
      break;
    case OpKind::kRenameTable:
      inv.kind = OpKind::kRenameTable;
      inv.table = op.new_name;
      inv.new_name = op.table;
      break;
    case OpKind::kAddColumn:
      inv.kind = OpKind::kDropColumn;
      inv.column = StoredColumn(op.column);
      break;
    case OpKind::kDropColumn:
      inv.kind = OpKind::kAddColumn;
      if (table == nullptr || table->FindColumn(op.column.name) == nullptr) return missing();
      inv.column = StoredColumn(*table->FindColumn(op.column.name));
      break;
    case OpKind::kRenameColumn:
      inv.kind = OpKind::kRenameColumn;
      inv.name = op.new_name;
      inv.new_name = op.name;
      break;
    case OpKind::kAlterColumn:
      inv.kind = OpKind::kAlterColumn;
      inv.old_column = StoredColumn(op.column);
      inv.column = StoredColumn(op.old_column);
      break;
    case OpKind::kAddConstraint:
      inv.kind = OpKind::kDropConstraint;
      inv.constraint = StoredConstraint(op.constraint);
      break;
    case OpKind::kDropConstraint:
      inv.kind = OpKind::kAddConstraint;
      if (table == nullptr || table->FindConstraint(op.constraint.name) == nullptr) return missing();
      inv.constraint = StoredConstraint(*table->FindConstraint(op.constraint.name));
      break;
    case OpKind::kCreateIndex:
      inv.kind = OpKind::kDropIndex;
      inv.index = StoredIndex(op.index);
      inv.concurrently = op.concurrently;
      break;
    case OpKind::kDropIndex:
      inv.kind = OpKind::kCreateIndex;
      if (table == nullptr || table->FindIndex(op.index.name) == nullptr) return missing();
      inv.index = StoredIndex(*table->FindIndex(op.index.name));
      inv.concurrently = op.concurrently;
      break;
    case OpKind::kSetTableOptions:
      inv.kind = OpKind::kSetTableOptions;
      inv.old_options = op.options;
      inv.options = op.old_options;
      break;
    case OpKind::kCreatePolicy:
      inv.kind = OpKind::kDropPolicy;
      inv.policy = StoredPolicy(op.policy);
      break;
    case OpKind::kDropPolicy:
      inv.kind = OpKind::kCreatePolicy;
      if (table == nullptr || table->FindPolicy(op.policy.name) == nullptr) return missing();
      inv.policy = StoredPolicy(*table->FindPolicy(op.policy.name));
      break;
    case OpKind::kAlterPolicy:
      inv.kind = OpKind::kAlterPolicy;
      inv.old_policy = StoredPolicy(op.policy);
      inv.policy = StoredPolicy(op.old_policy);
      break;
    case OpKind::kInstallSupport:
      inv.kind = OpKind::kRemoveSupport;
      inv.name = op.name;
      break;
    case OpKind::kRemoveSupport:
      inv.kind = OpKind::kInstallSupport;
      inv.name = op.name;
      break;
    case OpKind::kRawSql:
      return Status(Code::kFailedPrecondition,
                    op.Describe() + ": hand-written SQL has no computed inverse: write its down by hand");
  }
  // OpLosesData consults the state only for the enum values of an altered column's type,
  // which the operation being inverted does not change when it is an alter_column.
  inv.data_loss = OpLosesData(before, inv);
  return inv;
}

}  // namespace internal

Result<Op> Invert(const schema::Schema& before, const Op& op) {
  // The inverse is only meaningful for an operation that applies.
  schema::Schema probe = before;
  PLINTH_RETURN_IF_ERROR(ApplyOp(probe, op));
  return internal::InverseOf(before, op);
}

}  // namespace plinth::migrate
