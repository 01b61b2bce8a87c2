// `plinth seed`: installs the auth support objects, then applies <app>/seed.toml idempotently.
#include <filesystem>

#include "cli/auth_common.h"
#include "plinth/auth_admin.h"

namespace plinth::cli {

void RegisterSeedCommands(CLI::App& app, GlobalOptions& g) {
  CLI::App* seed = app.add_subcommand(
      "seed", "install the auth functions and triggers, then apply seed.toml (a second run changes nothing)");
  auto file = std::make_shared<std::string>();
  auto install = std::make_shared<auth::InstallOptions>();
  auto dry = std::make_shared<bool>(false);
  auto min_len = std::make_shared<size_t>(auth::kMinPasswordLength);
  seed->add_option("--file", *file, "the seed file (default: <app>/seed.toml)");
  seed->add_option("--runtime-role", install->runtime_role, "PostgreSQL: the role granted EXECUTE on the auth functions")
      ->envname("PLINTH_RUNTIME_ROLE");
  seed->add_option("--definer-role", install->definer_role,
                   "PostgreSQL: the BYPASSRLS admin role that owns the auth functions (default: the connected role)")
      ->envname("PLINTH_ADMIN_ROLE");
  seed->add_option("--min-password-length", *min_len, "shortest accepted seeded password")->capture_default_str();
  seed->add_flag("--dry-run", *dry, "show what would change, change nothing");
  OnRun(seed, g, [&g, file, install, dry, min_len] {
    PLINTH_CLI_ASSIGN(g, AuthApp a, OpenAuthApp(g), kExitUsage);
    if (!*dry) {
      Status st = auth::InstallAuthSupport(*a.conn, a.schema, a.config, *install);
      if (!st.ok()) return g.Fail(st);
    }
    const std::string path = file->empty() ? (std::filesystem::path(g.AppDir()) / "seed.toml").string() : *file;
    std::error_code ec;
    if (!std::filesystem::exists(path, ec)) {
      g.Info("auth support installed; no seed file at " + path);
      return kExitOk;
    }
    auth::SeedOptions o;
    o.dry_run = *dry;
    o.min_password_length = *min_len;
    PLINTH_CLI_ASSIGN(g, auth::SeedReport r, auth::ApplySeedFile(*a.conn, a.schema, a.config, path, o), kExitFailure);
    for (const auto& line : r.lines) g.Info(line);
    g.Print(std::to_string(r.inserted) + " inserted, " + std::to_string(r.updated) + " updated, " +
            std::to_string(r.unchanged) + " unchanged" + (*dry ? " (dry run)" : ""));
    return kExitOk;
  });
}

}  // namespace plinth::cli
