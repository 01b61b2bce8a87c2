// plinth/auth.h — identities and credentials of an app: which of ITS tables hold users,
// passwords, roles, permissions, sessions and API keys (the `[auth]` section of schema.toml),
// and the request-path authenticator that turns an API key or an access token into a
// data::Principal.
//
// The mapping (docs/security.md "Identities: the [auth] section"). An app names its own tables
// and columns; plinth never assumes a layout:
//
//   [auth.users]                      # required when [auth] is present
//   table = "users"
//   login = ["username", "email"]     # columns a login name is matched against (lower-cased)
//   password = "password_hash"        # PHC Argon2id / PBKDF2 strings; omit: no password login
//   active = "is_active"              # optional boolean: false refuses logins and the user's keys
//   locked = "is_locked"              # optional boolean, set after `lockout_after` failures
//   failed_attempts = "failed_login_attempts"   # optional integer (needed for lockout)
//   last_login = "last_login_at"      # optional timestamp
//   password_changed = "password_changed_at"    # optional timestamp (set on rehash)
//   role = "role"                     # optional text/enum column: the user's single role
//   lockout_after = 5                 # consecutive failures before `locked` is set; 0 = never
//
//   [auth.roles]                      # optional: role tables (names below are the defaults)
//   roles = "roles"                   # id, name
//   user_roles = "user_roles"         # user_id, role_id
//   permissions = "permissions"       # id, resource, action
//   role_permissions = "role_permissions"   # role_id, permission_id
//   # role_name = "name", permission_resource = "resource", permission_action = "action",
//   # user_roles_user = "user_id", user_roles_role = "role_id",
//   # role_permissions_role = "role_id", role_permissions_permission = "permission_id"
//
//   [auth.sessions]                   # required for password login (sessions are rows)
//   table = "sessions"
//   # user = "user_id", access_jti = "token_jti", refresh_jti = "refresh_token_jti",
//   # family = "family_id", expires_at = "expires_at", revoked_at = "revoked_at"   (defaults)
//   device = "device_name"            # optional text columns
//   ip = "ip_address"
//   user_agent = "user_agent"
//   last_activity = "last_activity_at"           # optional timestamp
//
//   [auth.api_keys]                   # optional: the key table
//   table = "api_keys"
//   # lookup = "key_prefix", hash = "key_hash"   (defaults; text columns)
//   name = "name"                     # optional text (required when the column is not null)
//   user = "user_id"                  # optional uuid → users
//   scopes = "permissions"            # optional json array of "resource:action" strings
//   expires_at = "expires_at"         # optional timestamp
//   revoked_at = "revoked_at"         # optional timestamp; and/or
//   active = "is_active"              # optional boolean
//   allowed_ips = "allowed_ips"       # optional json array of CIDRs ("10.0.0.0/8", "::1/128")
//   rate_limit = "rate_limit"         # optional integer: requests per minute for the limiter
//   last_used = "last_used_at"        # optional timestamp, written in batches (see below)
//
// LoadAuthConfig validates every name against the loaded schema (table exists, column exists,
// logical type fits, required columns without defaults are mapped) and reports each problem
// with file:line:column; an app without `[auth]` gets AuthConfig::present == false.
//
// Tenants. A key table or users table that is tenant-scoped gives the principal its tenant;
// a key of a non-tenant key table takes its user's tenant. Keys and logins are looked up
// BEFORE the tenant is known: on PostgreSQL (RLS, FORCE) through narrowly scoped SECURITY
// DEFINER functions in schema plinth_auth (created by InstallAuthSupport, auth_admin.h: owned
// by the migration role, `SET search_path = public, pg_temp`, EXECUTE revoked from PUBLIC and
// granted to the runtime role, returning only what verification needs); on SQLite directly.
//
// Request path (Authenticator):
// - API keys: crypto::ParseApiKey rejects a malformed or mistyped key before any query. The
//   lookup id is resolved through a bounded cache with positive and negative entries; the
//   stored hash is compared in constant time; expiry, revocation, the active flags of key and
//   user, allowed IPs (CIDR, v4 and v6) and the tenant are checked on every request (a cached
//   entry holds the row, not the verdict). last_used_at is not written per request: uses are
//   coalesced in memory and flushed in one batch every `last_used_flush`.
// - Revocation is visible within one second on every server: PostgreSQL triggers (installed by
//   InstallAuthSupport) pg_notify channel kNotifyChannel on every change of a key, session,
//   user or role row, whatever wrote it; each Authenticator LISTENs and drops the named cache
//   entries, and flushes every cache on the driver's reconnect signal (an empty payload). On
//   SQLite (one process) revocations by this process notify in-process and cached positive
//   entries live at most `sqlite_cache_ttl` (1 s) for writes made by other paths.
// - Passwords: verification runs on the HashPool (never on an I/O thread). An unknown login
//   spends crypto::DummyVerify's work and answers exactly like a wrong password
//   (kUnauthenticated "invalid login or password"). `lockout_after` consecutive failures set the
//   locked flag; a success resets the counter; a locked account answers the same generic error
//   to the caller and says "locked" only in LoginResult for admins (AdminLoginStatus). A match
//   against a hash that NeedsRehash (PBKDF2, weaker Argon2 parameters) stores the new Argon2id
//   hash in the same write that resets the counter (compare-and-swap on the old hash).
// - Sessions: a login inserts a session row (family id = session id of the first login) and
//   returns an access token (JWT HS256, typ at+jwt, `access_ttl`) and a refresh token (typ
//   refresh+jwt, `refresh_ttl`). Refresh is single-use: it rotates both jtis in one
//   compare-and-swap update; presenting a refresh token whose jti is no longer the session's
//   revokes every session of the family (RFC 6819 §5.2.2.3 / OAuth 2.1 refresh rotation).
//   An access token is accepted only while its session row is unrevoked, unexpired and still
//   carries the token's jti — checked through the session cache (same invalidation as keys), so a
//   logout or admin revocation rejects the token within one second, not at its expiry.
// - Roles and permissions: from the user's role column and/or the role tables, cached per user
//   (invalidated by the roles trigger on PostgreSQL, `roles_cache_ttl` on SQLite).
//
// Thread-safety: AuthConfig is a plain value. An Authenticator is safe to use from any thread
// and any number of coroutines at once (caches are guarded by a mutex; no lock is held across a
// suspension). Start() once before use, Stop() before destroying the Database or the HashPool.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>

#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "plinth/apikey.h"
#include "plinth/data.h"
#include "plinth/database.h"
#include "plinth/diagnostic.h"
#include "plinth/hash_pool.h"
#include "plinth/jwt.h"
#include "plinth/schema.h"
#include "plinth/status.h"

namespace plinth::auth {

namespace asio = boost::asio;

// The channel of cache invalidations ("key:<lookup>", "session:<id>", "family:<id>",
// "user:<id>", "roles", "" = flush everything).
inline constexpr std::string_view kNotifyChannel = "plinth_auth";
// The PostgreSQL schema of plinth's SECURITY DEFINER functions.
inline constexpr std::string_view kFunctionSchema = "plinth_auth";
inline constexpr int kDefaultLockoutAfter = 10;

// ---- the [auth] mapping ---------------------------------------------------------------------

struct UsersMapping {
  std::string table;
  std::string id = "id";
  std::vector<std::string> login;  // at least one
  std::string password;            // "" = no password login
  std::string active, locked, failed_attempts, last_login, password_changed, role;
  int lockout_after = kDefaultLockoutAfter;
};

struct RolesMapping {
  std::string roles, role_id = "id", role_name = "name";
  std::string user_roles, user_roles_user = "user_id", user_roles_role = "role_id";
  std::string permissions, permission_id = "id", permission_resource = "resource", permission_action = "action";
  std::string role_permissions, role_permissions_role = "role_id", role_permissions_permission = "permission_id";
  bool has_permissions() const { return !permissions.empty(); }
};

struct SessionsMapping {
  std::string table;
  std::string id = "id", user = "user_id", access_jti = "token_jti", refresh_jti = "refresh_token_jti";
  std::string family = "family_id", expires_at = "expires_at", revoked_at = "revoked_at";
  std::string device, ip, user_agent, last_activity;  // optional
};

struct ApiKeysMapping {
  std::string table;
  std::string id = "id", lookup = "key_prefix", hash = "key_hash";
  std::string name, user, scopes, expires_at, revoked_at, active, allowed_ips, rate_limit, last_used;
};

struct AuthConfig {
  bool present = false;  // the schema has an [auth] section
  UsersMapping users;
  std::optional<RolesMapping> roles;
  std::optional<SessionsMapping> sessions;
  std::optional<ApiKeysMapping> api_keys;

  // Derived from the schema by LoadAuthConfig.
  std::string tenants_table;   // the app's tenant table ("" = no tenants)
  std::string tenant_column;   // e.g. "tenant_id" / "organization_id"
  bool users_tenant_scoped = false;
  bool keys_tenant_scoped = false;
  bool sessions_tenant_scoped = false;
};

// Reads the `[auth]` section of the schema file at `schema_path` (already loaded into `schema`
// by schema::LoadSchemaFile) and validates it against the schema. Problems go to `diags` with
// file:line:column; the Result is kInvalidArgument when any was found.
Result<AuthConfig> LoadAuthConfig(const std::string& schema_path, const schema::Schema& schema, Diagnostics& diags);
// The same from the file's text.
Result<AuthConfig> LoadAuthConfigText(std::string_view text, const std::string& file_name,
                                      const schema::Schema& schema, Diagnostics& diags);

// ---- CIDR allow-lists -------------------------------------------------------------------------

// One allowed network: "10.0.0.0/8", "192.168.1.7" (= /32), "2001:db8::/32", "::1".
struct Cidr {
  bool v6 = false;
  std::array<std::uint8_t, 16> addr{};
  int prefix = 0;
  static Result<Cidr> Parse(std::string_view text);
  // An IPv4-mapped IPv6 address (::ffff:a.b.c.d) matches IPv4 networks.
  bool Contains(std::string_view ip) const;
};
// True when `ip` is inside any of `allowed` (an empty list allows every address). An
// unparsable client address matches nothing.
bool IpAllowed(const std::vector<Cidr>& allowed, std::string_view ip);

// ---- request path -----------------------------------------------------------------------------

struct AuthOptions {
  std::chrono::seconds access_ttl{300};                 // access tokens: 5 minutes
  std::chrono::seconds refresh_ttl{30 * 24 * 3600};     // refresh tokens and sessions: 30 days
  size_t key_cache_capacity = 10'000;                   // positive + negative entries
  std::chrono::seconds key_cache_ttl{60};               // PostgreSQL (NOTIFY-invalidated)
  std::chrono::seconds negative_cache_ttl{5};           // unknown lookup ids
  std::chrono::milliseconds sqlite_cache_ttl{1000};     // SQLite: positive entries
  size_t session_cache_capacity = 100'000;
  std::chrono::seconds session_cache_ttl{60};
  std::chrono::seconds roles_cache_ttl{60};             // SQLite: 1 s regardless
  std::chrono::milliseconds last_used_flush{5000};      // batch write of last_used_at
  std::string admin_role = "admin";                     // sees why a login failed
};

// Side data of an API key for the HTTP layer's limiter and logs.
struct KeyInfo {
  std::string key_id;       // the key row's id
  std::string lookup_id;    // safe to log
  std::optional<int64_t> rate_limit;  // requests per minute; nullopt = the server default
};

struct KeyAuth {
  data::Principal principal;
  KeyInfo key;
};

struct LoginRequest {
  std::string login;      // username or e-mail (matched lower-cased)
  std::string password;
  std::string tenant_id;  // optional: needed when the same login exists in several tenants
  std::string device;
};

struct TokenPair {
  std::string access_token;
  std::string refresh_token;
  std::string session_id;
  std::chrono::sys_seconds access_expires_at{};
  std::chrono::sys_seconds refresh_expires_at{};
};

struct LoginResult {
  TokenPair tokens;
  data::Principal principal;
  bool rehashed = false;  // the stored hash was upgraded to the current Argon2id parameters
};

// What an admin may learn about a failed login (never returned to the caller of Login).
enum class LoginFailure : unsigned char { kNone, kUnknownUser, kWrongPassword, kLocked, kInactive, kAmbiguous };
std::string_view LoginFailureName(LoginFailure f);

struct UserAccess {
  bool active = true;  // the user's active flag (false: no new principal for it)
  std::vector<std::string> roles;
  std::vector<std::string> permissions;  // "resource:action", sorted, distinct
  std::string tenant_id;
};

struct AuthStats {
  uint64_t key_cache_hits = 0, key_cache_misses = 0, key_lookups = 0;  // lookups = queries run
  uint64_t notifications = 0, flushes = 0, last_used_writes = 0;
  uint64_t session_lookups = 0, role_lookups = 0;
};

class Authenticator {
 public:
  // Validates that the config supports what is used (password login needs users.password and
  // sessions; keys need api_keys). `hasher`, `jwt` are copied; `db` and `pool` are borrowed
  // and must outlive the Authenticator.
  static Result<std::unique_ptr<Authenticator>> Create(const schema::Schema& schema, AuthConfig config,
                                                       db::Database& db, crypto::HashPool& pool,
                                                       crypto::ApiKeyHasher hasher, crypto::JwtCodec jwt,
                                                       AuthOptions options = {});
  virtual ~Authenticator() = default;

  // Subscribes to kNotifyChannel and starts the last_used flusher on `io`.
  virtual void Start(asio::io_context& io) = 0;
  // Flushes pending last_used_at writes and stops the flusher.
  virtual asio::awaitable<void> Stop() = 0;

  // kUnauthenticated for anything that is not a valid, active key (one generic message);
  // kPermissionDenied when the key is valid but `client_ip` is not allowed.
  virtual asio::awaitable<Result<KeyAuth>> AuthenticateApiKey(std::string_view key, std::string_view client_ip) = 0;
  virtual asio::awaitable<Result<LoginResult>> Login(LoginRequest request, data::RequestInfo info) = 0;
  virtual asio::awaitable<Result<TokenPair>> Refresh(std::string_view refresh_token, data::RequestInfo info) = 0;
  virtual asio::awaitable<Result<data::Principal>> AuthenticateAccessToken(std::string_view token) = 0;
  // Revokes the session the access token belongs to.
  virtual asio::awaitable<Status> Logout(std::string_view access_token) = 0;
  // Admin revocation of a session (kPermissionDenied unless `admin` has admin_role or
  // the sessions:admin permission) or of its whole family.
  virtual asio::awaitable<Status> RevokeSession(const data::Principal& admin, std::string_view session_id,
                                                bool whole_family) = 0;
  // Revokes a key by its row id (kPermissionDenied unless `admin` is kSystem, has admin_role,
  // the api_keys:admin permission, or owns the key).
  virtual asio::awaitable<Status> RevokeApiKey(const data::Principal& admin, std::string_view key_id) = 0;
  // Why the last failed login of `login` failed; only for admins (kPermissionDenied otherwise).
  virtual Result<LoginFailure> AdminLoginStatus(const data::Principal& admin, std::string_view login) const = 0;

  virtual asio::awaitable<Result<UserAccess>> ResolveAccess(std::string_view user_id) = 0;
  // Drops cached roles (after a write to the role tables on SQLite).
  virtual void InvalidateRoles() = 0;
  // Writes pending last_used_at values now (one batch).
  virtual asio::awaitable<Status> FlushLastUsed() = 0;
  virtual AuthStats Stats() const = 0;
};

}  // namespace plinth::auth
