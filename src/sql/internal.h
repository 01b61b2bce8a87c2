// sql/internal.h — helpers shared by the SQL layer's renderers, introspection and catalog
// (internal to src/sql).
//
// Thread-safety: all functions are reentrant.
#pragma once

#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "plinth/expr.h"
#include "plinth/migrate.h"
#include "plinth/schema.h"
#include "plinth/sql.h"
#include "plinth/status.h"

namespace plinth::sql::internal {

// ---- Quoting -------------------------------------------------------------------------------

std::string Ident(std::string_view name);                       // "name"
std::string Literal(std::string_view text);                     // 'text'
std::string IdentList(const std::vector<std::string>& names);   // "a", "b"
std::string LiteralList(const std::vector<std::string>& texts); // 'a', 'b'

// ---- Types and defaults --------------------------------------------------------------------

// PostgreSQL type as format_type() prints it ("character varying(200)", "timestamp with time
// zone"); enums quoted when `quote_enum` (DDL), bare otherwise (catalog vocabulary).
std::string PostgresType(const schema::Column& c, bool quote_enum);
// SQLite declared type: TEXT, INTEGER, NUMERIC or BLOB.
std::string SqliteType(const schema::Column& c);
// SQLite CHECK expression enforcing the logical type, "" when the type needs none. The enum's
// values come from `s`; fails when the enum is missing.
Result<std::string> SqliteTypeCheck(const schema::Schema& s, const schema::Column& c);
// Name of the column's type check on SQLite: "<column>_type" (see sqlite.cc for why it does not
// carry the table's name).
std::string SqliteTypeCheckName(const schema::Column& c);

// The DEFAULT expression for the column, "" when it has none. Literals are validated against
// the column's type so nothing unexpected reaches SQL.
Result<std::string> DefaultSql(Dialect d, const schema::Column& c);
// True when SQLite accepts the default in ALTER TABLE ADD COLUMN (a constant, or none).
bool SqliteDefaultIsConstant(const schema::Column& c);

bool InPrimaryKey(const schema::Table& t, std::string_view column);
bool ColumnNotNull(const schema::Table& t, const schema::Column& c);  // not_null or in the key

// ---- Expressions ---------------------------------------------------------------------------

// Parses a stored canonical expression against `t` in `s` and renders it for `d`.
Result<std::string> RenderExpression(Dialect d, const schema::Schema& s, const schema::Table& t,
                                     std::string_view canonical, expr::Context ctx);

// (table, column) pairs an expression reads: columns of `t` and, inside exists, of the related
// table.
using ColumnRef = std::pair<std::string, std::string>;
Result<std::set<ColumnRef>> ExpressionColumns(const schema::Schema& s, const schema::Table& t,
                                              std::string_view canonical, expr::Context ctx);

// ---- Names of the objects plinth manages beside tables --------------------------------------

std::string TouchTriggerName(std::string_view table);           // <t>_touch_updated_at
std::string PgRefuseChangeTriggerName(std::string_view table);  // <t>_refuse_change
std::string PgRefuseTruncateTriggerName(std::string_view table);// <t>_refuse_truncate
std::string SqliteRefuseUpdateTriggerName(std::string_view table);  // <t>_refuse_update
std::string SqliteRefuseDeleteTriggerName(std::string_view table);  // <t>_refuse_delete
std::string FkDeleteTriggerName(std::string_view fk);           // <fk>_on_delete
std::string FkUpdateTriggerName(std::string_view fk);           // <fk>_on_update

// A foreign key whose set null / set default action applies to a strict subset of its columns
// (composite tenant keys). PostgreSQL 15 expresses ON DELETE with a column list; SQLite needs a
// trigger on the parent for both actions.
bool SetsColumnSubset(const schema::Constraint& fk);
bool SqliteNeedsDeleteTrigger(const schema::Constraint& fk);
bool SqliteNeedsUpdateTrigger(const schema::Constraint& fk);

// Support functions installed by each support component (PostgreSQL), "schema.name".
std::vector<std::string> SupportFunctions(std::string_view component);

// ---- Rendering one operation -----------------------------------------------------------------

struct OpInput {
  const std::vector<migrate::Op>& ops;  // the whole migration (for look-ahead)
  size_t index = 0;                     // of `op` in `ops`
  const migrate::Op& op;
  const schema::Schema& before;  // state before `op`
  const schema::Schema& after;   // state after `op`
  // The table `op` names existed when the migration started (renames followed).
  bool table_preexisting = false;
};

// A VALIDATE CONSTRAINT postponed to the end of the migration (PostgreSQL).
struct PendingValidation {
  std::string table;
  std::string constraint;
};

struct OpOutput {
  std::vector<Unit> units;  // op_index/op_description filled by the caller
  std::vector<PendingValidation> validations;
  bool rebuilds_table = false;  // SQLite: the plan needs foreign_keys=OFF
};

Result<OpOutput> RenderPostgresOp(const OpInput& in);
Result<OpOutput> RenderSqliteOp(const OpInput& in);

// Statements creating a table with everything that belongs to it (PostgreSQL: the table, its
// indexes and policies, triggers, row security).
Result<std::vector<std::string>> PostgresCreateTable(const schema::Schema& s, const schema::Table& t);
// SQLite: CREATE TABLE `name_override` (or t.name) with the table's definition.
Result<std::string> SqliteCreateTableStatement(const schema::Schema& s, const schema::Table& t,
                                               std::string_view name_override = {});

// ---- Introspection -------------------------------------------------------------------------

Result<Catalog> IntrospectPostgres(db::Connection& conn);
Result<Catalog> IntrospectSqlite(db::Connection& conn);

// Named constraints in a SQLite CREATE TABLE statement: name → kind ("primary key", "unique",
// "check", "foreign key"). Column-level and table-level, quoted names unquoted.
std::vector<std::pair<std::string, std::string>> SqliteNamedConstraints(std::string_view create_sql);

}  // namespace plinth::sql::internal
