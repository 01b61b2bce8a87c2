// The runner: up, down, stamp, status and drift, on top of scripts, the lock and the history.
#include <algorithm>
#include <charconv>
#include <map>

#include "common/strings.h"
#include "migrate/internal.h"

namespace plinth::runner {
namespace internal {
namespace {

constexpr size_t kChecksumShown = 12;

std::string Short(const std::string& checksum) { return checksum.substr(0, kChecksumShown); }

std::string Previous(const std::vector<migrate::Migration>& migrations, size_t index) {
  return index == 0 ? "base" : migrations[index - 1].version;
}

}  // namespace

Analysis Analyze(std::vector<HistoryRow> history, const std::vector<migrate::Migration>& migrations,
                 bool allow_changed) {
  Analysis a;
  std::map<std::string, const HistoryRow*> rows;
  for (const auto& r : history) rows[r.version] = &r;
  std::map<std::string, size_t> files;
  for (size_t i = 0; i < migrations.size(); ++i) files[migrations[i].version] = i;

  // Leading migrations with a history row.
  while (a.applied < migrations.size() && rows.count(migrations[a.applied].version)) ++a.applied;
  size_t last_with_row = 0;  // one past the last migration with a row
  for (size_t i = 0; i < migrations.size(); ++i) {
    if (rows.count(migrations[i].version)) last_with_row = i + 1;
  }

  for (size_t i = 0; i < migrations.size(); ++i) {
    const migrate::Migration& m = migrations[i];
    StatusEntry e;
    e.version = m.version;
    e.name = m.name;
    e.file_checksum = m.checksum;
    auto it = rows.find(m.version);
    if (it == rows.end()) {
      e.state = i < last_with_row ? MigrationState::kOutOfOrder : MigrationState::kPending;
      if (e.state == MigrationState::kOutOfOrder) {
        a.blocking.push_back(m.version + " (" + m.name + ") is not applied, but a later migration is: it was added "
                             "out of order (a merge of parallel work?). Roll back past it with `plinth migrate down " +
                             Previous(migrations, i) + "` and apply again, or regenerate it after the head with "
                             "`plinth migrate diff`.");
      }
      a.entries.push_back(std::move(e));
      continue;
    }
    const HistoryRow& row = *it->second;
    e.row = row;
    e.state = MigrationState::kApplied;
    if (row.checksum != m.checksum) {
      e.state = MigrationState::kChanged;
      std::string what = (m.path.empty() ? m.version : m.path) + " changed after it was applied: the history records checksum " +
                         Short(row.checksum) + "…, the file has " + Short(m.checksum) + "…";
      if (allow_changed) {
        a.notes.push_back(what + " (allowed by --allow-changed).");
      } else {
        a.blocking.push_back(what + ". Restore the file as it was applied (e.g. from git), or, if the database "
                                    "already matches the edited file, rerun with --allow-changed.");
      }
    }
    if (!row.complete()) {
      const bool last = i + 1 == last_with_row;
      if (last && !a.partial) {
        a.partial = i;
        if (e.state != MigrationState::kChanged) e.state = MigrationState::kPartial;
        a.notes.push_back(m.version + " (" + m.name + ") is partially applied: " + std::to_string(row.steps_done) +
                          " of " + std::to_string(row.steps_total) + " steps. Run `plinth migrate up` to resume at step " +
                          std::to_string(row.steps_done + 1) + ", or `plinth migrate down " + Previous(migrations, i) +
                          "` to roll back its completed steps.");
      } else {
        e.state = MigrationState::kPartial;
        a.blocking.push_back(m.version + " (" + m.name + ") is recorded as partially applied (" +
                             std::to_string(row.steps_done) + " of " + std::to_string(row.steps_total) +
                             " steps) although later migrations are applied: the history was edited by hand. "
                             "Check the database with `plinth migrate check` and repair the history with "
                             "`plinth migrate stamp`.");
      }
    }
    a.entries.push_back(std::move(e));
  }
  for (const auto& r : history) {
    if (files.count(r.version)) continue;
    StatusEntry e;
    e.version = r.version;
    e.name = r.name;
    e.state = MigrationState::kUnknown;
    e.row = r;
    a.entries.push_back(std::move(e));
    a.blocking.push_back(r.version + " (" + r.name + ") is applied in the database but there is no such file in "
                         "migrations/: the database was migrated from a newer checkout, or the file was deleted. "
                         "Restore the file, or rewrite the history with `plinth migrate stamp`.");
  }
  std::stable_sort(a.entries.begin(), a.entries.end(),
                   [](const StatusEntry& x, const StatusEntry& y) { return VersionLess(x.version, y.version); });
  a.history = std::move(history);
  return a;
}

}  // namespace internal

namespace {

using internal::Analysis;
using internal::ExecContext;
using internal::PgLock;
using internal::Recorded;

struct Session {
  sql::Dialect dialect = sql::Dialect::kPostgres;
  std::unique_ptr<PgLock> lock;  // PostgreSQL, when the command changes the database
  std::unique_ptr<db::Connection> conn;
};

Result<Session> OpenSession(const db::Url& url, const RunOptions& opts, bool take_lock, bool create) {
  Session s;
  s.dialect = sql::DialectFor(url.backend);
  if (take_lock && url.backend == db::Backend::kPostgres) {
    PLINTH_ASSIGN_OR_RETURN(s.lock, PgLock::Acquire(url, opts));
  }
  db::ConnectOptions copts;
  copts.create = create;
  // SQLite: writers wait for each other up to the lock timeout (BEGIN IMMEDIATE is the lock).
  copts.timeout_ms = static_cast<int>(url.backend == db::Backend::kSqlite ? opts.lock_timeout.count()
                                                                          : opts.connect_timeout.count());
  PLINTH_ASSIGN_OR_RETURN(s.conn, db::Connect(url, copts));
  return s;
}

Status CreateHistoryTable(Session& s, const RunOptions& opts) {
  ScriptStatement st;
  st.kind = StatementKind::kSetup;
  st.sql = internal::HistoryTableDdl(s.dialect);
  Status status = internal::ExecuteStatement(*s.conn, st, opts);
  if (!status.ok()) return status.WithContext("cannot create the history table " + std::string(kHistoryTable));
  return Status::Ok();
}

Status Refuse(const std::vector<std::string>& problems) {
  std::string msg = "the migration history does not match migrations/:";
  for (const auto& p : problems) msg += "\n  - " + p;
  return Status(Code::kFailedPrecondition, msg);
}

Status RefuseDataLoss(const std::vector<MigrationScript>& scripts, Direction dir) {
  std::string list;
  for (const auto& ms : scripts) {
    if (ms.data_loss.empty()) continue;
    list += "\n  " + ms.version + " (" + ms.name + "): " + Join(ms.data_loss, ", ");
  }
  if (list.empty()) return Status::Ok();
  return Status(Code::kDataLoss, std::string(dir == Direction::kUp ? "applying" : "rolling back") +
                                     " these migrations would lose data, which needs --allow-data-loss:" + list);
}

std::string CurrentVersion(const Analysis& a) {
  return a.history.empty() ? "" : a.history.back().version;
}

std::string Describe(const MigrationScript& ms, int64_t ms_taken) {
  std::string s = (ms.direction == Direction::kUp ? "applied " : "rolled back ") + ms.version + " " + ms.name;
  if (ms.direction == Direction::kUp && ms.steps_before > 0) {
    s += " (resumed at step " + std::to_string(ms.steps_before + 1) + " of " + std::to_string(ms.steps_total) + ")";
  }
  return s + " in " + std::to_string(ms_taken) + " ms";
}

void Progress(const RunOptions& opts, const std::string& text) {
  if (opts.progress) opts.progress(text);
}

// Runs scripts in order. Returns true when a guard found that another process changed the
// history (the caller re-reads it and plans again).
Result<bool> RunScripts(Session& s, const std::vector<migrate::Migration>& migrations,
                        const std::vector<std::pair<size_t, MigrationScript>>& scripts, const RunOptions& opts,
                        RunReport& report) {
  for (const auto& [index, ms] : scripts) {
    ExecContext ctx;
    ctx.previous_version = index == 0 ? "" : migrations[index - 1].version;
    internal::ExecOutcome out = internal::ExecuteMigrationScript(*s.conn, ms, ctx, opts);
    if (out.guard_failed) {
      Progress(opts, ms.version + " was changed by another process meanwhile; re-reading the history");
      return true;
    }
    if (!out.status.ok()) return out.status;
    MigrationRun run;
    run.version = ms.version;
    run.name = ms.name;
    run.direction = ms.direction;
    run.steps_from = ms.steps_before;
    run.steps_to = ms.steps_after;
    run.steps_total = ms.steps_total;
    run.duration_ms = out.duration_ms;
    report.migrations.push_back(run);
    Progress(opts, Describe(ms, out.duration_ms));
  }
  return false;
}

// Parses "-N".
Result<size_t> ParseRelative(std::string_view target) {
  size_t n = 0;
  std::string_view digits = target.substr(1);
  auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
  if (ec != std::errc() || ptr != digits.data() + digits.size() || n == 0) {
    return Status(Code::kInvalidArgument, "\"" + std::string(target) +
                                              "\" is not a number of migrations: expected -N with N ≥ 1 (e.g. -1)");
  }
  return n;
}

// Guards against livelock: each re-plan means another process made progress, so this bound is
// never reached in practice.
constexpr int kMaxReplans = 10000;

bool SameHistory(const std::vector<HistoryRow>& a, const std::vector<HistoryRow>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].version != b[i].version || a[i].checksum != b[i].checksum || a[i].steps_done != b[i].steps_done ||
        a[i].steps_total != b[i].steps_total) {
      return false;
    }
  }
  return true;
}

// Called with each history read of a run: a re-plan happens only when a guard found that another
// process changed the history, so a history identical to the previous read means the guard
// itself is wrong. Failing then beats looping.
Status CheckProgress(std::optional<std::vector<HistoryRow>>& previous, const std::vector<HistoryRow>& now) {
  if (previous && SameHistory(*previous, now)) {
    return Status(Code::kInternal,
                  "a migration's guard failed although the history did not change (a bug in plinth); nothing "
                  "more was run. `plinth migrate status` shows where the database stands");
  }
  previous = now;
  return Status::Ok();
}

}  // namespace

Result<RunReport> Up(const db::Url& url, const std::vector<migrate::Migration>& migrations, std::string_view target,
                     const RunOptions& opts) {
  PLINTH_ASSIGN_OR_RETURN(size_t target_count, ResolvePosition(migrations, target.empty() ? "head" : target));
  PLINTH_ASSIGN_OR_RETURN(Session s, OpenSession(url, opts, /*take_lock=*/true, /*create=*/true));
  PLINTH_RETURN_IF_ERROR(CreateHistoryTable(s, opts));
  RunReport report;
  std::optional<std::vector<HistoryRow>> previous_read;
  for (int attempt = 0; attempt < kMaxReplans; ++attempt) {
    PLINTH_ASSIGN_OR_RETURN(std::vector<HistoryRow> history, internal::ReadHistoryRows(*s.conn, opts));
    PLINTH_RETURN_IF_ERROR(CheckProgress(previous_read, history));
    Analysis a = internal::Analyze(std::move(history), migrations, opts.allow_changed);
    if (attempt == 0) {
      report.from_version = CurrentVersion(a);
      for (const auto& n : a.notes) Progress(opts, n);
    }
    if (!a.blocking.empty()) return Refuse(a.blocking);
    const size_t complete = a.partial ? *a.partial : a.applied;
    if (complete > target_count || (a.partial && *a.partial >= target_count)) {
      if (!report.migrations.empty()) break;  // another process went further meanwhile
      const std::string where = target_count == 0 ? "base" : migrations[target_count - 1].version;
      return Status(Code::kFailedPrecondition, "the database is at " + CurrentVersion(a) + ", past the target " +
                                                   where + ": use `plinth migrate down " + where + "` to go back");
    }
    if (complete == target_count) break;  // nothing (more) to do

    schema::Schema state;
    {
      auto replay = migrate::Replay(migrations, complete);
      if (!replay.ok()) return replay.status().WithContext("replaying the migration directory");
      state = std::move(replay).value();
    }
    std::vector<std::pair<size_t, MigrationScript>> scripts;
    for (size_t i = complete; i < target_count; ++i) {
      size_t done = 0;
      std::optional<size_t> recorded_total;
      if (a.partial && *a.partial == i) {
        const HistoryRow& row = a.history.back();
        done = static_cast<size_t>(std::max(row.steps_done, 0));
        recorded_total = static_cast<size_t>(std::max(row.steps_total, 0));
      }
      PLINTH_ASSIGN_OR_RETURN(MigrationScript ms, internal::PlanUp(s.dialect, migrations[i], state, done, recorded_total));
      scripts.emplace_back(i, std::move(ms));
    }
    if (!opts.allow_data_loss) {
      std::vector<MigrationScript> plain;
      for (const auto& [i, ms] : scripts) plain.push_back(ms);
      PLINTH_RETURN_IF_ERROR(RefuseDataLoss(plain, Direction::kUp));
    }
    PLINTH_ASSIGN_OR_RETURN(bool replan, RunScripts(s, migrations, scripts, opts, report));
    if (!replan) break;
  }
  PLINTH_ASSIGN_OR_RETURN(std::vector<HistoryRow> after, internal::ReadHistoryRows(*s.conn, opts));
  report.to_version = after.empty() ? "" : after.back().version;
  return report;
}

Result<RunReport> Down(const db::Url& url, const std::vector<migrate::Migration>& migrations, std::string_view target,
                       const RunOptions& opts) {
  std::string t = Trim(target);
  std::optional<size_t> relative;
  std::optional<size_t> absolute;
  if (StartsWith(t, "-")) {
    PLINTH_ASSIGN_OR_RETURN(size_t n, ParseRelative(t));
    relative = n;
  } else {
    if (t == "head" || t.empty()) {
      return Status(Code::kInvalidArgument, "down needs a target: a version (roll back the migrations after it), "
                                            "-N (the last N migrations) or base (all)");
    }
    PLINTH_ASSIGN_OR_RETURN(size_t pos, ResolvePosition(migrations, t));
    absolute = pos;
  }
  PLINTH_ASSIGN_OR_RETURN(Session s, OpenSession(url, opts, /*take_lock=*/true, /*create=*/false));
  RunReport report;
  std::optional<size_t> target_count = absolute;
  std::optional<std::vector<HistoryRow>> previous_read;
  for (int attempt = 0; attempt < kMaxReplans; ++attempt) {
    PLINTH_ASSIGN_OR_RETURN(std::vector<HistoryRow> history, internal::ReadHistoryRows(*s.conn, opts));
    PLINTH_RETURN_IF_ERROR(CheckProgress(previous_read, history));
    Analysis a = internal::Analyze(std::move(history), migrations, opts.allow_changed);
    if (attempt == 0) {
      report.from_version = CurrentVersion(a);
      for (const auto& n : a.notes) Progress(opts, n);
    }
    if (!a.blocking.empty()) return Refuse(a.blocking);
    const size_t top = a.applied;  // includes a partial migration
    if (!target_count) {
      if (*relative > top) {
        return Status(Code::kInvalidArgument, "cannot roll back " + std::to_string(*relative) + " migrations: only " +
                                                  std::to_string(top) + " are applied");
      }
      target_count = top - *relative;
    }
    if (top < *target_count) {
      if (!report.migrations.empty()) break;
      return Status(Code::kFailedPrecondition,
                    "the database is at " + (top == 0 ? std::string("base") : migrations[top - 1].version) + ", before " +
                        migrations[*target_count - 1].version + ": nothing to roll back (use `plinth migrate up " +
                        migrations[*target_count - 1].version + "` to go forward)");
    }
    if (top == *target_count) break;

    const size_t complete = a.partial ? *a.partial : a.applied;
    PLINTH_ASSIGN_OR_RETURN(schema::Schema state, internal::AppliedState(s.dialect, migrations, complete, std::nullopt));
    std::map<std::string, const HistoryRow*> rows;
    for (const auto& r : a.history) rows[r.version] = &r;
    std::vector<std::pair<size_t, MigrationScript>> scripts;
    for (size_t i = top; i-- > *target_count;) {
      const HistoryRow& row = *rows.at(migrations[i].version);
      Recorded rec{static_cast<size_t>(std::max(row.steps_done, 0)), static_cast<size_t>(std::max(row.steps_total, 0))};
      PLINTH_ASSIGN_OR_RETURN(MigrationScript ms, internal::PlanDown(s.dialect, migrations, i, state, rec));
      scripts.emplace_back(i, std::move(ms));
    }
    if (!opts.allow_data_loss) {
      std::vector<MigrationScript> plain;
      for (const auto& [i, ms] : scripts) plain.push_back(ms);
      PLINTH_RETURN_IF_ERROR(RefuseDataLoss(plain, Direction::kDown));
    }
    PLINTH_ASSIGN_OR_RETURN(bool replan, RunScripts(s, migrations, scripts, opts, report));
    if (!replan) break;
  }
  PLINTH_ASSIGN_OR_RETURN(std::vector<HistoryRow> after, internal::ReadHistoryRows(*s.conn, opts));
  report.to_version = after.empty() ? "" : after.back().version;
  return report;
}

Result<RunReport> Stamp(const db::Url& url, const std::vector<migrate::Migration>& migrations, std::string_view target,
                        const RunOptions& opts) {
  PLINTH_ASSIGN_OR_RETURN(size_t target_count, ResolvePosition(migrations, target));
  PLINTH_ASSIGN_OR_RETURN(Session s, OpenSession(url, opts, /*take_lock=*/true, /*create=*/true));
  PLINTH_RETURN_IF_ERROR(CreateHistoryTable(s, opts));
  const bool sqlite = s.dialect == sql::Dialect::kSqlite;
  ScriptStatement begin;
  begin.kind = StatementKind::kBegin;
  begin.sql = sqlite ? "BEGIN IMMEDIATE" : "BEGIN";
  PLINTH_RETURN_IF_ERROR(internal::ExecuteStatement(*s.conn, begin, opts));
  auto fail = [&](Status st) {
    ScriptStatement rollback;
    rollback.kind = StatementKind::kCleanup;
    rollback.sql = "ROLLBACK";
    (void)internal::ExecuteStatement(*s.conn, rollback, opts);
    return st;
  };
  // Read inside the transaction: on SQLite BEGIN IMMEDIATE is the lock.
  auto history = internal::ReadHistoryRows(*s.conn, opts);
  if (!history.ok()) return fail(history.status());
  RunReport report;
  report.from_version = history->empty() ? "" : history->back().version;
  std::map<std::string, const HistoryRow*> rows;
  for (const auto& r : *history) rows[r.version] = &r;

  auto empty = migrate::Replay(migrations, 0);
  if (!empty.ok()) return fail(empty.status());
  schema::Schema state = std::move(empty).value();
  const std::string table(kHistoryTable);
  auto lit = [](std::string_view v) { return db::QuoteLiteral(v); };
  for (size_t i = 0; i < target_count; ++i) {
    const migrate::Migration& m = migrations[i];
    auto planned = internal::PlanUp(s.dialect, m, state, 0, std::nullopt);
    if (!planned.ok()) return fail(planned.status());
    const size_t total = planned->steps_total;
    auto it = rows.find(m.version);
    ScriptStatement w;
    w.kind = StatementKind::kHistory;
    w.steps_done = static_cast<int>(total);
    if (it == rows.end()) {
      w.sql = "INSERT INTO " + table +
              " (version, name, checksum, applied_at, duration_ms, steps_done, steps_total) VALUES (" +
              lit(m.version) + ", " + lit(m.name) + ", " + lit(m.checksum) + ", " + internal::NowSql(s.dialect) +
              ", 0, " + std::to_string(total) + ", " + std::to_string(total) + ")";
    } else if (!it->second->complete() || it->second->checksum != m.checksum || it->second->name != m.name ||
               it->second->steps_total != static_cast<int>(total)) {
      w.sql = "UPDATE " + table + " SET name = " + lit(m.name) + ", checksum = " + lit(m.checksum) +
              ", steps_done = " + std::to_string(total) + ", steps_total = " + std::to_string(total) +
              " WHERE version = " + lit(m.version);
    } else {
      continue;
    }
    Status st = internal::ExecuteStatement(*s.conn, w, opts);
    if (!st.ok()) return fail(st.WithContext("stamping " + m.version));
    MigrationRun run;
    run.version = m.version;
    run.name = m.name;
    run.direction = Direction::kUp;
    run.steps_from = it == rows.end() ? 0 : static_cast<size_t>(std::max(it->second->steps_done, 0));
    run.steps_to = run.steps_total = total;
    report.migrations.push_back(run);
  }
  std::vector<std::string> keep;
  for (size_t i = 0; i < target_count; ++i) keep.push_back(migrations[i].version);
  for (auto it = history->rbegin(); it != history->rend(); ++it) {
    if (std::find(keep.begin(), keep.end(), it->version) != keep.end()) continue;
    ScriptStatement d;
    d.kind = StatementKind::kHistory;
    d.sql = "DELETE FROM " + table + " WHERE version = " + lit(it->version);
    Status st = internal::ExecuteStatement(*s.conn, d, opts);
    if (!st.ok()) return fail(st.WithContext("removing " + it->version + " from the history"));
    MigrationRun run;
    run.version = it->version;
    run.name = it->name;
    run.direction = Direction::kDown;
    run.steps_from = static_cast<size_t>(std::max(it->steps_done, 0));
    run.steps_total = static_cast<size_t>(std::max(it->steps_total, 0));
    report.migrations.push_back(run);
  }
  ScriptStatement commit;
  commit.kind = StatementKind::kCommit;
  commit.sql = "COMMIT";
  Status st = internal::ExecuteStatement(*s.conn, commit, opts);
  if (!st.ok()) return fail(st);
  report.to_version = target_count == 0 ? "" : migrations[target_count - 1].version;
  return report;
}

Result<StatusReport> ReadStatus(const db::Url& url, const std::vector<migrate::Migration>& migrations,
                                const RunOptions& opts) {
  StatusReport report;
  report.backend = url.backend;
  report.head = migrations.empty() ? "" : migrations.back().version;
  std::vector<HistoryRow> history;
  auto session = OpenSession(url, opts, /*take_lock=*/false, /*create=*/false);
  if (!session.ok()) {
    if (session.status().code() != Code::kNotFound || url.backend != db::Backend::kSqlite) return session.status();
    report.problems.push_back("the database file " + url.path + " does not exist yet; `plinth migrate up` creates it.");
  } else {
    PLINTH_ASSIGN_OR_RETURN(report.history_exists, internal::HistoryTableExists(*session->conn, opts));
    PLINTH_ASSIGN_OR_RETURN(history, internal::ReadHistoryRows(*session->conn, opts));
  }
  Analysis a = internal::Analyze(std::move(history), migrations, opts.allow_changed);
  report.current = CurrentVersion(a);
  report.entries = std::move(a.entries);
  report.problems.insert(report.problems.end(), a.blocking.begin(), a.blocking.end());
  report.problems.insert(report.problems.end(), a.notes.begin(), a.notes.end());
  for (const auto& e : report.entries) {
    if (e.state == MigrationState::kPending || e.state == MigrationState::kOutOfOrder) ++report.pending;
  }
  return report;
}

Result<DriftReport> CheckDrift(const db::Url& url, const std::vector<migrate::Migration>& migrations,
                               const RunOptions& opts) {
  PLINTH_ASSIGN_OR_RETURN(Session s, OpenSession(url, opts, /*take_lock=*/false, /*create=*/false));
  PLINTH_ASSIGN_OR_RETURN(std::vector<HistoryRow> history, internal::ReadHistoryRows(*s.conn, opts));
  DriftReport report;
  report.status.backend = url.backend;
  report.status.history_exists = !history.empty();
  report.status.head = migrations.empty() ? "" : migrations.back().version;
  Analysis a = internal::Analyze(history, migrations, opts.allow_changed);
  report.status.current = CurrentVersion(a);
  report.status.problems = a.blocking;
  for (const auto& e : a.entries) {
    if (e.state == MigrationState::kPending || e.state == MigrationState::kOutOfOrder) ++report.status.pending;
  }
  report.status.entries = a.entries;
  const size_t complete = a.partial ? *a.partial : a.applied;
  std::optional<Recorded> partial;
  if (a.partial) {
    const HistoryRow& row = a.history.back();
    partial = Recorded{static_cast<size_t>(std::max(row.steps_done, 0)), static_cast<size_t>(std::max(row.steps_total, 0))};
    report.status.problems.push_back(a.notes.empty() ? "a migration is partially applied" : a.notes.back());
  }
  PLINTH_ASSIGN_OR_RETURN(report.expected_state, internal::AppliedState(s.dialect, migrations, complete, partial));
  auto actual = sql::Introspect(*s.conn);
  if (!actual.ok()) return actual.status().WithContext("cannot read the database's catalog");
  sql::Catalog expected = sql::Expected(s.dialect, report.expected_state);
  report.differences = sql::Compare(expected, *actual);
  return report;
}

}  // namespace plinth::runner
