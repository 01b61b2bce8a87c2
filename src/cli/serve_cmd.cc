// `plinth serve`: the REST API of the app. Every setting of api::Settings() is a flag, an
// environment variable and a key of the optional TOML config file (flags > environment > file >
// default); `plinth serve --help` lists them all.
#include <deque>
#include <iostream>
#include <memory>

#include "cli/cli.h"
#include "plinth/api.h"

namespace plinth::cli {
namespace {

struct ServeFlags {
  std::string config_file;
  bool print_config = false;
  std::deque<std::string> values;  // one per text setting (stable addresses)
  std::deque<bool> switches;       // one per boolean switch
  std::vector<std::pair<std::string, CLI::Option*>> text_options;
  std::vector<std::tuple<std::string, CLI::Option*, bool*>> switch_options;
};

std::string SettingsTable() {
  std::vector<std::vector<std::string>> rows;
  for (const api::SettingInfo& s : api::Settings()) {
    rows.push_back({s.global ? s.flag + " (global)" : s.flag, s.env, s.default_value.empty() ? "-" : s.default_value});
  }
  return "Settings (flag > environment > --config file > default; file keys are the flag names without "
         "'--'):\n" +
         FormatTable({"flag", "environment", "default"}, rows) +
         "\nDurations: 30, 30s, 250ms, 2m. Sizes: bytes, 64k, 1m. Rates: RATE[/BURST] per second, 0 = off.\n"
         "docs/operations.md describes every setting.\n";
}

}  // namespace

void RegisterServeCommands(CLI::App& app, GlobalOptions& g) {
  auto flags = std::make_shared<ServeFlags>();
  CLI::App* cmd = app.add_subcommand(
      "serve",
      "serve the app's REST API: a resource per exposed table, auth, health, metrics, /openapi.json and /docs");
  cmd->add_option("--config", flags->config_file, "a TOML file of settings (keys: the flag names without '--')")
      ->envname("PLINTH_CONFIG");
  cmd->add_flag("--print-config", flags->print_config,
                "print every resolved setting with where its value came from, then exit");
  for (const api::SettingInfo& s : api::Settings()) {
    if (s.global) continue;
    const std::string help = s.help + " [env: " + s.env + "]" + (s.default_value.empty() ? "" : " (default: " + s.default_value + ")");
    if (s.is_flag) {
      bool& b = flags->switches.emplace_back(false);
      CLI::Option* o = cmd->add_flag(s.flag, b, help);
      flags->switch_options.emplace_back(s.key, o, &b);
    } else {
      std::string& v = flags->values.emplace_back();
      CLI::Option* o = cmd->add_option(s.flag, v, help);
      flags->text_options.emplace_back(s.key, o);
    }
  }
  cmd->footer(SettingsTable());
  OnRun(cmd, g, [&g, flags]() -> int {
    api::ConfigSources sources;
    sources.config_file = flags->config_file;
    for (size_t i = 0; i < flags->text_options.size(); ++i) {
      const auto& [key, opt] = flags->text_options[i];
      if (opt->count() > 0) sources.flags[key] = flags->values[i];
    }
    for (const auto& [key, opt, value] : flags->switch_options) {
      if (opt->count() > 0) sources.flags[key] = *value ? "true" : "false";
    }
    // --database-url / --app are the plinth command's own options (CLI11 fills them from the
    // flag or the environment): either way they win over the config file.
    if (!g.database_url.empty()) sources.flags["database_url"] = g.database_url;
    if (!g.app_dir.empty()) sources.flags["app"] = g.app_dir;
    auto resolved = api::ResolveConfig(sources);
    if (!resolved.ok()) return g.Fail(resolved.status(), kExitUsage);
    if (flags->print_config) {
      g.Print(api::FormatConfig(*resolved));
      return kExitOk;
    }
    return api::Serve(std::move(resolved->config), std::cout, std::cerr) == 0 ? kExitOk : kExitFailure;
  });
}

}  // namespace plinth::cli
