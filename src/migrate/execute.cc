// Executing a migration's script: statement by statement, checking expectations, tracking
// what has committed, and on failure rolling back and saying where the database stands.
#include <chrono>

#include "common/strings.h"
#include "migrate/internal.h"

namespace plinth::runner::internal {
namespace {

constexpr size_t kMaxRowsInMessage = 5;

bool IsTrueText(const std::optional<std::string>& v) {
  if (!v) return false;
  std::string s = ToLower(Trim(*v));
  return s == "t" || s == "true" || s == "1";
}

std::string RowsText(const db::QueryResult& r) {
  std::string out;
  for (size_t i = 0; i < r.rows.size() && i < kMaxRowsInMessage; ++i) {
    if (i) out += "; ";
    for (size_t c = 0; c < r.rows[i].size(); ++c) {
      if (c) out += ", ";
      out += (c < r.columns.size() ? r.columns[c] : "?") + "=" + r.rows[i][c].value_or("NULL");
    }
  }
  if (r.rows.size() > kMaxRowsInMessage) out += "; … (" + std::to_string(r.rows.size()) + " rows)";
  return out;
}

void Cleanup(db::Connection& conn, const std::string& sql, const RunOptions& opts) {
  ScriptStatement s;
  s.kind = StatementKind::kCleanup;
  s.sql = sql;
  if (opts.trace) opts.trace(s);
  // Best effort: the original failure is what the user needs to see.
  (void)conn.Exec(sql);
}

std::string Steps(size_t from, size_t to) {
  return from == to ? "step " + std::to_string(from) : "steps " + std::to_string(from) + "–" + std::to_string(to);
}

}  // namespace

Status ExecuteStatementChecked(db::Connection& conn, const ScriptStatement& s, const RunOptions& opts,
                               bool& expectation_failed) {
  expectation_failed = false;
  if (opts.trace) opts.trace(s);
  if (s.expect == sql::Expect::kNothing) return conn.Exec(s.sql);
  PLINTH_ASSIGN_OR_RETURN(db::QueryResult r, conn.Query(s.sql));
  bool holds = true;
  std::string found;
  if (s.expect == sql::Expect::kTrue) {
    holds = r.rows.size() == 1 && !r.rows[0].empty() && IsTrueText(r.rows[0][0]);
    found = r.rows.empty() ? "no row" : RowsText(r);
  } else if (s.expect == sql::Expect::kNoRows) {
    holds = r.rows.empty();
    found = RowsText(r);
  }
  if (holds) return Status::Ok();
  expectation_failed = true;
  std::string what = s.failure.empty() ? "the check `" + s.sql + "` failed" : s.failure;
  return Status(Code::kFailedPrecondition, what + " (found: " + found + ")");
}

Status ExecuteStatement(db::Connection& conn, const ScriptStatement& s, const RunOptions& opts) {
  bool expectation_failed = false;
  return ExecuteStatementChecked(conn, s, opts, expectation_failed);
}

ExecOutcome ExecuteMigrationScript(db::Connection& conn, const MigrationScript& ms, const ExecContext& ctx,
                                   const RunOptions& opts) {
  const auto start = std::chrono::steady_clock::now();
  const bool up = ms.direction == Direction::kUp;
  ExecOutcome out;
  // What is durable so far: the steps_done recorded (-1 = row deleted) and whether work ran
  // outside a transaction or committed.
  int committed_steps = static_cast<int>(ms.steps_before);
  bool work_committed = false;
  // The steps_done the open transaction's history write records (when has_tx_history).
  int tx_history = 0;
  bool has_tx_history = false;
  bool tx_work = false;
  bool foreign_keys_off = false;

  for (const ScriptStatement& s : ms.statements) {
    const bool outside_tx = !conn.InTransaction();
    bool expectation_failed = false;
    Status st = ExecuteStatementChecked(conn, s, opts, expectation_failed);
    if (st.ok()) {
      const bool in_tx = conn.InTransaction();
      switch (s.kind) {
        case StatementKind::kBegin:
          has_tx_history = false;
          tx_work = false;
          break;
        case StatementKind::kWork:
          (in_tx ? tx_work : work_committed) = true;
          break;
        case StatementKind::kHistory:
          if (in_tx) {
            tx_history = s.steps_done;
            has_tx_history = true;
          } else {
            committed_steps = s.steps_done;
          }
          break;
        case StatementKind::kCommit:
          if (has_tx_history) committed_steps = tx_history;
          if (tx_work) work_committed = true;
          has_tx_history = false;
          tx_work = false;
          break;
        case StatementKind::kForeignKeys:
          if (s.sql == "PRAGMA foreign_keys = OFF") foreign_keys_off = true;
          if (s.sql == "PRAGMA foreign_keys = ON") foreign_keys_off = false;
          break;
        default:
          break;
      }
      continue;
    }

    // Failure: undo the open transaction, restore the connection, say where things stand.
    const bool lost_commit = st.code() == Code::kCommitUnknown;
    if (!lost_commit && conn.InTransaction()) Cleanup(conn, "ROLLBACK", opts);
    if (foreign_keys_off) Cleanup(conn, "PRAGMA foreign_keys = ON", opts);
    out.duration_ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start).count();

    const std::string who = "migration " + ms.version + " (" + ms.name + ")";
    const std::string prev = ctx.previous_version.empty() ? "base" : ctx.previous_version;
    if (s.kind == StatementKind::kGuard && expectation_failed) {
      out.guard_failed = true;
      out.status = Status(Code::kRetryable, who + ": " + s.failure);
      return out;
    }
    std::string what;
    switch (s.kind) {
      case StatementKind::kWork:
        what = (up ? " failed at step " : " failed rolling back, at step ") + std::to_string(s.step) + " of " +
               std::to_string(ms.units) + " (" + s.op_description + "): " + st.message();
        break;
      case StatementKind::kForeignKeys:
        what = ": " + st.message();
        break;
      case StatementKind::kBegin:
        what = ": could not start its transaction: " + st.message();
        break;
      case StatementKind::kCommit:
        what = ": could not commit: " + st.message();
        break;
      default:
        what = ": could not record it in " + std::string(kHistoryTable) + ": " + st.message();
        break;
    }
    std::string state;
    if (lost_commit) {
      state = "The connection was lost during COMMIT, so plinth cannot tell whether it committed: run "
              "`plinth migrate status` to see what the history records.";
    } else if (up) {
      const size_t done = committed_steps < 0 ? 0 : static_cast<size_t>(committed_steps);
      const bool side_effects = work_committed || (s.kind == StatementKind::kWork && outside_tx);
      const std::string not_rolled_back =
          "The failing step runs outside a transaction, so what it did before failing was not rolled back "
          "(for example an INVALID index left by CREATE INDEX CONCURRENTLY)";
      if (done > ms.steps_before) {
        state = Steps(ms.steps_before + 1, done) + " of " + std::to_string(ms.steps_total) +
                " committed before the failure (non-transactional steps cannot be rolled back), so " + ms.version +
                " is partially applied.";
      } else if (ms.steps_before == 0) {
        state = (side_effects ? not_rolled_back + "; nothing of " + ms.version + " is recorded as applied"
                              : "Its transaction was rolled back: nothing of " + ms.version + " was applied") +
                " and the database is still at version " + prev + ".";
      } else {
        state = (side_effects ? not_rolled_back + "; " : "Its transaction was rolled back: ") + ms.version +
                " is still partially applied (" + std::to_string(done) + " of " + std::to_string(ms.steps_total) +
                " steps).";
      }
      if (done > 0) {
        state += " Fix the cause, then run `plinth migrate up` to resume at step " + std::to_string(done + 1) +
                 ", or `plinth migrate down " + prev + "` to roll back the completed steps.";
      } else if (side_effects) {
        state += " Fix the cause and run `plinth migrate up` again.";
      }
    } else {
      if (committed_steps == static_cast<int>(ms.steps_before) && !work_committed) {
        state = "Its transaction was rolled back: " + ms.version + " is still applied.";
      } else if (committed_steps != static_cast<int>(ms.steps_before)) {
        state = "Part of the rollback committed: " + ms.version + " now has " + std::to_string(committed_steps) +
                " of " + std::to_string(ms.steps_total) + " steps applied. Fix the cause and run `plinth migrate down " +
                prev + "` again to finish rolling it back, or `plinth migrate up` to re-apply it.";
      } else {
        state = "Some non-transactional rollback steps committed, but the history still records " + ms.version +
                " as applied: compare the database with `plinth migrate check` and repair it by hand.";
      }
    }
    out.status = Status(st.code(), who + what + "\n" + state, st.sqlstate(), st.object());
    return out;
  }
  out.duration_ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start).count();
  return out;
}

}  // namespace plinth::runner::internal
