// plinth: the command-line entry point. Global options live in cli::GlobalOptions; each command
// group registers itself (cli.h); the exit code is the command's (0 ok, 1 failure, 2 usage).
#include "cli/cli.h"

int main(int argc, char** argv) {
  using namespace plinth::cli;
  CLI::App app{"plinth: a schema file -> versioned migrations -> row policies the database enforces -> a REST API.\n"
               "Documentation: docs/cli.md. Exit codes: 0 success, 1 failure (invalid schema, failed migration,\n"
               "drift, failed check), 2 usage (bad arguments, no database URL, no app directory).",
               "plinth"};
  GlobalOptions g;
  app.add_option("--database-url", g.database_url,
                 "the database: sqlite:///abs/path.db, sqlite://relative.db, sqlite::memory:, "
                 "postgresql://user:pass@host[,host2]/db?… (libpq URI or key=value string)")
      ->envname(std::string(kDatabaseUrlEnv));
  app.add_option("--app", g.app_dir, "the app directory: schema.toml, migrations/, seeds (default: .)")
      ->envname(std::string(kAppEnv));
  app.add_flag("-q,--quiet", g.quiet, "print only results and errors");
  app.require_subcommand(1);
  app.fallthrough();  // global options are accepted after the command name too

  RegisterValidateCommands(app, g);
  RegisterMigrateCommands(app, g);
  RegisterCheckCommands(app, g);
  RegisterServeCommands(app, g);
  RegisterTenantCommands(app, g);
  RegisterApikeyCommands(app, g);
  RegisterSeedCommands(app, g);
  RegisterAuditCommands(app, g);
  RegisterKeysCommands(app, g);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? kExitOk : kExitUsage;
  }
  return g.exit_code;
}
