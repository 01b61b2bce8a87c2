// plinth/schema.h — the schema model: tables, columns, types, enums, constraints, indexes,
// policies, and how it is loaded from `schema.toml`.
//
// The model is *expanded*: everything the database will hold is explicit. The loader adds the
// tenant column of tenant-scoped tables, created_at/updated_at of tables with timestamps, the
// automatic restrictive tenant policy, tenant_id in front of every key and index of a
// tenant-scoped table, and a name for every constraint and index. The migration engine diffs
// and replays expanded models, so what a migration creates is exactly what the model says.
//
// Equality (`SameAs`) compares what the database stores ("state"); positions, comments,
// `renamed_from` hints and API exposure are file-only and are ignored by it.
//
// Thread-safety: plain values; load functions are reentrant.
#pragma once

#include <functional>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "plinth/diagnostic.h"
#include "plinth/status.h"

namespace plinth::schema {

enum class TypeKind : unsigned char {
  kUuid,
  kText,       // optional max_length
  kInteger,    // 32-bit
  kBigint,     // 64-bit
  kBoolean,
  kDecimal,    // precision, scale
  kTimestamp,  // timestamp with time zone, microsecond precision, stored/returned as UTC
  kDate,
  kJson,
  kBytes,
  kEnum,       // enum_name
};

struct Type {
  TypeKind kind = TypeKind::kText;
  int max_length = 0;  // kText: 0 = unbounded
  int precision = 0;   // kDecimal: total digits, 1..1000
  int scale = 0;       // kDecimal: digits after the point, 0..precision
  std::string enum_name;

  // Canonical spelling: uuid, text, text(200), integer, bigint, boolean, decimal(12,2),
  // timestamp, date, json, bytes, or the enum's name.
  std::string ToString() const;
  bool operator==(const Type& o) const = default;
};

// Parses a type as written in a schema or migration file. Accepts the canonical spellings and
// the aliases text(n)=varchar(n), int, int4, int8, bool, numeric(p,s), timestamptz,
// "timestamp with time zone", jsonb, bytea. `is_enum` says whether a bare name is a declared
// enum. Errors say what was expected.
Result<Type> ParseType(std::string_view text, const std::function<bool(std::string_view)>& is_enum);

enum class DefaultKind : unsigned char {
  kNone,
  kLiteral,  // `value` holds the canonical literal text for the column's type
  kNow,      // the current time (timestamp and date columns)
  kNewUuid,  // a new random uuid (uuid columns)
};

struct Default {
  DefaultKind kind = DefaultKind::kNone;
  // kLiteral only. Canonical per type: text/enum/uuid as-is (uuid lower-case); integers and
  // decimals in plain decimal notation; booleans "true"/"false"; json compact (no spaces);
  // timestamps RFC 3339 in UTC with 'Z'; dates YYYY-MM-DD; bytes as lower-case hex.
  std::string value;
  bool operator==(const Default& o) const = default;
};

// How the REST API exposes a column (not stored in the database; not part of migrations).
enum class Access : unsigned char {
  kReadWrite,
  kReadOnly,   // returned, never accepted in a body
  kWriteOnly,  // accepted in a body, never returned
  kHidden,     // neither returned nor accepted (password hashes, key hashes)
};

struct Column {
  std::string name;
  Type type;
  bool not_null = false;
  Default default_value;
  // Stored as AES-256-GCM ciphertext (physical type bytes); `type` is the logical type.
  bool encrypted = false;

  // File-only attributes.
  Access access = Access::kReadWrite;
  std::string comment;
  std::string renamed_from;
  SourcePos pos;

  // Same stored definition: name, type, not_null, default, encrypted.
  bool SameAs(const Column& o) const;
};

enum class ConstraintKind : unsigned char { kPrimaryKey, kUnique, kCheck, kForeignKey };

enum class FkAction : unsigned char { kNoAction, kRestrict, kCascade, kSetNull, kSetDefault };

// "no action", "restrict", "cascade", "set null", "set default".
std::string_view FkActionName(FkAction a);
// Accepts the names above (also with '_' for ' ', case-insensitive).
Result<FkAction> ParseFkAction(std::string_view text);

struct Constraint {
  ConstraintKind kind = ConstraintKind::kUnique;
  std::string name;                  // always set in a loaded model
  std::vector<std::string> columns;  // primary key, unique, foreign key columns
  std::string expression;            // kCheck: canonical expression text (see expr.h)
  std::string ref_table;             // kForeignKey
  std::vector<std::string> ref_columns;
  FkAction on_delete = FkAction::kNoAction;
  FkAction on_update = FkAction::kNoAction;
  // kForeignKey with set null / set default: the columns the action sets. Empty = all
  // `columns`. For a composite tenant foreign key (tenant_id, user_id) this is {"user_id"}:
  // the tenant column is never nulled.
  std::vector<std::string> set_columns;

  SourcePos pos;  // file-only

  bool SameAs(const Constraint& o) const;
};

struct IndexColumn {
  std::string name;
  bool descending = false;
  bool operator==(const IndexColumn& o) const = default;
};

struct Index {
  std::string name;  // database name, unique in the schema
  std::vector<IndexColumn> columns;
  bool unique = false;
  std::string where;  // partial index predicate: canonical expression text, empty = none

  SourcePos pos;  // file-only
  bool SameAs(const Index& o) const;
};

enum class PolicyCommand : unsigned char { kAll, kSelect, kInsert, kUpdate, kDelete };
std::string_view PolicyCommandName(PolicyCommand c);  // "all", "select", …

struct Policy {
  std::string name;  // unique per table
  PolicyCommand command = PolicyCommand::kAll;
  bool restrictive = false;  // false = permissive
  std::string using_expr;    // canonical expression text, empty = none
  std::string check_expr;    // canonical expression text, empty = none

  SourcePos pos;  // file-only
  bool SameAs(const Policy& o) const;
};

// Table-wide behaviour that the database maintains.
struct TableOptions {
  bool tenant_scoped = false;  // has the tenant column; keys and indexes lead with it
  bool timestamps = false;     // created_at/updated_at, updated_at maintained by a trigger
  bool append_only = false;    // UPDATE, DELETE (and TRUNCATE on PostgreSQL) refused by triggers
  bool row_security = false;   // PostgreSQL: ENABLE + FORCE ROW LEVEL SECURITY
  bool operator==(const TableOptions& o) const = default;
};

struct Table {
  std::string name;
  std::vector<Column> columns;  // in file order (new columns of later migrations at the end)
  std::vector<Constraint> constraints;
  std::vector<Index> indexes;
  std::vector<Policy> policies;
  TableOptions options;

  // File-only attributes.
  std::string comment;
  std::string renamed_from;
  Access api = Access::kReadWrite;  // kHidden: no REST resource; kReadOnly: GET only
  SourcePos pos;

  const Column* FindColumn(std::string_view n) const;
  Column* FindColumn(std::string_view n);
  const Constraint* PrimaryKey() const;
  const Constraint* FindConstraint(std::string_view n) const;
  const Index* FindIndex(std::string_view n) const;
  const Policy* FindPolicy(std::string_view n) const;
};

struct Enum {
  std::string name;
  std::vector<std::string> values;  // in declared order

  std::string renamed_from;                            // file-only
  std::map<std::string, std::string> renamed_values;   // file-only: new name → old name
  SourcePos pos;                                       // file-only
  bool SameAs(const Enum& o) const { return name == o.name && values == o.values; }
};

struct AppConfig {
  std::string name;
  std::string tenants_table;                // empty: the app has no tenants
  std::string tenant_column = "tenant_id";  // column added to tenant-scoped tables
  bool operator==(const AppConfig& o) const = default;
};

// Support objects that migrations install in the database (PostgreSQL functions in the
// `plinth` and `auth` schemas; on SQLite only the audit table). Named by the capability that
// needs them.
inline constexpr std::string_view kSupportTimestamps = "timestamps";    // touch updated_at
inline constexpr std::string_view kSupportAppendOnly = "append_only";   // refuse update/delete
inline constexpr std::string_view kSupportAuth = "auth";                // auth.tenant_id() …
// The data runtime's system objects: the append-only audit table plinth_audit (both
// dialects) and plinth.raise_if() (PostgreSQL). Required by every schema with a table.
inline constexpr std::string_view kSupportAudit = "audit";
inline constexpr std::string_view kAuditTable = "plinth_audit";

struct Schema {
  AppConfig app;
  std::vector<Enum> enums;
  std::vector<Table> tables;  // in file order
  std::set<std::string> support;

  std::string file;  // where it was loaded from (file-only)

  const Table* FindTable(std::string_view n) const;
  Table* FindTable(std::string_view n);
  const Enum* FindEnum(std::string_view n) const;
  Enum* FindEnum(std::string_view n);
};

// The support objects a schema needs, derived from its tables and policies.
std::set<std::string> RequiredSupport(const Schema& s);

// Loads and validates a schema file. Every problem found is reported in `diags` with its
// file:line:column; the returned Result is an error (kInvalidArgument, message summarising the
// count) when any error was found. Warnings do not fail the load.
Result<Schema> LoadSchemaFile(const std::string& path, Diagnostics& diags);
// Same, from text; `file_name` is used in diagnostics.
Result<Schema> LoadSchemaText(std::string_view text, const std::string& file_name, Diagnostics& diags);

// Names plinth reserves: its own tables and schemas, and SQL keywords that cannot be used as
// identifiers on one of the databases without quoting surprises.
bool IsReservedName(std::string_view name);

// Database name for a generated object, at most 63 bytes (PostgreSQL's limit): when the
// natural name is longer it is cut and ends in '_' + 8 hex digits of its hash.
std::string ObjectName(std::string_view natural);

}  // namespace plinth::schema
