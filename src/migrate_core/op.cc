// Operation names, descriptions and the small helpers of Migration.
#include <array>
#include <utility>

#include "plinth/migrate.h"

namespace plinth::migrate {

namespace {

constexpr std::array<std::pair<OpKind, std::string_view>, 24> kOpNames = {{
    {OpKind::kCreateEnum, "create_enum"},
    {OpKind::kDropEnum, "drop_enum"},
    {OpKind::kAddEnumValue, "add_enum_value"},
    {OpKind::kRenameEnumValue, "rename_enum_value"},
    {OpKind::kReplaceEnum, "replace_enum"},
    {OpKind::kRenameEnum, "rename_enum"},
    {OpKind::kCreateTable, "create_table"},
    {OpKind::kDropTable, "drop_table"},
    {OpKind::kRenameTable, "rename_table"},
    {OpKind::kAddColumn, "add_column"},
    {OpKind::kDropColumn, "drop_column"},
    {OpKind::kRenameColumn, "rename_column"},
    {OpKind::kAlterColumn, "alter_column"},
    {OpKind::kAddConstraint, "add_constraint"},
    {OpKind::kDropConstraint, "drop_constraint"},
    {OpKind::kCreateIndex, "create_index"},
    {OpKind::kDropIndex, "drop_index"},
    {OpKind::kSetTableOptions, "set_table_options"},
    {OpKind::kCreatePolicy, "create_policy"},
    {OpKind::kDropPolicy, "drop_policy"},
    {OpKind::kAlterPolicy, "alter_policy"},
    {OpKind::kInstallSupport, "install_support"},
    {OpKind::kRemoveSupport, "remove_support"},
    {OpKind::kRawSql, "raw_sql"},
}};

}  // namespace

std::string_view OpKindName(OpKind k) {
  for (const auto& [kind, name] : kOpNames) {
    if (kind == k) return name;
  }
  return "unknown";
}

std::optional<OpKind> ParseOpKind(std::string_view name) {
  for (const auto& [kind, n] : kOpNames) {
    if (n == name) return kind;
  }
  return std::nullopt;
}

std::string Op::Describe() const {
  std::string out(OpKindName(kind));
  out += ' ';
  switch (kind) {
    case OpKind::kCreateEnum:
    case OpKind::kDropEnum:
      return out + enum_def.name;
    case OpKind::kAddEnumValue:
      return out + name + " '" + value + "'" + (before.empty() ? "" : " before '" + before + "'");
    case OpKind::kRenameEnumValue:
      return out + name + " '" + value + "' -> '" + new_name + "'";
    case OpKind::kReplaceEnum:
      return out + name;
    case OpKind::kRenameEnum:
      return out + name + " -> " + new_name;
    case OpKind::kCreateTable:
    case OpKind::kDropTable:
      return out + table_def.name;
    case OpKind::kRenameTable:
      return out + table + " -> " + new_name;
    case OpKind::kAddColumn:
    case OpKind::kDropColumn:
    case OpKind::kAlterColumn:
      return out + table + "." + column.name;
    case OpKind::kRenameColumn:
      return out + table + "." + name + " -> " + new_name;
    case OpKind::kAddConstraint:
    case OpKind::kDropConstraint:
      return out + table + "." + constraint.name;
    case OpKind::kCreateIndex:
    case OpKind::kDropIndex:
      return out + table + "." + index.name + (concurrently ? " concurrently" : "");
    case OpKind::kSetTableOptions:
      return out + table;
    case OpKind::kCreatePolicy:
    case OpKind::kDropPolicy:
    case OpKind::kAlterPolicy:
      return out + table + "." + policy.name;
    case OpKind::kInstallSupport:
    case OpKind::kRemoveSupport:
      return out + name;
    case OpKind::kRawSql:
      out.pop_back();
      return out;
  }
  return out;
}

bool Migration::HasDataLoss(bool down_direction) const {
  for (const Op& op : down_direction ? down : up) {
    if (op.data_loss) return true;
  }
  return false;
}

}  // namespace plinth::migrate
