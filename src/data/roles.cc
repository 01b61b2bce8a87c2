// The PostgreSQL roles of a deployment and the runtime role's grants (include/plinth/data.h,
// "Roles").
#include <set>

#include "plinth/data.h"
#include "plinth/db.h"

namespace plinth::data {
namespace {

constexpr size_t kMaxIdentifierBytes = 63;
constexpr std::string_view kTag = "$plinth$";

std::string QIdent(std::string_view s) { return db::QuoteIdent(s); }
std::string L(std::string_view s) { return db::QuoteLiteral(s); }

// CREATE ROLE when missing (CREATE ROLE has no IF NOT EXISTS).
std::string CreateRole(const std::string& role, const std::string& attributes) {
  return "DO " + std::string(kTag) + " BEGIN IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = " + L(role) +
         ") THEN CREATE ROLE " + QIdent(role) + " " + attributes + "; END IF; END " + std::string(kTag);
}

// Statements that apply only when `object` (a regclass or schema name) exists.
std::string IfExists(const std::string& test, const std::vector<std::string>& statements) {
  std::string body;
  for (const auto& s : statements) body += " EXECUTE " + L(s) + ";";
  return "DO " + std::string(kTag) + " BEGIN IF " + test + " THEN" + body + " END IF; END " + std::string(kTag);
}

}  // namespace

Result<std::vector<std::string>> RoleStatements(const RoleOptions& o) {
  auto check = [](const std::string& name, std::string_view what) -> Status {
    if (name.empty()) return Status(Code::kInvalidArgument, std::string(what) + " role name is empty", "", std::string(what));
    if (name.size() > kMaxIdentifierBytes || name.find('\0') != std::string::npos) {
      return Status(Code::kInvalidArgument, std::string(what) + " role name must be 1 to 63 bytes", "", std::string(what));
    }
    return Status::Ok();
  };
  PLINTH_RETURN_IF_ERROR(check(o.database, "database"));
  PLINTH_RETURN_IF_ERROR(check(o.owner_role, "owner"));
  PLINTH_RETURN_IF_ERROR(check(o.runtime_role, "runtime"));
  if (!o.admin_role.empty()) PLINTH_RETURN_IF_ERROR(check(o.admin_role, "admin"));
  std::set<std::string> names{o.owner_role, o.runtime_role};
  if (names.size() != 2 || (!o.admin_role.empty() && names.count(o.admin_role))) {
    return Status(Code::kInvalidArgument, "the owner, runtime and admin roles must be distinct roles");
  }

  const std::string owner = QIdent(o.owner_role);
  std::vector<std::string> users{o.runtime_role};
  if (!o.admin_role.empty()) users.push_back(o.admin_role);

  std::vector<std::string> out;
  out.push_back(CreateRole(o.owner_role, "LOGIN"));
  out.push_back("ALTER ROLE " + owner + " NOSUPERUSER NOBYPASSRLS NOCREATEROLE");
  out.push_back(CreateRole(o.runtime_role, "LOGIN"));
  // NOINHERIT: even if someone grants it membership in another role, it does not use that
  // role's privileges without SET ROLE (which plinth's pool refuses).
  out.push_back("ALTER ROLE " + QIdent(o.runtime_role) + " NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE NOINHERIT");
  if (!o.admin_role.empty()) {
    out.push_back(CreateRole(o.admin_role, "LOGIN"));
    out.push_back("ALTER ROLE " + QIdent(o.admin_role) + " NOSUPERUSER BYPASSRLS NOCREATEDB NOCREATEROLE NOINHERIT");
  }
  if (!o.owner_password.empty()) out.push_back("ALTER ROLE " + owner + " PASSWORD " + L(o.owner_password));
  if (!o.runtime_password.empty()) out.push_back("ALTER ROLE " + QIdent(o.runtime_role) + " PASSWORD " + L(o.runtime_password));
  if (!o.admin_role.empty() && !o.admin_password.empty()) {
    out.push_back("ALTER ROLE " + QIdent(o.admin_role) + " PASSWORD " + L(o.admin_password));
  }

  const std::string database = QIdent(o.database);
  out.push_back("GRANT CONNECT, CREATE, TEMPORARY ON DATABASE " + database + " TO " + owner);
  out.push_back("GRANT USAGE, CREATE ON SCHEMA public TO " + owner);
  out.push_back("REVOKE CREATE ON SCHEMA public FROM PUBLIC");
  for (const std::string& u : users) {
    const std::string r = QIdent(u);
    out.push_back("GRANT CONNECT ON DATABASE " + database + " TO " + r);
    out.push_back("GRANT USAGE ON SCHEMA public TO " + r);
    // What exists now…
    out.push_back("GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO " + r);
    out.push_back("GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO " + r);
    for (const char* schema_name : {"auth", "plinth"}) {
      out.push_back(IfExists("EXISTS (SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = " + L(schema_name) + ")",
                             {"GRANT USAGE ON SCHEMA " + std::string(schema_name) + " TO " + r,
                              "GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA " + std::string(schema_name) + " TO " + r}));
    }
    // … and what later migrations of the owner create.
    out.push_back("ALTER DEFAULT PRIVILEGES FOR ROLE " + owner + " IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO " + r);
    out.push_back("ALTER DEFAULT PRIVILEGES FOR ROLE " + owner + " IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO " + r);
    out.push_back("ALTER DEFAULT PRIVILEGES FOR ROLE " + owner + " GRANT USAGE ON SCHEMAS TO " + r);
    out.push_back("ALTER DEFAULT PRIVILEGES FOR ROLE " + owner + " GRANT EXECUTE ON FUNCTIONS TO " + r);
    // The audit table is append-only and the history is the runner's (the audit support
    // component repeats these revokes when it creates the table).
    out.push_back(IfExists("to_regclass('public.plinth_audit') IS NOT NULL",
                           {"REVOKE UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON plinth_audit FROM " + r,
                            "GRANT SELECT, INSERT ON plinth_audit TO " + r}));
    out.push_back(IfExists("to_regclass('public.plinth_migrations') IS NOT NULL",
                           {"REVOKE INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON plinth_migrations FROM " + r,
                            "GRANT SELECT ON plinth_migrations TO " + r}));
  }
  return out;
}

}  // namespace plinth::data
