// Model helpers: type spelling, equality of stored definitions, lookups, names.
#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>

#include "common/strings.h"
#include "plinth/schema.h"

namespace plinth::schema {

std::string Type::ToString() const {
  switch (kind) {
    case TypeKind::kUuid: return "uuid";
    case TypeKind::kText: return max_length > 0 ? "text(" + std::to_string(max_length) + ")" : "text";
    case TypeKind::kInteger: return "integer";
    case TypeKind::kBigint: return "bigint";
    case TypeKind::kBoolean: return "boolean";
    case TypeKind::kDecimal:
      return "decimal(" + std::to_string(precision) + "," + std::to_string(scale) + ")";
    case TypeKind::kTimestamp: return "timestamp";
    case TypeKind::kDate: return "date";
    case TypeKind::kJson: return "json";
    case TypeKind::kBytes: return "bytes";
    case TypeKind::kEnum: return enum_name;
  }
  return "?";
}

namespace {

constexpr int kMaxTextLength = 10485760;  // PostgreSQL's varchar limit
constexpr int kMaxDecimalPrecision = 1000;

// Parses "name(a)" or "name(a,b)": fills base and args; false on malformed parentheses.
bool SplitArgs(std::string_view text, std::string& base, std::vector<int>& args, bool& bad) {
  bad = false;
  size_t open = text.find('(');
  if (open == std::string_view::npos) {
    base = Trim(text);
    return true;
  }
  if (text.back() != ')') {
    bad = true;
    return false;
  }
  base = Trim(text.substr(0, open));
  std::string inner(text.substr(open + 1, text.size() - open - 2));
  for (const std::string& part : Split(inner, ',')) {
    std::string p = Trim(part);
    int v = 0;
    auto [ptr, ec] = std::from_chars(p.data(), p.data() + p.size(), v);
    if (p.empty() || ec != std::errc() || ptr != p.data() + p.size()) {
      bad = true;
      return false;
    }
    args.push_back(v);
  }
  return true;
}

}  // namespace

Result<Type> ParseType(std::string_view text, const std::function<bool(std::string_view)>& is_enum) {
  std::string lowered = ToLower(Trim(text));
  // Collapse internal runs of spaces so "timestamp  with time zone" is accepted.
  std::string norm;
  for (char c : lowered) {
    if (c == ' ' && !norm.empty() && norm.back() == ' ') continue;
    norm.push_back(c);
  }
  std::string base;
  std::vector<int> args;
  bool bad = false;
  SplitArgs(norm, base, args, bad);
  if (bad) {
    return Status(Code::kInvalidArgument,
                  "malformed type '" + std::string(text) + "': expected e.g. text(200) or decimal(12,2)");
  }
  auto no_args = [&](TypeKind k) -> Result<Type> {
    if (!args.empty()) {
      return Status(Code::kInvalidArgument, "type '" + base + "' takes no arguments");
    }
    Type t;
    t.kind = k;
    return t;
  };
  if (base == "uuid") return no_args(TypeKind::kUuid);
  if (base == "integer" || base == "int" || base == "int4") return no_args(TypeKind::kInteger);
  if (base == "bigint" || base == "int8") return no_args(TypeKind::kBigint);
  if (base == "boolean" || base == "bool") return no_args(TypeKind::kBoolean);
  if (base == "timestamp" || base == "timestamptz" || base == "timestamp with time zone") {
    return no_args(TypeKind::kTimestamp);
  }
  if (base == "date") return no_args(TypeKind::kDate);
  if (base == "json" || base == "jsonb") return no_args(TypeKind::kJson);
  if (base == "bytes" || base == "bytea") return no_args(TypeKind::kBytes);
  if (base == "text" || base == "varchar") {
    Type t;
    t.kind = TypeKind::kText;
    if (args.size() > 1) return Status(Code::kInvalidArgument, "text takes one argument: text(max_length)");
    if (args.size() == 1) {
      if (args[0] < 1 || args[0] > kMaxTextLength) {
        return Status(Code::kInvalidArgument, "text length must be between 1 and 10485760");
      }
      t.max_length = args[0];
    } else if (base == "varchar") {
      return Status(Code::kInvalidArgument, "varchar needs a length: varchar(n), or use text");
    }
    return t;
  }
  if (base == "decimal" || base == "numeric") {
    if (args.size() != 2) {
      return Status(Code::kInvalidArgument,
                    "decimal needs precision and scale: decimal(precision,scale), e.g. decimal(12,2)");
    }
    if (args[0] < 1 || args[0] > kMaxDecimalPrecision) {
      return Status(Code::kInvalidArgument, "decimal precision must be between 1 and 1000");
    }
    if (args[1] < 0 || args[1] > args[0]) {
      return Status(Code::kInvalidArgument, "decimal scale must be between 0 and the precision");
    }
    Type t;
    t.kind = TypeKind::kDecimal;
    t.precision = args[0];
    t.scale = args[1];
    return t;
  }
  if (args.empty() && is_enum && is_enum(Trim(text))) {
    Type t;
    t.kind = TypeKind::kEnum;
    t.enum_name = Trim(text);
    return t;
  }
  return Status(Code::kInvalidArgument,
                "unknown type '" + std::string(text) +
                    "': expected uuid, text, text(n), integer, bigint, boolean, decimal(p,s), "
                    "timestamp, date, json, bytes or a declared enum");
}

bool Column::SameAs(const Column& o) const {
  return name == o.name && type == o.type && not_null == o.not_null &&
         default_value == o.default_value && encrypted == o.encrypted;
}

std::string_view FkActionName(FkAction a) {
  switch (a) {
    case FkAction::kNoAction: return "no action";
    case FkAction::kRestrict: return "restrict";
    case FkAction::kCascade: return "cascade";
    case FkAction::kSetNull: return "set null";
    case FkAction::kSetDefault: return "set default";
  }
  return "no action";
}

Result<FkAction> ParseFkAction(std::string_view text) {
  std::string t = ToLower(Trim(text));
  std::replace(t.begin(), t.end(), '_', ' ');
  for (FkAction a : {FkAction::kNoAction, FkAction::kRestrict, FkAction::kCascade, FkAction::kSetNull,
                     FkAction::kSetDefault}) {
    if (t == FkActionName(a)) return a;
  }
  return Status(Code::kInvalidArgument, "unknown foreign key action '" + std::string(text) +
                                            "': expected no action, restrict, cascade, set null or set default");
}

bool Constraint::SameAs(const Constraint& o) const {
  return kind == o.kind && name == o.name && columns == o.columns && expression == o.expression &&
         ref_table == o.ref_table && ref_columns == o.ref_columns && on_delete == o.on_delete &&
         on_update == o.on_update && set_columns == o.set_columns;
}

bool Index::SameAs(const Index& o) const {
  return name == o.name && columns == o.columns && unique == o.unique && where == o.where;
}

std::string_view PolicyCommandName(PolicyCommand c) {
  switch (c) {
    case PolicyCommand::kAll: return "all";
    case PolicyCommand::kSelect: return "select";
    case PolicyCommand::kInsert: return "insert";
    case PolicyCommand::kUpdate: return "update";
    case PolicyCommand::kDelete: return "delete";
  }
  return "all";
}

bool Policy::SameAs(const Policy& o) const {
  return name == o.name && command == o.command && restrictive == o.restrictive &&
         using_expr == o.using_expr && check_expr == o.check_expr;
}

namespace {
template <typename T, typename Vec>
T* FindByName(Vec& v, std::string_view n) {
  for (auto& x : v) {
    if (x.name == n) return &x;
  }
  return nullptr;
}
}  // namespace

const Column* Table::FindColumn(std::string_view n) const { return FindByName<const Column>(columns, n); }
Column* Table::FindColumn(std::string_view n) { return FindByName<Column>(columns, n); }
const Constraint* Table::FindConstraint(std::string_view n) const {
  return FindByName<const Constraint>(constraints, n);
}
const Index* Table::FindIndex(std::string_view n) const { return FindByName<const Index>(indexes, n); }
const Policy* Table::FindPolicy(std::string_view n) const { return FindByName<const Policy>(policies, n); }
const Constraint* Table::PrimaryKey() const {
  for (const auto& c : constraints) {
    if (c.kind == ConstraintKind::kPrimaryKey) return &c;
  }
  return nullptr;
}

const Table* Schema::FindTable(std::string_view n) const { return FindByName<const Table>(tables, n); }
Table* Schema::FindTable(std::string_view n) { return FindByName<Table>(tables, n); }
const Enum* Schema::FindEnum(std::string_view n) const { return FindByName<const Enum>(enums, n); }
Enum* Schema::FindEnum(std::string_view n) { return FindByName<Enum>(enums, n); }

std::set<std::string> RequiredSupport(const Schema& s) {
  std::set<std::string> out;
  for (const auto& t : s.tables) {
    if (t.options.timestamps) out.insert(std::string(kSupportTimestamps));
    if (t.options.append_only) out.insert(std::string(kSupportAppendOnly));
    if (!t.policies.empty()) out.insert(std::string(kSupportAuth));
  }
  if (!s.tables.empty()) out.insert(std::string(kSupportAudit));
  return out;
}

bool IsReservedName(std::string_view name) {
  // SQL keywords reserved by PostgreSQL or SQLite that would need quoting everywhere, plus
  // names plinth uses itself.
  static constexpr std::string_view kReserved[] = {
      "all", "analyse", "analyze", "and", "any", "array", "as", "asc", "asymmetric", "authorization",
      "both", "case", "cast", "check", "collate", "column", "constraint", "create", "cross",
      "current_catalog", "current_date", "current_role", "current_schema", "current_time",
      "current_timestamp", "current_user", "default", "deferrable", "desc", "distinct", "do", "else",
      "end", "except", "exists", "false", "fetch", "for", "foreign", "freeze", "from", "full", "grant",
      "group", "having", "ilike", "in", "initially", "inner", "intersect", "into", "is", "isnull", "join",
      "lateral", "leading", "left", "like", "limit", "localtime", "localtimestamp", "natural", "not",
      "notnull", "null", "offset", "on", "only", "or", "order", "outer", "overlaps", "placing", "primary",
      "references", "returning", "right", "select", "session_user", "similar", "some", "symmetric",
      "table", "tablesample", "then", "to", "trailing", "true", "union", "unique", "user", "using",
      "variadic", "verbose", "when", "where", "window", "with"};
  std::string lower = ToLower(name);
  if (StartsWith(lower, "plinth_") || StartsWith(lower, "sqlite_") || StartsWith(lower, "pg_")) return true;
  if (lower == "plinth" || lower == "auth" || lower == "rowid" || lower == "oid" || lower == "ctid" ||
      lower == "xmin" || lower == "xmax" || lower == "cmin" || lower == "cmax" || lower == "tableoid") {
    return true;
  }
  return std::find(std::begin(kReserved), std::end(kReserved), lower) != std::end(kReserved);
}

std::string ObjectName(std::string_view natural) {
  constexpr size_t kMaxIdentifier = 63;
  constexpr size_t kHashDigits = 8;
  if (natural.size() <= kMaxIdentifier) return std::string(natural);
  std::string hash = Sha256Hex(natural).substr(0, kHashDigits);
  return std::string(natural.substr(0, kMaxIdentifier - kHashDigits - 1)) + "_" + hash;
}

}  // namespace plinth::schema
