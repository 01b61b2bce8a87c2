// migrate/internal.h — the runner's building blocks (internal to src/migrate): history SQL,
// script construction for one migration, execution, the PostgreSQL lock, and the comparison
// of the history with the migration directory.
//
// Thread-safety: functions are reentrant; objects are used by one thread.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "plinth/db.h"
#include "plinth/migrate.h"
#include "plinth/runner.h"
#include "plinth/sql.h"

namespace plinth::runner::internal {

// ---- History SQL ---------------------------------------------------------------------------

std::string HistoryTableDdl(sql::Dialect d);
// The current time as an SQL expression of the history's applied_at type.
std::string NowSql(sql::Dialect d);
Result<bool> HistoryTableExists(db::Connection& conn, const RunOptions& opts);
// The history rows in version order (kRead statements); empty when the table is missing.
Result<std::vector<HistoryRow>> ReadHistoryRows(db::Connection& conn, const RunOptions& opts);
// Runs `s` on `conn` after passing it to the trace (kRead statements).
Result<db::QueryResult> TracedQuery(db::Connection& conn, const ScriptStatement& s, const RunOptions& opts);

// ---- Building one migration's script ---------------------------------------------------------

struct MigrationScriptInput {
  sql::Dialect dialect = sql::Dialect::kPostgres;
  const migrate::Migration* migration = nullptr;
  Direction direction = Direction::kUp;
  const sql::MigrationPlan* plan = nullptr;  // the plan run (up plan, or the down plan)
  size_t first_unit = 0;     // up: resume at this unit; down: 0
  size_t steps_total = 0;    // units of the up plan
  size_t steps_before = 0;   // steps_done before
  // Down: the steps_done to record once units [0, i] of the down plan have completed (ignored
  // for the last unit: the row is deleted). Empty when the down plan is one transaction.
  std::vector<size_t> down_steps_after_unit;
  // Descriptions of data-losing ops the script runs.
  std::vector<std::string> data_loss;
};

MigrationScript BuildMigrationScript(const MigrationScriptInput& in);

// Whether the plan runs as more than one transaction / autocommit step.
bool HasSeveralSegments(const sql::MigrationPlan& plan, size_t first_unit);

// ---- Planning: a migration's plan rendered against the replayed state ------------------------
//
// `state` is always the replay of the fully applied migrations before the one planned: the
// state before `m` for PlanUp (also when resuming a partial `m`), and for PlanDown the state
// after migrations[index] when it is complete, or before it when it is partial. Both leave
// `state` as the replay after the planned step (after `m` for PlanUp, before
// migrations[index] for PlanDown).

// What the history records for a migration being rolled back.
struct Recorded {
  size_t steps_done = 0;
  size_t steps_total = 0;
};

// Up script of `m`, resuming after `steps_done` steps (0 = from the start). `recorded_total`
// is the steps_total of a partial row: the plan must still have that many steps.
Result<MigrationScript> PlanUp(sql::Dialect d, const migrate::Migration& m, schema::Schema& state,
                               size_t steps_done, std::optional<size_t> recorded_total);
// Down script of migrations[index]. `recorded` is its history row (nullopt offline: fully
// applied as rendered now); steps_done < steps_total rolls back a partial migration by running
// the inverse of the operations it completed.
Result<MigrationScript> PlanDown(sql::Dialect d, const std::vector<migrate::Migration>& migrations,
                                 size_t index, schema::Schema& state, std::optional<Recorded> recorded);

// The schema state of a database that has the first `complete` migrations applied and, when
// `partial` is set, some steps of the next one (its completed leading operations).
Result<schema::Schema> AppliedState(sql::Dialect d, const std::vector<migrate::Migration>& migrations,
                                    size_t complete, std::optional<Recorded> partial);

// ---- Comparing the history with the directory ------------------------------------------------

struct Analysis {
  std::vector<HistoryRow> history;
  size_t applied = 0;                 // leading migrations with a history row (complete or partial)
  std::optional<size_t> partial;      // index of the partially applied migration (the last applied)
  std::vector<std::string> blocking;  // problems that stop up/down
  std::vector<std::string> notes;     // informational (partial migration, allowed changes)
  std::vector<StatusEntry> entries;   // for status
};

Analysis Analyze(std::vector<HistoryRow> history, const std::vector<migrate::Migration>& migrations,
                 bool allow_changed);

// ---- Execution -----------------------------------------------------------------------------

struct ExecContext {
  std::string previous_version;  // version before this migration ("" = base)
};

struct ExecOutcome {
  Status status;
  bool guard_failed = false;  // another process changed this version's history row: re-plan
  int64_t duration_ms = 0;
};

// Executes the statements of `ms` in order, checking expectations. On failure: rolls back the
// open transaction, restores foreign_keys, and returns an error naming the migration, the step
// and its operation, and what state the database is in.
ExecOutcome ExecuteMigrationScript(db::Connection& conn, const MigrationScript& ms, const ExecContext& ctx,
                                   const RunOptions& opts);

// Executes one script statement (trace, run, check the expectation). The status has the
// database's message; callers add context.
Status ExecuteStatement(db::Connection& conn, const ScriptStatement& s, const RunOptions& opts);

// ---- The PostgreSQL migration lock -------------------------------------------------------------

class PgLock {
 public:
  ~PgLock();
  PgLock(const PgLock&) = delete;
  PgLock& operator=(const PgLock&) = delete;

  // Connects a dedicated connection and polls pg_try_advisory_lock until opts.lock_timeout.
  static Result<std::unique_ptr<PgLock>> Acquire(const db::Url& url, const RunOptions& opts);
  // Releases the lock and closes the connection (also done by the destructor).
  void Release();

 private:
  PgLock(std::unique_ptr<db::Connection> conn, const RunOptions& opts);
  std::unique_ptr<db::Connection> conn_;
  RunOptions opts_;  // a copy: the trace and progress callbacks outlive the caller's options
};

}  // namespace plinth::runner::internal
