// `plinth validate`: the schema file's errors (every one, file:line:column) and the migration
// directory's (parse and replay).
#include "cli/cli.h"

namespace plinth::cli {
namespace {

int RunValidate(GlobalOptions& g) {
  auto loaded = g.LoadSchema();
  if (!loaded.ok()) {
    if (loaded.status().code() == Code::kNotFound) return g.Fail(loaded.status(), kExitUsage);
    return g.Fail(loaded.status());
  }
  const schema::Schema& s = *loaded;
  size_t indexes = 0;
  size_t policies = 0;
  for (const auto& t : s.tables) {
    indexes += t.indexes.size();
    policies += t.policies.size();
  }
  PLINTH_CLI_ASSIGN(g, auto migrations, g.LoadMigrations(), kExitFailure);
  auto replayed = migrate::Replay(migrations, migrations.size());
  if (!replayed.ok()) return g.Fail(replayed.status().WithContext("replaying " + g.MigrationsPath()));
  g.Info(g.SchemaPath() + " is valid: " + std::to_string(s.tables.size()) + " tables, " +
         std::to_string(s.enums.size()) + " enums, " + std::to_string(indexes) + " indexes, " +
         std::to_string(policies) + " policies; " + std::to_string(migrations.size()) + " migrations replay cleanly");
  return kExitOk;
}

}  // namespace

void RegisterValidateCommands(CLI::App& app, GlobalOptions& g) {
  CLI::App* cmd = app.add_subcommand(
      "validate", "check schema.toml (every error with file:line:column and what to do) and migrations/ (offline)");
  OnRun(cmd, g, [&g] { return RunValidate(g); });
}

}  // namespace plinth::cli
