// The settings of `plinth serve`: one table (key, flag, environment variable, default, help,
// how to apply a value), resolved flags > environment > config file > default.
#include <toml++/toml.h>

#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <sstream>

#include "plinth/api.h"

namespace plinth::api {
namespace {

using Apply = std::function<Status(ServeConfig&, const std::string&)>;

struct Spec {
  SettingInfo info;
  Apply apply;
  bool secret = false;
  std::function<std::string(const ServeConfig&)> show;  // the resolved value, for FormatConfig
};

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string Trim(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return std::string(s.substr(b, e - b));
}

Status Bad(const std::string& what) { return Status(Code::kInvalidArgument, what); }

Result<bool> ParseBool(const std::string& v) {
  const std::string l = Lower(Trim(v));
  if (l == "true" || l == "1" || l == "yes" || l == "on") return true;
  if (l == "false" || l == "0" || l == "no" || l == "off") return false;
  return Bad("'" + v + "' is not a boolean (true/false, 1/0, yes/no, on/off)");
}

Result<double> ParseNumber(const std::string& v) {
  const std::string t = Trim(v);
  if (t.empty()) return Bad("empty value");
  char* end = nullptr;
  double d = std::strtod(t.c_str(), &end);
  if (end != t.c_str() + t.size() || !std::isfinite(d)) return Bad("'" + v + "' is not a number");
  return d;
}

Result<int64_t> ParseInt(const std::string& v, int64_t min, int64_t max) {
  const std::string t = Trim(v);
  int64_t out = 0;
  auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), out);
  if (ec != std::errc() || p != t.data() + t.size()) return Bad("'" + v + "' is not an integer");
  if (out < min || out > max) {
    return Bad("'" + v + "' is out of range (" + std::to_string(min) + ".." + std::to_string(max) + ")");
  }
  return out;
}

// "30" (in `unit`), "30s", "250ms", "2m", "1h", "1.5s".
Result<std::chrono::nanoseconds> ParseDuration(const std::string& v, std::chrono::nanoseconds unit) {
  std::string t = Lower(Trim(v));
  double scale = static_cast<double>(unit.count());
  auto ends = [&](std::string_view suf) {
    return t.size() > suf.size() && t.compare(t.size() - suf.size(), suf.size(), suf) == 0;
  };
  if (ends("ms")) {
    scale = 1e6;
    t.resize(t.size() - 2);
  } else if (ends("s")) {
    scale = 1e9;
    t.pop_back();
  } else if (ends("m")) {
    scale = 60e9;
    t.pop_back();
  } else if (ends("h")) {
    scale = 3600e9;
    t.pop_back();
  }
  auto n = ParseNumber(t);
  if (!n.ok() || *n < 0) return Bad("'" + v + "' is not a duration (e.g. 30, 30s, 250ms, 2m)");
  return std::chrono::nanoseconds(static_cast<int64_t>(*n * scale));
}

// Bytes with an optional k / m suffix (KiB, MiB).
Result<size_t> ParseSize(const std::string& v) {
  std::string t = Lower(Trim(v));
  double scale = 1;
  if (!t.empty() && (t.back() == 'k' || t.back() == 'm')) {
    scale = t.back() == 'k' ? 1024.0 : 1024.0 * 1024.0;
    t.pop_back();
  }
  auto n = ParseNumber(t);
  if (!n.ok() || *n < 0) return Bad("'" + v + "' is not a size in bytes (e.g. 1048576, 1024k, 1m)");
  return static_cast<size_t>(*n * scale);
}

// "RATE" or "RATE/BURST" requests per second; 0 = off.
Result<RateLimitSetting> ParseRate(const std::string& v) {
  const std::string t = Trim(v);
  RateLimitSetting r;
  const size_t slash = t.find('/');
  auto rate = ParseNumber(t.substr(0, slash));
  if (!rate.ok() || *rate < 0) return Bad("'" + v + "' is not a rate (requests per second, e.g. 100 or 100/200)");
  r.rate = *rate;
  r.burst = std::max(1.0, r.rate * 2);
  if (slash != std::string::npos) {
    auto burst = ParseNumber(t.substr(slash + 1));
    if (!burst.ok() || *burst < 1) return Bad("'" + v + "': the burst after '/' must be a number ≥ 1");
    r.burst = *burst;
  }
  return r;
}

template <typename Rep, typename Period>
std::string Secs(std::chrono::duration<Rep, Period> d) {
  const double s = std::chrono::duration<double>(d).count();
  std::ostringstream o;
  o << s << "s";
  return o.str();
}

std::string Bool(bool b) { return b ? "true" : "false"; }

std::string RateText(const RateLimitSetting& r) {
  if (!r.enabled()) return "0";
  std::ostringstream o;
  o << r.rate << "/" << r.burst;
  return o.str();
}

std::vector<Spec> MakeSpecs() {
  std::vector<Spec> s;
  auto add = [&](std::string key, std::string env, std::string def, std::string help, Apply apply,
                 std::function<std::string(const ServeConfig&)> show, bool secret = false, bool is_flag = false,
                 bool global = false) {
    std::string flag = "--" + key;
    for (char& c : flag) {
      if (c == '_') c = '-';
    }
    s.push_back(Spec{SettingInfo{key, flag, std::move(env), std::move(def), std::move(help), is_flag, global},
                     std::move(apply), secret, std::move(show)});
  };
  auto duration = [](Clock::duration ServeConfig::*field, std::chrono::nanoseconds unit) -> Apply {
    return [field, unit](ServeConfig& c, const std::string& v) -> Status {
      PLINTH_ASSIGN_OR_RETURN(auto d, ParseDuration(v, unit));
      c.*field = std::chrono::duration_cast<Clock::duration>(d);
      return Status::Ok();
    };
  };
  auto text = [](std::string ServeConfig::*field) -> Apply {
    return [field](ServeConfig& c, const std::string& v) {
      c.*field = v;
      return Status::Ok();
    };
  };
  auto boolean = [](bool ServeConfig::*field) -> Apply {
    return [field](ServeConfig& c, const std::string& v) -> Status {
      PLINTH_ASSIGN_OR_RETURN(c.*field, ParseBool(v));
      return Status::Ok();
    };
  };
  auto rate = [](RateLimitSetting ServeConfig::*field) -> Apply {
    return [field](ServeConfig& c, const std::string& v) -> Status {
      PLINTH_ASSIGN_OR_RETURN(c.*field, ParseRate(v));
      return Status::Ok();
    };
  };
  auto pool_int = [](int db::PoolOptions::*field, int64_t min, int64_t max) -> Apply {
    return [field, min, max](ServeConfig& c, const std::string& v) -> Status {
      PLINTH_ASSIGN_OR_RETURN(int64_t n, ParseInt(v, min, max));
      c.pool.*field = static_cast<int>(n);
      return Status::Ok();
    };
  };
  constexpr std::chrono::nanoseconds kSec = std::chrono::seconds(1);
  constexpr std::chrono::nanoseconds kMs = std::chrono::milliseconds(1);

  // --- where
  add("listen", "PLINTH_LISTEN", "127.0.0.1:8080", "address and port to listen on (port 0: any free port)",
      [](ServeConfig& c, const std::string& v) { return ParseListen(v, c.host, c.port); },
      [](const ServeConfig& c) {
        return (c.host.find(':') != std::string::npos ? "[" + c.host + "]" : c.host) + ":" + std::to_string(c.port);
      });
  add("threads", "PLINTH_THREADS", "0", "I/O threads (0: one per core)",
      [](ServeConfig& c, const std::string& v) -> Status {
        PLINTH_ASSIGN_OR_RETURN(int64_t n, ParseInt(v, 0, 256));
        c.threads = static_cast<int>(n);
        return Status::Ok();
      },
      [](const ServeConfig& c) { return std::to_string(c.threads); });
  add("database_url", "DATABASE_URL", "",
      "the database the server uses, as the runtime role (sqlite://var/app.db, postgresql://app@host/db)",
      text(&ServeConfig::database_url), [](const ServeConfig& c) { return c.database_url; }, true, false, true);
  add("app", "PLINTH_APP", ".", "the app directory (schema.toml, migrations/)", text(&ServeConfig::app_dir),
      [](const ServeConfig& c) { return c.app_dir; }, false, false, true);
  add("migrate", "PLINTH_MIGRATE", "false", "apply pending migrations (and the auth support objects) before serving",
      boolean(&ServeConfig::migrate), [](const ServeConfig& c) { return Bool(c.migrate); }, false, true);
  add("migrate_database_url", "MIGRATE_DATABASE_URL", "",
      "--migrate connects as this role (the tables' owner); empty: DATABASE_URL",
      text(&ServeConfig::migrate_database_url), [](const ServeConfig& c) { return c.migrate_database_url; }, true);
  add("admin_database_url", "ADMIN_DATABASE_URL", "",
      "PostgreSQL: a BYPASSRLS role (owns nothing) for the audited admin bypass and as owner of the auth lookup functions",
      text(&ServeConfig::admin_database_url), [](const ServeConfig& c) { return c.admin_database_url; }, true);
  add("runtime_role", "PLINTH_RUNTIME_ROLE", "",
      "PostgreSQL, with --migrate: the role granted EXECUTE on the auth lookup functions (empty: DATABASE_URL's user)",
      text(&ServeConfig::runtime_role), [](const ServeConfig& c) { return c.runtime_role; });
  add("require_unprivileged_role", "PLINTH_REQUIRE_UNPRIVILEGED_ROLE", "true",
      "PostgreSQL: refuse to serve as a superuser, BYPASSRLS or table-owning role",
      boolean(&ServeConfig::require_unprivileged_role),
      [](const ServeConfig& c) { return Bool(c.require_unprivileged_role); });

  // --- pool
  add("db_pool_size", "DB_POOL_SIZE", "10", "database connections kept open", pool_int(&db::PoolOptions::size, 1, 1000),
      [](const ServeConfig& c) { return std::to_string(c.pool.size); });
  add("db_max_overflow", "DB_MAX_OVERFLOW", "20", "further connections opened under load",
      pool_int(&db::PoolOptions::max_overflow, 0, 1000),
      [](const ServeConfig& c) { return std::to_string(c.pool.max_overflow); });
  add("db_pool_recycle", "DB_POOL_RECYCLE", "3600", "seconds after which a connection is replaced (0: never)",
      [](ServeConfig& c, const std::string& v) -> Status {
        PLINTH_ASSIGN_OR_RETURN(auto d, ParseDuration(v, std::chrono::seconds(1)));
        c.pool.recycle = std::chrono::duration_cast<std::chrono::seconds>(d);
        return Status::Ok();
      },
      [](const ServeConfig& c) { return std::to_string(c.pool.recycle.count()); });
  add("db_pool_timeout", "DB_POOL_TIMEOUT", "5000", "milliseconds a request waits for a connection at most",
      [](ServeConfig& c, const std::string& v) -> Status {
        PLINTH_ASSIGN_OR_RETURN(auto d, ParseDuration(v, std::chrono::milliseconds(1)));
        c.pool.acquire_timeout = std::chrono::duration_cast<std::chrono::milliseconds>(d);
        return Status::Ok();
      },
      [](const ServeConfig& c) { return std::to_string(c.pool.acquire_timeout.count()); });
  add("db_pool_max_waiters", "DB_POOL_MAX_WAITERS", "1024", "requests waiting for a connection at most (more: 503)",
      pool_int(&db::PoolOptions::max_waiters, 1, 1000000),
      [](const ServeConfig& c) { return std::to_string(c.pool.max_waiters); });
  add("db_pool_shared", "DB_POOL_SHARED", "4",
      "PostgreSQL: connections that carry many requests' reads at once, pipelined (0: none; at most half the pool)",
      pool_int(&db::PoolOptions::shared_connections, 0, 1000),
      [](const ServeConfig& c) { return std::to_string(c.pool.shared_connections); });
  add("db_pool_shared_depth", "DB_POOL_SHARED_DEPTH", "16", "PostgreSQL: reads in flight per shared connection at most",
      pool_int(&db::PoolOptions::shared_depth, 1, 100000),
      [](const ServeConfig& c) { return std::to_string(c.pool.shared_depth); });
  add("db_connect_timeout", "DB_CONNECT_TIMEOUT", "5000", "milliseconds to open a database connection at most",
      [](ServeConfig& c, const std::string& v) -> Status {
        PLINTH_ASSIGN_OR_RETURN(auto d, ParseDuration(v, std::chrono::milliseconds(1)));
        c.pool.connect_timeout = std::chrono::duration_cast<std::chrono::milliseconds>(d);
        return Status::Ok();
      },
      [](const ServeConfig& c) { return std::to_string(c.pool.connect_timeout.count()); });
  add("db_statement_cache", "DB_STATEMENT_CACHE", "256", "prepared statements kept per connection",
      [](ServeConfig& c, const std::string& v) -> Status {
        PLINTH_ASSIGN_OR_RETURN(int64_t n, ParseInt(v, 0, 100000));
        c.pool.statement_cache = static_cast<size_t>(n);
        return Status::Ok();
      },
      [](const ServeConfig& c) { return std::to_string(c.pool.statement_cache); });
  add("sqlite_readers", "SQLITE_READERS", "4", "SQLite: reader connections (each on its own thread)",
      pool_int(&db::PoolOptions::sqlite_readers, 1, 64),
      [](const ServeConfig& c) { return std::to_string(c.pool.sqlite_readers); });
  add("sqlite_synchronous_full", "SQLITE_SYNCHRONOUS_FULL", "false",
      "SQLite: synchronous=FULL (survives power loss; NORMAL survives a crash of the process)",
      [](ServeConfig& c, const std::string& v) -> Status {
        PLINTH_ASSIGN_OR_RETURN(c.pool.sqlite_synchronous_full, ParseBool(v));
        return Status::Ok();
      },
      [](const ServeConfig& c) { return Bool(c.pool.sqlite_synchronous_full); });

  add("sqlite_group_commit", "SQLITE_GROUP_COMMIT", "64",
      "SQLite: write batches the writer commits together, each in its own savepoint (1 = one transaction each)",
      pool_int(&db::PoolOptions::sqlite_group_commit, 1, 4096),
      [](const ServeConfig& c) { return std::to_string(c.pool.sqlite_group_commit); });

  add("sqlite_checkpoint_pages", "SQLITE_CHECKPOINT_PAGES", "1000",
      "SQLite: WAL pages after which a background thread checkpoints (0 = the writer checkpoints in its commits)",
      pool_int(&db::PoolOptions::sqlite_checkpoint_pages, 0, 1000000),
      [](const ServeConfig& c) { return std::to_string(c.pool.sqlite_checkpoint_pages); });

  // --- HTTP limits
  add("request_timeout", "REQUEST_TIMEOUT", "30", "seconds a request may take once read (then 504; its database work is cancelled)",
      duration(&ServeConfig::request_timeout, kSec), [](const ServeConfig& c) { return Secs(c.request_timeout); });
  add("header_timeout", "HEADER_TIMEOUT", "10", "seconds to receive a request's header (then 408)",
      duration(&ServeConfig::header_timeout, kSec), [](const ServeConfig& c) { return Secs(c.header_timeout); });
  add("body_timeout", "BODY_TIMEOUT", "30", "seconds to receive a request's body (then 408)",
      duration(&ServeConfig::body_timeout, kSec), [](const ServeConfig& c) { return Secs(c.body_timeout); });
  add("idle_timeout", "IDLE_TIMEOUT", "30", "seconds a keep-alive connection may stay idle",
      duration(&ServeConfig::idle_timeout, kSec), [](const ServeConfig& c) { return Secs(c.idle_timeout); });
  add("write_timeout", "WRITE_TIMEOUT", "30", "seconds to write one response",
      duration(&ServeConfig::write_timeout, kSec), [](const ServeConfig& c) { return Secs(c.write_timeout); });
  add("max_body_bytes", "MAX_BODY_BYTES", "1m", "largest request body (then 413)",
      [](ServeConfig& c, const std::string& v) -> Status {
        PLINTH_ASSIGN_OR_RETURN(c.max_body_bytes, ParseSize(v));
        return Status::Ok();
      },
      [](const ServeConfig& c) { return std::to_string(c.max_body_bytes); });
  add("max_header_bytes", "MAX_HEADER_BYTES", "16k", "largest request line + header (then 431)",
      [](ServeConfig& c, const std::string& v) -> Status {
        PLINTH_ASSIGN_OR_RETURN(c.max_header_bytes, ParseSize(v));
        return Status::Ok();
      },
      [](const ServeConfig& c) { return std::to_string(c.max_header_bytes); });
  add("max_connections", "MAX_CONNECTIONS", "4096", "open connections at most (more: 503 + Retry-After)",
      [](ServeConfig& c, const std::string& v) -> Status {
        PLINTH_ASSIGN_OR_RETURN(int64_t n, ParseInt(v, 1, 1000000));
        c.max_connections = static_cast<size_t>(n);
        return Status::Ok();
      },
      [](const ServeConfig& c) { return std::to_string(c.max_connections); });
  add("shutdown_grace", "SHUTDOWN_GRACE", "10", "seconds requests in flight get to finish on SIGTERM/SIGINT",
      duration(&ServeConfig::shutdown_grace, kSec), [](const ServeConfig& c) { return Secs(c.shutdown_grace); });

  // --- rate limits
  add("rate_limit_key", "RATE_LIMIT_KEY", "100/200",
      "requests per second per API key or user, RATE[/BURST] (0: off; a key's own rate_limit column overrides)",
      rate(&ServeConfig::key_rate_limit), [](const ServeConfig& c) { return RateText(c.key_rate_limit); });
  add("rate_limit_ip", "RATE_LIMIT_IP", "0", "requests per second per client IP, RATE[/BURST] (0: off)",
      rate(&ServeConfig::ip_rate_limit), [](const ServeConfig& c) { return RateText(c.ip_rate_limit); });
  add("rate_limit_login", "RATE_LIMIT_LOGIN", "1/10", "login and refresh attempts per second per client IP (0: off)",
      rate(&ServeConfig::login_rate_limit), [](const ServeConfig& c) { return RateText(c.login_rate_limit); });
  add("allowed_origins", "ALLOWED_ORIGINS", "", "CORS: comma-separated origins (https://app.example.com) or * (empty: CORS off)",
      text(&ServeConfig::allowed_origins), [](const ServeConfig& c) { return c.allowed_origins; });
  add("cors_allow_credentials", "CORS_ALLOW_CREDENTIALS", "false", "CORS: Access-Control-Allow-Credentials",
      boolean(&ServeConfig::cors_allow_credentials), [](const ServeConfig& c) { return Bool(c.cors_allow_credentials); });

  // --- auth and secrets
  add("enable_auth", "ENABLE_AUTH", "true",
      "false: no credentials needed, every request acts as the default tenant with ANONYMOUS_ROLE (development only)",
      boolean(&ServeConfig::enable_auth), [](const ServeConfig& c) { return Bool(c.enable_auth); });
  add("default_tenant", "DEFAULT_TENANT", "", "ENABLE_AUTH=false: the tenant requests act as (id, slug or name; empty: the first)",
      text(&ServeConfig::default_tenant), [](const ServeConfig& c) { return c.default_tenant; });
  add("anonymous_role", "ANONYMOUS_ROLE", "admin", "ENABLE_AUTH=false: the role requests act with",
      text(&ServeConfig::anonymous_role), [](const ServeConfig& c) { return c.anonymous_role; });
  add("jwt_secret", "JWT_SECRET", "", "HS256 secret of access and refresh tokens, ≥ 32 bytes (empty: random per process)",
      text(&ServeConfig::jwt_secret), [](const ServeConfig& c) { return c.jwt_secret; }, true);
  add("jwt_issuer", "JWT_ISSUER", "plinth", "the tokens' iss", text(&ServeConfig::jwt_issuer),
      [](const ServeConfig& c) { return c.jwt_issuer; });
  add("jwt_audience", "JWT_AUDIENCE", "", "the tokens' aud (empty: the app's name)", text(&ServeConfig::jwt_audience),
      [](const ServeConfig& c) { return c.jwt_audience; });
  add("access_token_ttl", "ACCESS_TOKEN_TTL", "300", "seconds an access token lives",
      [](ServeConfig& c, const std::string& v) -> Status {
        PLINTH_ASSIGN_OR_RETURN(auto d, ParseDuration(v, std::chrono::seconds(1)));
        c.access_token_ttl = std::chrono::duration_cast<std::chrono::seconds>(d);
        if (c.access_token_ttl.count() < 1) return Bad("must be at least 1 second");
        return Status::Ok();
      },
      [](const ServeConfig& c) { return std::to_string(c.access_token_ttl.count()); });
  add("refresh_token_ttl", "REFRESH_TOKEN_TTL", "2592000", "seconds a refresh token (and its session) lives",
      [](ServeConfig& c, const std::string& v) -> Status {
        PLINTH_ASSIGN_OR_RETURN(auto d, ParseDuration(v, std::chrono::seconds(1)));
        c.refresh_token_ttl = std::chrono::duration_cast<std::chrono::seconds>(d);
        if (c.refresh_token_ttl.count() < 1) return Bad("must be at least 1 second");
        return Status::Ok();
      },
      [](const ServeConfig& c) { return std::to_string(c.refresh_token_ttl.count()); });
  add("api_key_pepper", "PLINTH_API_KEY_PEPPER", "", "HMAC pepper of API key hashes, ≥ 32 bytes (empty: SHA-256)",
      text(&ServeConfig::api_key_pepper), [](const ServeConfig& c) { return c.api_key_pepper; }, true);
  add("encryption_keys", "PLINTH_ENCRYPTION_KEYS", "", "keyring of encrypted columns: id=base64key,…; current=id",
      text(&ServeConfig::encryption_keys), [](const ServeConfig& c) { return c.encryption_keys; }, true);
  add("hash_threads", "HASH_THREADS", "0", "password hashing workers (0: one per core)",
      [](ServeConfig& c, const std::string& v) -> Status {
        PLINTH_ASSIGN_OR_RETURN(int64_t n, ParseInt(v, 0, 256));
        c.hash_threads = static_cast<unsigned>(n);
        return Status::Ok();
      },
      [](const ServeConfig& c) { return std::to_string(c.hash_threads); });
  add("hash_queue", "HASH_QUEUE", "0", "logins waiting for a hashing worker at most (more: 503; 0: 8 per worker)",
      [](ServeConfig& c, const std::string& v) -> Status {
        PLINTH_ASSIGN_OR_RETURN(int64_t n, ParseInt(v, 0, 100000));
        c.hash_queue = static_cast<size_t>(n);
        return Status::Ok();
      },
      [](const ServeConfig& c) { return std::to_string(c.hash_queue); });

  // --- REST
  add("default_list_limit", "DEFAULT_LIST_LIMIT", "100", "rows of a list page without limit=",
      [](ServeConfig& c, const std::string& v) -> Status {
        PLINTH_ASSIGN_OR_RETURN(c.default_list_limit, ParseInt(v, 1, 1000000));
        return Status::Ok();
      },
      [](const ServeConfig& c) { return std::to_string(c.default_list_limit); });
  add("max_list_limit", "MAX_LIST_LIMIT", "1000", "largest limit= of a list page",
      [](ServeConfig& c, const std::string& v) -> Status {
        PLINTH_ASSIGN_OR_RETURN(c.max_list_limit, ParseInt(v, 1, 1000000));
        return Status::Ok();
      },
      [](const ServeConfig& c) { return std::to_string(c.max_list_limit); });
  add("public_url", "PUBLIC_URL", "", "the server URL in /openapi.json (empty: /)", text(&ServeConfig::public_url),
      [](const ServeConfig& c) { return c.public_url; });

  // --- operations
  add("access_log", "ACCESS_LOG", "-", "JSON access log: - (stdout), off, or a file to append to",
      [](ServeConfig& c, const std::string& v) -> Status {
        const std::string l = Lower(Trim(v));
        if (l == "off" || l == "false" || l == "no" || l == "0" || l.empty()) c.access_log.clear();
        else if (l == "on" || l == "true" || l == "yes" || l == "1" || l == "-" || l == "stdout") c.access_log = "-";
        else c.access_log = Trim(v);
        return Status::Ok();
      },
      [](const ServeConfig& c) { return c.access_log.empty() ? std::string("off") : c.access_log; });
  add("demo_key_file", "PLINTH_DEMO_KEY_FILE", "",
      "on the first start create a demo tenant, admin user and API key and keep the key in this file (0600)",
      text(&ServeConfig::demo_key_file), [](const ServeConfig& c) { return c.demo_key_file; });
  add("audit_seal_interval", "AUDIT_SEAL_INTERVAL", "0",
      "how often the background sealer chains committed audit rows, e.g. 5s, 250ms (0: 5 s on PostgreSQL, 250 ms on SQLite)",
      [](ServeConfig& c, const std::string& v) -> Status {
        PLINTH_ASSIGN_OR_RETURN(auto d, ParseDuration(v, std::chrono::seconds(1)));
        if (d.count() != 0 && d < std::chrono::milliseconds(10)) return Bad("must be 0 or at least 10ms");
        c.audit_seal_interval = std::chrono::duration_cast<Clock::duration>(d);
        return Status::Ok();
      },
      [](const ServeConfig& c) { return Secs(c.audit_seal_interval); });
  add("audit_seal_batch", "AUDIT_SEAL_BATCH", "0",
      "audit rows chained per sealer run at most (0: 10000 on PostgreSQL, 500 on SQLite)",
      [](ServeConfig& c, const std::string& v) -> Status {
        PLINTH_ASSIGN_OR_RETURN(c.audit_seal_batch, ParseInt(v, 0, 10'000'000));
        return Status::Ok();
      },
      [](const ServeConfig& c) { return std::to_string(c.audit_seal_batch); });
  return s;
}

const std::vector<Spec>& Specs() {
  static const std::vector<Spec> specs = MakeSpecs();
  return specs;
}

std::string NormKey(std::string_view k) {
  std::string out = Lower(k);
  for (char& c : out) {
    if (c == '-') c = '_';
  }
  return out;
}

// The config file's values by normalized key; problems go to `errors`.
std::map<std::string, std::string> ReadConfigFile(const std::string& path, std::vector<std::string>& errors) {
  std::map<std::string, std::string> out;
  toml::table root;
  try {
    root = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    const auto& b = e.source().begin;
    errors.push_back(path + ":" + std::to_string(b.line) + ":" + std::to_string(b.column) + ": " +
                     std::string(e.description()));
    return out;
  }
  for (const auto& [k, node] : root) {
    const std::string key = NormKey(k.str());
    const auto& src = node.source().begin;
    const std::string where = path + ":" + std::to_string(src.line) + ":" + std::to_string(src.column);
    bool known = false;
    for (const Spec& s : Specs()) known = known || s.info.key == key;
    if (!known) {
      errors.push_back(where + ": unknown setting '" + std::string(k.str()) +
                       "' (plinth serve --help lists every setting)");
      continue;
    }
    if (auto v = node.value<std::string>(); v && node.is_string()) {
      out[key] = *v;
    } else if (node.is_boolean()) {
      out[key] = *node.value<bool>() ? "true" : "false";
    } else if (node.is_integer()) {
      out[key] = std::to_string(*node.value<int64_t>());
    } else if (node.is_floating_point()) {
      std::ostringstream o;
      o << *node.value<double>();
      out[key] = o.str();
    } else {
      errors.push_back(where + ": setting '" + key + "' must be a string, number or boolean");
    }
  }
  return out;
}

}  // namespace

const std::vector<SettingInfo>& Settings() {
  static const std::vector<SettingInfo> infos = [] {
    std::vector<SettingInfo> v;
    for (const Spec& s : Specs()) v.push_back(s.info);
    return v;
  }();
  return infos;
}

Status ParseListen(std::string_view text, std::string& host, uint16_t& port) {
  std::string t = Trim(text);
  std::string h, p;
  if (!t.empty() && t.front() == '[') {
    const size_t close = t.find(']');
    if (close == std::string::npos || close + 1 >= t.size() || t[close + 1] != ':') {
      return Bad("'" + t + "' is not host:port (IPv6 as [::1]:8080)");
    }
    h = t.substr(1, close - 1);
    p = t.substr(close + 2);
  } else {
    const size_t colon = t.rfind(':');
    if (colon == std::string::npos) return Bad("'" + t + "' is not host:port (e.g. 127.0.0.1:8080)");
    h = t.substr(0, colon);
    p = t.substr(colon + 1);
    if (h.find(':') != std::string::npos) return Bad("'" + t + "': write an IPv6 address in brackets, [::1]:8080");
  }
  auto n = ParseInt(p, 0, 65535);
  if (!n.ok()) return Bad("'" + t + "': the port must be 0..65535");
  host = h.empty() ? "127.0.0.1" : h;
  port = static_cast<uint16_t>(*n);
  return Status::Ok();
}

Result<ResolvedConfig> ResolveConfig(const ConfigSources& sources) {
  ResolvedConfig out;
  std::vector<std::string> errors;
  std::map<std::string, std::string> file;
  if (!sources.config_file.empty()) {
    std::error_code ec;
    if (!std::filesystem::exists(sources.config_file, ec)) {
      return Status(Code::kInvalidArgument, "the config file " + sources.config_file + " does not exist (--config)");
    }
    file = ReadConfigFile(sources.config_file, errors);
  }
  std::function<std::optional<std::string>(const std::string&)> env = sources.env;
  if (!env) {
    env = [](const std::string& name) -> std::optional<std::string> {
      const char* v = std::getenv(name.c_str());
      if (v == nullptr) return std::nullopt;
      return std::string(v);
    };
  }
  for (const Spec& s : Specs()) {
    std::string value = s.info.default_value;
    std::string origin = "default";
    if (auto f = sources.flags.find(s.info.key); f != sources.flags.end()) {
      value = f->second;
      origin = s.info.global ? s.info.flag + " or " + s.info.env : "flag " + s.info.flag;
    } else if (auto e = env(s.info.env)) {
      value = *e;
      origin = "env " + s.info.env;
    } else if (auto fv = file.find(s.info.key); fv != file.end()) {
      value = fv->second;
      origin = "file " + sources.config_file;
    }
    out.origin[s.info.key] = origin;
    if (origin == "default" && value.empty()) continue;  // text settings without default
    Status st = s.apply(out.config, value);
    if (!st.ok()) errors.push_back(s.info.key + " (" + origin + "): " + st.message());
  }
  const ServeConfig& c = out.config;
  if (c.max_list_limit < c.default_list_limit) errors.push_back("default_list_limit is larger than max_list_limit");
  if (!errors.empty()) {
    std::string msg = "invalid configuration:";
    for (const auto& e : errors) msg += "\n  " + e;
    return Status(Code::kInvalidArgument, msg);
  }
  return out;
}

std::string FormatConfig(const ResolvedConfig& resolved) {
  std::string out;
  for (const Spec& s : Specs()) {
    std::string v = s.show ? s.show(resolved.config) : "";
    if (s.secret && !v.empty()) {
      if (s.info.key.find("url") != std::string::npos) {
        auto url = db::ParseUrl(v);
        v = url.ok() ? url->Redacted() : "***";
      } else {
        v = "***";
      }
    }
    auto o = resolved.origin.find(s.info.key);
    out += s.info.key + " = " + v + "  # " + (o == resolved.origin.end() ? "default" : o->second) + "\n";
  }
  return out;
}

}  // namespace plinth::api
