// plinth/auth_admin.h — administrative identity work on a synchronous db::Connection (the CLI,
// server startup, tests): installing the auth support objects, creating tenants and API keys,
// seeding, encrypted-column keyrings and their rotation.
//
// Contracts:
// - InstallAuthSupport runs after `migrate up` (`plinth seed` runs it first), as a superuser
//   or as the table owner with InstallOptions::definer_role. PostgreSQL: creates schema
//   plinth_auth with the SECURITY DEFINER lookup functions the Authenticator uses before a
//   tenant is known (each `SET search_path = public, pg_temp`, EXECUTE revoked from PUBLIC and
//   granted to the runtime role, owned by the definer role), the notification triggers on
//   the mapped key/session/user/role tables, the audit chain tables (auth_audit.h), and revokes
//   UPDATE, DELETE, TRUNCATE, REFERENCES and TRIGGER on every append-only table and on
//   plinth_audit from every role but the owner. SQLite: the chain tables. Idempotent
//   (CREATE OR REPLACE / IF NOT EXISTS), one transaction.
// - API keys: CreateApiKey stores only the lookup id and the hash (crypto::ApiKeyHasher) and
//   returns the key once. RevokeApiKey sets revoked_at (or active = false) and, on PostgreSQL,
//   the table's trigger notifies every server.
// - Encrypted columns: KeyringCipher implements data::FieldCipher over crypto::Keyring with
//   the data runtime's AAD (ColumnAad: table, column and the primary key values — for
//   tenant-scoped tables the key leads with the tenant id), so a value moved to another row,
//   column or table does not decrypt. CheckKeyring is the startup check: every
//   key id that ever encrypted a value (canary rows in plinth_keyring_canary, one per key id,
//   and a sample of each encrypted column) must be in the keyring and decrypt; otherwise a
//   kFailedPrecondition naming the key, never garbage data later.
// - RotateKeys re-encrypts, table by table and in primary-key order, every value not under the
//   current key, in batches of `batch_size` rows each committed on its own: interrupting it
//   (or stopping it with max_batches) loses at most the batch in flight, rerunning resumes (the
//   query reads only rows with a value whose blob does not start with the current key's
//   Keyring::BlobPrefix, so progress is derivable from the data itself), and a second run
//   changes nothing. RotateReport::rows_scanned counts the rows read, i.e. those that needed
//   work.
// - Seeding (ApplySeedFile): see docs/security.md "Seeding" for the seed.toml format. Rows are
//   matched by their natural key; a missing row is inserted, an existing row is left as it is
//   (values are not overwritten unless the seed says `update = true`), so a second run changes
//   nothing. Values "${VAR}" come from the environment; a password column takes the value of a
//   `password = "${ADMIN_PASSWORD}"` key, checked by CheckPasswordStrength and hashed with
//   Argon2id; rows that reference another seeded row name it by its natural key
//   (`role_id = { ref = "roles", name = "admin" }`). One transaction.
//
// Thread-safety: functions are reentrant; a connection is used by one thread at a time.
// KeyringCipher is immutable and safe to share.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "plinth/apikey.h"
#include "plinth/auth.h"
#include "plinth/data.h"
#include "plinth/db.h"
#include "plinth/keyring.h"
#include "plinth/password.h"
#include "plinth/schema.h"
#include "plinth/status.h"

namespace plinth::auth {

inline constexpr std::string_view kEncryptionKeysEnv = "PLINTH_ENCRYPTION_KEYS";
inline constexpr std::string_view kApiKeyPepperEnv = "PLINTH_API_KEY_PEPPER";
inline constexpr std::string_view kCanaryTable = "plinth_keyring_canary";
inline constexpr size_t kMinPasswordLength = 15;  // NIST SP 800-63B-4, single-factor

// ---- support objects ----------------------------------------------------------------------

struct InstallOptions {
  std::string runtime_role;  // PostgreSQL: granted EXECUTE on the functions ("" = none)
  // PostgreSQL: the role that owns the SECURITY DEFINER functions. It must bypass row security
  // (the deployment's admin role: BYPASSRLS, not superuser, data::RoleOptions::admin_role),
  // because the table owner is NOBYPASSRLS and bound by FORCE ROW LEVEL SECURITY. "" = the
  // connected role, which must then be superuser or have BYPASSRLS.
  std::string definer_role;
};
// The statements InstallAuthSupport runs (for `--print`), in order.
Result<std::vector<std::string>> AuthSupportSql(db::Backend backend, const schema::Schema& schema,
                                                const AuthConfig& config, const InstallOptions& options);
Status InstallAuthSupport(db::Connection& conn, const schema::Schema& schema, const AuthConfig& config,
                          const InstallOptions& options = {});

// ---- tenants --------------------------------------------------------------------------------

// Inserts a row into the app's tenant table: `name` into its "name" column, `extra` other
// columns (canonical text values). Returns the new id. kFailedPrecondition for an app without
// tenants.
Result<std::string> CreateTenant(db::Connection& conn, const schema::Schema& schema, std::string_view name,
                                 const std::map<std::string, std::string>& extra = {});

// ---- API keys ---------------------------------------------------------------------------------

struct ApiKeySpec {
  std::string tenant_id;   // required when the key table (or its user) is tenant-scoped
  std::string user_id;     // optional
  std::string name = "api key";
  std::vector<std::string> scopes;  // "resource:action"
  std::optional<std::chrono::sys_seconds> expires_at;
  std::vector<std::string> allowed_ips;  // CIDRs, validated
  std::optional<int64_t> rate_limit;     // per minute
};

struct CreatedApiKey {
  std::string key;  // show once
  std::string id;
  std::string lookup_id;
};

struct ApiKeyListing {
  std::string id, tenant_id, user_id, name, lookup_id, expires_at, revoked_at, last_used_at;
  std::vector<std::string> scopes;
  bool active = true;
};

Result<CreatedApiKey> CreateApiKey(db::Connection& conn, const schema::Schema& schema, const AuthConfig& config,
                                   const crypto::ApiKeyHasher& hasher, const ApiKeySpec& spec);
// Keys of a tenant ("" = every key).
Result<std::vector<ApiKeyListing>> ListApiKeys(db::Connection& conn, const schema::Schema& schema,
                                               const AuthConfig& config, std::string_view tenant_id = {});
// By row id or lookup id. kNotFound when no key matches.
Status RevokeApiKey(db::Connection& conn, const schema::Schema& schema, const AuthConfig& config,
                    std::string_view id_or_lookup);

// ---- encrypted columns ------------------------------------------------------------------------

// PLINTH_ENCRYPTION_KEYS (or `text`) parsed; kFailedPrecondition when unset.
Result<crypto::Keyring> KeyringFromEnvironment();

// The AAD of an encrypted value, byte for byte the data runtime's: table 0x00 column, then
// 0x00 and each primary key value (canonical text) in key order.
std::string ColumnAad(std::string_view table, std::string_view column, const std::vector<std::string>& pk_values);

class KeyringCipher final : public data::FieldCipher {
 public:
  explicit KeyringCipher(const crypto::Keyring& keyring) : keyring_(keyring) {}
  Result<std::string> Encrypt(std::string_view plaintext, std::string_view aad) const override;
  Result<std::string> Decrypt(std::string_view blob, std::string_view aad) const override;

 private:
  const crypto::Keyring& keyring_;
};

// Startup check (see the file comment). Creates the canary table when missing and records the
// current key's canary; read-only otherwise.
Status CheckKeyring(db::Connection& conn, const schema::Schema& schema, const crypto::Keyring& keyring);

struct RotateOptions {
  int64_t batch_size = 500;
  // Stop after this many batches (0 = until done): for tests of interruption and for operators
  // who rotate in slices.
  int64_t max_batches = 0;
  std::function<void(const std::string&)> progress;
};

struct RotateReport {
  int64_t rows_scanned = 0;
  int64_t values_reencrypted = 0;
  int64_t batches = 0;
  bool complete = false;  // every encrypted value is under the current key
};

Result<RotateReport> RotateKeys(db::Connection& conn, const schema::Schema& schema, const crypto::Keyring& keyring,
                                const RotateOptions& options = {});

// ---- passwords and seeding ----------------------------------------------------------------------

// NIST SP 800-63B-4: at least `min_length` characters (code points), at most
// crypto::kMaxPasswordBytes bytes, not in the blocklist of common passwords, not a single
// repeated character, not equal to `context` values (user name, e-mail, app name).
Status CheckPasswordStrength(std::string_view password, size_t min_length = kMinPasswordLength,
                             const std::vector<std::string>& context = {});

struct SeedOptions {
  // Environment lookup (default getenv); returns nullopt for an unset variable.
  std::function<std::optional<std::string>(const std::string&)> env;
  crypto::Argon2Params argon2;
  size_t min_password_length = kMinPasswordLength;
  bool dry_run = false;
};

struct SeedReport {
  int64_t inserted = 0;
  int64_t updated = 0;
  int64_t unchanged = 0;
  std::vector<std::string> lines;  // one per row: "insert roles name=admin"
};

Result<SeedReport> ApplySeedFile(db::Connection& conn, const schema::Schema& schema, const AuthConfig& config,
                                 const std::string& seed_path, const SeedOptions& options = {});
Result<SeedReport> ApplySeedText(db::Connection& conn, const schema::Schema& schema, const AuthConfig& config,
                                 std::string_view text, const std::string& file_name, const SeedOptions& options = {});

}  // namespace plinth::auth
