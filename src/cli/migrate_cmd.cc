// `plinth migrate …`: diff, up, down, status, history, stamp, sql, check, lint.
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <iostream>

#include "cli/cli.h"
#include "common/strings.h"
#include "plinth/sql.h"

namespace plinth::cli {
namespace {

namespace fs = std::filesystem;

constexpr size_t kChecksumShown = 12;
constexpr double kDefaultLockTimeoutSeconds = 60.0;
constexpr std::string_view kSourceDateEpochEnv = "SOURCE_DATE_EPOCH";

// Flags shared by the commands that change the database.
struct RunFlags {
  bool allow_data_loss = false;
  bool allow_changed = false;
  bool echo = false;
  double lock_timeout = kDefaultLockTimeoutSeconds;
};

void AddRunFlags(CLI::App* cmd, RunFlags& f, bool data_flags) {
  if (data_flags) {
    cmd->add_flag("--allow-data-loss", f.allow_data_loss,
                  "run operations marked data-losing (drop table/column, narrowing a type, removing enum values)");
    cmd->add_flag("--allow-changed", f.allow_changed,
                  "run although an applied migration's file changed since (its checksum differs from the history)");
    cmd->add_flag("--echo", f.echo,
                  "print every statement of the script as it is executed (the same text `migrate sql` prints)");
  }
  AddLockTimeout(cmd, f.lock_timeout);
}

runner::RunOptions MakeRunOptions(const GlobalOptions& g, const RunFlags& f) {
  runner::RunOptions opts = g.BaseRunOptions();
  opts.allow_data_loss = f.allow_data_loss;
  opts.allow_changed = f.allow_changed;
  opts.lock_timeout = Seconds(f.lock_timeout);
  if (f.echo) {
    opts.trace = [](const runner::ScriptStatement& s) {
      if (runner::InScript(s.kind)) std::cout << runner::FormatStatement(s) << std::flush;
    };
  }
  return opts;
}

std::string VersionOrBase(const std::string& v) { return v.empty() ? "base" : v; }

// RFC 3339 UTC of now, or of $SOURCE_DATE_EPOCH (reproducible generated files).
std::string CreatedAt() {
  std::time_t t = std::time(nullptr);
  if (const char* epoch = std::getenv(std::string(kSourceDateEpochEnv).c_str()); epoch != nullptr && *epoch) {
    char* end = nullptr;
    const long long v = std::strtoll(epoch, &end, 10);
    if (end != epoch && *end == '\0' && v >= 0) t = static_cast<std::time_t>(v);
  }
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string Relative(const std::string& path) {
  std::error_code ec;
  fs::path rel = fs::relative(path, fs::current_path(), ec);
  if (ec || rel.empty() || StartsWith(rel.string(), "../..")) return path;
  return rel.string();
}

void PrintLint(const GlobalOptions& g, const std::vector<migrate::Migration>& migrations,
               const std::vector<migrate::LintFinding>& findings) {
  for (const auto& f : findings) {
    std::string op;
    for (const auto& m : migrations) {
      if (m.version == f.migration && f.op_index < m.up.size()) op = m.up[f.op_index].Describe();
    }
    g.Warn(f.migration + " operation " + std::to_string(f.op_index + 1) + " (" + op + ") [" + f.rule + "]: " +
           f.message + "\n  safe plan: " + f.safe_plan);
  }
}

// ---- diff ------------------------------------------------------------------------------------

int RunDiff(GlobalOptions& g, const std::string& message, bool no_concurrent) {
  if (Trim(message).empty()) return g.Fail("migrate diff needs a message: -m \"what changed\"", kExitUsage);
  PLINTH_CLI_ASSIGN(g, std::vector<migrate::Migration> migrations, g.LoadMigrations(), kExitFailure);
  auto target = g.LoadSchema();
  if (!target.ok()) {
    return g.Fail(target.status(), target.status().code() == Code::kNotFound ? kExitUsage : kExitFailure);
  }
  auto state = migrate::Replay(migrations, migrations.size());
  if (!state.ok()) return g.Fail(state.status().WithContext("replaying " + g.MigrationsPath()));
  migrate::DiffOptions opts;
  opts.concurrent_indexes = !no_concurrent;
  PLINTH_CLI_ASSIGN(g, migrate::DiffResult diff, migrate::Diff(*state, *target, opts), kExitFailure);
  for (const auto& n : diff.notes) g.Info("note: " + n);
  if (diff.up.empty()) {
    g.Info("nothing to do: " + g.SchemaPath() + " matches the " + std::to_string(migrations.size()) +
           " migrations in " + g.MigrationsPath());
    return kExitOk;
  }
  migrate::Migration m;
  m.version = migrate::NextVersion(migrations.empty() ? "" : migrations.back().version);
  m.name = Trim(message);
  m.parent = migrations.empty() ? "" : migrations.back().version;
  m.created_at = CreatedAt();
  m.up = std::move(diff.up);
  m.down = std::move(diff.down);
  const std::string text = migrate::ToFileText(m);
  const fs::path dir = g.MigrationsPath();
  const fs::path file = dir / migrate::FileNameFor(m);
  {
    // What is written must read back as the same migration.
    Diagnostics diags;
    auto back = migrate::ParseMigration(text, file.string(), diags);
    if (!back.ok()) {
      return g.Fail(Status(Code::kInternal, "the generated migration does not parse back (a bug in plinth):\n" +
                                                diags.ToString()));
    }
  }
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return g.Fail("cannot create " + dir.string() + ": " + ec.message());
  if (fs::exists(file, ec)) return g.Fail(file.string() + " already exists; nothing was written");
  if (!WriteFileAtomic(file.string(), text)) {
    return g.Fail("cannot write " + file.string() + ": " + std::strerror(errno));
  }
  size_t loss = 0;
  for (const auto& op : m.up) loss += op.data_loss ? 1 : 0;
  g.Print("wrote " + Relative(file.string()) + ": " + std::to_string(m.up.size()) + " operations up, " +
          std::to_string(m.down.size()) + " down");
  for (const auto& op : m.up) {
    g.Info("  " + op.Describe() + (op.data_loss ? "  [data loss: needs --allow-data-loss]" : "") +
           (op.note.empty() ? "" : "\n    " + op.note));
  }
  if (loss > 0) {
    g.Warn(std::to_string(loss) + " operation(s) lose data; `migrate up` refuses them without --allow-data-loss");
  }
  std::vector<migrate::Migration> all = migrations;
  m.path = file.string();
  all.push_back(m);
  PrintLint(g, all, migrate::Lint(all, all.size() - 1, 1));
  return kExitOk;
}

// ---- up / down / stamp ---------------------------------------------------------------------

void PrintReport(const GlobalOptions& g, const runner::RunReport& r, const std::vector<migrate::Migration>& ms,
                 std::string_view verb) {
  const std::string head = ms.empty() ? "" : ms.back().version;
  std::string where = VersionOrBase(r.to_version);
  if (!head.empty() && r.to_version == head) where += " (head)";
  if (r.migrations.empty()) {
    g.Info("nothing to " + std::string(verb) + ": the database is at " + where);
  } else {
    g.Info("the database is at " + where + " (was " + VersionOrBase(r.from_version) + ")");
  }
}

int RunUp(GlobalOptions& g, const std::string& target, const RunFlags& f) {
  PLINTH_CLI_ASSIGN(g, db::Url url, g.Url(), kExitUsage);
  PLINTH_CLI_ASSIGN(g, std::vector<migrate::Migration> migrations, g.LoadMigrations(), kExitFailure);
  PLINTH_CLI_ASSIGN(g, runner::RunReport report,
                    runner::Up(url, migrations, target.empty() ? "head" : target, MakeRunOptions(g, f)), kExitFailure);
  PrintReport(g, report, migrations, "apply");
  return kExitOk;
}

int RunDown(GlobalOptions& g, const std::string& target, const RunFlags& f) {
  PLINTH_CLI_ASSIGN(g, db::Url url, g.Url(), kExitUsage);
  PLINTH_CLI_ASSIGN(g, std::vector<migrate::Migration> migrations, g.LoadMigrations(), kExitFailure);
  auto report = runner::Down(url, migrations, target, MakeRunOptions(g, f));
  if (!report.ok()) {
    return g.Fail(report.status(), report.status().code() == Code::kInvalidArgument ? kExitUsage : kExitFailure);
  }
  PrintReport(g, *report, migrations, "roll back");
  return kExitOk;
}

int RunStamp(GlobalOptions& g, const std::string& target, const RunFlags& f) {
  PLINTH_CLI_ASSIGN(g, db::Url url, g.Url(), kExitUsage);
  PLINTH_CLI_ASSIGN(g, std::vector<migrate::Migration> migrations, g.LoadMigrations(), kExitFailure);
  auto report = runner::Stamp(url, migrations, target, MakeRunOptions(g, f));
  if (!report.ok()) {
    return g.Fail(report.status(), report.status().code() == Code::kInvalidArgument ? kExitUsage : kExitFailure);
  }
  for (const auto& run : report->migrations) {
    g.Info(std::string(run.direction == runner::Direction::kUp ? "recorded " : "removed ") + run.version + " " +
           run.name + (run.direction == runner::Direction::kUp ? " as applied" : " from the history"));
  }
  g.Info("the history now records " + VersionOrBase(report->to_version) + " (no migration was run)");
  return kExitOk;
}

// ---- status / history ------------------------------------------------------------------------

std::string Steps(const runner::HistoryRow& r) {
  return std::to_string(r.steps_done) + "/" + std::to_string(r.steps_total);
}

int RunStatus(GlobalOptions& g) {
  PLINTH_CLI_ASSIGN(g, db::Url url, g.Url(), kExitUsage);
  PLINTH_CLI_ASSIGN(g, std::vector<migrate::Migration> migrations, g.LoadMigrations(), kExitFailure);
  PLINTH_CLI_ASSIGN(g, runner::StatusReport st, runner::ReadStatus(url, migrations, g.BaseRunOptions()), kExitFailure);
  std::vector<std::vector<std::string>> rows;
  bool bad = false;
  for (const auto& e : st.entries) {
    rows.push_back({e.version, e.name, std::string(runner::MigrationStateName(e.state)),
                    e.row ? e.row->applied_at : "", e.row ? std::to_string(e.row->duration_ms) + " ms" : "",
                    e.row ? Steps(*e.row) : ""});
    bad = bad || (e.state != runner::MigrationState::kApplied && e.state != runner::MigrationState::kPending);
  }
  std::string out = "database: " + url.Redacted() + "\napp: " + g.AppDir() + "\n";
  if (!rows.empty()) {
    out += "\n" + FormatTable({"VERSION", "NAME", "STATE", "APPLIED AT (UTC)", "DURATION", "STEPS"}, rows) + "\n";
  }
  out += "current: " + VersionOrBase(st.current) + ", head: " + VersionOrBase(st.head) + ", pending: " +
         std::to_string(st.pending) + "\n";
  for (const auto& p : st.problems) out += "- " + p + "\n";
  g.Print(out);
  return bad ? kExitFailure : kExitOk;
}

int RunHistory(GlobalOptions& g) {
  PLINTH_CLI_ASSIGN(g, db::Url url, g.Url(), kExitUsage);
  db::ConnectOptions copts;
  copts.create = false;
  auto conn = db::Connect(url, copts);
  if (!conn.ok()) {
    if (conn.status().code() == Code::kNotFound && url.backend == db::Backend::kSqlite) {
      g.Print("no history: the database file " + url.path + " does not exist yet (`plinth migrate up` creates it)");
      return kExitOk;
    }
    return g.Fail(conn.status());
  }
  PLINTH_CLI_ASSIGN(g, std::vector<runner::HistoryRow> history, runner::ReadHistory(**conn), kExitFailure);
  if (history.empty()) {
    g.Print("no history: " + std::string(runner::kHistoryTable) + " is empty or missing (nothing applied)");
    return kExitOk;
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& r : history) {
    rows.push_back({r.version, r.name, r.checksum.substr(0, kChecksumShown), r.applied_at,
                    std::to_string(r.duration_ms) + " ms", Steps(r) + (r.complete() ? "" : " (partial)")});
  }
  g.Print(FormatTable({"VERSION", "NAME", "CHECKSUM", "APPLIED AT (UTC)", "DURATION", "STEPS"}, rows));
  return kExitOk;
}

// ---- sql -----------------------------------------------------------------------------------

int RunSql(GlobalOptions& g, const std::string& from, const std::string& to, const std::string& dialect_name) {
  sql::Dialect dialect = sql::Dialect::kPostgres;
  if (dialect_name == "postgresql" || dialect_name == "postgres") {
    dialect = sql::Dialect::kPostgres;
  } else if (dialect_name == "sqlite") {
    dialect = sql::Dialect::kSqlite;
  } else if (dialect_name.empty()) {
    if (g.database_url.empty()) {
      return g.Fail("migrate sql needs --dialect postgresql|sqlite (or a --database-url to take it from)",
                    kExitUsage);
    }
    PLINTH_CLI_ASSIGN(g, db::Url url, g.Url(), kExitUsage);
    dialect = sql::DialectFor(url.backend);
  } else {
    return g.Fail("--dialect must be postgresql or sqlite, not \"" + dialect_name + "\"", kExitUsage);
  }
  PLINTH_CLI_ASSIGN(g, std::vector<migrate::Migration> migrations, g.LoadMigrations(), kExitFailure);
  auto script = runner::BuildScript(dialect, migrations, from.empty() ? "base" : from, to.empty() ? "head" : to);
  if (!script.ok()) {
    return g.Fail(script.status(), script.status().code() == Code::kInvalidArgument ? kExitUsage : kExitFailure);
  }
  std::cout << runner::FormatScript(*script) << std::flush;
  return kExitOk;
}

// ---- check (drift) ---------------------------------------------------------------------------

int RunDrift(GlobalOptions& g, bool allow_changed) {
  PLINTH_CLI_ASSIGN(g, db::Url url, g.Url(), kExitUsage);
  PLINTH_CLI_ASSIGN(g, std::vector<migrate::Migration> migrations, g.LoadMigrations(), kExitFailure);
  runner::RunOptions opts = g.BaseRunOptions();
  opts.allow_changed = allow_changed;
  PLINTH_CLI_ASSIGN(g, runner::DriftReport drift, runner::CheckDrift(url, migrations, opts), kExitFailure);
  std::vector<std::string> problems = drift.status.problems;
  if (drift.status.pending > 0) {
    problems.push_back("the database is at " + VersionOrBase(drift.status.current) + ", head is " +
                       VersionOrBase(drift.status.head) + ": " + std::to_string(drift.status.pending) +
                       " migration(s) pending (run `plinth migrate up`)");
  }
  // schema.toml changes that no migration holds yet.
  auto target = g.LoadSchema();
  if (target.ok()) {
    auto head = migrate::Replay(migrations, migrations.size());
    if (head.ok()) {
      auto diff = migrate::Diff(*head, *target, migrate::DiffOptions{});
      if (diff.ok() && !diff->up.empty()) {
        std::string ops;
        for (const auto& op : diff->up) ops += "\n    " + op.Describe();
        problems.push_back(g.SchemaPath() + " has changes that no migration holds (run `plinth migrate diff -m …`):" +
                           ops);
      }
    }
  } else if (target.status().code() != Code::kNotFound) {
    problems.push_back(g.SchemaPath() + " does not load: " + target.status().message());
  }
  std::string out;
  for (const auto& d : drift.differences) out += "  " + d.object + ": " + d.problem + "\n";
  if (!drift.differences.empty()) {
    out = "the database differs from what migrations/ up to " + VersionOrBase(drift.status.current) +
          " creates (" + std::to_string(drift.differences.size()) + " differences):\n" + out;
  }
  for (const auto& p : problems) out += "- " + p + "\n";
  if (drift.differences.empty() && problems.empty()) {
    g.Info("no drift: the database matches migrations/ at " + VersionOrBase(drift.status.current) +
           " (head) and schema.toml");
    return kExitOk;
  }
  g.Print(out);
  return kExitFailure;
}

// ---- lint ----------------------------------------------------------------------------------

int RunLint(GlobalOptions& g, const std::string& from, const std::string& to) {
  PLINTH_CLI_ASSIGN(g, std::vector<migrate::Migration> migrations, g.LoadMigrations(), kExitFailure);
  PLINTH_CLI_ASSIGN(g, size_t a, runner::ResolvePosition(migrations, from.empty() ? "base" : from), kExitUsage);
  PLINTH_CLI_ASSIGN(g, size_t b, runner::ResolvePosition(migrations, to.empty() ? "head" : to), kExitUsage);
  if (b < a) return g.Fail("--to must not be before --from", kExitUsage);
  auto replay = migrate::Replay(migrations, b);
  if (!replay.ok()) return g.Fail(replay.status().WithContext("replaying " + g.MigrationsPath()));
  std::vector<migrate::LintFinding> findings = migrate::Lint(migrations, a, b - a);
  PrintLint(g, migrations, findings);
  if (findings.empty()) {
    g.Info("no findings in " + std::to_string(b - a) + " migration(s)");
    return kExitOk;
  }
  g.Info(std::to_string(findings.size()) + " finding(s) in " + std::to_string(b - a) + " migration(s)");
  return kExitFailure;
}

}  // namespace

void RegisterMigrateCommands(CLI::App& app, GlobalOptions& g) {
  CLI::App* migrate = app.add_subcommand("migrate", "versioned migrations: diff, up, down, status, history, stamp, "
                                                    "sql, check, lint");
  migrate->require_subcommand(1);

  {
    struct Args {
      std::string message;
      bool no_concurrent = false;
    };
    auto args = std::make_shared<Args>();
    CLI::App* cmd = migrate->add_subcommand(
        "diff", "compare schema.toml with the state migrations/ produces (offline) and write the next migration "
                "file, or say there is nothing to do; prints notes and lint warnings");
    cmd->add_option("-m,--message", args->message, "what the migration does (its name)")->required();
    cmd->add_flag("--no-concurrent-indexes", args->no_concurrent,
                  "create new indexes on existing tables without CONCURRENTLY (PostgreSQL)");
    OnRun(cmd, g, [&g, args] { return RunDiff(g, args->message, args->no_concurrent); });
  }
  {
    struct Args {
      std::string target;
      RunFlags flags;
    };
    auto args = std::make_shared<Args>();
    CLI::App* cmd = migrate->add_subcommand("up", "apply pending migrations up to TARGET (default head), resuming a "
                                                  "partially applied one first");
    cmd->add_option("target", args->target, "head (default), a version (0003) or a file name (0003_add_templates)");
    AddRunFlags(cmd, args->flags, true);
    OnRun(cmd, g, [&g, args] { return RunUp(g, args->target, args->flags); });
  }
  {
    struct Args {
      std::string target;
      RunFlags flags;
    };
    auto args = std::make_shared<Args>();
    CLI::App* cmd = migrate->add_subcommand("down", "roll back applied migrations");
    cmd->add_option("target", args->target,
                    "a version (roll back the migrations after it), -N (the last N) or base (all)")
        ->required();
    AddRunFlags(cmd, args->flags, true);
    OnRun(cmd, g, [&g, args] { return RunDown(g, args->target, args->flags); });
  }
  {
    CLI::App* cmd = migrate->add_subcommand(
        "status", "each migration's state (applied, pending, partial, changed, out of order, unknown) and what to do");
    OnRun(cmd, g, [&g] { return RunStatus(g); });
  }
  {
    CLI::App* cmd = migrate->add_subcommand("history", "the history table: version, name, checksum, applied at, "
                                                       "duration, steps");
    OnRun(cmd, g, [&g] { return RunHistory(g); });
  }
  {
    struct Args {
      std::string target;
      RunFlags flags;
    };
    auto args = std::make_shared<Args>();
    CLI::App* cmd = migrate->add_subcommand(
        "stamp", "record the migrations up to TARGET as applied (and forget later ones) without running them");
    cmd->add_option("target", args->target, "base, head, a version or a file name")->required();
    AddRunFlags(cmd, args->flags, false);
    OnRun(cmd, g, [&g, args] { return RunStamp(g, args->target, args->flags); });
  }
  {
    struct Args {
      std::string from;
      std::string to;
      std::string dialect;
    };
    auto args = std::make_shared<Args>();
    CLI::App* cmd = migrate->add_subcommand(
        "sql", "print the exact SQL script `migrate up`/`down` runs from --from to --to (offline)");
    cmd->add_option("--from", args->from, "start position: base (default), a version or a file name");
    cmd->add_option("--to", args->to, "end position: head (default); before --from prints a down script");
    cmd->add_option("--dialect", args->dialect, "postgresql or sqlite (default: the --database-url's)")
        ->check(CLI::IsMember({"postgresql", "postgres", "sqlite"}));
    OnRun(cmd, g, [&g, args] { return RunSql(g, args->from, args->to, args->dialect); });
  }
  {
    auto allow_changed = std::make_shared<bool>(false);
    CLI::App* cmd = migrate->add_subcommand(
        "check", "drift: compare the live database with migrations/ and schema.toml; exit 1 listing each difference");
    cmd->add_flag("--allow-changed", *allow_changed, "do not count changed migration files as a problem");
    OnRun(cmd, g, [&g, allow_changed] { return RunDrift(g, *allow_changed); });
  }
  {
    struct Args {
      std::string from;
      std::string to;
    };
    auto args = std::make_shared<Args>();
    CLI::App* cmd = migrate->add_subcommand(
        "lint", "name PostgreSQL operations that rewrite a table, hold ACCESS EXCLUSIVE long, fail on existing rows "
                "or lose data, with the safe plan; exit 1 on findings");
    cmd->add_option("--from", args->from, "lint the migrations after this position (default base)");
    cmd->add_option("--to", args->to, "up to this position (default head)");
    OnRun(cmd, g, [&g, args] { return RunLint(g, args->from, args->to); });
  }
}

}  // namespace plinth::cli
