// plinth/migrate.h — migrations as data: dialect-neutral operations, migration files, replay
// of a migration directory into a schema state, the differ that writes the next migration,
// and the lock-aware linter.
//
// A migration file (migrations/NNNN_slug.json) holds `up` and `down` lists of operations.
// Replaying every file's `up` in order from an empty schema yields the state the database
// will have; `migrate diff` compares that state with schema.toml and writes the next file.
// The down list of a generated migration is the exact inverse of its up list.
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
  kCreateTable,      // table_def: columns, constraints, options (indexes/policies empty)
  kDropTable,        // table_def: the whole table as it was (columns, constraints, options)
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
  kAlterPolicy,      // table, old_policy, policy (same name and command)
  kInstallSupport,   // name = support component (schema::kSupport*)
  kRemoveSupport,    // name = support component
  kRawSql,           // hand-written: sql_postgres / sql_sqlite (either may be empty = nothing)
};

// Stable snake_case name used in migration files ("create_table").
std::string_view OpKindName(OpKind k);

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

  // Set by the differ: this operation destroys data (drop table/column, narrowing a type,
  // removing an enum value in use). Running it needs --allow-data-loss.
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
  std::string checksum;  // sha256 hex of the canonical form (computed on read/write)

  bool HasDataLoss(bool down_direction) const;
};

// Canonical JSON text of a migration (sorted keys, notes excluded): the checksum input.
std::string CanonicalText(const Migration& m);
// SHA-256 of CanonicalText, lower-case hex. Whitespace, key order and notes do not change it.
std::string Checksum(const Migration& m);

// Pretty JSON for writing to disk (stable key order, 2-space indent, trailing newline).
std::string ToFileText(const Migration& m);
// Parses a migration file's text; diagnostics carry the file and line of the problem.
Result<Migration> ParseMigration(std::string_view text, const std::string& path, Diagnostics& diags);

// Reads every *.json file in `dir`, sorted by version. Errors: unreadable or malformed files,
// duplicate versions, a parent that is not the previous version (two branches), gaps.
Result<std::vector<Migration>> LoadMigrationDir(const std::string& dir, Diagnostics& diags);

// Applies one operation to a schema state. Fails when the operation does not fit the state
// (dropping a missing table, adding an existing column…), naming the operation.
Status ApplyOp(schema::Schema& state, const Op& op);
// Replays migrations' `up` lists in order from an empty schema (or from `base`).
Result<schema::Schema> Replay(const std::vector<Migration>& migrations, size_t count);

// The operation that undoes `op`, computed against the state *before* `op` runs.
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
Result<DiffResult> Diff(const schema::Schema& from, const schema::Schema& to, const DiffOptions& opts);

// A finding of the lock-aware linter: PostgreSQL operations that rewrite a table or hold an
// ACCESS EXCLUSIVE lock for long, with the safe plan.
struct LintFinding {
  std::string rule;       // e.g. "changing-column-type", "adding-not-null-column"
  std::string migration;  // version
  size_t op_index = 0;
  std::string message;    // what happens and why it hurts
  std::string safe_plan;  // what to do instead
};

std::vector<LintFinding> Lint(const std::vector<Migration>& migrations, size_t first, size_t count);

// Next version string after `last` ("" → "0001").
std::string NextVersion(std::string_view last);
// File name for a migration: "0003_add_templates.json".
std::string FileNameFor(const Migration& m);

}  // namespace plinth::migrate
