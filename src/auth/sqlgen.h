// auth/sqlgen.h — the statements of the auth request path, built from the [auth] mapping
// (internal). On SQLite the runtime sends each body directly; on PostgreSQL each body is the
// body of a SECURITY DEFINER function in schema plinth_auth and the runtime sends
// `SELECT * FROM plinth_auth.NAME($1, …)`.
//
// Result columns (every value as text; booleans t/f or 1/0; timestamps canonical):
//   key_lookup(lookup)            id, tenant_id, user_id, hash, scopes, expires_at, revoked,
//                                 allowed_ips, rate_limit, user_active
//   key_touch(ids_json, at)       id (one row per key written)
//   key_revoke(id, tenant)        lookup ('' tenant = any: platform admins)
//   login_lookup(login, tenant)   id, tenant_id, password, active, locked
//   login_failed(id, lockout)     failed, locked
//   login_succeeded(id, old, new) id, rehashed
//   user_access(id)               kind ('tenant'|'active'|'role'|'perm'), value
//   session_create(id, user, tenant, access, refresh, family, expires, device, ip, ua)   id
//   session_get(id)               user_id, tenant_id, access_jti, refresh_jti, family, expires_at, revoked
//   session_rotate(id, old_refresh, new_access, new_refresh)   id
//   session_revoke(id)            family
//   session_revoke_family(family) id
//
// Thread-safety: plain values.
#pragma once

#include <string>
#include <vector>

#include "plinth/auth.h"
#include "plinth/db.h"
#include "plinth/schema.h"

namespace plinth::auth::internal {

struct AuthOp {
  std::string name;
  int params = 0;
  std::string returns;  // PostgreSQL RETURNS TABLE(...) column list
  std::string body;     // for the backend it was built for
  std::string call;     // what the runtime sends
  std::vector<int> used;  // logical parameter numbers (1-based) bound to the call's placeholders, in order
  bool available = false;
};

struct AuthSql {
  AuthOp key_lookup, key_touch, key_revoke, login_lookup, login_failed, login_succeeded, user_access;
  AuthOp session_create, session_get, session_rotate, session_revoke, session_revoke_family;
  std::vector<const AuthOp*> All() const {
    return {&key_lookup,     &key_touch,      &key_revoke,     &login_lookup,   &login_failed,   &login_succeeded,      &user_access,
            &session_create, &session_get,    &session_rotate, &session_revoke, &session_revoke_family};
  }
};

AuthSql BuildAuthSql(db::Backend backend, const schema::Schema& schema, const AuthConfig& config);

// PostgreSQL: the functions, the notification triggers and the privileges.
std::vector<std::string> PostgresAuthDdl(const schema::Schema& schema, const AuthConfig& config,
                                         const std::string& runtime_role, const std::string& definer_role);

}  // namespace plinth::auth::internal
