// plinth/sql.h — the two SQL dialects: DDL for migration operations, the execution plan of a
// migration, and introspection of a live database into a Catalog that can be compared with
// what a schema expects (drift detection and `plinth check`).
//
// Type mapping (logical → PostgreSQL / SQLite):
//   uuid → uuid / TEXT;  text(n) → varchar(n) / TEXT CHECK(length(c) <= n);  text → text / TEXT
//   integer → integer / INTEGER CHECK(range);  bigint → bigint / INTEGER
//   boolean → boolean / INTEGER CHECK(c IN (0,1));  decimal(p,s) → numeric(p,s) / NUMERIC
//   timestamp → timestamptz / TEXT (RFC 3339 UTC, 6 fractional digits, 'Z')
//   date → date / TEXT (YYYY-MM-DD);  json → jsonb / TEXT CHECK(c IS NULL OR json_valid(c))
//   bytes → bytea / BLOB;  enum → CREATE TYPE … AS ENUM / TEXT CHECK(c IN (…))
//   encrypted columns are bytea / BLOB whatever their logical type.
// PostgreSQL objects live in schema `public`; plinth's support functions in `plinth` and `auth`.
// The history table is plinth_migrations in both.
//
// Thread-safety: rendering functions are reentrant; introspection uses the given connection.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "plinth/db.h"
#include "plinth/expr.h"
#include "plinth/migrate.h"
#include "plinth/schema.h"
#include "plinth/status.h"

namespace plinth::sql {

using Dialect = expr::Dialect;

Dialect DialectFor(db::Backend b);
std::string_view DialectName(Dialect d);  // "postgresql", "sqlite"

// What the runner verifies after running a statement.
enum class Expect : unsigned char {
  kNothing,
  kTrue,    // one row, one column, true ('t', 'true' or 1): e.g. row counts compared
  kNoRows,  // no rows: e.g. PRAGMA foreign_key_check
};

struct Statement {
  std::string sql;
  Expect expect = Expect::kNothing;
  std::string failure;  // message when the expectation fails
};

// A unit of work: transactional units run inside one transaction (with others, see
// MigrationPlan); a non-transactional unit runs its statements one by one in autocommit mode
// (CREATE INDEX CONCURRENTLY, ALTER TYPE … ADD VALUE whose value is used later).
struct Unit {
  bool transactional = true;
  size_t op_index = 0;         // operation of the migration this unit renders
  std::string op_description;  // Op::Describe() of it
  std::vector<Statement> statements;
};

struct MigrationPlan {
  std::vector<Unit> units;
  // SQLite: some unit rebuilds a table. The runner sets PRAGMA foreign_keys=OFF before the
  // transaction, runs PRAGMA foreign_key_check before COMMIT and restores the pragma after.
  bool sqlite_foreign_keys_off = false;
};

// Renders `ops` (one migration, one direction) for `dialect`, starting from the state
// `before` (needed for SQLite table rebuilds and for support objects). Fails when an
// operation cannot be expressed (naming it).
Result<MigrationPlan> RenderPlan(Dialect dialect, const std::vector<migrate::Op>& ops,
                                 const schema::Schema& before);

// DDL fragments, also used by the runtime and tests.
std::string ColumnType(Dialect d, const schema::Column& c);
std::string CreateTableSql(Dialect d, const schema::Schema& s, const schema::Table& t);

// ---- Introspection and drift -------------------------------------------------------------

struct CatalogColumn {
  std::string type;  // normalized physical type as ColumnType() renders it
  bool not_null = false;
};

struct CatalogIndex {
  std::string table;
  std::vector<std::string> columns;  // "col" or "col desc"
  bool unique = false;
  bool partial = false;
};

struct CatalogTable {
  std::map<std::string, CatalogColumn> columns;
  std::map<std::string, std::string> constraints;  // name → kind ("primary key", "unique", "check", "foreign key")
  std::vector<std::string> triggers;                // names, sorted
  bool row_security = false;                        // PostgreSQL: enabled
  bool force_row_security = false;                  // PostgreSQL: forced
  std::map<std::string, std::string> policies;      // name → "permissive select" etc.
};

// A database's objects, restricted to what plinth manages (the history table is excluded).
struct Catalog {
  std::map<std::string, CatalogTable> tables;
  std::map<std::string, CatalogIndex> indexes;  // name → index (constraint-backing indexes excluded)
  std::map<std::string, std::vector<std::string>> enums;  // PostgreSQL only
  std::vector<std::string> functions;                     // plinth./auth. functions, sorted
};

// Reads the live database.
Result<Catalog> Introspect(db::Connection& conn);
// What the database should hold for `s`.
Catalog Expected(Dialect d, const schema::Schema& s);

struct Difference {
  std::string object;   // "column documents.foo", "index ix_documents_recent"
  std::string problem;  // "in the database, not in the schema", "type is text, schema says uuid"
};

std::vector<Difference> Compare(const Catalog& expected, const Catalog& actual);

}  // namespace plinth::sql
