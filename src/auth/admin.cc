// Administrative identity work on a synchronous connection: support objects, tenants, API keys.
#include <algorithm>

#include "auth/internal.h"
#include "auth/sqlgen.h"
#include "common/strings.h"
#include "plinth/auth_admin.h"
#include "plinth/auth_audit.h"

namespace plinth::auth {
namespace {

using internal::P;
using internal::PT;
using internal::Q;
using internal::Query;

// A column value bound as a parameter: booleans as 0/1 on SQLite.
std::string ValueFor(db::Backend b, const schema::Column& c, const std::string& v) {
  if (b == db::Backend::kSqlite && c.type.kind == schema::TypeKind::kBoolean) return v == "true" || v == "1" ? "1" : "0";
  return v;
}

bool TableExists(db::Connection& conn, std::string_view table) {
  const std::string sql = conn.backend() == db::Backend::kPostgres
                              ? "SELECT 1 WHERE to_regclass(" + db::QuoteLiteral(db::QuoteIdent(table)) + ") IS NOT NULL"
                              : "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = " + db::QuoteLiteral(table);
  auto r = conn.Query(sql);
  return r.ok() && !r->rows.empty();
}

Status ValidScope(const std::string& s) {
  auto colon = s.find(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == s.size() || s.find(':', colon + 1) != std::string::npos) {
    return Status(Code::kInvalidArgument, "scope '" + s + "' must be RESOURCE:ACTION, e.g. documents:read");
  }
  return Status::Ok();
}

}  // namespace

Result<std::vector<std::string>> AuthSupportSql(db::Backend backend, const schema::Schema& schema, const AuthConfig& config,
                                                const InstallOptions& options) {
  if (backend == db::Backend::kSqlite) return std::vector<std::string>{};
  return internal::PostgresAuthDdl(schema, config, options.runtime_role, options.definer_role);
}

Status InstallAuthSupport(db::Connection& conn, const schema::Schema& schema, const AuthConfig& config,
                          const InstallOptions& options) {
  const bool pg = conn.backend() == db::Backend::kPostgres;
  if (pg) {
    const std::string who = options.definer_role.empty() ? std::string("current_user") : db::QuoteLiteral(options.definer_role);
    PLINTH_ASSIGN_OR_RETURN(db::QueryResult me,
                            Query(conn, "checking the definer role",
                                  "SELECT rolname, rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = " + who));
    if (me.rows.empty()) return Status(Code::kNotFound, "definer role " + options.definer_role + " does not exist");
    if (!internal::ParseBool(me.rows[0][1])) {
      const std::string role = me.rows[0][0].value_or("?");
      return Status(Code::kFailedPrecondition,
                    "role " + role + " cannot own plinth's auth functions: they look up keys and logins before a tenant is "
                    "known, so their owner must bypass row security (the table owner cannot: it is NOBYPASSRLS and bound by "
                    "FORCE ROW LEVEL SECURITY). Pass the deployment's admin role (BYPASSRLS, not superuser) as the definer "
                    "role (--definer-role), or run as a superuser; the runtime role keeps neither");
    }
  }
  PLINTH_ASSIGN_OR_RETURN(std::vector<std::string> sql, AuthSupportSql(conn.backend(), schema, config, options));
  PLINTH_RETURN_IF_ERROR(conn.Exec(pg ? "BEGIN" : "BEGIN IMMEDIATE"));
  auto run = [&]() -> Status {
    for (const auto& s : sql) {
      Status st = conn.Exec(s);
      if (!st.ok()) return st.WithContext("installing auth support (" + s.substr(0, 60) + "…)");
    }
    if (TableExists(conn, schema::kAuditTable)) {
      PLINTH_RETURN_IF_ERROR(audit::InstallChain(conn, options.runtime_role, options.definer_role));
    }
    return Status::Ok();
  };
  Status st = run();
  if (!st.ok()) {
    (void)conn.Exec("ROLLBACK");
    return st;
  }
  return conn.Exec("COMMIT");
}

Result<std::string> CreateTenant(db::Connection& conn, const schema::Schema& schema, std::string_view name,
                                 const std::map<std::string, std::string>& extra) {
  const db::Backend b = conn.backend();
  if (schema.app.tenants_table.empty()) {
    return Status(Code::kFailedPrecondition, "app " + schema.app.name + " has no tenants ([app] tenants is not set)");
  }
  const schema::Table* t = schema.FindTable(schema.app.tenants_table);
  if (t == nullptr) return Status(Code::kInternal, "tenant table missing from the schema");
  const schema::Constraint* pk = t->PrimaryKey();
  if (pk == nullptr || pk->columns.size() != 1) return Status(Code::kInternal, "tenant table has no single-column primary key");
  std::map<std::string, std::string> values = extra;
  if (t->FindColumn("name") != nullptr) {
    values["name"] = std::string(name);
  } else if (!name.empty()) {
    return Status(Code::kInvalidArgument, "tenant table " + t->name + " has no name column: pass the columns with --set");
  }
  const std::string id = internal::NewUuid();
  std::vector<std::string> cols = {Q(pk->columns[0])};
  std::vector<std::string> vals = {PT(b, 1, "uuid")};
  db::Params params = {id};
  for (const auto& [col, v] : values) {
    const schema::Column* c = t->FindColumn(col);
    if (c == nullptr) return Status(Code::kInvalidArgument, "tenant table " + t->name + " has no column " + col, {}, col);
    cols.push_back(Q(col));
    params.push_back(ValueFor(b, *c, v));
    vals.push_back(PT(b, static_cast<int>(params.size()), internal::PgTypeOf(*c)));
  }
  PLINTH_ASSIGN_OR_RETURN(db::QueryResult r, Query(conn, "creating the tenant",
                                                   "INSERT INTO " + Q(t->name) + " (" + Join(cols, ", ") + ") VALUES (" +
                                                       Join(vals, ", ") + ")",
                                                   params));
  (void)r;
  return id;
}

Result<CreatedApiKey> CreateApiKey(db::Connection& conn, const schema::Schema& schema, const AuthConfig& config,
                                   const crypto::ApiKeyHasher& hasher, const ApiKeySpec& spec) {
  const db::Backend b = conn.backend();
  if (!config.api_keys) {
    return Status(Code::kFailedPrecondition, "the app maps no API key table: add [auth.api_keys] to schema.toml");
  }
  const ApiKeysMapping& k = *config.api_keys;
  const schema::Table* t = schema.FindTable(k.table);
  if (t == nullptr) return Status(Code::kInternal, "key table missing from the schema");
  if (config.keys_tenant_scoped && spec.tenant_id.empty()) {
    return Status(Code::kInvalidArgument, "--tenant is required: keys of table " + k.table + " belong to a tenant");
  }
  if (!spec.tenant_id.empty() && !internal::IsUuid(spec.tenant_id)) {
    return Status(Code::kInvalidArgument, "--tenant must be a tenant id (a lower-case uuid)");
  }
  if (!spec.user_id.empty() && !internal::IsUuid(spec.user_id)) {
    return Status(Code::kInvalidArgument, "--user must be a user id (a lower-case uuid)");
  }
  if (!spec.user_id.empty() && k.user.empty()) {
    return Status(Code::kInvalidArgument, "the key table maps no user column: keys cannot belong to a user");
  }
  if (spec.user_id.empty() && !k.user.empty()) {
    const schema::Column* uc = t->FindColumn(k.user);
    if (uc != nullptr && uc->not_null) {
      return Status(Code::kInvalidArgument, "--user is required: " + k.table + "." + k.user + " is not null");
    }
  }
  if (!spec.user_id.empty() && !config.keys_tenant_scoped && config.users_tenant_scoped && !spec.tenant_id.empty()) {
    // The key takes its user's tenant: make sure they agree.
    PLINTH_ASSIGN_OR_RETURN(db::QueryResult u,
                            Query(conn, "checking the user",
                                  "SELECT 1 FROM " + Q(config.users.table) + " WHERE " + Q(config.users.id) + " = " +
                                      PT(b, 1, "uuid") + " AND " + Q(config.tenant_column) + " = " + PT(b, 2, "uuid"),
                                  {spec.user_id, spec.tenant_id}));
    if (u.rows.empty()) return Status(Code::kNotFound, "no user " + spec.user_id + " in tenant " + spec.tenant_id);
  }
  for (const auto& s : spec.scopes) PLINTH_RETURN_IF_ERROR(ValidScope(s));
  if (!spec.scopes.empty() && k.scopes.empty()) {
    return Status(Code::kInvalidArgument, "the key table maps no scopes column: --scopes cannot be stored");
  }
  for (const auto& ip : spec.allowed_ips) {
    auto c = Cidr::Parse(ip);
    if (!c.ok()) return c.status();
  }
  if (!spec.allowed_ips.empty() && k.allowed_ips.empty()) {
    return Status(Code::kInvalidArgument, "the key table maps no allowed_ips column");
  }
  if (spec.expires_at && k.expires_at.empty()) return Status(Code::kInvalidArgument, "the key table maps no expires_at column");
  if (spec.rate_limit && k.rate_limit.empty()) return Status(Code::kInvalidArgument, "the key table maps no rate_limit column");
  if (spec.rate_limit && *spec.rate_limit <= 0) return Status(Code::kInvalidArgument, "--rate-limit must be positive");

  crypto::NewApiKey key = hasher.Generate();
  CreatedApiKey out;
  out.id = internal::NewUuid();
  out.key = key.key;
  out.lookup_id = key.lookup_id;
  std::vector<std::string> cols, vals;
  db::Params params;
  auto add = [&](const std::string& col, std::optional<std::string> v) {
    const schema::Column* c = t->FindColumn(col);
    cols.push_back(Q(col));
    params.push_back(v && c ? std::optional<std::string>(ValueFor(b, *c, *v)) : v);
    vals.push_back(PT(b, static_cast<int>(params.size()), c ? internal::PgTypeOf(*c) : ""));
  };
  add(k.id, out.id);
  if (config.keys_tenant_scoped) add(config.tenant_column, spec.tenant_id);
  if (!k.user.empty()) add(k.user, spec.user_id.empty() ? std::nullopt : std::optional<std::string>(spec.user_id));
  if (!k.name.empty()) add(k.name, spec.name);
  add(k.lookup, key.lookup_id);
  add(k.hash, key.stored_hash);
  if (!k.scopes.empty()) add(k.scopes, internal::StringArrayJson(spec.scopes));
  if (!k.allowed_ips.empty()) add(k.allowed_ips, internal::StringArrayJson(spec.allowed_ips));
  if (!k.expires_at.empty() && spec.expires_at) add(k.expires_at, internal::FormatTimestamp(*spec.expires_at));
  if (!k.rate_limit.empty() && spec.rate_limit) add(k.rate_limit, std::to_string(*spec.rate_limit));
  if (!k.active.empty()) add(k.active, "true");
  PLINTH_ASSIGN_OR_RETURN(db::QueryResult r, Query(conn, "creating the API key",
                                                   "INSERT INTO " + Q(k.table) + " (" + Join(cols, ", ") + ") VALUES (" +
                                                       Join(vals, ", ") + ")",
                                                   params));
  (void)r;
  return out;
}

Result<std::vector<ApiKeyListing>> ListApiKeys(db::Connection& conn, const schema::Schema& schema, const AuthConfig& config,
                                               std::string_view tenant_id) {
  const db::Backend b = conn.backend();
  if (!config.api_keys) return Status(Code::kFailedPrecondition, "the app maps no API key table ([auth.api_keys])");
  const ApiKeysMapping& k = *config.api_keys;
  auto col = [&](const std::string& c) { return c.empty() ? std::string("NULL") : (b == db::Backend::kPostgres ? Q(c) + "::text" : Q(c)); };
  auto ts = [&](const std::string& c) { return c.empty() ? std::string("NULL") : internal::TimestampOut(b, Q(c)); };
  std::string tenant = config.keys_tenant_scoped ? col(config.tenant_column) : "NULL";
  std::string active = k.active.empty() ? internal::BoolSql(b, true) : Q(k.active);
  if (b == db::Backend::kPostgres) active = "(" + active + ")::text";
  std::string sql = "SELECT " + col(k.id) + ", " + tenant + ", " + col(k.user) + ", " + col(k.name) + ", " + Q(k.lookup) + ", " +
                    col(k.scopes) + ", " + ts(k.expires_at) + ", " + ts(k.revoked_at) + ", " + active + ", " + ts(k.last_used) +
                    " FROM " + Q(k.table);
  db::Params params;
  if (!tenant_id.empty()) {
    if (!config.keys_tenant_scoped) return Status(Code::kInvalidArgument, "keys of this app are not tenant-scoped: omit --tenant");
    sql += " WHERE " + Q(config.tenant_column) + " = " + PT(b, 1, "uuid");
    params.push_back(std::string(tenant_id));
  }
  sql += " ORDER BY " + Q(k.lookup);
  PLINTH_ASSIGN_OR_RETURN(db::QueryResult r, Query(conn, "listing API keys", sql, params));
  std::vector<ApiKeyListing> out;
  for (const auto& row : r.rows) {
    ApiKeyListing l;
    l.id = row[0].value_or("");
    l.tenant_id = row[1].value_or("");
    l.user_id = row[2].value_or("");
    l.name = row[3].value_or("");
    l.lookup_id = row[4].value_or("");
    auto scopes = internal::ParseStringArray(row[5]);
    if (scopes.ok()) l.scopes = *scopes;
    l.expires_at = row[6].value_or("");
    l.revoked_at = row[7].value_or("");
    l.active = internal::ParseBool(row[8]) && l.revoked_at.empty();
    l.last_used_at = row[9].value_or("");
    out.push_back(std::move(l));
  }
  return out;
}

Status RevokeApiKey(db::Connection& conn, const schema::Schema& schema, const AuthConfig& config, std::string_view id_or_lookup) {
  const db::Backend b = conn.backend();
  if (!config.api_keys) return Status(Code::kFailedPrecondition, "the app maps no API key table ([auth.api_keys])");
  const ApiKeysMapping& k = *config.api_keys;
  const std::string id_text = b == db::Backend::kPostgres ? Q(k.id) + "::text" : Q(k.id);
  const std::string match = "(" + id_text + " = " + P(b, 1) + " OR " + Q(k.lookup) + " = " + P(b, 1) + ")";
  std::vector<std::string> set;
  std::vector<std::string> still_valid;
  if (!k.revoked_at.empty()) {
    set.push_back(Q(k.revoked_at) + " = " + internal::NowSql(b));
    still_valid.push_back(Q(k.revoked_at) + " IS NULL");
  }
  if (!k.active.empty()) {
    set.push_back(Q(k.active) + " = " + internal::BoolSql(b, false));
    still_valid.push_back(Q(k.active) + " = " + internal::BoolSql(b, true));
  }
  PLINTH_ASSIGN_OR_RETURN(db::QueryResult r,
                          Query(conn, "revoking the API key",
                                "UPDATE " + Q(k.table) + " SET " + Join(set, ", ") + " WHERE " + match + " AND (" +
                                    Join(still_valid, " OR ") + ") RETURNING " + Q(k.lookup),
                                {std::string(id_or_lookup)}));
  if (!r.rows.empty()) return Status::Ok();
  PLINTH_ASSIGN_OR_RETURN(db::QueryResult e, Query(conn, "revoking the API key",
                                                   "SELECT 1 FROM " + Q(k.table) + " WHERE " + match, {std::string(id_or_lookup)}));
  if (e.rows.empty()) return Status(Code::kNotFound, "no API key with id or lookup id '" + std::string(id_or_lookup) + "'");
  return Status::Ok();  // already revoked
}

}  // namespace plinth::auth
