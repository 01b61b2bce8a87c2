// plinth/migrate.h — migrations as data: dialect-neutral operations, migration files, replay
// of a migration directory into a schema state, the differ that writes the next migration,
// and the lock-aware linter. Pure logic on schema::Schema values: no database, no SQL.
//
// A migration file (migrations/NNNN_slug.json) holds `up` and `down` lists of operations.
// Replaying every file's `up` in order from an empty schema yields the state the database
// will have; `migrate diff` compares that state with schema.toml and writes the next file.
// The down list of a generated migration is the exact inverse of its up list.
// docs/migrations.md describes the file format, every operation, the differ's ordering, the
// data-loss marks and the lint rules.
//
// Contracts:
// - ApplyOp checks every precondition before changing anything: on error the state is
//   unchanged. Replaying a directory therefore either succeeds or names the first operation
//   that does not fit.
// - Diff(from, to) is verified before it returns: from + up equals `to` and to + down equals
//   `from` in stored state (schema::*::SameAs, column order ignored); a planning bug is an
//   error (kInternal), never a wrong migration.
//
// Thread-safety: all functions are reentrant; values are plain.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "plinth/diagnostic.h"
#include "plinth/schema.h"
#include "plinth/status.h"

namespace plinth::migrate {

enum class OpKind : unsigned char {
  kCreateEnum,       // enum_def
  kDropEnum,         // enum_def (the definition dropped, for the inverse)
  kAddEnumValue,     // name = enum, value, before (insert before this value; "" = at the end)
  kRenameEnumValue,  // name = enum, value = from, new_name = to
  kReplaceEnum,      // name = enum, old_values, enum_def (new values), value_map (removed → kept)
  kRenameEnum,       // name = from, new_name = to (columns of the type follow)
  kCreateTable,      // table_def: columns, constraints, options (indexes/policies empty)
  kDropTable,        // table_def: the whole table as it was (columns, constraints, options);
                     // its indexes and policies are dropped by earlier operations
  kRenameTable,      // table = from, new_name = to
  kAddColumn,        // table, column
  kDropColumn,       // table, column (the definition dropped)
  kRenameColumn,     // table, name = from, new_name = to
  kAlterColumn,      // table, old_column, column (same name; type/not_null/default/encrypted)
  kAddConstraint,    // table, constraint
  kDropConstraint,   // table, constraint (the definition dropped)
  kCreateIndex,      // table, index, concurrently
  kDropIndex,        // table, index, concurrently
  kSetTableOptions,  // table, old_options, options
  kCreatePolicy,     // table, policy
  kDropPolicy,       // table, policy
  kAlterPolicy,      // table, old_policy, policy (same name, command and permissiveness)
  kInstallSupport,   // name = support component (schema::kSupport*)
  kRemoveSupport,    // name = support component
  kRawSql,           // hand-written: sql_postgres / sql_sqlite (either may be empty = nothing)
};

// Stable snake_case name used in migration files ("create_table").
std::string_view OpKindName(OpKind k);
// The kind named `name` in a migration file, or nullopt.
std::optional<OpKind> ParseOpKind(std::string_view name);

struct Op {
  OpKind kind = OpKind::kRawSql;
  std::string table;
  std::string name;
  std::string new_name;
  std::string value;
  std::string before;
  schema::Enum enum_def;
  std::vector<std::string> old_values;
  std::map<std::string, std::string> value_map;
  schema::Table table_def;
  schema::Column column;
  schema::Column old_column;
  schema::Constraint constraint;
  schema::Index index;
  bool concurrently = false;
  schema::TableOptions options;
  schema::TableOptions old_options;
  schema::Policy policy;
  schema::Policy old_policy;
  std::string sql_postgres;
  std::string sql_sqlite;

  // Set by the differ (and by Invert): this operation destroys data (drop table/column,
  // narrowing a type, removing enum values). Running it needs --allow-data-loss.
  bool data_loss = false;
  // Human explanation written by the differ (e.g. why an enum is swapped). Not checksummed.
  std::string note;

  // One line for logs and errors: "add_column documents.title".
  std::string Describe() const;
};

struct Migration {
  std::string version;  // "0001": zero-padded sequence number, the ordering key
  std::string name;     // the -m message
  std::string parent;   // version of the previous migration ("" for the first)
  std::string created_at;  // RFC 3339, informational
  std::vector<Op> up;
  std::vector<Op> down;

  std::string path;      // file it was read from (not serialized)
  std::string checksum;  // sha256 hex of the canonical form (set by ParseMigration)

  bool HasDataLoss(bool down_direction) const;
};

// Canonical JSON text of a migration, the checksum input: compact, keys sorted, every field
// written explicitly. It holds the format version, `version`, `parent`, `up` and `down`
// (data_loss marks included); it leaves out `name`, `created_at` and notes, which describe a
// migration without changing what it does.
std::string CanonicalText(const Migration& m);
// SHA-256 of CanonicalText, lower-case hex. Whitespace, key order, spelling aliases, the
// message and notes do not change it; any change of what the migration does does.
std::string Checksum(const Migration& m);

// Pretty JSON for writing to disk (stable key order, 2-space indent, trailing newline).
// Fields at their default value are left out.
std::string ToFileText(const Migration& m);
// Parses a migration file's text strictly: unknown operations, missing, unknown or duplicate
// fields and wrong JSON types are each reported in `diags` with the file and line; the
// Result is an error when any was found. Sets `path` and `checksum`.
Result<Migration> ParseMigration(std::string_view text, const std::string& path, Diagnostics& diags);

// Reads every NNNN_*.json file in `dir` (other files are ignored), sorted by version. Errors:
// unreadable or malformed files, a file name that disagrees with its version, duplicate
// versions, versions not contiguous from 0001, a parent that is not the previous version (two
// branches created in parallel; the message says which files conflict and how to renumber).
// A missing directory holds no migrations.
Result<std::vector<Migration>> LoadMigrationDir(const std::string& dir, Diagnostics& diags);

// Applies one operation to a schema state. Fails when the operation does not fit the state
// (dropping a missing table, adding an existing column, a definition that differs from the
// one in the state…), naming the operation; the state is then unchanged.
Status ApplyOp(schema::Schema& state, const Op& op);
// Replays the `up` lists of the first `count` migrations in order from an empty schema.
// Errors name the migration file and the operation.
Result<schema::Schema> Replay(const std::vector<Migration>& migrations, size_t count);

// The operation that undoes `op`, computed against the state *before* `op` runs. Fails when
// `op` does not apply to `before`, and for raw_sql (no computed inverse).
Result<Op> Invert(const schema::Schema& before, const Op& op);

struct DiffOptions {
  // Use `renamed_from` hints in the target to emit renames instead of drop + add.
  bool use_rename_hints = true;
  // PostgreSQL: emit new indexes on existing tables as CREATE INDEX CONCURRENTLY.
  bool concurrent_indexes = true;
};

struct DiffResult {
  std::vector<Op> up;
  std::vector<Op> down;
  std::vector<std::string> notes;  // explanations (enum swaps, renames taken from hints)
};

// Operations that turn `from` into `to`, ordered so each applies (enums before the tables
// that use them, parents before children, foreign-key cycles broken with add_constraint), and
// their inverse. Data-losing operations are marked. Renames come only from hints.
// `to`'s support set is completed with schema::RequiredSupport(to).
Result<DiffResult> Diff(const schema::Schema& from, const schema::Schema& to, const DiffOptions& opts);

// A finding of the lock-aware linter (PostgreSQL): operations that rewrite a table, hold an
// ACCESS EXCLUSIVE lock for long, fail on existing rows, lose data or break running code, with
// the safe plan.
struct LintFinding {
  std::string rule;       // e.g. "changing-column-type", "adding-required-column"
  std::string migration;  // version
  size_t op_index = 0;    // index in the migration's `up` list
  std::string message;    // what happens and why it hurts
  std::string safe_plan;  // what to do instead
};

// Lints the `up` lists of migrations[first, first + count), replaying the earlier ones to know
// which tables exist. An operation that does not apply is skipped (Replay reports it).
std::vector<LintFinding> Lint(const std::vector<Migration>& migrations, size_t first, size_t count);

// Next version string after `last` ("" → "0001", "0009" → "0010", "9999" → "10000"); empty
// when `last` is not a version (digits only).
std::string NextVersion(std::string_view last);
// File name for a migration: "0003_add_templates.json" (the name lower-cased, runs of other
// characters as one '_', at most 50 characters; "migration" when nothing is left).
std::string FileNameFor(const Migration& m);

}  // namespace plinth::migrate
