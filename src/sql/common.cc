// Shared pieces of the SQL layer: quoting, the type mapping, defaults, expressions and the
// names of the objects plinth manages beside tables.
#include <algorithm>
#include <cctype>
#include <functional>

#include "common/strings.h"
#include "plinth/db.h"
#include "sql/internal.h"

namespace plinth::sql {

Dialect DialectFor(db::Backend b) {
  return b == db::Backend::kPostgres ? Dialect::kPostgres : Dialect::kSqlite;
}

std::string_view DialectName(Dialect d) { return d == Dialect::kPostgres ? "postgresql" : "sqlite"; }

std::string ColumnType(Dialect d, const schema::Column& c) {
  return d == Dialect::kPostgres ? internal::PostgresType(c, /*quote_enum=*/true)
                                 : internal::SqliteType(c);
}

namespace internal {

using schema::TypeKind;

std::string Ident(std::string_view name) { return db::QuoteIdent(name); }
std::string Literal(std::string_view text) { return db::QuoteLiteral(text); }

std::string IdentList(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) {
    if (!out.empty()) out += ", ";
    out += Ident(n);
  }
  return out;
}

std::string LiteralList(const std::vector<std::string>& texts) {
  std::string out;
  for (const auto& t : texts) {
    if (!out.empty()) out += ", ";
    out += Literal(t);
  }
  return out;
}

std::string PostgresType(const schema::Column& c, bool quote_enum) {
  if (c.encrypted) return "bytea";
  const schema::Type& t = c.type;
  switch (t.kind) {
    case TypeKind::kUuid: return "uuid";
    case TypeKind::kText:
      return t.max_length > 0 ? "character varying(" + std::to_string(t.max_length) + ")" : "text";
    case TypeKind::kInteger: return "integer";
    case TypeKind::kBigint: return "bigint";
    case TypeKind::kBoolean: return "boolean";
    case TypeKind::kDecimal:
      return "numeric(" + std::to_string(t.precision) + "," + std::to_string(t.scale) + ")";
    case TypeKind::kTimestamp: return "timestamp with time zone";
    case TypeKind::kDate: return "date";
    case TypeKind::kJson: return "jsonb";
    case TypeKind::kBytes: return "bytea";
    case TypeKind::kEnum: return quote_enum ? Ident(t.enum_name) : t.enum_name;
  }
  return "text";
}

std::string SqliteType(const schema::Column& c) {
  if (c.encrypted) return "BLOB";
  switch (c.type.kind) {
    case TypeKind::kInteger:
    case TypeKind::kBigint:
    case TypeKind::kBoolean: return "INTEGER";
    case TypeKind::kDecimal: return "NUMERIC";
    case TypeKind::kBytes: return "BLOB";
    case TypeKind::kUuid:
    case TypeKind::kText:
    case TypeKind::kTimestamp:
    case TypeKind::kDate:
    case TypeKind::kJson:
    case TypeKind::kEnum: return "TEXT";
  }
  return "TEXT";
}

namespace {
constexpr std::string_view kInt32Min = "-2147483648";
constexpr std::string_view kInt32Max = "2147483647";
}  // namespace

Result<std::string> SqliteTypeCheck(const schema::Schema& s, const schema::Column& c) {
  if (c.encrypted) return std::string();
  const std::string col = Ident(c.name);
  switch (c.type.kind) {
    case TypeKind::kText:
      if (c.type.max_length > 0) return "length(" + col + ") <= " + std::to_string(c.type.max_length);
      return std::string();
    case TypeKind::kInteger:
      // Affinity is applied before CHECK: '12' is stored as 12 and passes, 1.5 and 'x' do not.
      return "typeof(" + col + ") IN ('integer', 'null') AND " + col + " BETWEEN " +
             std::string(kInt32Min) + " AND " + std::string(kInt32Max);
    case TypeKind::kBigint: return "typeof(" + col + ") IN ('integer', 'null')";
    case TypeKind::kBoolean: return col + " IN (0, 1)";
    // json_valid(NULL) is 0 on SQLite 3.40 (NULL from 3.45 on): a NULL json value is valid.
    case TypeKind::kJson: return col + " IS NULL OR json_valid(" + col + ")";
    case TypeKind::kEnum: {
      const schema::Enum* e = s.FindEnum(c.type.enum_name);
      if (e == nullptr) {
        return Status(Code::kFailedPrecondition,
                      "column " + c.name + ": enum " + c.type.enum_name + " does not exist");
      }
      if (e->values.empty()) return col + " IS NULL";
      return col + " IN (" + LiteralList(e->values) + ")";
    }
    case TypeKind::kUuid:
    case TypeKind::kDecimal:
    case TypeKind::kTimestamp:
    case TypeKind::kDate:
    case TypeKind::kBytes: return std::string();
  }
  return std::string();
}

std::string SqliteTypeCheckName(const schema::Column& c) { return schema::ObjectName(c.name + "_type"); }

namespace {

bool IsIntegerText(std::string_view v) {
  if (!v.empty() && v.front() == '-') v.remove_prefix(1);
  return !v.empty() && std::all_of(v.begin(), v.end(), [](unsigned char ch) { return std::isdigit(ch); });
}

bool IsDecimalText(std::string_view v) {
  size_t dot = v.find('.');
  if (dot == std::string_view::npos) return IsIntegerText(v);
  std::string_view frac = v.substr(dot + 1);
  return IsIntegerText(v.substr(0, dot)) && !frac.empty() &&
         std::all_of(frac.begin(), frac.end(), [](unsigned char ch) { return std::isdigit(ch); });
}

bool IsHexText(std::string_view v) {
  return v.size() % 2 == 0 &&
         std::all_of(v.begin(), v.end(), [](unsigned char ch) { return std::isxdigit(ch); });
}

// SQLite stores timestamps as RFC 3339 UTC with exactly 6 fractional digits so that text order
// is time order; the model's canonical literal may carry fewer.
std::string SixDigitTimestamp(const std::string& v) {
  if (v.size() < 20 || v.back() != 'Z' || v[10] != 'T') return v;
  std::string base = v.substr(0, 19);
  std::string frac;
  if (v[19] == '.') frac = v.substr(20, v.size() - 21);
  if (!std::all_of(frac.begin(), frac.end(), [](unsigned char ch) { return std::isdigit(ch); })) return v;
  constexpr size_t kDigits = 6;
  frac.resize(kDigits, '0');
  return base + "." + frac + "Z";
}

// An expression producing a random version-4 uuid in canonical lower-case form.
constexpr std::string_view kSqliteNewUuid =
    "(lower(hex(randomblob(4))) || '-' || lower(hex(randomblob(2))) || '-4' || "
    "substr(lower(hex(randomblob(2))), 2) || '-' || substr('89ab', 1 + (random() & 3), 1) || "
    "substr(lower(hex(randomblob(2))), 2) || '-' || lower(hex(randomblob(6))))";
constexpr std::string_view kSqliteNow = "(strftime('%Y-%m-%dT%H:%M:%f000Z', 'now'))";
constexpr std::string_view kSqliteToday = "(date('now'))";

}  // namespace

Result<std::string> DefaultSql(Dialect d, const schema::Column& c) {
  const bool pg = d == Dialect::kPostgres;
  const schema::Default& def = c.default_value;
  auto bad = [&](std::string_view what) {
    return Status(Code::kInvalidArgument, "column " + c.name + ": default '" + def.value +
                                              "' is not " + std::string(what));
  };
  switch (def.kind) {
    case schema::DefaultKind::kNone: return std::string();
    case schema::DefaultKind::kNow:
      if (c.type.kind == TypeKind::kDate) return std::string(pg ? "CURRENT_DATE" : kSqliteToday);
      if (c.type.kind == TypeKind::kTimestamp) return std::string(pg ? "now()" : kSqliteNow);
      return Status(Code::kInvalidArgument,
                    "column " + c.name + ": default now needs a timestamp or date column");
    case schema::DefaultKind::kNewUuid:
      if (c.type.kind != TypeKind::kUuid) {
        return Status(Code::kInvalidArgument, "column " + c.name + ": default uuid needs a uuid column");
      }
      return std::string(pg ? "gen_random_uuid()" : kSqliteNewUuid);
    case schema::DefaultKind::kLiteral: break;
  }
  const std::string& v = def.value;
  switch (c.type.kind) {
    case TypeKind::kInteger:
    case TypeKind::kBigint:
      if (!IsIntegerText(v)) return bad("an integer");
      return v;
    case TypeKind::kDecimal:
      if (!IsDecimalText(v)) return bad("a decimal number");
      // SQLite: NUMERIC affinity turns the text into a number when that is exact.
      return pg ? v : Literal(v);
    case TypeKind::kBoolean:
      if (v == "true") return std::string(pg ? "true" : "1");
      if (v == "false") return std::string(pg ? "false" : "0");
      return bad("true or false");
    case TypeKind::kBytes:
      if (!IsHexText(v)) return bad("hexadecimal bytes");
      return pg ? "'\\x" + v + "'::bytea" : "X'" + v + "'";
    case TypeKind::kTimestamp: return Literal(pg ? v : SixDigitTimestamp(v));
    case TypeKind::kUuid:
    case TypeKind::kText:
    case TypeKind::kDate:
    case TypeKind::kJson:
    case TypeKind::kEnum: return Literal(v);
  }
  return Literal(v);
}

bool SqliteDefaultIsConstant(const schema::Column& c) {
  return c.default_value.kind == schema::DefaultKind::kNone ||
         c.default_value.kind == schema::DefaultKind::kLiteral;
}

bool InPrimaryKey(const schema::Table& t, std::string_view column) {
  const schema::Constraint* pk = t.PrimaryKey();
  return pk != nullptr && std::find(pk->columns.begin(), pk->columns.end(), column) != pk->columns.end();
}

bool ColumnNotNull(const schema::Table& t, const schema::Column& c) {
  return c.not_null || InPrimaryKey(t, c.name);
}

Result<std::string> RenderExpression(Dialect d, const schema::Schema& s, const schema::Table& t,
                                     std::string_view canonical, expr::Context ctx) {
  Result<expr::Node> node = expr::ParseStored(canonical, s, t, ctx);
  if (!node.ok()) {
    return node.status().WithContext("table " + t.name + ": expression '" + std::string(canonical) + "'");
  }
  expr::RenderOptions opts;
  opts.dialect = d;
  return expr::Render(*node, opts);
}

Result<std::set<ColumnRef>> ExpressionColumns(const schema::Schema& s, const schema::Table& t,
                                              std::string_view canonical, expr::Context ctx) {
  Result<expr::Node> node = expr::ParseStored(canonical, s, t, ctx);
  if (!node.ok()) {
    return node.status().WithContext("table " + t.name + ": expression '" + std::string(canonical) + "'");
  }
  std::set<ColumnRef> out;
  std::function<void(const expr::Node&)> walk = [&](const expr::Node& n) {
    if (n.kind == expr::NodeKind::kColumn) {
      out.emplace(n.column_table.empty() ? t.name : n.column_table, n.text);
    }
    for (const auto& child : n.children) walk(child);
  };
  walk(*node);
  return out;
}

std::string TouchTriggerName(std::string_view table) {
  return schema::ObjectName(std::string(table) + "_touch_updated_at");
}
std::string PgRefuseChangeTriggerName(std::string_view table) {
  return schema::ObjectName(std::string(table) + "_refuse_change");
}
std::string PgRefuseTruncateTriggerName(std::string_view table) {
  return schema::ObjectName(std::string(table) + "_refuse_truncate");
}
std::string SqliteRefuseUpdateTriggerName(std::string_view table) {
  return schema::ObjectName(std::string(table) + "_refuse_update");
}
std::string SqliteRefuseDeleteTriggerName(std::string_view table) {
  return schema::ObjectName(std::string(table) + "_refuse_delete");
}
std::string FkDeleteTriggerName(std::string_view fk) { return schema::ObjectName(std::string(fk) + "_on_delete"); }
std::string FkUpdateTriggerName(std::string_view fk) { return schema::ObjectName(std::string(fk) + "_on_update"); }

bool SetsColumnSubset(const schema::Constraint& fk) {
  if (fk.kind != schema::ConstraintKind::kForeignKey || fk.set_columns.empty()) return false;
  std::set<std::string> set(fk.set_columns.begin(), fk.set_columns.end());
  std::set<std::string> all(fk.columns.begin(), fk.columns.end());
  return set != all;
}

namespace {
bool IsSetAction(schema::FkAction a) {
  return a == schema::FkAction::kSetNull || a == schema::FkAction::kSetDefault;
}
}  // namespace

bool SqliteNeedsDeleteTrigger(const schema::Constraint& fk) {
  return SetsColumnSubset(fk) && IsSetAction(fk.on_delete);
}
bool SqliteNeedsUpdateTrigger(const schema::Constraint& fk) {
  return SetsColumnSubset(fk) && IsSetAction(fk.on_update);
}

std::vector<std::string> SupportFunctions(std::string_view component) {
  if (component == schema::kSupportTimestamps) return {"plinth.touch_updated_at"};
  if (component == schema::kSupportAppendOnly) return {"plinth.refuse_change"};
  if (component == schema::kSupportAuth) {
    return {"auth.has_permission", "auth.has_role", "auth.role", "auth.tenant_id", "auth.user_id"};
  }
  if (component == schema::kSupportAudit) return {"plinth.audit_refuse_change", "plinth.raise_if"};
  return {};
}

}  // namespace internal
}  // namespace plinth::sql
