// plinth/api.h — `plinth serve`: the server's configuration and the assembly that runs it.
//
// The server is the layers put together: the schema and its migrations (runner.h, applied at
// start with `migrate`), the request-path database pool (database.h), the data runtime that
// enforces the schema's policies and writes the audit rows (data.h), the authenticator (auth.h)
// with its hashing pool, and the HTTP server (http.h) with a route per exposed table, the auth
// endpoints, health, metrics, the OpenAPI document and /docs. docs/api.md describes the
// endpoints, docs/operations.md every setting.
//
// Configuration. Every setting has a key ("db_pool_size"), a flag ("--db-pool-size"), an
// environment variable ("DB_POOL_SIZE") and a default. ResolveConfig takes each setting from the
// first source that has it: flags, then the environment, then the TOML config file (keys are
// the setting keys, with '_' or '-'), then the default. Values are text in every source and are
// parsed the same way: durations as a number in the setting's unit or with a suffix (ms, s, m,
// h), booleans as true/false/1/0/yes/no/on/off, sizes as bytes (with an optional k/m suffix of
// 1024). Every problem is reported at once, naming the setting and where its value came from.
//
// Contract of ApiServer: Create loads and checks everything before it binds (schema, auth
// mapping, migrations at head unless `migrate`, the keyring, the JWT secret, the database role
// on PostgreSQL) and fails with a Status that names what to fix; nothing is served half-built.
// Requests are answered by the io_context's threads; handlers call the data runtime once per
// request. Stop (or SIGTERM/SIGINT with RunUntilSignal) stops accepting, lets requests in
// flight finish within `shutdown_grace`, then stops the authenticator, closes the pools and
// the hashing pool.
//
// Thread-safety: ServeConfig and the settings table are plain values. An ApiServer is created,
// started and stopped from one thread; requests run on its I/O threads.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "plinth/database.h"
#include "plinth/http.h"
#include "plinth/ratelimit.h"
#include "plinth/status.h"

namespace plinth::api {

using Clock = std::chrono::steady_clock;

// A token-bucket limit: `rate` requests per second sustained, `burst` at once. rate 0 = off.
struct RateLimitSetting {
  double rate = 0;
  double burst = 0;
  bool enabled() const { return rate > 0; }
};

struct ServeConfig {
  // Where and how to listen.
  std::string host = "127.0.0.1";
  uint16_t port = 8080;
  int threads = 0;  // I/O threads; 0 = the number of cores

  // The app and its database.
  std::string app_dir = ".";
  std::string database_url;          // the runtime role (owns nothing, no BYPASSRLS)
  std::string migrate_database_url;  // --migrate runs as this role (the owner); "" = database_url
  std::string admin_database_url;    // BYPASSRLS role: admin bypass and the auth functions' owner
  std::string runtime_role;          // PostgreSQL, --migrate: granted EXECUTE on the auth functions
  bool migrate = false;              // apply pending migrations (and the auth support) at start
  bool require_unprivileged_role = true;
  db::PoolOptions pool;

  // HTTP limits and deadlines.
  Clock::duration request_timeout = std::chrono::seconds(30);
  Clock::duration header_timeout = std::chrono::seconds(10);
  Clock::duration body_timeout = std::chrono::seconds(30);
  Clock::duration idle_timeout = std::chrono::seconds(30);
  Clock::duration write_timeout = std::chrono::seconds(30);
  size_t max_body_bytes = size_t{1} << 20;
  size_t max_header_bytes = size_t{16} << 10;
  size_t max_connections = 4096;
  Clock::duration shutdown_grace = std::chrono::seconds(10);

  // Rate limits (429 + Retry-After).
  RateLimitSetting key_rate_limit{100, 200};  // per API key / per user of an access token
  RateLimitSetting ip_rate_limit{0, 0};       // per client IP, before routing; off by default
  RateLimitSetting login_rate_limit{1, 10};   // login and refresh attempts per client IP

  // CORS: comma-separated exact origins or "*".
  std::string allowed_origins;
  bool cors_allow_credentials = false;

  // Credentials and secrets.
  bool enable_auth = true;           // false: every request acts as `default_tenant`
  std::string default_tenant;        // ENABLE_AUTH=false: a tenant id, slug or name ("" = the first)
  std::string anonymous_role = "admin";
  std::string jwt_secret;            // ≥ 32 bytes; "" = a random secret per process (tokens die on restart)
  std::string jwt_issuer = "plinth";
  std::string jwt_audience;          // "" = the app's name
  std::chrono::seconds access_token_ttl{300};
  std::chrono::seconds refresh_token_ttl{30 * 24 * 3600};
  std::string api_key_pepper;        // "" = SHA-256 key hashes
  std::string encryption_keys;       // keyring text (keyring.h); required for encrypted columns
  unsigned hash_threads = 0;         // password hashing workers; 0 = the number of cores
  size_t hash_queue = 0;             // hashing jobs waiting at most; 0 = 8 per worker

  // The REST API.
  int64_t default_list_limit = 100;
  int64_t max_list_limit = 1000;
  std::string public_url;            // the `servers` URL of /openapi.json ("" = "/")

  // Operations.
  std::string access_log = "-";      // "-" stdout, "" off, else a file appended to
  std::string demo_key_file;         // first start: create a demo tenant, admin and key here
  // The audit chain's background sealer (docs/security.md "Audit chain"). 0 = per backend:
  // PostgreSQL every 5 s, up to 10,000 rows a run; SQLite every 250 ms, up to 500 rows a run
  // (a run holds SQLite's one write lock, so short runs keep writes from stalling behind it).
  Clock::duration audit_seal_interval{0};
  int64_t audit_seal_batch = 0;
};

// One setting of the table (docs/operations.md is generated from the same list by hand).
struct SettingInfo {
  std::string key;            // "db_pool_size"
  std::string flag;           // "--db-pool-size"; global options have theirs in main.cc
  std::string env;            // "DB_POOL_SIZE"
  std::string default_value;  // as text ("" = none)
  std::string help;
  bool is_flag = false;       // a boolean switch on the command line (--migrate)
  bool global = false;        // --database-url, --app: options of the plinth command itself
};
const std::vector<SettingInfo>& Settings();

// Where the values come from. `flags` holds the settings given on the command line (by key),
// `env` looks a variable up (default: getenv), `config_file` is the TOML file ("" = none).
struct ConfigSources {
  std::map<std::string, std::string> flags;
  std::function<std::optional<std::string>(const std::string&)> env;
  std::string config_file;
};

struct ResolvedConfig {
  ServeConfig config;
  // key → "flag", "env DB_POOL_SIZE", "file plinth.toml", "default" (for `--print-config`).
  std::map<std::string, std::string> origin;
};

// Resolves every setting (see the file comment). kInvalidArgument listing every bad value.
Result<ResolvedConfig> ResolveConfig(const ConfigSources& sources);
// The resolved settings as "key = value  # origin" lines, secrets shown as "***".
std::string FormatConfig(const ResolvedConfig& resolved);

// "127.0.0.1:8080", "[::1]:8080", ":8080" (= 127.0.0.1), "localhost:0".
Status ParseListen(std::string_view text, std::string& host, uint16_t& port);

class ApiServer {
 public:
  // Builds the server (see the file comment) and binds the port; `out` receives the start-up
  // lines (migrations applied, demo credentials, where it listens). Blocks while it opens.
  static Result<std::unique_ptr<ApiServer>> Create(ServeConfig config, std::ostream& out);
  ~ApiServer();
  ApiServer(const ApiServer&) = delete;
  ApiServer& operator=(const ApiServer&) = delete;

  uint16_t port() const;
  const ServeConfig& config() const;
  // Starts accepting on the I/O threads (returns at once).
  void Start();
  // Graceful stop (see the file comment); returns when everything is closed. Idempotent.
  void Stop();
  // Start, then block until SIGTERM or SIGINT has stopped the server gracefully.
  void RunUntilSignal();
  // The server's metrics (for tests).
  std::string RenderMetrics() const;

  struct Impl;

 private:
  explicit ApiServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// `plinth serve`: Create + RunUntilSignal. Returns the process exit code (0 after a clean
// shutdown, 1 when the server could not start).
int Serve(ServeConfig config, std::ostream& out, std::ostream& err);

}  // namespace plinth::api
