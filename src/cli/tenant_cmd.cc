// `plinth tenant create NAME`: a row in the app's tenant table; prints its id.
#include "cli/auth_common.h"
#include "plinth/auth_admin.h"

namespace plinth::cli {

void RegisterTenantCommands(CLI::App& app, GlobalOptions& g) {
  CLI::App* tenant = app.add_subcommand("tenant", "tenants of the app ([app] tenants)");
  tenant->require_subcommand(1);
  CLI::App* create = tenant->add_subcommand("create", "create a tenant and print its id");
  auto name = std::make_shared<std::string>();
  auto sets = std::make_shared<std::vector<std::string>>();
  create->add_option("NAME", *name, "the tenant's name (its name column)")->required();
  create->add_option("--set", *sets, "another column of the tenant table, COLUMN=VALUE (repeatable)");
  OnRun(create, g, [&g, name, sets] {
    PLINTH_CLI_ASSIGN(g, AuthApp a, OpenAuthApp(g), kExitUsage);
    std::map<std::string, std::string> extra;
    for (const auto& s : *sets) {
      auto eq = s.find('=');
      if (eq == std::string::npos || eq == 0) return g.Fail("--set takes COLUMN=VALUE, got '" + s + "'", kExitUsage);
      extra[s.substr(0, eq)] = s.substr(eq + 1);
    }
    PLINTH_CLI_ASSIGN(g, std::string id, auth::CreateTenant(*a.conn, a.schema, *name, extra), kExitFailure);
    g.Print(id);
    return kExitOk;
  });
}

}  // namespace plinth::cli
