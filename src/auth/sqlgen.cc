// Statements of the auth request path from the [auth] mapping, and the PostgreSQL functions,
// triggers and privileges that carry them (sqlgen.h).
#include "auth/sqlgen.h"

#include <set>

#include "auth/internal.h"
#include "common/strings.h"

namespace plinth::auth::internal {
namespace {

constexpr std::string_view kTag = "$plinth$";

// Placeholders: PostgreSQL uses the logical number ($n, every parameter of the function is
// declared); SQLite numbers the parameters a body uses 1..k in order of first use, and `used`
// maps them back to logical numbers.
class Binder {
 public:
  explicit Binder(Backend b) : b_(b) {}
  std::string Arg(int logical, std::string_view pg_cast = {}) {
    if (b_ == Backend::kPostgres) return PT(b_, logical, pg_cast);
    // Parameters are bound as text; SQLite compares text above every number, so a number
    // compared with an expression (which has no affinity) must be cast.
    const bool numeric = pg_cast == "integer" || pg_cast == "bigint";
    auto wrap = [&](std::string p) { return numeric ? "CAST(" + p + " AS INTEGER)" : p; };
    for (size_t i = 0; i < used_.size(); ++i) {
      if (used_[i] == logical) return wrap("?" + std::to_string(i + 1));
    }
    used_.push_back(logical);
    return wrap("?" + std::to_string(used_.size()));
  }
  const std::vector<int>& used() const { return used_; }

 private:
  Backend b_;
  std::vector<int> used_;
};

class Gen {
 public:
  Gen(Backend b, const schema::Schema& s, const AuthConfig& c) : b_(b), s_(s), c_(c) {}

  AuthSql Build() {
    AuthSql out;
    if (!c_.present) return out;
    if (c_.api_keys) {
      KeyLookup(out.key_lookup);
      KeyTouch(out.key_touch);
      KeyRevoke(out.key_revoke);
    }
    LoginLookup(out.login_lookup);
    LoginFailed(out.login_failed);
    LoginSucceeded(out.login_succeeded);
    UserAccess(out.user_access);
    if (c_.sessions) {
      SessionCreate(out.session_create);
      SessionGet(out.session_get);
      SessionRotate(out.session_rotate);
      SessionRevoke(out.session_revoke);
      SessionRevokeFamily(out.session_revoke_family);
    }
    return out;
  }

 private:
  bool pg() const { return b_ == Backend::kPostgres; }
  // Output expression as text.
  std::string T(const std::string& e) const { return pg() ? "(" + e + ")::text" : e; }
  std::string Bool(const std::string& e) const { return pg() ? "(" + e + ")::text" : "(" + e + ")"; }
  std::string Ts(const std::string& e) const { return TimestampOut(b_, e); }
  std::string Col(std::string_view alias, const std::string& col) const { return std::string(alias) + "." + Q(col); }
  // A column in a RETURNING clause: SQLite (3.40) does not resolve the UPDATE's alias there.
  std::string Ret(std::string_view alias, const std::string& col) const { return pg() ? Col(alias, col) : Q(col); }
  std::string Not(const std::string& e) const { return pg() ? "NOT " + e : e + " = 0"; }
  std::string CastOf(const std::string& table, const std::string& column) const {
    const schema::Table* t = s_.FindTable(table);
    const schema::Column* c = t ? t->FindColumn(column) : nullptr;
    return c ? PgTypeOf(*c) : "";
  }
  std::string Tenant() const { return c_.tenant_column; }

  void Finish(AuthOp& op, std::string name, int params, std::string returns, std::string body, const Binder& binder) {
    op.name = std::move(name);
    op.params = params;
    op.returns = std::move(returns);
    op.body = std::move(body);
    op.available = true;
    if (pg()) {
      std::string call = "SELECT * FROM " + std::string(kFunctionSchema) + "." + op.name + "(";
      for (int i = 1; i <= params; ++i) call += (i > 1 ? ", " : "") + P(b_, i);
      op.call = call + ")";
      op.used.clear();
      for (int i = 1; i <= params; ++i) op.used.push_back(i);
    } else {
      op.call = op.body;
      op.used = binder.used();
    }
  }

  void KeyLookup(AuthOp& op) {
    const ApiKeysMapping& k = *c_.api_keys;
    const UsersMapping& u = c_.users;
    Binder bd(b_);
    const bool join_user = !k.user.empty();
    std::string tenant = "NULL";
    if (c_.keys_tenant_scoped) {
      tenant = T(Col("k", Tenant()));
    } else if (join_user && c_.users_tenant_scoped) {
      tenant = T(Col("u", Tenant()));
    }
    std::vector<std::string> revoked;
    if (!k.revoked_at.empty()) revoked.push_back(Col("k", k.revoked_at) + " IS NOT NULL");
    if (!k.active.empty()) revoked.push_back(Not(Col("k", k.active)));
    std::string revoked_expr = "coalesce(" + Join(revoked, " OR ") + ", " + BoolSql(b_, true) + ")";
    std::string user_active = BoolSql(b_, true);
    if (join_user && !u.active.empty()) user_active = "coalesce(" + Col("u", u.active) + ", " + BoolSql(b_, true) + ")";
    std::string sql = "SELECT " + T(Col("k", k.id)) + ", " + tenant + ", " +
                      (join_user ? T(Col("k", k.user)) : std::string("NULL")) + ", " + T(Col("k", k.hash)) + ", " +
                      (k.scopes.empty() ? std::string("NULL") : T(Col("k", k.scopes))) + ", " +
                      (k.expires_at.empty() ? std::string("NULL") : Ts(Col("k", k.expires_at))) + ", " + Bool(revoked_expr) +
                      ", " + (k.allowed_ips.empty() ? std::string("NULL") : T(Col("k", k.allowed_ips))) + ", " +
                      (k.rate_limit.empty() ? std::string("NULL") : T(Col("k", k.rate_limit))) + ", " + Bool(user_active) +
                      " FROM " + Q(k.table) + " AS k";
    if (join_user) {
      sql += " LEFT JOIN " + Q(u.table) + " AS u ON " + Col("u", u.id) + " = " + Col("k", k.user);
      if (c_.keys_tenant_scoped && c_.users_tenant_scoped) sql += " AND " + Col("u", Tenant()) + " = " + Col("k", Tenant());
    }
    sql += " WHERE " + Col("k", k.lookup) + " = " + bd.Arg(1) + " LIMIT 2";
    Finish(op, "key_lookup", 1,
           "id text, tenant_id text, user_id text, hash text, scopes text, expires_at text, revoked text, allowed_ips text, "
           "rate_limit text, user_active text",
           sql, bd);
  }

  void KeyTouch(AuthOp& op) {
    const ApiKeysMapping& k = *c_.api_keys;
    if (k.last_used.empty()) return;
    Binder bd(b_);
    std::string ids = pg() ? "SELECT value::uuid FROM jsonb_array_elements_text(" + bd.Arg(1, "jsonb") + ")"
                           : "SELECT value FROM json_each(" + bd.Arg(1) + ")";
    std::string at = bd.Arg(2, "timestamptz");
    std::string sql = "UPDATE " + Q(k.table) + " AS k SET " + Q(k.last_used) + " = " + at + " WHERE " + Col("k", k.id) +
                      " IN (" + ids + ") AND (" + Col("k", k.last_used) + " IS NULL OR " + Col("k", k.last_used) + " < " + at +
                      ") RETURNING " + T(Ret("k", k.id));
    Finish(op, "key_touch", 2, "id text", sql, bd);
  }

  void KeyRevoke(AuthOp& op) {
    const ApiKeysMapping& k = *c_.api_keys;
    Binder bd(b_);
    std::vector<std::string> set, valid;
    if (!k.revoked_at.empty()) {
      set.push_back(Q(k.revoked_at) + " = " + NowSql(b_));
      valid.push_back(Col("k", k.revoked_at) + " IS NULL");
    }
    if (!k.active.empty()) {
      set.push_back(Q(k.active) + " = " + BoolSql(b_, false));
      valid.push_back(Col("k", k.active) + " = " + BoolSql(b_, true));
    }
    std::string sql = "UPDATE " + Q(k.table) + " AS k SET " + Join(set, ", ") + " WHERE " + T(Col("k", k.id)) + " = " +
                      bd.Arg(1) + " AND (" + Join(valid, " OR ") + ")";
    if (c_.keys_tenant_scoped) {
      const std::string t = bd.Arg(2);
      sql += " AND (" + t + " = '' OR " + T(Col("k", Tenant())) + " = " + t + ")";
    }
    sql += " RETURNING " + Ret("k", k.lookup);
    Finish(op, "key_revoke", 2, "lookup text", sql, bd);
  }

  void LoginLookup(AuthOp& op) {
    const UsersMapping& u = c_.users;
    if (u.password.empty() || u.login.empty()) return;
    Binder bd(b_);
    std::vector<std::string> match;
    for (const auto& col : u.login) match.push_back("lower(" + Col("u", col) + ") = lower(" + bd.Arg(1) + ")");
    std::string sql = "SELECT " + T(Col("u", u.id)) + ", " + (c_.users_tenant_scoped ? T(Col("u", Tenant())) : "NULL") + ", " +
                      Col("u", u.password) + ", " +
                      Bool(u.active.empty() ? BoolSql(b_, true) : "coalesce(" + Col("u", u.active) + ", " + BoolSql(b_, true) + ")") +
                      ", " +
                      Bool(u.locked.empty() ? BoolSql(b_, false) : "coalesce(" + Col("u", u.locked) + ", " + BoolSql(b_, false) + ")") +
                      " FROM " + Q(u.table) + " AS u WHERE (" + Join(match, " OR ") + ")";
    if (c_.users_tenant_scoped) {
      const std::string t = bd.Arg(2);
      sql += " AND (" + t + " = '' OR " + T(Col("u", Tenant())) + " = " + t + ")";
    }
    sql += " LIMIT 2";
    Finish(op, "login_lookup", 2, "id text, tenant_id text, password text, active text, locked text", sql, bd);
  }

  void LoginFailed(AuthOp& op) {
    const UsersMapping& u = c_.users;
    if (u.password.empty() || u.failed_attempts.empty()) return;
    Binder bd(b_);
    const std::string f = Col("u", u.failed_attempts);
    std::string set = Q(u.failed_attempts) + " = " + f + " + 1";
    std::string locked_out = BoolSql(b_, false);
    if (!u.locked.empty()) {
      const std::string n = bd.Arg(2, "integer");
      set += ", " + Q(u.locked) + " = (" + Col("u", u.locked) + " OR (" + n + " > 0 AND " + f + " + 1 >= " + n + "))";
      locked_out = Ret("u", u.locked);
    }
    std::string sql = "UPDATE " + Q(u.table) + " AS u SET " + set + " WHERE " + Col("u", u.id) + " = " + bd.Arg(1, "uuid") +
                      " RETURNING " + T(Ret("u", u.failed_attempts)) + ", " + Bool(locked_out);
    Finish(op, "login_failed", 2, "failed text, locked text", sql, bd);
  }

  void LoginSucceeded(AuthOp& op) {
    const UsersMapping& u = c_.users;
    if (u.password.empty()) return;
    Binder bd(b_);
    const std::string id = bd.Arg(1, "uuid");
    const std::string old_hash = bd.Arg(2);
    const std::string new_hash = bd.Arg(3);
    const std::string swap = "(" + new_hash + " <> '' AND " + Col("u", u.password) + " = " + old_hash + ")";
    std::vector<std::string> set;
    set.push_back(Q(u.password) + " = CASE WHEN " + swap + " THEN " + new_hash + " ELSE " + Col("u", u.password) + " END");
    if (!u.password_changed.empty()) {
      set.push_back(Q(u.password_changed) + " = CASE WHEN " + swap + " THEN " + NowSql(b_) + " ELSE " +
                    Col("u", u.password_changed) + " END");
    }
    if (!u.failed_attempts.empty()) set.push_back(Q(u.failed_attempts) + " = 0");
    if (!u.last_login.empty()) set.push_back(Q(u.last_login) + " = " + NowSql(b_));
    std::string sql = "UPDATE " + Q(u.table) + " AS u SET " + Join(set, ", ") + " WHERE " + Col("u", u.id) + " = " + id +
                      " RETURNING " + T(Ret("u", u.id)) + ", " + Bool(Ret("u", u.password) + " = " + new_hash);
    Finish(op, "login_succeeded", 3, "id text, rehashed text", sql, bd);
  }

  void UserAccess(AuthOp& op) {
    const UsersMapping& u = c_.users;
    Binder bd(b_);
    const std::string id = bd.Arg(1, "uuid");
    std::vector<std::string> parts;
    const std::string from_user = " FROM " + Q(u.table) + " AS u WHERE " + Col("u", u.id) + " = " + id;
    if (c_.users_tenant_scoped) parts.push_back("SELECT 'tenant', " + T(Col("u", Tenant())) + from_user);
    parts.push_back("SELECT 'active', " +
                    Bool(u.active.empty() ? BoolSql(b_, true) : "coalesce(" + Col("u", u.active) + ", " + BoolSql(b_, true) + ")") +
                    from_user);
    if (!u.role.empty()) parts.push_back("SELECT 'role', " + T(Col("u", u.role)) + from_user + " AND " + Col("u", u.role) + " IS NOT NULL");
    if (c_.roles) {
      const RolesMapping& r = *c_.roles;
      parts.push_back("SELECT 'role', " + T(Col("r", r.role_name)) + " FROM " + Q(r.user_roles) + " AS ur JOIN " + Q(r.roles) +
                      " AS r ON " + Col("r", r.role_id) + " = " + Col("ur", r.user_roles_role) + " WHERE " +
                      Col("ur", r.user_roles_user) + " = " + id);
      if (r.has_permissions()) {
        parts.push_back("SELECT 'perm', " + T(Col("p", r.permission_resource)) + " || ':' || " + T(Col("p", r.permission_action)) +
                        " FROM " + Q(r.user_roles) + " AS ur JOIN " + Q(r.role_permissions) + " AS rp ON " +
                        Col("rp", r.role_permissions_role) + " = " + Col("ur", r.user_roles_role) + " JOIN " + Q(r.permissions) +
                        " AS p ON " + Col("p", r.permission_id) + " = " + Col("rp", r.role_permissions_permission) + " WHERE " +
                        Col("ur", r.user_roles_user) + " = " + id);
      }
    }
    Finish(op, "user_access", 1, "kind text, value text", Join(parts, " UNION ALL "), bd);
  }

  void SessionCreate(AuthOp& op) {
    const SessionsMapping& m = *c_.sessions;
    Binder bd(b_);
    std::vector<std::string> cols, vals;
    auto add = [&](const std::string& col, int n, std::string_view cast) {
      if (col.empty()) return;
      cols.push_back(Q(col));
      vals.push_back(bd.Arg(n, cast));
    };
    add(m.id, 1, "uuid");
    add(m.user, 2, "uuid");
    if (c_.sessions_tenant_scoped) add(Tenant(), 3, "uuid");
    add(m.access_jti, 4, "");
    add(m.refresh_jti, 5, "");
    add(m.family, 6, CastOf(m.table, m.family));
    add(m.expires_at, 7, "timestamptz");
    add(m.device, 8, "");
    add(m.ip, 9, "");
    add(m.user_agent, 10, "");
    if (!m.last_activity.empty()) {
      cols.push_back(Q(m.last_activity));
      vals.push_back(NowSql(b_));
    }
    std::string sql = "INSERT INTO " + Q(m.table) + " (" + Join(cols, ", ") + ") VALUES (" + Join(vals, ", ") + ") RETURNING " +
                      T(Q(m.id));
    Finish(op, "session_create", 10, "id text", sql, bd);
  }

  void SessionGet(AuthOp& op) {
    const SessionsMapping& m = *c_.sessions;
    Binder bd(b_);
    std::string sql = "SELECT " + T(Col("s", m.user)) + ", " + (c_.sessions_tenant_scoped ? T(Col("s", Tenant())) : "NULL") + ", " +
                      Col("s", m.access_jti) + ", " + Col("s", m.refresh_jti) + ", " + T(Col("s", m.family)) + ", " +
                      Ts(Col("s", m.expires_at)) + ", " + Bool(Col("s", m.revoked_at) + " IS NOT NULL") + " FROM " + Q(m.table) +
                      " AS s WHERE " + Col("s", m.id) + " = " + bd.Arg(1, "uuid");
    Finish(op, "session_get", 1,
           "user_id text, tenant_id text, access_jti text, refresh_jti text, family text, expires_at text, revoked text", sql, bd);
  }

  void SessionRotate(AuthOp& op) {
    const SessionsMapping& m = *c_.sessions;
    Binder bd(b_);
    const std::string id = bd.Arg(1, "uuid");
    const std::string old_refresh = bd.Arg(2);
    std::string set = Q(m.access_jti) + " = " + bd.Arg(3) + ", " + Q(m.refresh_jti) + " = " + bd.Arg(4);
    if (!m.last_activity.empty()) set += ", " + Q(m.last_activity) + " = " + NowSql(b_);
    std::string sql = "UPDATE " + Q(m.table) + " AS s SET " + set + " WHERE " + Col("s", m.id) + " = " + id + " AND " +
                      Col("s", m.refresh_jti) + " = " + old_refresh + " AND " + Col("s", m.revoked_at) + " IS NULL AND " +
                      Col("s", m.expires_at) + " > " + NowSql(b_) + " RETURNING " + T(Ret("s", m.id));
    Finish(op, "session_rotate", 4, "id text", sql, bd);
  }

  void SessionRevoke(AuthOp& op) {
    const SessionsMapping& m = *c_.sessions;
    Binder bd(b_);
    std::string sql = "UPDATE " + Q(m.table) + " AS s SET " + Q(m.revoked_at) + " = " + NowSql(b_) + " WHERE " + Col("s", m.id) +
                      " = " + bd.Arg(1, "uuid") + " AND " + Col("s", m.revoked_at) + " IS NULL RETURNING " + T(Ret("s", m.family));
    Finish(op, "session_revoke", 1, "family text", sql, bd);
  }

  void SessionRevokeFamily(AuthOp& op) {
    const SessionsMapping& m = *c_.sessions;
    Binder bd(b_);
    std::string sql = "UPDATE " + Q(m.table) + " AS s SET " + Q(m.revoked_at) + " = " + NowSql(b_) + " WHERE " +
                      Col("s", m.family) + " = " + bd.Arg(1, CastOf(m.table, m.family)) + " AND " + Col("s", m.revoked_at) +
                      " IS NULL RETURNING " + T(Ret("s", m.id));
    Finish(op, "session_revoke_family", 1, "id text", sql, bd);
  }

  Backend b_;
  const schema::Schema& s_;
  const AuthConfig& c_;
};

std::string NotifyFunction(const std::string& name, const std::string& payload_expr) {
  return "CREATE OR REPLACE FUNCTION plinth_auth." + name + "() RETURNS trigger LANGUAGE plpgsql SET "
         "search_path = public, pg_temp AS " + std::string(kTag) + " BEGIN PERFORM pg_notify('" + std::string(kNotifyChannel) +
         "', " + payload_expr + "); RETURN NULL; END " + std::string(kTag);
}

std::vector<std::string> Trigger(const std::string& table, const std::string& events, bool per_row, const std::string& fn) {
  return {"DROP TRIGGER IF EXISTS \"plinth_auth_notify\" ON " + Q(table),
          "CREATE TRIGGER \"plinth_auth_notify\" AFTER " + events + " ON " + Q(table) + (per_row ? " FOR EACH ROW" : " FOR EACH STATEMENT") +
              " EXECUTE FUNCTION plinth_auth." + fn + "()"};
}

std::string UpdateOf(std::vector<std::string> cols) {
  std::vector<std::string> q;
  for (auto& c : cols) {
    if (!c.empty()) q.push_back(Q(c));
  }
  return q.empty() ? "DELETE" : "UPDATE OF " + Join(q, ", ") + " OR DELETE";
}

}  // namespace

AuthSql BuildAuthSql(db::Backend backend, const schema::Schema& schema, const AuthConfig& config) {
  return Gen(backend, schema, config).Build();
}

std::vector<std::string> PostgresAuthDdl(const schema::Schema& schema, const AuthConfig& config, const std::string& runtime_role,
                                         const std::string& definer_role) {
  std::vector<std::string> out = {"CREATE SCHEMA IF NOT EXISTS plinth_auth", "REVOKE ALL ON SCHEMA plinth_auth FROM PUBLIC"};
  if (!runtime_role.empty()) out.push_back("GRANT USAGE ON SCHEMA plinth_auth TO " + Q(runtime_role));
  if (config.present) {
    AuthSql sql = BuildAuthSql(db::Backend::kPostgres, schema, config);
    for (const AuthOp* op : sql.All()) {
      if (!op->available) continue;
      std::string args, types;
      for (int i = 1; i <= op->params; ++i) {
        args += (i > 1 ? ", " : "") + std::string("p") + std::to_string(i) + " text";
        types += (i > 1 ? ", " : "") + std::string("text");
      }
      const std::string sig = "plinth_auth." + op->name + "(" + types + ")";
      out.push_back("DROP FUNCTION IF EXISTS " + sig);
      out.push_back("CREATE FUNCTION plinth_auth." + op->name + "(" + args + ") RETURNS TABLE(" + op->returns +
                    ") LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS " + std::string(kTag) + " " +
                    op->body + " " + std::string(kTag));
      out.push_back("REVOKE ALL ON FUNCTION " + sig + " FROM PUBLIC");
      if (!runtime_role.empty()) out.push_back("GRANT EXECUTE ON FUNCTION " + sig + " TO " + Q(runtime_role));
    }
    // Cache invalidation on every server, whatever wrote the row.
    const UsersMapping& u = config.users;
    out.push_back(NotifyFunction("notify_user", "'user:' || OLD." + Q(u.id) + "::text"));
    for (auto& s : Trigger(u.table, UpdateOf({u.active, u.locked, u.role, u.password}), true, "notify_user")) out.push_back(s);
    if (config.api_keys) {
      const ApiKeysMapping& k = *config.api_keys;
      out.push_back(NotifyFunction("notify_key", "'key:' || OLD." + Q(k.lookup)));
      std::vector<std::string> cols = {k.lookup, k.hash,        k.user,       k.scopes,  k.expires_at,
                                       k.active, k.revoked_at, k.allowed_ips, k.rate_limit};
      if (config.keys_tenant_scoped) cols.push_back(config.tenant_column);
      for (auto& s : Trigger(k.table, UpdateOf(cols), true, "notify_key")) out.push_back(s);
    }
    if (config.sessions) {
      const SessionsMapping& m = *config.sessions;
      out.push_back(NotifyFunction("notify_session", "'session:' || OLD." + Q(m.id) + "::text"));
      for (auto& s : Trigger(m.table, UpdateOf({m.access_jti, m.refresh_jti, m.revoked_at, m.expires_at, m.user}), true,
                             "notify_session")) {
        out.push_back(s);
      }
    }
    if (config.roles) {
      const RolesMapping& r = *config.roles;
      out.push_back(NotifyFunction("notify_roles", "'roles'"));
      std::set<std::string> tables = {r.roles, r.user_roles};
      if (r.has_permissions()) {
        tables.insert(r.permissions);
        tables.insert(r.role_permissions);
      }
      for (const auto& t : tables) {
        for (auto& s : Trigger(t, "INSERT OR UPDATE OR DELETE OR TRUNCATE", false, "notify_roles")) out.push_back(s);
      }
    }
  }
  if (!definer_role.empty()) {
    // The definer reads and writes the mapped tables (and only through these functions does
    // the runtime role reach them before a tenant is known); it owns every function here.
    std::set<std::string> tables;
    if (config.present) {
      tables.insert(config.users.table);
      if (config.api_keys) tables.insert(config.api_keys->table);
      if (config.sessions) tables.insert(config.sessions->table);
      if (config.roles) {
        tables.insert(config.roles->roles);
        tables.insert(config.roles->user_roles);
        if (config.roles->has_permissions()) {
          tables.insert(config.roles->permissions);
          tables.insert(config.roles->role_permissions);
        }
      }
    }
    out.push_back("GRANT USAGE, CREATE ON SCHEMA plinth_auth TO " + Q(definer_role));
    for (const auto& t : tables) out.push_back("GRANT SELECT, INSERT, UPDATE ON " + Q(t) + " TO " + Q(definer_role));
    out.push_back("DO " + std::string(kTag) +
                  " DECLARE f record; BEGIN FOR f IN SELECT p.oid::regprocedure AS sig FROM pg_proc p JOIN pg_namespace n ON "
                  "n.oid = p.pronamespace WHERE n.nspname = 'plinth_auth' AND p.prosecdef LOOP EXECUTE format('ALTER FUNCTION %s "
                  "OWNER TO %I', f.sig, " + db::QuoteLiteral(definer_role) + "); END LOOP; END " + std::string(kTag));
  }
  // Append-only tables: no role but the owner may update, delete, truncate, reference or
  // attach triggers, whatever default privileges granted.
  std::vector<std::string> append_only = {std::string(schema::kAuditTable)};
  for (const auto& t : schema.tables) {
    if (t.options.append_only) append_only.push_back(t.name);
  }
  for (const auto& t : append_only) {
    out.push_back("REVOKE UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON " + Q(t) + " FROM PUBLIC");
    out.push_back("DO " + std::string(kTag) +
                  " DECLARE g record; BEGIN FOR g IN SELECT DISTINCT grantee FROM information_schema.role_table_grants "
                  "WHERE table_schema = current_schema() AND table_name = " + db::QuoteLiteral(t) +
                  " AND grantee NOT IN (current_user, 'PUBLIC', (SELECT tableowner FROM pg_tables WHERE schemaname = "
                  "current_schema() AND tablename = " + db::QuoteLiteral(t) + ")) AND privilege_type IN ('UPDATE', 'DELETE', 'TRUNCATE', "
                  "'REFERENCES', 'TRIGGER') LOOP EXECUTE format('REVOKE UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON %I "
                  "FROM %I', " + db::QuoteLiteral(t) + ", g.grantee); END LOOP; END " + std::string(kTag));
  }
  return out;
}

}  // namespace plinth::auth::internal
