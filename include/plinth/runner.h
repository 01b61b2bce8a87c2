// plinth/runner.h — the migration runner: the history table, the script of statements a run
// executes, the migration lock, checksums, resumable steps, stamping and drift checks.
//
// One code path. For every migration to run, BuildScript turns its plan (sql::RenderPlan with
// the schema state before it) into the exact statements to execute: transaction boundaries
// (BEGIN, or BEGIN IMMEDIATE on SQLite, around consecutive transactional units; each
// non-transactional unit alone in autocommit), a guard that re-reads the history row under the
// lock, the SQLite foreign_keys switch and foreign_key_check around table rebuilds, and the
// history writes. `plinth migrate sql` prints such a script (FormatScript); `migrate up/down`
// execute the same statements, and RunOptions::trace sees each one.
//
// History: table plinth_migrations (version text primary key, name, checksum, applied_at
// (timestamptz / TEXT RFC 3339 UTC), duration_ms, steps_done, steps_total), created when
// missing. A step is a unit of the migration's up plan. A row with steps_done < steps_total is
// a partially applied migration: its non-transactional steps (PostgreSQL CREATE INDEX
// CONCURRENTLY, ALTER TYPE … ADD VALUE) committed one by one and a later step failed. `up`
// resumes it after the last completed step; `down` rolls back the operations it completed.
//
// Atomicity: each transaction of a migration commits its work together with the history row
// that records it; a failure rolls the transaction back, so the database stays at the last
// recorded step, and the error names the migration, the step's operation and the database's
// message.
//
// Locking (docs/cli.md): PostgreSQL — a dedicated, otherwise idle connection polls
// pg_try_advisory_lock(MigrationLockKey()) with jittered backoff until RunOptions::lock_timeout
// and holds the lock while a second connection runs the migrations (a blocking
// pg_advisory_lock would deadlock with CREATE INDEX CONCURRENTLY, which waits for every
// transaction holding a snapshot). SQLite — every migration transaction is BEGIN IMMEDIATE on
// the database file (busy_timeout = lock_timeout) and its guard re-reads the history inside
// it. On both the history is read after taking the lock, so concurrent runs apply each
// migration exactly once.
//
// Cost: a run reads the history once (again only when a guard finds that another process
// moved it), replays the migration directory once, and renders only the migrations it runs.
//
// Thread-safety: functions are reentrant; each call opens its own connections.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "plinth/db.h"
#include "plinth/migrate.h"
#include "plinth/sql.h"
#include "plinth/status.h"

namespace plinth::runner {

inline constexpr std::string_view kHistoryTable = "plinth_migrations";
inline constexpr std::string_view kLockName = "plinth.migrate";
// The advisory lock key: the first 8 bytes of SHA-256("plinth.migrate"), big-endian, as a
// signed 64-bit integer.
int64_t MigrationLockKey();

enum class Direction : unsigned char { kUp, kDown };
std::string_view DirectionName(Direction d);  // "up", "down"

// ---- Scripts -----------------------------------------------------------------------------

enum class StatementKind : unsigned char {
  // Statements of a script (printed by `migrate sql`, executed by `up`/`down`):
  kSetup,        // CREATE TABLE IF NOT EXISTS plinth_migrations
  kBegin,        // BEGIN / BEGIN IMMEDIATE
  kCommit,       // COMMIT
  kGuard,        // re-reads the version's history row: it must be as the script assumes
  kForeignKeys,  // SQLite: foreign_keys off/on, the check that it is off, foreign_key_check
  kClock,        // PostgreSQL: notes the start time of a non-transactional step
  kWork,         // a statement of the migration's plan
  kHistory,      // writes or deletes the version's history row
  // Statements a run executes besides its script (trace only):
  kRead,         // history and catalog reads
  kLock,         // PostgreSQL advisory lock polling and release (lock connection)
  kCleanup,      // ROLLBACK and foreign_keys restore after a failure
};

// True for the kinds that scripts contain.
bool InScript(StatementKind k);

struct ScriptStatement {
  StatementKind kind = StatementKind::kWork;
  std::string sql;  // one statement, without a trailing semicolon
  sql::Expect expect = sql::Expect::kNothing;
  std::string failure;  // what it means when the expectation fails
  std::string comment;  // printed as "-- comment" lines before the statement ("" = none)
  size_t step = 0;      // kWork: 1-based step (unit) number in the up or down plan; else 0
  std::string op_description;  // kWork: the unit's operation (Op::Describe)
  // kHistory: the steps_done the write records; -1 when it deletes the row.
  int steps_done = -1;
};

// The statements that run one migration in one direction.
struct MigrationScript {
  std::string version;
  std::string name;
  Direction direction = Direction::kUp;
  size_t steps_total = 0;   // units of the migration's up plan
  size_t steps_before = 0;  // steps_done when the script starts (0 = not applied)
  size_t steps_after = 0;   // steps_done when it ends (0 after down: the row is deleted)
  size_t units = 0;         // units of the plan this script runs (its step numbers' range)
  std::vector<std::string> data_loss;  // descriptions of the data-losing ops it runs
  std::vector<ScriptStatement> statements;
};

struct Script {
  sql::Dialect dialect = sql::Dialect::kPostgres;
  std::vector<ScriptStatement> setup;  // creates the history table
  std::vector<MigrationScript> migrations;
};

// "statement;\n", preceded by its comment lines. Multi-line statements are printed as they are.
std::string FormatStatement(const ScriptStatement& s);
// Every statement of the script in order, with a header comment per migration.
std::string FormatScript(const Script& s);

// A position in the migration directory: "base" (nothing applied), "head" (everything), or a
// version ("0003") or file stem ("0003_add_templates"). Returns the number of migrations
// applied at that position. Errors (kInvalidArgument) list what was expected.
Result<size_t> ResolvePosition(const std::vector<migrate::Migration>& migrations, std::string_view target);

// Offline: the script that takes a database from position `from` to `to` (a down script when
// `from` is later than `to`), assuming every migration up to `from` is fully applied.
Result<Script> BuildScript(sql::Dialect dialect, const std::vector<migrate::Migration>& migrations,
                           std::string_view from, std::string_view to);

// ---- History -------------------------------------------------------------------------------

struct HistoryRow {
  std::string version;
  std::string name;
  std::string checksum;
  std::string applied_at;  // RFC 3339 UTC, microseconds: 2026-11-21T10:00:00.000000Z
  int64_t duration_ms = 0;
  int steps_done = 0;
  int steps_total = 0;
  bool complete() const { return steps_done >= steps_total; }
};

// The history rows in version order; empty when the table does not exist yet. Read-only.
Result<std::vector<HistoryRow>> ReadHistory(db::Connection& conn);

// Orders versions numerically ("0999" < "1000" < "10000").
bool VersionLess(std::string_view a, std::string_view b);

// ---- Running -------------------------------------------------------------------------------

struct RunOptions {
  // Run migrations whose file no longer matches the checksum recorded when it was applied.
  bool allow_changed = false;
  // Run operations marked data-losing (drop table/column, narrowing, enum value removal).
  bool allow_data_loss = false;
  // How long to wait for the migration lock (PostgreSQL advisory lock; SQLite busy timeout).
  std::chrono::milliseconds lock_timeout{60'000};
  // Connection timeout for PostgreSQL (connect_timeout when the URL has none).
  std::chrono::milliseconds connect_timeout{10'000};
  // Receives every statement executed, on either connection, before it runs.
  std::function<void(const ScriptStatement&)> trace;
  // Receives one human sentence per event (lock wait, migration applied, resumed…).
  std::function<void(const std::string&)> progress;
};

struct MigrationRun {
  std::string version;
  std::string name;
  Direction direction = Direction::kUp;
  size_t steps_from = 0;  // steps_done before
  size_t steps_to = 0;    // after (0 after a rollback)
  size_t steps_total = 0;
  int64_t duration_ms = 0;  // wall time of this run of it
};

struct RunReport {
  std::string from_version;  // applied version before ("" = base)
  std::string to_version;    // after
  std::vector<MigrationRun> migrations;
};

// Applies pending migrations up to `target` ("head" by default), resuming a partially applied
// one first. Refuses (before running anything) when the history does not match the directory
// (unknown versions, files applied out of order, changed checksums without allow_changed, a
// partially applied migration whose plan changed) or when a migration to run loses data
// without allow_data_loss (kDataLoss, listing the operations).
Result<RunReport> Up(const db::Url& url, const std::vector<migrate::Migration>& migrations,
                     std::string_view target, const RunOptions& opts);

// Rolls back applied migrations: `target` is a version (down to and excluding it), "-N" (the
// last N migrations) or "base" (all). A partially applied migration is rolled back by running
// the inverse of the operations it completed.
Result<RunReport> Down(const db::Url& url, const std::vector<migrate::Migration>& migrations,
                       std::string_view target, const RunOptions& opts);

// Writes history rows for every migration up to `target` and deletes the others, without
// running any migration ("base" clears the history). For adopting an existing database or
// repairing a history by hand. Runs under the migration lock.
Result<RunReport> Stamp(const db::Url& url, const std::vector<migrate::Migration>& migrations,
                        std::string_view target, const RunOptions& opts);

// ---- Status and drift --------------------------------------------------------------------

enum class MigrationState : unsigned char {
  kApplied,    // fully applied, checksum matches
  kPending,    // in the directory, not applied
  kPartial,    // some steps applied
  kChanged,    // applied, but the file's checksum differs from the recorded one
  kOutOfOrder, // not applied although a later version is
  kUnknown,    // applied, but not in the directory
};
std::string_view MigrationStateName(MigrationState s);  // "applied", "pending", …

struct StatusEntry {
  std::string version;
  std::string name;
  MigrationState state = MigrationState::kPending;
  std::optional<HistoryRow> row;  // when applied (fully or partially)
  std::string file_checksum;      // when in the directory
};

struct StatusReport {
  db::Backend backend = db::Backend::kSqlite;
  bool history_exists = false;
  std::string current;  // highest fully or partially applied version, "" = base
  std::string head;     // last version in the directory, "" = none
  std::vector<StatusEntry> entries;  // union of directory and history, in version order
  // Sentences: what is wrong (unknown versions, changed files, partial migrations, out of
  // order files) and the command that fixes or resumes it.
  std::vector<std::string> problems;
  size_t pending = 0;
};

// Reads the history (without creating or locking anything) and compares it with the
// directory.
Result<StatusReport> ReadStatus(const db::Url& url, const std::vector<migrate::Migration>& migrations,
                                const RunOptions& opts);

struct DriftReport {
  StatusReport status;
  // The state the database should be in: the directory replayed up to the applied version.
  schema::Schema expected_state;
  std::vector<sql::Difference> differences;
  bool ok() const { return differences.empty() && status.problems.empty(); }
};

// Compares the live database (sql::Introspect) with sql::Expected of the replayed state at
// the applied version.
Result<DriftReport> CheckDrift(const db::Url& url, const std::vector<migrate::Migration>& migrations,
                               const RunOptions& opts);

}  // namespace plinth::runner
