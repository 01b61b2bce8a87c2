// `plinth check`: the newcomer's first diagnostic. Connects (and says why not), then checks
// that the migrations are at head and that every table, column, constraint, index, trigger,
// enum and support function the app declares is in the database, and (PostgreSQL) that row
// level security is enabled and forced on every table with policies. Prints a pass/fail table;
// exits 1 on any failure.
#include <deque>
#include <map>
#include <set>

#include "cli/cli.h"
#include "common/strings.h"
#include "plinth/sql.h"

namespace plinth::cli {
namespace {

constexpr std::string_view kPass = "pass";
constexpr std::string_view kFail = "FAIL";
constexpr std::string_view kSkip = "skip";

struct Row {
  std::string check;
  std::string_view result = kPass;
  std::string detail;
  std::vector<std::string> problems;  // printed below the table
};

class Report {
 public:
  Row& Add(std::string check, std::string detail = {}) {
    rows_.push_back(Row{std::move(check), kPass, std::move(detail), {}});
    return rows_.back();
  }
  static void Fail(Row& r, std::string problem) {
    r.result = kFail;
    r.problems.push_back(std::move(problem));
  }
  int Print(const GlobalOptions& g, const std::string& title) const {
    std::vector<std::vector<std::string>> rows;
    size_t failed = 0;
    size_t checked = 0;
    std::string problems;
    for (const auto& r : rows_) {
      rows.push_back({r.check, std::string(r.result), r.detail});
      if (r.result == kSkip) continue;
      ++checked;
      if (r.result != kFail) continue;
      ++failed;
      for (const auto& p : r.problems) problems += "  " + r.check + ": " + p + "\n";
    }
    std::string out = title + "\n\n" + FormatTable({"CHECK", "RESULT", "DETAIL"}, rows);
    if (!problems.empty()) out += "\nfailures:\n" + problems;
    out += "\n";
    out += failed == 0 ? "check passed: " + std::to_string(checked) + " of " + std::to_string(checked) + " checks"
                       : "check FAILED: " + std::to_string(failed) + " of " + std::to_string(checked) +
                             " checks failed";
    g.Print(out);
    return failed == 0 ? kExitOk : kExitFailure;
  }

 private:
  std::deque<Row> rows_;  // a deque: Add() keeps earlier rows' references valid
};

std::string Plural(size_t n, std::string_view one, std::string_view many) {
  return std::to_string(n) + " " + std::string(n == 1 ? one : many);
}

std::string VersionOrBaseText(const std::string& v) { return v.empty() ? "base" : v; }

// The table a difference's object belongs to ("column t.c" → t), or "" for objects that are
// not a table's (enums, functions, indexes — those are looked up by name).
std::string TableOf(const std::string& object) {
  for (std::string_view kind : {"table ", "column ", "constraint ", "trigger ", "policy "}) {
    if (!StartsWith(object, kind)) continue;
    std::string rest = object.substr(kind.size());
    if (kind == "table ") return rest;
    const size_t dot = rest.find('.');
    return dot == std::string::npos ? rest : rest.substr(0, dot);
  }
  return {};
}

bool IsRowSecurity(const sql::Difference& d) {
  return StartsWith(d.object, "policy ") ||
         (StartsWith(d.object, "table ") && d.problem.find("row level security") != std::string::npos);
}

std::string Describe(const sql::Difference& d) { return d.object + ": " + d.problem; }

int RunCheck(GlobalOptions& g) {
  PLINTH_CLI_ASSIGN(g, db::Url url, g.Url(), kExitUsage);
  Report report;
  const std::string title = "plinth check: " + url.Redacted() + ", app " + g.AppDir();
  runner::RunOptions opts = g.BaseRunOptions();
  opts.progress = nullptr;

  // 1. The connection.
  Row& connect = report.Add("database connection", std::string(db::BackendName(url.backend)));
  db::ConnectOptions copts;
  copts.create = false;
  copts.timeout_ms = static_cast<int>(opts.connect_timeout.count());
  auto conn = db::Connect(url, copts);
  if (!conn.ok()) {
    std::string why = conn.status().message();
    if (conn.status().code() == Code::kNotFound && url.backend == db::Backend::kSqlite) {
      why += " (run `plinth migrate up` to create and migrate it)";
    }
    Report::Fail(connect, why);
    connect.detail = "cannot connect";
    return report.Print(g, title);
  }
  if (url.backend == db::Backend::kPostgres) {
    auto version = (*conn)->Query("SELECT current_setting('server_version'), current_user, current_database()");
    if (version.ok() && !version->rows.empty()) {
      const auto& r = version->rows[0];
      connect.detail = "PostgreSQL " + r[0].value_or("?") + ", database " + r[2].value_or("?") + " as " +
                       r[1].value_or("?");
    }
  } else {
    connect.detail = "SQLite " + url.path;
  }

  // 2. The app's inputs.
  Row& schema_row = report.Add("schema.toml");
  auto loaded = g.LoadSchema();
  if (loaded.ok()) {
    schema_row.detail = Plural(loaded->tables.size(), "table", "tables") + ", " +
                        Plural(loaded->enums.size(), "enum", "enums");
  } else {
    schema_row.detail = g.SchemaPath();
    Report::Fail(schema_row, loaded.status().message());
  }
  Row& dir_row = report.Add("migrations/");
  auto migrations = g.LoadMigrations();
  std::optional<schema::Schema> head_state;
  if (migrations.ok()) {
    dir_row.detail = Plural(migrations->size(), "file", "files");
    auto replay = migrate::Replay(*migrations, migrations->size());
    if (replay.ok()) {
      head_state = std::move(replay).value();
    } else {
      Report::Fail(dir_row, replay.status().message());
    }
    if (head_state && loaded.ok()) {
      auto diff = migrate::Diff(*head_state, *loaded, migrate::DiffOptions{});
      if (!diff.ok()) {
        Report::Fail(dir_row, "cannot compare schema.toml with migrations/: " + diff.status().message());
      } else if (!diff->up.empty()) {
        std::string ops;
        for (const auto& op : diff->up) ops += "\n      " + op.Describe();
        Report::Fail(dir_row, "schema.toml has changes that no migration holds (run `plinth migrate diff -m …`):" + ops);
      } else {
        dir_row.detail += ", schema.toml matches them";
      }
    }
  } else {
    dir_row.detail = g.MigrationsPath();
    Report::Fail(dir_row, migrations.status().message());
  }

  // 3. The history.
  Row& history_row = report.Add("migrations applied");
  if (migrations.ok()) {
    auto st = runner::ReadStatus(url, *migrations, opts);
    if (!st.ok()) {
      Report::Fail(history_row, st.status().message());
    } else {
      history_row.detail = "at " + VersionOrBaseText(st->current) + ", head " + VersionOrBaseText(st->head);
      if (st->pending > 0) {
        Report::Fail(history_row, Plural(st->pending, "migration is", "migrations are") +
                                      " pending: run `plinth migrate up`");
      }
      for (const auto& p : st->problems) Report::Fail(history_row, p);
    }
  } else {
    history_row.result = kSkip;
  }

  // 4. The objects, against what schema.toml declares.
  if (!loaded.ok()) {
    return report.Print(g, title);
  }
  const schema::Schema& s = *loaded;
  const sql::Dialect dialect = sql::DialectFor(url.backend);
  auto actual = sql::Introspect(**conn);
  Row& catalog_row = report.Add("catalog readable");
  if (!actual.ok()) {
    Report::Fail(catalog_row, actual.status().message());
    return report.Print(g, title);
  }
  const sql::Catalog expected = sql::Expected(dialect, s);
  const std::vector<sql::Difference> diffs = sql::Compare(expected, *actual);
  catalog_row.detail = Plural(actual->tables.size(), "table", "tables") + ", " +
                       Plural(actual->indexes.size(), "index", "indexes");

  std::set<size_t> used;
  auto take = [&](auto pred) {
    std::vector<std::string> out;
    for (size_t i = 0; i < diffs.size(); ++i) {
      if (used.count(i) || !pred(diffs[i])) continue;
      used.insert(i);
      out.push_back(Describe(diffs[i]));
    }
    return out;
  };

  for (const auto& t : s.tables) {
    const sql::CatalogTable& ct = expected.tables.at(t.name);
    Row& r = report.Add("table " + t.name, Plural(ct.columns.size(), "column", "columns") + ", " +
                                               Plural(ct.constraints.size(), "constraint", "constraints") + ", " +
                                               Plural(ct.triggers.size(), "trigger", "triggers"));
    for (auto& p : take([&](const sql::Difference& d) { return TableOf(d.object) == t.name && !IsRowSecurity(d); })) {
      Report::Fail(r, p);
    }
  }
  for (const auto& entry : expected.indexes) {
    const std::string& name = entry.first;
    const auto& idx = entry.second;
    Row& r = report.Add("index " + name, "on " + idx.table + " (" + Join(idx.columns, ", ") + ")" +
                                             (idx.unique ? ", unique" : "") + (idx.partial ? ", partial" : ""));
    for (auto& p : take([&](const sql::Difference& d) { return d.object == "index " + name; })) Report::Fail(r, p);
  }
  if (dialect == sql::Dialect::kPostgres) {
    for (const auto& e : s.enums) {
      Row& r = report.Add("enum " + e.name, Plural(e.values.size(), "value", "values"));
      for (auto& p : take([&](const sql::Difference& d) { return d.object == "enum " + e.name; })) Report::Fail(r, p);
    }
    for (const auto& t : s.tables) {
      if (t.policies.empty() && !t.options.row_security) continue;
      Row& r = report.Add("row security on " + t.name,
                          "enabled + forced, " + Plural(t.policies.size(), "policy", "policies"));
      if (!t.options.row_security) {
        Report::Fail(r, "the schema declares policies but no row security (a bug in plinth's loader)");
      }
      for (auto& p : take([&](const sql::Difference& d) { return TableOf(d.object) == t.name && IsRowSecurity(d); })) {
        Report::Fail(r, p);
      }
    }
    if (!expected.functions.empty()) {
      Row& r = report.Add("support functions", Join(expected.functions, ", "));
      for (auto& p : take([](const sql::Difference& d) { return StartsWith(d.object, "function "); })) {
        Report::Fail(r, p);
      }
    }
  }
  // Whatever is left: objects in the database that the schema does not declare.
  Row& extra = report.Add("nothing undeclared", "no table, index, enum or function beyond the schema's");
  for (auto& p : take([](const sql::Difference&) { return true; })) Report::Fail(extra, p);
  return report.Print(g, title);
}

}  // namespace

void RegisterCheckCommands(CLI::App& app, GlobalOptions& g) {
  CLI::App* cmd = app.add_subcommand(
      "check", "verify a live database against the app: connection, migrations at head, every declared table, "
               "column, constraint, index, enum and function, row security (PostgreSQL); pass/fail table, exit 1 "
               "on any failure");
  OnRun(cmd, g, [&g] { return RunCheck(g); });
}

}  // namespace plinth::cli
