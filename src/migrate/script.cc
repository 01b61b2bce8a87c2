// Scripts: the statements that run one migration (transactions, guard, foreign-key switch,
// history writes), their text form, positions in the migration directory, and the history
// table's SQL.
#include <algorithm>
#include <charconv>

#include "common/strings.h"
#include "migrate/internal.h"

namespace plinth::runner {

using internal::MigrationScriptInput;

int64_t MigrationLockKey() {
  constexpr size_t kKeyBytes = 8;
  constexpr int kBitsPerByte = 8;
  std::string digest = Sha256(kLockName);
  uint64_t key = 0;
  for (size_t i = 0; i < kKeyBytes; ++i) key = (key << kBitsPerByte) | static_cast<unsigned char>(digest[i]);
  return static_cast<int64_t>(key);
}

std::string_view DirectionName(Direction d) { return d == Direction::kUp ? "up" : "down"; }

bool InScript(StatementKind k) {
  switch (k) {
    case StatementKind::kRead:
    case StatementKind::kLock:
    case StatementKind::kCleanup: return false;
    default: return true;
  }
}

std::string_view MigrationStateName(MigrationState s) {
  switch (s) {
    case MigrationState::kApplied: return "applied";
    case MigrationState::kPending: return "pending";
    case MigrationState::kPartial: return "partial";
    case MigrationState::kChanged: return "changed";
    case MigrationState::kOutOfOrder: return "out of order";
    case MigrationState::kUnknown: return "unknown";
  }
  return "unknown";
}

bool VersionLess(std::string_view a, std::string_view b) {
  auto digits = [](std::string_view v) {
    size_t n = 0;
    while (n < v.size() && v[n] >= '0' && v[n] <= '9') ++n;
    return n;
  };
  // Compare the numeric prefixes by value (ignoring leading zeros), then the rest.
  size_t na = digits(a), nb = digits(b);
  std::string_view da = a.substr(0, na), db = b.substr(0, nb);
  while (da.size() > 1 && da.front() == '0') da.remove_prefix(1);
  while (db.size() > 1 && db.front() == '0') db.remove_prefix(1);
  if (da.size() != db.size()) return da.size() < db.size();
  if (da != db) return da < db;
  return a < b;
}

std::string FormatStatement(const ScriptStatement& s) {
  std::string out;
  if (!s.comment.empty()) {
    for (const std::string& line : Split(s.comment, '\n')) {
      out += line.empty() ? "\n" : "-- " + line + "\n";
    }
  }
  out += s.sql;
  out += ";\n";
  return out;
}

std::string FormatScript(const Script& s) {
  std::string out;
  for (const auto& st : s.setup) out += FormatStatement(st);
  for (const auto& m : s.migrations) {
    for (const auto& st : m.statements) out += FormatStatement(st);
  }
  return out;
}

Result<size_t> ResolvePosition(const std::vector<migrate::Migration>& migrations, std::string_view target) {
  std::string t = Trim(target);
  if (t == "base") return size_t{0};
  if (t == "head" || t.empty()) return migrations.size();
  for (size_t i = 0; i < migrations.size(); ++i) {
    const auto& m = migrations[i];
    std::string stem = migrate::FileNameFor(m);
    if (EndsWith(stem, ".json")) stem.resize(stem.size() - std::string_view(".json").size());
    if (t == m.version || t == stem || t == stem + ".json") return i + 1;
  }
  std::string known = migrations.empty() ? "the directory has no migrations"
                                         : "known versions are " + migrations.front().version + " to " +
                                               migrations.back().version;
  return Status(Code::kInvalidArgument, "unknown migration \"" + t +
                                            "\": expected base, head, a version such as 0003 or a file "
                                            "name such as 0003_add_templates (" + known + ")");
}

namespace internal {
namespace {

std::string Lit(std::string_view text) { return db::QuoteLiteral(text); }

std::string Table() { return std::string(kHistoryTable); }

// Elapsed milliseconds of the current transaction (PostgreSQL).
constexpr std::string_view kPgTransactionElapsed =
    "(extract(epoch FROM clock_timestamp() - transaction_timestamp()) * 1000)::bigint";
// Elapsed milliseconds since the clock mark of a non-transactional step (PostgreSQL).
constexpr std::string_view kPgClockSetting = "plinth.step_started_at";
// SQLite: applied_at holds the start of the transaction until its end (see BuildMigrationScript).
constexpr std::string_view kSqliteElapsed =
    "CAST(round((julianday('now') - julianday(applied_at)) * 86400000.0) AS INTEGER)";

std::string StripTerminator(std::string_view sql) {
  std::string s = Trim(sql);
  while (!s.empty() && (s.back() == ';' || std::isspace(static_cast<unsigned char>(s.back())))) s.pop_back();
  return s;
}

class ScriptWriter {
 public:
  explicit ScriptWriter(MigrationScript& out) : out_(out) {}

  void Add(StatementKind kind, std::string sql, sql::Expect expect = sql::Expect::kNothing,
           std::string failure = {}) {
    ScriptStatement s;
    s.kind = kind;
    s.sql = std::move(sql);
    s.expect = expect;
    s.failure = std::move(failure);
    Push(std::move(s));
  }

  void Push(ScriptStatement s) {
    if (!pending_comment_.empty()) {
      s.comment = pending_comment_ + (s.comment.empty() ? "" : "\n" + s.comment);
      pending_comment_.clear();
    }
    out_.statements.push_back(std::move(s));
  }

  void Comment(const std::string& line) {
    if (!pending_comment_.empty()) pending_comment_ += "\n";
    pending_comment_ += line;
  }

 private:
  MigrationScript& out_;
  std::string pending_comment_;
};

std::string VersionWhere(const migrate::Migration& m) { return " WHERE version = " + Lit(m.version); }

// The guard: the history row is still what this script assumes.
std::string GuardSql(const MigrationScriptInput& in) {
  const migrate::Migration& m = *in.migration;
  // Up from nothing: no row yet. Otherwise (resuming, or rolling back, whatever steps_done
  // is — a migration whose plan has no step on this database records 0 of 0) the row as read.
  if (in.direction == Direction::kUp && in.steps_before == 0) {
    return "SELECT count(*) = 0 FROM " + Table() + VersionWhere(m);
  }
  return "SELECT count(*) = 1 FROM " + Table() + VersionWhere(m) +
         " AND steps_done = " + std::to_string(in.steps_before);
}

std::string GuardFailure(const MigrationScriptInput& in) {
  const migrate::Migration& m = *in.migration;
  if (in.direction == Direction::kUp && in.steps_before == 0) {
    return "migration " + m.version + " was applied by another process meanwhile";
  }
  return "the history row of migration " + m.version + " changed since it was read (another process)";
}

// The up history write that ends a segment: records `steps_done`.
std::string UpHistoryWrite(const MigrationScriptInput& in, size_t steps_done, bool transactional) {
  const migrate::Migration& m = *in.migration;
  if (in.dialect == sql::Dialect::kSqlite && transactional) {
    // applied_at was set to the transaction's start by the opening upsert.
    return "UPDATE " + Table() + " SET name = " + Lit(m.name) + ", checksum = " + Lit(m.checksum) +
           ", duration_ms = duration_ms + " + std::string(kSqliteElapsed) + ", applied_at = " +
           NowSql(in.dialect) + ", steps_done = " + std::to_string(steps_done) + VersionWhere(m);
  }
  std::string elapsed;
  if (in.dialect == sql::Dialect::kPostgres) {
    elapsed = transactional ? std::string(kPgTransactionElapsed)
                            : "(extract(epoch FROM clock_timestamp() - current_setting(" +
                                  Lit(kPgClockSetting) + ")::timestamptz) * 1000)::bigint";
  } else {
    elapsed = "0";  // an SQLite step outside a transaction has no start mark
  }
  return "INSERT INTO " + Table() +
         " (version, name, checksum, applied_at, duration_ms, steps_done, steps_total) VALUES (" +
         Lit(m.version) + ", " + Lit(m.name) + ", " + Lit(m.checksum) + ", " + NowSql(in.dialect) + ", " +
         elapsed + ", " + std::to_string(steps_done) + ", " + std::to_string(in.steps_total) +
         ") ON CONFLICT (version) DO UPDATE SET name = excluded.name, checksum = excluded.checksum, "
         "applied_at = excluded.applied_at, duration_ms = " + Table() +
         ".duration_ms + excluded.duration_ms, steps_done = excluded.steps_done, steps_total = "
         "excluded.steps_total";
}

// SQLite: the first write of an up transaction notes its start in applied_at (and creates the
// row), so the closing UPDATE can add the elapsed time. Both commit or roll back together.
std::string SqliteUpStart(const MigrationScriptInput& in) {
  const migrate::Migration& m = *in.migration;
  return "INSERT INTO " + Table() +
         " (version, name, checksum, applied_at, duration_ms, steps_done, steps_total) VALUES (" +
         Lit(m.version) + ", " + Lit(m.name) + ", " + Lit(m.checksum) + ", " + NowSql(in.dialect) +
         ", 0, " + std::to_string(in.steps_before) + ", " + std::to_string(in.steps_total) +
         ") ON CONFLICT (version) DO UPDATE SET applied_at = excluded.applied_at";
}

std::string DownHistoryWrite(const MigrationScriptInput& in, bool last, size_t steps_done) {
  const migrate::Migration& m = *in.migration;
  if (last) return "DELETE FROM " + Table() + VersionWhere(m);
  return "UPDATE " + Table() + " SET steps_done = " + std::to_string(steps_done) + VersionWhere(m);
}

}  // namespace

std::string HistoryTableDdl(sql::Dialect d) {
  if (d == sql::Dialect::kPostgres) {
    return "CREATE TABLE IF NOT EXISTS " + Table() +
           " (\n"
           "  version text PRIMARY KEY,\n"
           "  name text NOT NULL,\n"
           "  checksum text NOT NULL,\n"
           "  applied_at timestamptz NOT NULL,\n"
           "  duration_ms bigint NOT NULL DEFAULT 0,\n"
           "  steps_done integer NOT NULL,\n"
           "  steps_total integer NOT NULL\n"
           ")";
  }
  return "CREATE TABLE IF NOT EXISTS " + Table() +
         " (\n"
         "  version TEXT PRIMARY KEY,\n"
         "  name TEXT NOT NULL,\n"
         "  checksum TEXT NOT NULL,\n"
         "  applied_at TEXT NOT NULL,\n"
         "  duration_ms INTEGER NOT NULL DEFAULT 0,\n"
         "  steps_done INTEGER NOT NULL,\n"
         "  steps_total INTEGER NOT NULL\n"
         ")";
}

std::string NowSql(sql::Dialect d) {
  if (d == sql::Dialect::kPostgres) return "clock_timestamp()";
  // RFC 3339 UTC with microseconds (SQLite's clock has milliseconds).
  return "strftime('%Y-%m-%dT%H:%M:%f', 'now') || '000Z'";
}

bool HasSeveralSegments(const sql::MigrationPlan& plan, size_t first_unit) {
  size_t segments = 0;
  bool in_tx = false;
  for (size_t i = first_unit; i < plan.units.size(); ++i) {
    if (plan.units[i].transactional) {
      if (!in_tx) ++segments;
      in_tx = true;
    } else {
      ++segments;
      in_tx = false;
    }
  }
  return segments > 1;
}

MigrationScript BuildMigrationScript(const MigrationScriptInput& in) {
  const migrate::Migration& m = *in.migration;
  const sql::MigrationPlan& plan = *in.plan;
  const bool up = in.direction == Direction::kUp;
  const bool sqlite = in.dialect == sql::Dialect::kSqlite;
  const size_t units = plan.units.size();

  MigrationScript out;
  out.version = m.version;
  out.name = m.name;
  out.direction = in.direction;
  out.steps_total = in.steps_total;
  out.steps_before = in.steps_before;
  out.steps_after = up ? in.steps_total : 0;
  out.units = units;
  out.data_loss = in.data_loss;

  ScriptWriter w(out);
  std::string header = "\n" + m.version + " " + m.name + " (" + std::string(DirectionName(in.direction));
  if (up && in.steps_before > 0) {
    header += ", resuming at step " + std::to_string(in.steps_before + 1) + " of " + std::to_string(in.steps_total);
  } else if (!up && in.steps_before < in.steps_total) {
    header += ", rolling back the " + std::to_string(in.steps_before) + " of " +
              std::to_string(in.steps_total) + " steps applied";
  }
  header += ")";
  w.Comment(header);

  bool first_segment = true;
  auto guard = [&] {
    if (!first_segment) return;
    w.Add(StatementKind::kGuard, GuardSql(in), sql::Expect::kTrue, GuardFailure(in));
  };
  auto work = [&](size_t index) {
    const sql::Unit& u = plan.units[index];
    std::string line = "step " + std::to_string(index + 1) + "/" + std::to_string(units) + ": " + u.op_description;
    if (!u.transactional) line += " (non-transactional)";
    w.Comment(line);
    for (const sql::Statement& st : u.statements) {
      ScriptStatement s;
      s.kind = StatementKind::kWork;
      s.sql = StripTerminator(st.sql);
      s.expect = st.expect;
      s.failure = st.failure;
      s.step = index + 1;
      s.op_description = u.op_description;
      if (s.sql.empty()) continue;
      w.Push(std::move(s));
    }
  };
  // The history write after `done` units of the plan have completed.
  auto history = [&](size_t done, bool transactional) {
    ScriptStatement s;
    s.kind = StatementKind::kHistory;
    if (up) {
      s.steps_done = static_cast<int>(done);
      s.sql = UpHistoryWrite(in, done, transactional);
    } else {
      const bool final_write = done >= units;
      size_t steps = 0;
      if (!final_write && done > 0 && done - 1 < in.down_steps_after_unit.size()) {
        steps = in.down_steps_after_unit[done - 1];
      } else if (!final_write) {
        steps = in.steps_before;
      }
      s.steps_done = final_write ? -1 : static_cast<int>(steps);
      s.sql = DownHistoryWrite(in, final_write, steps);
    }
    w.Push(std::move(s));
  };
  auto transaction = [&](size_t begin, size_t end) {  // units [begin, end); may be empty
    const bool fk_off = sqlite && plan.sqlite_foreign_keys_off && end > begin;
    if (fk_off) {
      w.Add(StatementKind::kForeignKeys, "PRAGMA foreign_keys = OFF");
      w.Add(StatementKind::kForeignKeys, "SELECT foreign_keys = 0 FROM pragma_foreign_keys", sql::Expect::kTrue,
            "PRAGMA foreign_keys could not be turned off, and rebuilding a table with foreign keys on would "
            "run ON DELETE actions on the rows that reference it");
    }
    w.Add(StatementKind::kBegin, sqlite ? "BEGIN IMMEDIATE" : "BEGIN");
    guard();
    if (sqlite && up) w.Add(StatementKind::kHistory, SqliteUpStart(in));
    for (size_t i = begin; i < end; ++i) work(i);
    if (fk_off) {
      w.Add(StatementKind::kForeignKeys, "PRAGMA foreign_key_check", sql::Expect::kNoRows,
            "rows violate foreign keys after the table rebuild");
    }
    // An empty transaction (nothing to run in this dialect) still records the migration.
    history(end, /*transactional=*/true);
    w.Add(StatementKind::kCommit, "COMMIT");
    if (fk_off) w.Add(StatementKind::kForeignKeys, "PRAGMA foreign_keys = ON");
    first_segment = false;
  };

  size_t i = in.first_unit;
  if (i >= units) {
    // Nothing to run (an empty plan, or every step done): one transaction records it.
    transaction(units, units);
  }
  while (i < units) {
    if (plan.units[i].transactional) {
      size_t j = i;
      while (j < units && plan.units[j].transactional) ++j;
      transaction(i, j);
      i = j;
    } else {
      guard();
      if (up && !sqlite) {
        w.Add(StatementKind::kClock, "SELECT set_config(" + Lit(kPgClockSetting) + ", clock_timestamp()::text, false)");
      }
      work(i);
      history(i + 1, /*transactional=*/false);
      first_segment = false;
      ++i;
    }
  }
  return out;
}

}  // namespace internal
}  // namespace plinth::runner
