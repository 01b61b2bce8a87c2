// `plinth apikey create | list | revoke`: API keys of the app's mapped key table.
#include <chrono>
#include <cstdlib>

#include "cli/auth_common.h"
#include "plinth/auth_admin.h"
#include "plinth/crypto.h"

namespace plinth::cli {
namespace {

Result<crypto::ApiKeyHasher> Hasher() {
  const char* pepper = std::getenv(std::string(auth::kApiKeyPepperEnv).c_str());
  return crypto::ApiKeyHasher::Create(pepper ? std::string(pepper) : std::string());
}

// "30d", "12h", "90m" or an RFC 3339 time.
Result<std::chrono::sys_seconds> ParseExpiry(const std::string& s) {
  using namespace std::chrono;
  const auto now = floor<seconds>(system_clock::now());
  if (s.size() >= 2) {
    const char unit = s.back();
    const std::string num = s.substr(0, s.size() - 1);
    if (!num.empty() && num.find_first_not_of("0123456789") == std::string::npos) {
      const long n = std::stol(num);
      if (unit == 'd') return now + hours(24 * n);
      if (unit == 'h') return now + hours(n);
      if (unit == 'm') return now + minutes(n);
    }
  }
  std::tm tm{};
  if (strptime(s.c_str(), "%Y-%m-%dT%H:%M:%S", &tm) != nullptr) return sys_seconds(seconds(timegm(&tm)));
  return Status(Code::kInvalidArgument, "--expires takes 30d, 12h, 90m or 2027-01-31T00:00:00Z, got '" + s + "'");
}

}  // namespace

void RegisterApikeyCommands(CLI::App& app, GlobalOptions& g) {
  CLI::App* apikey = app.add_subcommand("apikey", "API keys ([auth.api_keys]); the key is shown once, only its hash is stored");
  apikey->require_subcommand(1);

  CLI::App* create = apikey->add_subcommand("create", "create a key and print it (once)");
  auto spec = std::make_shared<auth::ApiKeySpec>();
  auto expires = std::make_shared<std::string>();
  auto rate = std::make_shared<int64_t>(0);
  create->add_option("--tenant", spec->tenant_id, "the tenant id (required for tenant-scoped keys)");
  create->add_option("--user", spec->user_id, "the user the key acts for");
  create->add_option("--name", spec->name, "a label")->capture_default_str();
  create->add_option("--scopes", spec->scopes, "permissions RESOURCE:ACTION, e.g. documents:read")->delimiter(',');
  create->add_option("--expires", *expires, "lifetime (30d, 12h) or an RFC 3339 time");
  create->add_option("--allow-ip", spec->allowed_ips, "allowed client networks (CIDR, repeatable)")->delimiter(',');
  create->add_option("--rate-limit", *rate, "requests per minute for this key");
  OnRun(create, g, [&g, spec, expires, rate] {
    PLINTH_CLI_ASSIGN(g, AuthApp a, OpenAuthApp(g), kExitUsage);
    if (!expires->empty()) {
      PLINTH_CLI_ASSIGN(g, spec->expires_at, ParseExpiry(*expires), kExitUsage);
    }
    if (*rate > 0) spec->rate_limit = *rate;
    PLINTH_CLI_ASSIGN(g, crypto::ApiKeyHasher h, Hasher(), kExitUsage);
    PLINTH_CLI_ASSIGN(g, auth::CreatedApiKey k, auth::CreateApiKey(*a.conn, a.schema, a.config, h, *spec), kExitFailure);
    g.Info("key " + k.id + " (lookup " + k.lookup_id + ") created; it is shown once:");
    g.Print(k.key);
    return kExitOk;
  });

  CLI::App* list = apikey->add_subcommand("list", "list keys (never the secret)");
  auto tenant = std::make_shared<std::string>();
  list->add_option("--tenant", *tenant, "only this tenant's keys");
  OnRun(list, g, [&g, tenant] {
    PLINTH_CLI_ASSIGN(g, AuthApp a, OpenAuthApp(g), kExitUsage);
    PLINTH_CLI_ASSIGN(g, auto keys, auth::ListApiKeys(*a.conn, a.schema, a.config, *tenant), kExitFailure);
    std::vector<std::vector<std::string>> rows;
    for (const auto& k : keys) {
      std::string scopes;
      for (const auto& s : k.scopes) scopes += (scopes.empty() ? "" : ",") + s;
      rows.push_back({k.id, k.lookup_id, k.tenant_id, k.user_id, k.name, scopes, k.active ? "active" : "revoked",
                      k.expires_at, k.last_used_at});
    }
    g.Print(FormatTable({"id", "lookup", "tenant", "user", "name", "scopes", "state", "expires_at", "last_used_at"}, rows));
    return kExitOk;
  });

  CLI::App* revoke = apikey->add_subcommand("revoke", "revoke a key (every server refuses it within a second)");
  auto which = std::make_shared<std::string>();
  revoke->add_option("ID", *which, "the key's id or lookup id")->required();
  OnRun(revoke, g, [&g, which] {
    PLINTH_CLI_ASSIGN(g, AuthApp a, OpenAuthApp(g), kExitUsage);
    Status st = auth::RevokeApiKey(*a.conn, a.schema, a.config, *which);
    if (!st.ok()) return g.Fail(st);
    g.Info("revoked " + *which);
    return kExitOk;
  });
}

}  // namespace plinth::cli
