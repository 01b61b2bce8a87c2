// cli/cli.h — the `plinth` binary's shared parts: the global options every command sees, the
// helpers that turn them into a database URL, a schema and a migration directory (with errors a
// newcomer can act on), output helpers, and one registration function per command group.
//
// Adding a command group: write src/cli/<group>_cmd.cc defining
// `void Register<Group>Commands(CLI::App& app, GlobalOptions& g)`, declare it below and call it
// from main.cc (one line each). A command's callback computes its exit code and stores it with
// `g.Finish(code)`; main returns it. Exit codes (docs/cli.md): 0 success, 1 the command ran and
// found a failure (invalid schema, failed migration, drift, failed check), 2 usage (bad
// arguments, no database URL, no app directory).
//
// Thread-safety: used by the main thread only.
#pragma once

#include <CLI/CLI.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "plinth/db.h"
#include "plinth/diagnostic.h"
#include "plinth/migrate.h"
#include "plinth/runner.h"
#include "plinth/schema.h"
#include "plinth/status.h"

namespace plinth::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;

inline constexpr std::string_view kDatabaseUrlEnv = "DATABASE_URL";
inline constexpr std::string_view kAppEnv = "PLINTH_APP";
inline constexpr std::string_view kSchemaFile = "schema.toml";
inline constexpr std::string_view kMigrationsDir = "migrations";

struct GlobalOptions {
  // --database-url / $DATABASE_URL (empty: not given).
  std::string database_url;
  // --app / $PLINTH_APP (empty: the working directory).
  std::string app_dir;
  // -q / --quiet: only results and errors are printed.
  bool quiet = false;

  // The exit code of the command that ran.
  int exit_code = kExitOk;
  void Finish(int code) { exit_code = code; }

  // ---- Inputs, with errors that say what to do -------------------------------------------

  // The parsed database URL; kInvalidArgument when none is given or it does not parse.
  Result<db::Url> Url() const;
  // The app directory ("." when none is given).
  std::string AppDir() const;
  std::string SchemaPath() const;      // <app>/schema.toml
  std::string MigrationsPath() const;  // <app>/migrations
  // Loads and validates schema.toml, printing every diagnostic (errors and warnings) to stderr.
  // kNotFound when the file does not exist (the message names the directory and the options).
  Result<schema::Schema> LoadSchema() const;
  // Loads migrations/ (missing = none), printing diagnostics to stderr on failure.
  Result<std::vector<migrate::Migration>> LoadMigrations() const;

  // Run options with progress sentences printed to stdout (unless quiet).
  runner::RunOptions BaseRunOptions() const;

  // ---- Output --------------------------------------------------------------------------

  // Informational line on stdout, suppressed by --quiet.
  void Info(std::string_view line) const;
  // A result on stdout, always printed.
  void Print(std::string_view text) const;
  // "warning: …" on stderr (printed even with --quiet).
  void Warn(std::string_view line) const;
  // Prints "error: <message>" to stderr and returns `exit`, for `return g.Fail(st);`.
  int Fail(const Status& status, int exit = kExitFailure) const;
  int Fail(std::string_view message, int exit = kExitFailure) const;
};

// Declares `lhs` from a Result, or prints its error and returns `exit` from the command.
#define PLINTH_CLI_ASSIGN(g, lhs, rexpr, exit) \
  PLINTH_CLI_ASSIGN_IMPL_(PLINTH_CONCAT_(plinth_cli_result_, __LINE__), g, lhs, rexpr, exit)
#define PLINTH_CLI_ASSIGN_IMPL_(tmp, g, lhs, rexpr, exit) \
  auto tmp = (rexpr);                                      \
  if (!tmp.ok()) return (g).Fail(tmp.status(), (exit));    \
  lhs = std::move(tmp).value()

// Runs `run` as the command's callback and records its exit code.
template <typename Fn>
void OnRun(CLI::App* cmd, GlobalOptions& g, Fn run) {
  cmd->callback([&g, run]() { g.Finish(run()); });
}

// Adds --lock-timeout SECONDS to `cmd`, stored in `seconds`.
void AddLockTimeout(CLI::App* cmd, double& seconds);
std::chrono::milliseconds Seconds(double seconds);

// A plain-text table: the header, a rule, the rows; columns padded to the widest cell
// (display width counts UTF-8 characters). No trailing spaces.
std::string FormatTable(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows);

// ---- Command groups ---------------------------------------------------------------------------

void RegisterValidateCommands(CLI::App& app, GlobalOptions& g);  // validate
void RegisterMigrateCommands(CLI::App& app, GlobalOptions& g);   // migrate …
void RegisterCheckCommands(CLI::App& app, GlobalOptions& g);     // check
void RegisterServeCommands(CLI::App& app, GlobalOptions& g);     // serve
void RegisterTenantCommands(CLI::App& app, GlobalOptions& g);    // tenant create
void RegisterApikeyCommands(CLI::App& app, GlobalOptions& g);    // apikey create | list | revoke
void RegisterSeedCommands(CLI::App& app, GlobalOptions& g);      // seed
void RegisterAuditCommands(CLI::App& app, GlobalOptions& g);     // audit seal | verify
void RegisterKeysCommands(CLI::App& app, GlobalOptions& g);      // keys check | rotate

}  // namespace plinth::cli
