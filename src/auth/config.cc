// The [auth] section of schema.toml: reading and validation against the loaded schema.
#include <toml++/toml.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <set>

#include "common/strings.h"
#include "plinth/auth.h"

namespace plinth::auth {
namespace {

using schema::TypeKind;

SourcePos PosOf(const toml::node& n) {
  return {static_cast<int>(n.source().begin.line), static_cast<int>(n.source().begin.column)};
}

std::string Quote(std::string_view s) { return "'" + std::string(s) + "'"; }

// What a mapped column must be.
enum class Want : unsigned char { kText, kTextOrEnum, kUuid, kUuidOrText, kBoolean, kInteger, kTimestamp, kJson };

std::string_view WantName(Want w) {
  switch (w) {
    case Want::kText: return "text";
    case Want::kTextOrEnum: return "text or an enum";
    case Want::kUuid: return "uuid";
    case Want::kUuidOrText: return "uuid or text";
    case Want::kBoolean: return "boolean";
    case Want::kInteger: return "integer or bigint";
    case Want::kTimestamp: return "timestamp";
    case Want::kJson: return "json";
  }
  return "?";
}

bool Fits(const schema::Type& t, Want w) {
  switch (w) {
    case Want::kText: return t.kind == TypeKind::kText;
    case Want::kTextOrEnum: return t.kind == TypeKind::kText || t.kind == TypeKind::kEnum;
    case Want::kUuid: return t.kind == TypeKind::kUuid;
    case Want::kUuidOrText: return t.kind == TypeKind::kUuid || t.kind == TypeKind::kText;
    case Want::kBoolean: return t.kind == TypeKind::kBoolean;
    case Want::kInteger: return t.kind == TypeKind::kInteger || t.kind == TypeKind::kBigint;
    case Want::kTimestamp: return t.kind == TypeKind::kTimestamp;
    case Want::kJson: return t.kind == TypeKind::kJson;
  }
  return false;
}

// One key of a section: where it goes, what the column must be, whether it is required.
struct Field {
  std::string key;
  std::string* target;
  Want want;
  bool required_column = false;  // the column must exist (even when the key is left at its default)
};

class Reader {
 public:
  Reader(const std::string& file, const schema::Schema& s, Diagnostics& d) : file_(file), s_(s), d_(d) {}

  AuthConfig Read(const toml::table& auth, SourcePos auth_pos) {
    AuthConfig c;
    c.present = true;
    c.tenants_table = s_.app.tenants_table;
    c.tenant_column = s_.app.tenant_column;
    CheckKeys(auth, {"users", "roles", "sessions", "api_keys"}, "[auth]");
    const toml::table* users = Section(auth, "users");
    if (users == nullptr) {
      Error(auth_pos, "[auth] has no [auth.users] section", "add [auth.users] with table = \"users\" and login = [\"email\"]");
    } else {
      ReadUsers(*users, c);
    }
    if (const toml::table* roles = Section(auth, "roles")) {
      c.roles.emplace();
      ReadRoles(*roles, *c.roles, c);
    }
    if (const toml::table* sessions = Section(auth, "sessions")) {
      c.sessions.emplace();
      ReadSessions(*sessions, *c.sessions, c);
    }
    if (const toml::table* keys = Section(auth, "api_keys")) {
      c.api_keys.emplace();
      ReadKeys(*keys, *c.api_keys, c);
    }
    if (users != nullptr && !c.users.password.empty() && !c.sessions) {
      Error(PosOf(*users), "password login needs a sessions table: add [auth.sessions]",
            "sessions are rows (token_jti, refresh_token_jti, family_id, expires_at, revoked_at); see docs/security.md");
    }
    return c;
  }

 private:
  void Error(SourcePos pos, std::string message, std::string hint = {}) {
    d_.Error(file_, pos, std::move(message), std::move(hint));
  }

  const toml::table* Section(const toml::table& parent, std::string_view key) {
    const toml::node* n = parent.get(key);
    if (n == nullptr) return nullptr;
    if (!n->is_table()) {
      Error(PosOf(*n), "[auth]." + std::string(key) + " must be a table", "write it as [auth." + std::string(key) + "]");
      return nullptr;
    }
    return n->as_table();
  }

  void CheckKeys(const toml::table& t, const std::vector<std::string>& allowed, std::string_view where) {
    for (auto&& [k, v] : t) {
      const std::string key(k.str());
      if (std::find(allowed.begin(), allowed.end(), key) != allowed.end()) continue;
      SourcePos pos{static_cast<int>(k.source().begin.line), static_cast<int>(k.source().begin.column)};
      Error(pos, "unknown key " + Quote(key) + " in " + std::string(where), "valid keys: " + Join(allowed, ", "));
    }
  }

  // The table named by `key` (required); nullptr after reporting.
  const schema::Table* TableKey(const toml::table& sec, std::string_view key, std::string& target,
                                std::string_view where, bool required) {
    const toml::node* n = sec.get(key);
    if (n == nullptr) {
      if (!target.empty()) return Lookup(target, PosOf(sec), where);
      if (required) {
        Error(PosOf(sec), std::string(where) + " needs " + std::string(key) + " = \"TABLE\"",
              "name the table of the app that holds them");
      }
      return nullptr;
    }
    const auto* str = n->as_string();
    if (str == nullptr) {
      Error(PosOf(*n), std::string(where) + "." + std::string(key) + " must be a table name (a string)");
      return nullptr;
    }
    target = str->get();
    return Lookup(target, PosOf(*n), where);
  }

  const schema::Table* Lookup(const std::string& name, SourcePos pos, std::string_view where) {
    const schema::Table* t = s_.FindTable(name);
    if (t == nullptr) {
      std::vector<std::string> names;
      for (const auto& tb : s_.tables) names.push_back(tb.name);
      Error(pos, std::string(where) + ": no table " + Quote(name) + " in the schema",
            names.empty() ? std::string("declare it with [table.") + name + "]" : "tables: " + Join(names, ", "));
    }
    return t;
  }

  // Reads the string keys of `fields` and checks each named column of `table`.
  void Columns(const toml::table& sec, const schema::Table* table, std::string_view where, std::vector<Field> fields) {
    for (Field& f : fields) {
      const toml::node* n = sec.get(f.key);
      SourcePos pos = PosOf(sec);
      if (n != nullptr) {
        pos = PosOf(*n);
        const auto* str = n->as_string();
        if (str == nullptr) {
          Error(pos, std::string(where) + "." + f.key + " must be a column name (a string)");
          continue;
        }
        *f.target = str->get();
      }
      if (f.target->empty()) continue;
      if (n == nullptr && !f.required_column) continue;
      CheckColumn(table, *f.target, f.want, pos, std::string(where) + "." + f.key);
    }
  }

  void CheckColumn(const schema::Table* table, const std::string& column, Want want, SourcePos pos,
                   const std::string& what) {
    if (table == nullptr) return;
    const schema::Column* col = table->FindColumn(column);
    if (col == nullptr) {
      std::vector<std::string> names;
      for (const auto& c : table->columns) names.push_back(c.name);
      Error(pos, what + ": table " + Quote(table->name) + " has no column " + Quote(column), "columns: " + Join(names, ", "));
      return;
    }
    if (!Fits(col->type, want)) {
      Error(pos, what + ": column " + table->name + "." + column + " is " + col->type.ToString() + ", expected " +
                     std::string(WantName(want)));
      return;
    }
    if (col->encrypted) Error(pos, what + ": column " + table->name + "." + column + " is encrypted and cannot be matched");
  }

  // Every not-null column without a default that plinth does not fill must be mapped.
  void CheckInsertable(const schema::Table* table, SourcePos pos, std::string_view where,
                       const std::set<std::string>& filled) {
    if (table == nullptr) return;
    for (const auto& col : table->columns) {
      if (!col.not_null || col.default_value.kind != schema::DefaultKind::kNone) continue;
      if (filled.count(col.name)) continue;
      if (table->options.tenant_scoped && col.name == s_.app.tenant_column) continue;
      Error(pos, std::string(where) + ": column " + table->name + "." + col.name +
                     " is not null without a default, and plinth does not fill it when it inserts a row",
            "map it in " + std::string(where) + " or give it a default");
    }
  }

  void ReadUsers(const toml::table& sec, AuthConfig& c) {
    UsersMapping& u = c.users;
    CheckKeys(sec, {"table", "id", "login", "password", "active", "locked", "failed_attempts", "last_login",
                    "password_changed", "role", "lockout_after"},
              "[auth.users]");
    const schema::Table* t = TableKey(sec, "table", u.table, "[auth.users]", true);
    if (t != nullptr) c.users_tenant_scoped = t->options.tenant_scoped;
    Columns(sec, t, "[auth.users]",
            {{"id", &u.id, Want::kUuid, true},
             {"password", &u.password, Want::kText},
             {"active", &u.active, Want::kBoolean},
             {"locked", &u.locked, Want::kBoolean},
             {"failed_attempts", &u.failed_attempts, Want::kInteger},
             {"last_login", &u.last_login, Want::kTimestamp},
             {"password_changed", &u.password_changed, Want::kTimestamp},
             {"role", &u.role, Want::kTextOrEnum}});
    const toml::node* login = sec.get("login");
    if (login == nullptr) {
      Error(PosOf(sec), "[auth.users] needs login = [\"COLUMN\", …]", "the columns a login name is matched against, e.g. [\"email\"]");
    } else if (const auto* str = login->as_string()) {
      u.login.push_back(str->get());
      CheckColumn(t, u.login.back(), Want::kText, PosOf(*login), "[auth.users].login");
    } else if (const auto* arr = login->as_array()) {
      if (arr->empty()) Error(PosOf(*login), "[auth.users].login must name at least one column");
      for (const auto& e : *arr) {
        const auto* s = e.as_string();
        if (s == nullptr) {
          Error(PosOf(e), "[auth.users].login must hold column names (strings)");
          continue;
        }
        u.login.push_back(s->get());
        CheckColumn(t, u.login.back(), Want::kText, PosOf(e), "[auth.users].login");
      }
    } else {
      Error(PosOf(*login), "[auth.users].login must be a column name or a list of them");
    }
    if (const toml::node* n = sec.get("lockout_after")) {
      const auto* i = n->as_integer();
      if (i == nullptr || i->get() < 0 || i->get() > 100) {
        Error(PosOf(*n), "[auth.users].lockout_after must be an integer from 0 (never) to 100",
              "NIST SP 800-63B-4 §3.2.2 allows at most 100 consecutive failed attempts");
      } else {
        u.lockout_after = static_cast<int>(i->get());
      }
    }
    if (u.lockout_after > 0 && !u.password.empty() && (u.locked.empty() || u.failed_attempts.empty())) {
      if (sec.get("lockout_after") != nullptr) {
        Error(PosOf(*sec.get("lockout_after")), "lockout needs both locked and failed_attempts columns in [auth.users]",
              "map them, or set lockout_after = 0");
      }
      u.lockout_after = 0;
    }
    if (u.password.empty() && sec.get("lockout_after") != nullptr) {
      Error(PosOf(*sec.get("lockout_after")), "lockout_after needs a password column in [auth.users]");
    }
  }

  void ReadRoles(const toml::table& sec, RolesMapping& r, AuthConfig& c) {
    CheckKeys(sec, {"roles", "role_id", "role_name", "user_roles", "user_roles_user", "user_roles_role", "permissions",
                    "permission_id", "permission_resource", "permission_action", "role_permissions",
                    "role_permissions_role", "role_permissions_permission"},
              "[auth.roles]");
    const schema::Table* roles = TableKey(sec, "roles", r.roles, "[auth.roles]", true);
    const schema::Table* ur = TableKey(sec, "user_roles", r.user_roles, "[auth.roles]", true);
    Columns(sec, roles, "[auth.roles]", {{"role_id", &r.role_id, Want::kUuid, true}, {"role_name", &r.role_name, Want::kTextOrEnum, true}});
    Columns(sec, ur, "[auth.roles]",
            {{"user_roles_user", &r.user_roles_user, Want::kUuid, true}, {"user_roles_role", &r.user_roles_role, Want::kUuid, true}});
    const bool has_perm = sec.get("permissions") != nullptr || sec.get("role_permissions") != nullptr;
    if (has_perm) {
      const schema::Table* perms = TableKey(sec, "permissions", r.permissions, "[auth.roles]", true);
      const schema::Table* rp = TableKey(sec, "role_permissions", r.role_permissions, "[auth.roles]", true);
      Columns(sec, perms, "[auth.roles]",
              {{"permission_id", &r.permission_id, Want::kUuid, true},
               {"permission_resource", &r.permission_resource, Want::kTextOrEnum, true},
               {"permission_action", &r.permission_action, Want::kTextOrEnum, true}});
      Columns(sec, rp, "[auth.roles]",
              {{"role_permissions_role", &r.role_permissions_role, Want::kUuid, true},
               {"role_permissions_permission", &r.role_permissions_permission, Want::kUuid, true}});
    } else {
      r.permissions.clear();
      r.role_permissions.clear();
    }
    for (const schema::Table* t : {roles, ur}) {
      if (t != nullptr && t->options.tenant_scoped != c.users_tenant_scoped && t == ur) {
        Error(PosOf(sec), "[auth.roles]: user_roles must be tenant-scoped exactly when the users table is");
      }
    }
  }

  void ReadSessions(const toml::table& sec, SessionsMapping& m, AuthConfig& c) {
    CheckKeys(sec, {"table", "id", "user", "access_jti", "refresh_jti", "family", "expires_at", "revoked_at", "device",
                    "ip", "user_agent", "last_activity"},
              "[auth.sessions]");
    const schema::Table* t = TableKey(sec, "table", m.table, "[auth.sessions]", true);
    if (t != nullptr) c.sessions_tenant_scoped = t->options.tenant_scoped;
    Columns(sec, t, "[auth.sessions]",
            {{"id", &m.id, Want::kUuid, true},
             {"user", &m.user, Want::kUuid, true},
             {"access_jti", &m.access_jti, Want::kText, true},
             {"refresh_jti", &m.refresh_jti, Want::kText, true},
             {"family", &m.family, Want::kUuidOrText, true},
             {"expires_at", &m.expires_at, Want::kTimestamp, true},
             {"revoked_at", &m.revoked_at, Want::kTimestamp, true},
             {"device", &m.device, Want::kText},
             {"ip", &m.ip, Want::kText},
             {"user_agent", &m.user_agent, Want::kText},
             {"last_activity", &m.last_activity, Want::kTimestamp}});
    std::set<std::string> filled = {m.id, m.user, m.access_jti, m.refresh_jti, m.family, m.expires_at, m.revoked_at,
                                    m.device, m.ip, m.user_agent, m.last_activity};
    CheckInsertable(t, PosOf(sec), "[auth.sessions]", filled);
  }

  void ReadKeys(const toml::table& sec, ApiKeysMapping& k, AuthConfig& c) {
    CheckKeys(sec, {"table", "id", "lookup", "hash", "name", "user", "scopes", "expires_at", "revoked_at", "active",
                    "allowed_ips", "rate_limit", "last_used"},
              "[auth.api_keys]");
    const schema::Table* t = TableKey(sec, "table", k.table, "[auth.api_keys]", true);
    if (t != nullptr) c.keys_tenant_scoped = t->options.tenant_scoped;
    Columns(sec, t, "[auth.api_keys]",
            {{"id", &k.id, Want::kUuid, true},
             {"lookup", &k.lookup, Want::kText, true},
             {"hash", &k.hash, Want::kText, true},
             {"name", &k.name, Want::kText},
             {"user", &k.user, Want::kUuid},
             {"scopes", &k.scopes, Want::kJson},
             {"expires_at", &k.expires_at, Want::kTimestamp},
             {"revoked_at", &k.revoked_at, Want::kTimestamp},
             {"active", &k.active, Want::kBoolean},
             {"allowed_ips", &k.allowed_ips, Want::kJson},
             {"rate_limit", &k.rate_limit, Want::kInteger},
             {"last_used", &k.last_used, Want::kTimestamp}});
    if (k.revoked_at.empty() && k.active.empty()) {
      Error(PosOf(sec), "[auth.api_keys] needs revoked_at or active: keys must be revocable",
            "map a timestamp column revoked_at = \"…\" or a boolean active = \"…\"");
    }
    std::set<std::string> filled = {k.id,         k.lookup, k.hash,        k.name,       k.user,     k.scopes,
                                    k.expires_at, k.active, k.allowed_ips, k.rate_limit, k.revoked_at};
    CheckInsertable(t, PosOf(sec), "[auth.api_keys]", filled);
    if (t != nullptr && !t->options.tenant_scoped && !s_.app.tenants_table.empty() && !c.users_tenant_scoped) {
      // Keys of a tenant app must get a tenant from somewhere.
      Error(PosOf(sec), "[auth.api_keys]: the key table is not tenant-scoped and neither are the users",
            "make the key table tenant_scoped = true so each key belongs to a tenant");
    }
  }

  const std::string& file_;
  const schema::Schema& s_;
  Diagnostics& d_;
};

}  // namespace

Result<AuthConfig> LoadAuthConfigText(std::string_view text, const std::string& file_name, const schema::Schema& schema,
                                      Diagnostics& diags) {
  toml::table root;
  try {
    root = toml::parse(text, std::string_view(file_name));
  } catch (const toml::parse_error& e) {
    diags.Error(file_name, {static_cast<int>(e.source().begin.line), static_cast<int>(e.source().begin.column)},
                "TOML syntax error: " + std::string(e.description()));
    return Status(Code::kInvalidArgument, file_name + ": the [auth] section cannot be read");
  }
  const toml::node* auth = root.get("auth");
  if (auth == nullptr) return AuthConfig{};
  const size_t before = diags.error_count();
  if (!auth->is_table()) {
    diags.Error(file_name, PosOf(*auth), "auth must be a table", "write it as [auth.users] …");
    return Status(Code::kInvalidArgument, file_name + ": 1 error in the [auth] section");
  }
  Reader reader(file_name, schema, diags);
  AuthConfig config = reader.Read(*auth->as_table(), PosOf(*auth));
  const size_t errors = diags.error_count() - before;
  if (errors > 0) {
    return Status(Code::kInvalidArgument,
                  file_name + ": " + std::to_string(errors) + (errors == 1 ? " error" : " errors") + " in the [auth] section");
  }
  return config;
}

Result<AuthConfig> LoadAuthConfig(const std::string& schema_path, const schema::Schema& schema, Diagnostics& diags) {
  std::string text;
  if (!ReadFile(schema_path, text)) {
    const std::string why = std::strerror(errno);
    diags.Error(schema_path, {}, "cannot read the schema file: " + why);
    return Status(Code::kIoError, "cannot read " + schema_path + ": " + why);
  }
  return LoadAuthConfigText(text, schema_path, schema, diags);
}

std::string_view LoginFailureName(LoginFailure f) {
  switch (f) {
    case LoginFailure::kNone: return "none";
    case LoginFailure::kUnknownUser: return "unknown_user";
    case LoginFailure::kWrongPassword: return "wrong_password";
    case LoginFailure::kLocked: return "locked";
    case LoginFailure::kInactive: return "inactive";
    case LoginFailure::kAmbiguous: return "ambiguous";
  }
  return "?";
}

}  // namespace plinth::auth
