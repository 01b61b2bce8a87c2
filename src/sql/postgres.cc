// PostgreSQL DDL for each migration operation.
//
// Everything renders into the migration's transaction except what PostgreSQL cannot or should
// not run there: CREATE/DROP INDEX CONCURRENTLY, ALTER TYPE … ADD VALUE whose value a later
// operation of the same migration uses (55P04 "unsafe use of new value" otherwise), and
// VALIDATE CONSTRAINT of a foreign key or check added NOT VALID to an existing table (run after
// the transaction so the ACCESS EXCLUSIVE lock of the ADD is short).
#include <algorithm>
#include <map>

#include "common/strings.h"
#include "sql/internal.h"

namespace plinth::sql::internal {
namespace {

using migrate::Op;
using migrate::OpKind;
using schema::Column;
using schema::Constraint;
using schema::ConstraintKind;
using schema::TypeKind;

constexpr Dialect kPg = Dialect::kPostgres;

// Dollar-quote tag for function bodies; never appears inside them.
constexpr std::string_view kBodyTag = "$plinth$";

std::string ActionSql(schema::FkAction a) {
  switch (a) {
    case schema::FkAction::kNoAction: return "NO ACTION";
    case schema::FkAction::kRestrict: return "RESTRICT";
    case schema::FkAction::kCascade: return "CASCADE";
    case schema::FkAction::kSetNull: return "SET NULL";
    case schema::FkAction::kSetDefault: return "SET DEFAULT";
  }
  return "NO ACTION";
}

bool IsSetAction(schema::FkAction a) {
  return a == schema::FkAction::kSetNull || a == schema::FkAction::kSetDefault;
}

std::string CommandSql(schema::PolicyCommand c) {
  switch (c) {
    case schema::PolicyCommand::kAll: return "ALL";
    case schema::PolicyCommand::kSelect: return "SELECT";
    case schema::PolicyCommand::kInsert: return "INSERT";
    case schema::PolicyCommand::kUpdate: return "UPDATE";
    case schema::PolicyCommand::kDelete: return "DELETE";
  }
  return "ALL";
}

Result<const schema::Table*> NeedTable(const schema::Schema& s, std::string_view name) {
  const schema::Table* t = s.FindTable(name);
  if (t == nullptr) {
    return Status(Code::kFailedPrecondition, "table " + std::string(name) + " does not exist");
  }
  return t;
}

// ---- Tables ----------------------------------------------------------------------------------

Result<std::string> ColumnDef(const schema::Table& t, const Column& c) {
  std::string out = Ident(c.name) + " " + PostgresType(c, /*quote_enum=*/true);
  if (ColumnNotNull(t, c)) out += " NOT NULL";
  PLINTH_ASSIGN_OR_RETURN(std::string def, DefaultSql(kPg, c));
  if (!def.empty()) out += " DEFAULT " + def;
  return out;
}

Result<std::string> ConstraintDef(const schema::Schema& s, const schema::Table& t, const Constraint& c) {
  std::string body;
  auto need_columns = [&]() -> Status {
    if (c.columns.empty()) {
      return Status(Code::kInvalidArgument, "constraint " + t.name + "." + c.name + " has no columns");
    }
    return Status::Ok();
  };
  switch (c.kind) {
    case ConstraintKind::kPrimaryKey:
      PLINTH_RETURN_IF_ERROR(need_columns());
      body = "PRIMARY KEY (" + IdentList(c.columns) + ")";
      break;
    case ConstraintKind::kUnique:
      PLINTH_RETURN_IF_ERROR(need_columns());
      body = "UNIQUE (" + IdentList(c.columns) + ")";
      break;
    case ConstraintKind::kCheck: {
      PLINTH_ASSIGN_OR_RETURN(std::string e, RenderExpression(kPg, s, t, c.expression, expr::Context::kCheck));
      body = "CHECK (" + e + ")";
      break;
    }
    case ConstraintKind::kForeignKey: {
      PLINTH_RETURN_IF_ERROR(need_columns());
      if (c.ref_columns.size() != c.columns.size()) {
        return Status(Code::kInvalidArgument, "foreign key " + t.name + "." + c.name +
                                                  ": column count differs from the referenced columns");
      }
      body = "FOREIGN KEY (" + IdentList(c.columns) + ") REFERENCES " + Ident(c.ref_table) + " (" +
             IdentList(c.ref_columns) + ")";
      const bool subset = SetsColumnSubset(c);
      if (c.on_delete != schema::FkAction::kNoAction) {
        body += " ON DELETE " + ActionSql(c.on_delete);
        // PostgreSQL 15: only the listed columns are set (the tenant column is kept).
        if (subset && IsSetAction(c.on_delete)) body += " (" + IdentList(c.set_columns) + ")";
      }
      if (c.on_update != schema::FkAction::kNoAction) {
        if (subset && IsSetAction(c.on_update)) {
          return Status(Code::kInvalidArgument,
                        "foreign key " + t.name + "." + c.name + ": PostgreSQL cannot " +
                            std::string(schema::FkActionName(c.on_update)) +
                            " on update for some of the key's columns only; use on_update = "
                            "\"cascade\", \"restrict\" or \"no action\"");
        }
        body += " ON UPDATE " + ActionSql(c.on_update);
      }
      break;
    }
  }
  return "CONSTRAINT " + Ident(c.name) + " " + body;
}

Result<std::string> CreateIndex(const schema::Schema& s, const schema::Table& t, const schema::Index& idx,
                                bool concurrently) {
  if (idx.columns.empty()) {
    return Status(Code::kInvalidArgument, "index " + idx.name + " has no columns");
  }
  std::string cols;
  for (const auto& c : idx.columns) {
    if (!cols.empty()) cols += ", ";
    cols += Ident(c.name) + (c.descending ? " DESC" : "");
  }
  std::string out = std::string("CREATE ") + (idx.unique ? "UNIQUE " : "") + "INDEX " +
                    (concurrently ? "CONCURRENTLY IF NOT EXISTS " : "") + Ident(idx.name) + " ON " +
                    Ident(t.name) + " (" + cols + ")";
  if (!idx.where.empty()) {
    PLINTH_ASSIGN_OR_RETURN(std::string pred,
                            RenderExpression(kPg, s, t, idx.where, expr::Context::kIndexPredicate));
    out += " WHERE " + pred;
  }
  return out;
}

std::string DropIndex(const schema::Index& idx, bool concurrently) {
  return concurrently ? "DROP INDEX CONCURRENTLY IF EXISTS " + Ident(idx.name) : "DROP INDEX " + Ident(idx.name);
}

// Triggers and row security that follow from a table's options, from `from` to `to`.
std::vector<std::string> OptionChanges(const std::string& table, const schema::TableOptions& from,
                                       const schema::TableOptions& to) {
  std::vector<std::string> out;
  const std::string t = Ident(table);
  if (from.timestamps != to.timestamps) {
    if (to.timestamps) {
      out.push_back("CREATE TRIGGER " + Ident(TouchTriggerName(table)) + " BEFORE UPDATE ON " + t +
                    " FOR EACH ROW EXECUTE FUNCTION plinth.touch_updated_at()");
    } else {
      out.push_back("DROP TRIGGER " + Ident(TouchTriggerName(table)) + " ON " + t);
    }
  }
  if (from.append_only != to.append_only) {
    if (to.append_only) {
      out.push_back("CREATE TRIGGER " + Ident(PgRefuseChangeTriggerName(table)) +
                    " BEFORE UPDATE OR DELETE ON " + t +
                    " FOR EACH ROW EXECUTE FUNCTION plinth.refuse_change()");
      // TRUNCATE fires no row triggers.
      out.push_back("CREATE TRIGGER " + Ident(PgRefuseTruncateTriggerName(table)) + " BEFORE TRUNCATE ON " +
                    t + " FOR EACH STATEMENT EXECUTE FUNCTION plinth.refuse_change()");
    } else {
      out.push_back("DROP TRIGGER " + Ident(PgRefuseChangeTriggerName(table)) + " ON " + t);
      out.push_back("DROP TRIGGER " + Ident(PgRefuseTruncateTriggerName(table)) + " ON " + t);
    }
  }
  if (from.row_security != to.row_security) {
    if (to.row_security) {
      out.push_back("ALTER TABLE " + t + " ENABLE ROW LEVEL SECURITY");
      // The owner (the migration role) is subject to the policies too.
      out.push_back("ALTER TABLE " + t + " FORCE ROW LEVEL SECURITY");
    } else {
      out.push_back("ALTER TABLE " + t + " NO FORCE ROW LEVEL SECURITY");
      out.push_back("ALTER TABLE " + t + " DISABLE ROW LEVEL SECURITY");
    }
  }
  return out;
}

// ---- Policies --------------------------------------------------------------------------------

Status CheckPolicyShape(const schema::Table& t, const schema::Policy& p) {
  using schema::PolicyCommand;
  if (p.command == PolicyCommand::kInsert && !p.using_expr.empty()) {
    return Status(Code::kInvalidArgument,
                  "policy " + t.name + "." + p.name + ": an insert policy takes only a check expression");
  }
  if ((p.command == PolicyCommand::kSelect || p.command == PolicyCommand::kDelete) && !p.check_expr.empty()) {
    return Status(Code::kInvalidArgument, "policy " + t.name + "." + p.name + ": a " +
                                              std::string(schema::PolicyCommandName(p.command)) +
                                              " policy takes only a using expression");
  }
  return Status::Ok();
}

Result<std::string> PolicyUsing(const schema::Schema& s, const schema::Table& t, const schema::Policy& p) {
  PLINTH_ASSIGN_OR_RETURN(std::string e, RenderExpression(kPg, s, t, p.using_expr, expr::Context::kPolicy));
  return " USING (" + e + ")";
}

Result<std::string> PolicyCheck(const schema::Schema& s, const schema::Table& t, const schema::Policy& p) {
  PLINTH_ASSIGN_OR_RETURN(std::string e, RenderExpression(kPg, s, t, p.check_expr, expr::Context::kPolicy));
  return " WITH CHECK (" + e + ")";
}

Result<std::string> CreatePolicy(const schema::Schema& s, const schema::Table& t, const schema::Policy& p) {
  PLINTH_RETURN_IF_ERROR(CheckPolicyShape(t, p));
  std::string out = "CREATE POLICY " + Ident(p.name) + " ON " + Ident(t.name) + " AS " +
                    (p.restrictive ? "RESTRICTIVE" : "PERMISSIVE") + " FOR " + CommandSql(p.command);
  if (!p.using_expr.empty()) {
    PLINTH_ASSIGN_OR_RETURN(std::string u, PolicyUsing(s, t, p));
    out += u;
  }
  if (!p.check_expr.empty()) {
    PLINTH_ASSIGN_OR_RETURN(std::string c, PolicyCheck(s, t, p));
    out += c;
  }
  return out;
}

std::string DropPolicy(const std::string& table, const std::string& policy) {
  return "DROP POLICY " + Ident(policy) + " ON " + Ident(table);
}

// ALTER POLICY changes USING / WITH CHECK in place; it cannot remove a clause or change the
// kind or command, which need DROP + CREATE.
Result<std::vector<std::string>> AlterPolicy(const schema::Schema& s, const schema::Table& t,
                                             const schema::Policy& from, const schema::Policy& to) {
  PLINTH_RETURN_IF_ERROR(CheckPolicyShape(t, to));
  const bool recreate = from.restrictive != to.restrictive || from.command != to.command ||
                        from.name != to.name || (!from.using_expr.empty() && to.using_expr.empty()) ||
                        (!from.check_expr.empty() && to.check_expr.empty());
  if (recreate) {
    PLINTH_ASSIGN_OR_RETURN(std::string create, CreatePolicy(s, t, to));
    return std::vector<std::string>{DropPolicy(t.name, from.name), create};
  }
  std::string clauses;
  if (from.using_expr != to.using_expr) {
    PLINTH_ASSIGN_OR_RETURN(std::string u, PolicyUsing(s, t, to));
    clauses += u;
  }
  if (from.check_expr != to.check_expr) {
    PLINTH_ASSIGN_OR_RETURN(std::string c, PolicyCheck(s, t, to));
    clauses += c;
  }
  if (clauses.empty()) return std::vector<std::string>{};
  return std::vector<std::string>{"ALTER POLICY " + Ident(to.name) + " ON " + Ident(t.name) + clauses};
}

// ---- Support objects -----------------------------------------------------------------------

std::string SqlFunction(std::string_view signature, std::string_view returns, std::string_view body) {
  return "CREATE OR REPLACE FUNCTION " + std::string(signature) + " RETURNS " + std::string(returns) +
         " LANGUAGE sql STABLE PARALLEL SAFE AS " + std::string(kBodyTag) + " " + std::string(body) + " " +
         std::string(kBodyTag);
}

// Drops a schema of plinth's when nothing is left in it (DROP SCHEMA … RESTRICT fails with
// 2BP01 while objects remain, e.g. the other component's function or a user's objects).
std::string DropSchemaIfEmpty(std::string_view schema_name) {
  return "DO " + std::string(kBodyTag) + " BEGIN DROP SCHEMA IF EXISTS " + std::string(schema_name) +
         "; EXCEPTION WHEN dependent_objects_still_exist THEN NULL; END " + std::string(kBodyTag);
}

// The data runtime's objects (schema::kSupportAudit, docs/policies.md "Audit"): the append-only
// audit table with row security (a tenant reads and writes only its own rows; the runtime
// inserts one row per write in the write's transaction), and plinth.raise_if(), which lets a
// statement fail its batch (a write of a transaction that found no row).
std::vector<std::string> AuditSupport() {
  const std::string table = Ident(schema::kAuditTable);
  const std::string tag(kBodyTag);
  // The tenant of the batch, read once per statement (the auth.tenant_id() form without
  // depending on the auth component).
  const std::string tenant = "(SELECT nullif(current_setting('plinth.tenant_id', true), '')::uuid)";
  return {
      "CREATE SCHEMA IF NOT EXISTS plinth",
      "CREATE TABLE " + table +
          " (\"seq\" bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, "
          "\"at\" timestamp with time zone NOT NULL DEFAULT now(), "
          "\"tenant_id\" uuid, \"principal_kind\" text NOT NULL, \"user_id\" uuid, \"credential_id\" text, "
          "\"action\" text NOT NULL, \"table_name\" text NOT NULL, \"row_key\" text, "
          "\"changes\" jsonb NOT NULL DEFAULT '{}'::jsonb, \"reason\" text, \"request_id\" text, "
          "\"ip\" text, \"user_agent\" text, "
          // Reserved for the hash chain (NULL until it is sealed).
          "\"prev_hash\" bytea, \"hash\" bytea)",
      "CREATE INDEX \"plinth_audit_by_tenant\" ON " + table + " (\"tenant_id\", \"seq\")",
      "CREATE OR REPLACE FUNCTION plinth.audit_refuse_change() RETURNS trigger LANGUAGE plpgsql AS " + tag +
          "\nBEGIN\n"
          "  RAISE EXCEPTION 'table % is append-only: audit rows cannot be updated or deleted', TG_TABLE_NAME\n"
          "    USING ERRCODE = 'P0001',\n"
          "          DETAIL = format('%s refused by trigger %s', TG_OP, TG_NAME),\n"
          "          SCHEMA = TG_TABLE_SCHEMA, TABLE = TG_TABLE_NAME;\n"
          "END\n" + tag,
      "CREATE TRIGGER \"plinth_audit_refuse_change\" BEFORE UPDATE OR DELETE ON " + table +
          " FOR EACH ROW EXECUTE FUNCTION plinth.audit_refuse_change()",
      "CREATE TRIGGER \"plinth_audit_refuse_truncate\" BEFORE TRUNCATE ON " + table +
          " FOR EACH STATEMENT EXECUTE FUNCTION plinth.audit_refuse_change()",
      "CREATE OR REPLACE FUNCTION plinth.raise_if(failed boolean, sqlstate text, message text) RETURNS boolean "
      "LANGUAGE plpgsql VOLATILE AS " + tag +
          "\nBEGIN\n"
          "  IF failed THEN\n"
          "    RAISE EXCEPTION USING ERRCODE = sqlstate, MESSAGE = message;\n"
          "  END IF;\n"
          "  RETURN false;\n"
          "END\n" + tag,
      "ALTER TABLE " + table + " ENABLE ROW LEVEL SECURITY",
      "ALTER TABLE " + table + " FORCE ROW LEVEL SECURITY",
      "CREATE POLICY \"plinth_audit_insert\" ON " + table + " AS PERMISSIVE FOR INSERT WITH CHECK (\"tenant_id\" IS NOT DISTINCT FROM " +
          tenant + ")",
      "CREATE POLICY \"plinth_audit_select\" ON " + table + " AS PERMISSIVE FOR SELECT USING (\"tenant_id\" = " + tenant + ")",
      // Append-only for every role but the owner: the owner's default privileges (plinth roles)
      // grant the runtime role full DML on new tables. The audit table keeps INSERT and SELECT,
      // the migration history (created by the runner before this) SELECT only.
      "REVOKE UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON " + table + " FROM PUBLIC",
      "DO " + tag +
          "\nDECLARE g record;\nBEGIN\n"
          "  FOR g IN SELECT DISTINCT table_name, grantee FROM information_schema.role_table_grants\n"
          "           WHERE table_schema = current_schema() AND table_name IN ('plinth_audit', 'plinth_migrations')\n"
          "             AND grantee NOT IN (current_user, 'PUBLIC')\n"
          "             AND privilege_type IN ('INSERT', 'UPDATE', 'DELETE', 'TRUNCATE', 'REFERENCES', 'TRIGGER') LOOP\n"
          "    IF g.table_name = 'plinth_audit' THEN\n"
          "      EXECUTE format('REVOKE UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON plinth_audit FROM %I', g.grantee);\n"
          "    ELSE\n"
          "      EXECUTE format('REVOKE INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON plinth_migrations FROM %I', g.grantee);\n"
          "    END IF;\n"
          "  END LOOP;\n"
          "END\n" + tag,
  };
}

Result<std::vector<std::string>> InstallSupport(std::string_view component) {
  if (component == schema::kSupportTimestamps) {
    return std::vector<std::string>{
        "CREATE SCHEMA IF NOT EXISTS plinth",
        "CREATE OR REPLACE FUNCTION plinth.touch_updated_at() RETURNS trigger LANGUAGE plpgsql AS " +
            std::string(kBodyTag) +
            "\nBEGIN\n"
            "  -- Keeps updated_at current unless the statement set it itself.\n"
            "  IF NEW.updated_at IS NOT DISTINCT FROM OLD.updated_at THEN\n"
            "    NEW.updated_at := now();\n"
            "  END IF;\n"
            "  RETURN NEW;\n"
            "END\n" +
            std::string(kBodyTag)};
  }
  if (component == schema::kSupportAppendOnly) {
    return std::vector<std::string>{
        "CREATE SCHEMA IF NOT EXISTS plinth",
        "CREATE OR REPLACE FUNCTION plinth.refuse_change() RETURNS trigger LANGUAGE plpgsql AS " +
            std::string(kBodyTag) +
            "\nBEGIN\n"
            "  RAISE EXCEPTION 'table % is append-only: rows cannot be updated or deleted', TG_TABLE_NAME\n"
            "    USING ERRCODE = 'P0001',\n"
            "          DETAIL = format('%s refused by trigger %s', TG_OP, TG_NAME),\n"
            "          SCHEMA = TG_TABLE_SCHEMA, TABLE = TG_TABLE_NAME;\n"
            "END\n" +
            std::string(kBodyTag)};
  }
  if (component == schema::kSupportAuth) {
    return std::vector<std::string>{
        "CREATE SCHEMA IF NOT EXISTS auth",
        SqlFunction("auth.tenant_id()", "uuid", "SELECT nullif(current_setting('plinth.tenant_id', true), '')::uuid"),
        SqlFunction("auth.user_id()", "uuid", "SELECT nullif(current_setting('plinth.user_id', true), '')::uuid"),
        SqlFunction("auth.role()", "text", "SELECT nullif(current_setting('plinth.role', true), '')"),
        SqlFunction("auth.has_role(role_name text)", "boolean",
                    "SELECT coalesce($1 = any(string_to_array(nullif(current_setting('plinth.roles', true), ''), ',')), "
                    "false)"),
        SqlFunction("auth.has_permission(resource text, action text)", "boolean",
                    "SELECT coalesce(($1 || ':' || $2) = any(string_to_array(nullif(current_setting('plinth.permissions', "
                    "true), ''), ',')), false)"),
    };
  }
  if (component == schema::kSupportAudit) return AuditSupport();
  return Status(Code::kInvalidArgument, "unknown support component '" + std::string(component) + "'");
}

Result<std::vector<std::string>> RemoveSupport(std::string_view component) {
  if (component == schema::kSupportTimestamps) {
    return std::vector<std::string>{"DROP FUNCTION plinth.touch_updated_at()", DropSchemaIfEmpty("plinth")};
  }
  if (component == schema::kSupportAppendOnly) {
    return std::vector<std::string>{"DROP FUNCTION plinth.refuse_change()", DropSchemaIfEmpty("plinth")};
  }
  if (component == schema::kSupportAuth) {
    return std::vector<std::string>{
        "DROP FUNCTION auth.has_permission(text, text)", "DROP FUNCTION auth.has_role(text)",
        "DROP FUNCTION auth.role()", "DROP FUNCTION auth.user_id()", "DROP FUNCTION auth.tenant_id()",
        DropSchemaIfEmpty("auth")};
  }
  if (component == schema::kSupportAudit) {
    return std::vector<std::string>{"DROP TABLE " + Ident(schema::kAuditTable),
                                    "DROP FUNCTION plinth.audit_refuse_change()",
                                    "DROP FUNCTION plinth.raise_if(boolean, text, text)", DropSchemaIfEmpty("plinth")};
  }
  return Status(Code::kInvalidArgument, "unknown support component '" + std::string(component) + "'");
}

// ---- Column type changes ---------------------------------------------------------------------

// USING expression converting a column's values to its new type.
std::string UsingExpression(const Column& from, const Column& to) {
  const std::string col = Ident(from.name);
  const std::string type = PostgresType(to, /*quote_enum=*/true);
  const TypeKind a = from.type.kind;
  const TypeKind b = to.type.kind;
  if (a == TypeKind::kTimestamp && b == TypeKind::kDate) return "(" + col + " AT TIME ZONE 'UTC')::date";
  if (a == TypeKind::kDate && b == TypeKind::kTimestamp) return "(" + col + "::timestamp AT TIME ZONE 'UTC')";
  if (a == TypeKind::kTimestamp && b == TypeKind::kText) {
    // plinth's text form of a timestamp: RFC 3339 UTC with microseconds.
    return "to_char(" + col + " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')::" + type;
  }
  if ((a == TypeKind::kInteger || a == TypeKind::kBigint) && b == TypeKind::kBoolean) return "(" + col + " <> 0)";
  if (a == TypeKind::kEnum || b == TypeKind::kEnum || a == TypeKind::kJson) return col + "::text::" + type;
  return col + "::" + type;
}

// Objects that must be dropped around a change of some columns' type and re-created after:
// PostgreSQL re-parses them against the new type (or refuses, for policies).
struct Dependents {
  std::vector<std::pair<std::string, std::string>> policies;     // (table, policy)
  std::vector<std::pair<std::string, std::string>> constraints;  // (table, constraint)
  std::vector<std::pair<std::string, std::string>> indexes;      // (table, index)
  std::vector<std::pair<std::string, std::string>> defaults;     // (table, column)
};

bool Intersects(const std::set<ColumnRef>& a, const std::set<ColumnRef>& b) {
  return std::any_of(a.begin(), a.end(), [&](const ColumnRef& r) { return b.count(r) > 0; });
}

Result<Dependents> FindDependents(const schema::Schema& s, const std::set<ColumnRef>& columns, bool include_fks) {
  Dependents d;
  for (const auto& t : s.tables) {
    for (const auto& p : t.policies) {
      std::set<ColumnRef> used;
      for (const std::string* e : {&p.using_expr, &p.check_expr}) {
        if (e->empty()) continue;
        PLINTH_ASSIGN_OR_RETURN(std::set<ColumnRef> cols, ExpressionColumns(s, t, *e, expr::Context::kPolicy));
        used.insert(cols.begin(), cols.end());
      }
      if (Intersects(used, columns)) d.policies.emplace_back(t.name, p.name);
    }
    for (const auto& c : t.constraints) {
      bool hit = false;
      if (c.kind == ConstraintKind::kCheck) {
        PLINTH_ASSIGN_OR_RETURN(std::set<ColumnRef> cols,
                                ExpressionColumns(s, t, c.expression, expr::Context::kCheck));
        hit = Intersects(cols, columns);
      } else if (c.kind == ConstraintKind::kForeignKey && include_fks) {
        for (const auto& col : c.columns) hit = hit || columns.count({t.name, col}) > 0;
        for (const auto& col : c.ref_columns) hit = hit || columns.count({c.ref_table, col}) > 0;
      }
      if (hit) d.constraints.emplace_back(t.name, c.name);
    }
    for (const auto& idx : t.indexes) {
      if (idx.where.empty()) continue;
      PLINTH_ASSIGN_OR_RETURN(std::set<ColumnRef> cols,
                              ExpressionColumns(s, t, idx.where, expr::Context::kIndexPredicate));
      if (Intersects(cols, columns)) d.indexes.emplace_back(t.name, idx.name);
    }
    for (const auto& col : t.columns) {
      if (col.default_value.kind != schema::DefaultKind::kNone && columns.count({t.name, col.name}) > 0) {
        d.defaults.emplace_back(t.name, col.name);
      }
    }
  }
  return d;
}

std::vector<std::string> DropDependents(const Dependents& d) {
  std::vector<std::string> out;
  for (const auto& [t, p] : d.policies) out.push_back(DropPolicy(t, p));
  for (const auto& [t, c] : d.constraints) {
    out.push_back("ALTER TABLE " + Ident(t) + " DROP CONSTRAINT " + Ident(c));
  }
  for (const auto& [t, i] : d.indexes) out.push_back("DROP INDEX " + Ident(i));
  for (const auto& [t, c] : d.defaults) {
    out.push_back("ALTER TABLE " + Ident(t) + " ALTER COLUMN " + Ident(c) + " DROP DEFAULT");
  }
  return out;
}

// Re-creates the dependents that still exist in `after` (an operation may have dropped some).
// Checks before foreign keys before policies, in the reverse order of the drops.
Result<std::vector<std::string>> RecreateDependents(const schema::Schema& after, const Dependents& d) {
  std::vector<std::string> out;
  for (const auto& [tn, cn] : d.defaults) {
    const schema::Table* t = after.FindTable(tn);
    const Column* c = t ? t->FindColumn(cn) : nullptr;
    if (c == nullptr) continue;
    PLINTH_ASSIGN_OR_RETURN(std::string def, DefaultSql(kPg, *c));
    if (!def.empty()) out.push_back("ALTER TABLE " + Ident(tn) + " ALTER COLUMN " + Ident(cn) + " SET DEFAULT " + def);
  }
  for (const auto& [tn, in] : d.indexes) {
    const schema::Table* t = after.FindTable(tn);
    const schema::Index* idx = t ? t->FindIndex(in) : nullptr;
    if (idx == nullptr) continue;
    PLINTH_ASSIGN_OR_RETURN(std::string sql, CreateIndex(after, *t, *idx, /*concurrently=*/false));
    out.push_back(sql);
  }
  for (bool fks : {false, true}) {
    for (const auto& [tn, cn] : d.constraints) {
      const schema::Table* t = after.FindTable(tn);
      const Constraint* c = t ? t->FindConstraint(cn) : nullptr;
      if (c == nullptr || (c->kind == ConstraintKind::kForeignKey) != fks) continue;
      PLINTH_ASSIGN_OR_RETURN(std::string def, ConstraintDef(after, *t, *c));
      out.push_back("ALTER TABLE " + Ident(tn) + " ADD " + def);
    }
  }
  for (const auto& [tn, pn] : d.policies) {
    const schema::Table* t = after.FindTable(tn);
    const schema::Policy* p = t ? t->FindPolicy(pn) : nullptr;
    if (p == nullptr) continue;
    PLINTH_ASSIGN_OR_RETURN(std::string sql, CreatePolicy(after, *t, *p));
    out.push_back(sql);
  }
  return out;
}

Result<std::vector<std::string>> AlterColumn(const OpInput& in) {
  const Op& op = in.op;
  const Column& from = op.old_column;
  const Column& to = op.column;
  if (from.encrypted != to.encrypted) {
    return Status(Code::kInvalidArgument,
                  "column " + op.table + "." + to.name +
                      ": switching encryption on or off cannot be done in SQL (values must be "
                      "re-encrypted by plinth); add a new column, copy the values through plinth, "
                      "then drop the old column");
  }
  PLINTH_ASSIGN_OR_RETURN(const schema::Table* before_table, NeedTable(in.before, op.table));
  PLINTH_ASSIGN_OR_RETURN(const schema::Table* after_table, NeedTable(in.after, op.table));
  const std::string t = Ident(op.table);
  const std::string alter = "ALTER TABLE " + t + " ALTER COLUMN " + Ident(to.name);
  std::vector<std::string> out;
  const bool retype = PostgresType(from, true) != PostgresType(to, true);
  PLINTH_ASSIGN_OR_RETURN(std::string new_default, DefaultSql(kPg, to));
  if (retype) {
    PLINTH_ASSIGN_OR_RETURN(Dependents deps,
                            FindDependents(in.before, {{op.table, from.name}}, /*include_fks=*/false));
    std::vector<std::string> drops = DropDependents(deps);
    out.insert(out.end(), drops.begin(), drops.end());
    out.push_back(alter + " TYPE " + PostgresType(to, true) + " USING " + UsingExpression(from, to));
    deps.defaults.clear();  // the new default is set below, whether the old column had one or not
    PLINTH_ASSIGN_OR_RETURN(std::vector<std::string> recreate, RecreateDependents(in.after, deps));
    out.insert(out.end(), recreate.begin(), recreate.end());
    if (!new_default.empty()) out.push_back(alter + " SET DEFAULT " + new_default);
  } else if (from.default_value != to.default_value) {
    out.push_back(new_default.empty() ? alter + " DROP DEFAULT" : alter + " SET DEFAULT " + new_default);
  }
  const bool was_not_null = ColumnNotNull(*before_table, from);
  const bool is_not_null = ColumnNotNull(*after_table, to);
  if (was_not_null != is_not_null) out.push_back(alter + (is_not_null ? " SET NOT NULL" : " DROP NOT NULL"));
  return out;
}

// ---- Enums -----------------------------------------------------------------------------------

// Whether an operation after `index` uses `value` of enum `name`: PostgreSQL refuses to use a
// value added in the same transaction, so such an ADD VALUE must commit first.
bool EnumValueUsedLater(const std::vector<Op>& ops, size_t index, const std::string& name,
                        const std::string& value) {
  const std::string quoted = Literal(value);
  auto mentions = [&](const std::string& text) { return text.find(quoted) != std::string::npos; };
  // Any enum column defaulting to the label (a later rename_enum may have renamed the type).
  auto column_uses = [&](const Column& c) {
    return c.type.kind == TypeKind::kEnum && c.default_value.kind == schema::DefaultKind::kLiteral &&
           c.default_value.value == value;
  };
  auto policy_uses = [&](const schema::Policy& p) { return mentions(p.using_expr) || mentions(p.check_expr); };
  for (size_t j = index + 1; j < ops.size(); ++j) {
    const Op& op = ops[j];
    switch (op.kind) {
      case OpKind::kCreateTable:
        for (const auto& c : op.table_def.columns) {
          if (column_uses(c)) return true;
        }
        for (const auto& c : op.table_def.constraints) {
          if (mentions(c.expression)) return true;
        }
        for (const auto& i : op.table_def.indexes) {
          if (mentions(i.where)) return true;
        }
        for (const auto& p : op.table_def.policies) {
          if (policy_uses(p)) return true;
        }
        break;
      case OpKind::kAddColumn:
      case OpKind::kAlterColumn:
        if (column_uses(op.column)) return true;
        break;
      case OpKind::kAddConstraint:
        if (mentions(op.constraint.expression)) return true;
        break;
      case OpKind::kCreateIndex:
        if (mentions(op.index.where)) return true;
        break;
      case OpKind::kCreatePolicy:
      case OpKind::kAlterPolicy:
        if (policy_uses(op.policy)) return true;
        break;
      case OpKind::kAddEnumValue:
        if (op.name == name && op.before == value) return true;
        break;
      case OpKind::kReplaceEnum:
        if (op.name == name) return true;
        break;
      case OpKind::kRawSql:
        // Hand-written SQL (a data fix after adding a value) is checked conservatively.
        if (mentions(op.sql_postgres)) return true;
        break;
      default: break;
    }
  }
  return false;
}

Result<std::vector<std::string>> ReplaceEnum(const OpInput& in) {
  const Op& op = in.op;
  const schema::Enum* target = in.after.FindEnum(op.name);
  if (target == nullptr) return Status(Code::kFailedPrecondition, "enum " + op.name + " does not exist after the operation");
  const std::string old_name = schema::ObjectName(op.name + "__plinth_old");

  // Every column of the enum, per table, in the state before.
  std::set<ColumnRef> columns;
  std::vector<std::pair<std::string, std::vector<std::string>>> per_table;
  for (const auto& t : in.before.tables) {
    std::vector<std::string> cols;
    for (const auto& c : t.columns) {
      if (!c.encrypted && c.type.kind == TypeKind::kEnum && c.type.enum_name == op.name) {
        cols.push_back(c.name);
        columns.emplace(t.name, c.name);
      }
    }
    if (!cols.empty()) per_table.emplace_back(t.name, std::move(cols));
  }
  PLINTH_ASSIGN_OR_RETURN(Dependents deps, FindDependents(in.before, columns, /*include_fks=*/true));

  std::vector<std::string> out = DropDependents(deps);
  out.push_back("ALTER TYPE " + Ident(op.name) + " RENAME TO " + Ident(old_name));
  out.push_back("CREATE TYPE " + Ident(op.name) + " AS ENUM (" + LiteralList(target->values) + ")");
  for (const auto& [table, cols] : per_table) {
    std::string alter = "ALTER TABLE " + Ident(table);
    for (size_t i = 0; i < cols.size(); ++i) {
      const std::string col = Ident(cols[i]);
      std::string value = col + "::text";
      if (!op.value_map.empty()) {
        value = "CASE " + col + "::text";
        for (const auto& [removed, kept] : op.value_map) value += " WHEN " + Literal(removed) + " THEN " + Literal(kept);
        value += " ELSE " + col + "::text END";
      }
      alter += std::string(i ? "," : "") + " ALTER COLUMN " + col + " TYPE " + Ident(op.name) + " USING (" +
               value + ")::" + Ident(op.name);
    }
    out.push_back(alter);
  }
  out.push_back("DROP TYPE " + Ident(old_name));
  PLINTH_ASSIGN_OR_RETURN(std::vector<std::string> recreate, RecreateDependents(in.after, deps));
  out.insert(out.end(), recreate.begin(), recreate.end());
  return out;
}

// ---- Dispatch --------------------------------------------------------------------------------

Unit TxUnit(std::vector<std::string> statements) {
  Unit u;
  u.transactional = true;
  for (auto& s : statements) u.statements.push_back(Statement{std::move(s), Expect::kNothing, {}});
  return u;
}

Unit NonTxUnit(std::vector<Statement> statements) {
  Unit u;
  u.transactional = false;
  u.statements = std::move(statements);
  return u;
}

std::vector<std::string> RenameTriggers(const std::string& from, const std::string& to,
                                        const schema::TableOptions& options) {
  std::vector<std::string> out;
  auto rename = [&](const std::string& a, const std::string& b) {
    if (a != b) out.push_back("ALTER TRIGGER " + Ident(a) + " ON " + Ident(to) + " RENAME TO " + Ident(b));
  };
  if (options.timestamps) rename(TouchTriggerName(from), TouchTriggerName(to));
  if (options.append_only) {
    rename(PgRefuseChangeTriggerName(from), PgRefuseChangeTriggerName(to));
    rename(PgRefuseTruncateTriggerName(from), PgRefuseTruncateTriggerName(to));
  }
  return out;
}

}  // namespace

Result<std::vector<std::string>> PostgresCreateTable(const schema::Schema& s, const schema::Table& t) {
  std::string sql = "CREATE TABLE " + Ident(t.name) + " (";
  bool first = true;
  for (const auto& c : t.columns) {
    PLINTH_ASSIGN_OR_RETURN(std::string def, ColumnDef(t, c));
    sql += std::string(first ? "\n  " : ",\n  ") + def;
    first = false;
  }
  for (const auto& c : t.constraints) {
    PLINTH_ASSIGN_OR_RETURN(std::string def, ConstraintDef(s, t, c));
    sql += std::string(first ? "\n  " : ",\n  ") + def;
    first = false;
  }
  sql += "\n)";
  std::vector<std::string> out{sql};
  for (const auto& idx : t.indexes) {
    PLINTH_ASSIGN_OR_RETURN(std::string i, CreateIndex(s, t, idx, /*concurrently=*/false));
    out.push_back(i);
  }
  std::vector<std::string> options = OptionChanges(t.name, schema::TableOptions{}, t.options);
  out.insert(out.end(), options.begin(), options.end());
  for (const auto& p : t.policies) {
    PLINTH_ASSIGN_OR_RETURN(std::string sql_policy, CreatePolicy(s, t, p));
    out.push_back(sql_policy);
  }
  return out;
}

Result<OpOutput> RenderPostgresOp(const OpInput& in) {
  const Op& op = in.op;
  OpOutput out;
  auto tx = [&](std::vector<std::string> statements) { out.units.push_back(TxUnit(std::move(statements))); };
  const std::string t = Ident(op.table);
  switch (op.kind) {
    case OpKind::kCreateEnum:
      tx({"CREATE TYPE " + Ident(op.enum_def.name) + " AS ENUM (" + LiteralList(op.enum_def.values) + ")"});
      break;
    case OpKind::kDropEnum: tx({"DROP TYPE " + Ident(op.enum_def.name)}); break;
    case OpKind::kAddEnumValue: {
      std::string sql = "ALTER TYPE " + Ident(op.name) + " ADD VALUE IF NOT EXISTS " + Literal(op.value);
      if (!op.before.empty()) sql += " BEFORE " + Literal(op.before);
      if (EnumValueUsedLater(in.ops, in.index, op.name, op.value)) {
        out.units.push_back(NonTxUnit({Statement{sql, Expect::kNothing, {}}}));
      } else {
        tx({sql});
      }
      break;
    }
    case OpKind::kRenameEnumValue:
      tx({"ALTER TYPE " + Ident(op.name) + " RENAME VALUE " + Literal(op.value) + " TO " + Literal(op.new_name)});
      break;
    case OpKind::kReplaceEnum: {
      PLINTH_ASSIGN_OR_RETURN(std::vector<std::string> sql, ReplaceEnum(in));
      tx(std::move(sql));
      break;
    }
    case OpKind::kRenameEnum:
      tx({"ALTER TYPE " + Ident(op.name) + " RENAME TO " + Ident(op.new_name)});
      break;
    case OpKind::kCreateTable: {
      PLINTH_ASSIGN_OR_RETURN(const schema::Table* table, NeedTable(in.after, op.table_def.name));
      PLINTH_ASSIGN_OR_RETURN(std::vector<std::string> sql, PostgresCreateTable(in.after, *table));
      tx(std::move(sql));
      break;
    }
    case OpKind::kDropTable:
      tx({"DROP TABLE " + Ident(op.table_def.name.empty() ? op.table : op.table_def.name)});
      break;
    case OpKind::kRenameTable: {
      PLINTH_ASSIGN_OR_RETURN(const schema::Table* table, NeedTable(in.after, op.new_name));
      std::vector<std::string> sql{"ALTER TABLE " + t + " RENAME TO " + Ident(op.new_name)};
      std::vector<std::string> triggers = RenameTriggers(op.table, op.new_name, table->options);
      sql.insert(sql.end(), triggers.begin(), triggers.end());
      tx(std::move(sql));
      break;
    }
    case OpKind::kAddColumn: {
      PLINTH_ASSIGN_OR_RETURN(const schema::Table* table, NeedTable(in.after, op.table));
      const Column* c = table->FindColumn(op.column.name);
      PLINTH_ASSIGN_OR_RETURN(std::string def, ColumnDef(*table, c ? *c : op.column));
      tx({"ALTER TABLE " + t + " ADD COLUMN " + def});
      break;
    }
    case OpKind::kDropColumn: tx({"ALTER TABLE " + t + " DROP COLUMN " + Ident(op.column.name)}); break;
    case OpKind::kRenameColumn:
      tx({"ALTER TABLE " + t + " RENAME COLUMN " + Ident(op.name) + " TO " + Ident(op.new_name)});
      break;
    case OpKind::kAlterColumn: {
      PLINTH_ASSIGN_OR_RETURN(std::vector<std::string> sql, AlterColumn(in));
      tx(std::move(sql));
      break;
    }
    case OpKind::kAddConstraint: {
      PLINTH_ASSIGN_OR_RETURN(const schema::Table* table, NeedTable(in.after, op.table));
      PLINTH_ASSIGN_OR_RETURN(std::string def, ConstraintDef(in.after, *table, op.constraint));
      const bool deferrable_validation =
          in.table_preexisting && (op.constraint.kind == ConstraintKind::kForeignKey ||
                                   op.constraint.kind == ConstraintKind::kCheck);
      if (deferrable_validation) {
        // Added without scanning the table; existing rows are validated after the transaction
        // under a lock that lets reads and writes go on.
        tx({"ALTER TABLE " + t + " ADD " + def + " NOT VALID"});
        out.validations.push_back(PendingValidation{op.table, op.constraint.name});
      } else {
        tx({"ALTER TABLE " + t + " ADD " + def});
      }
      break;
    }
    case OpKind::kDropConstraint:
      tx({"ALTER TABLE " + t + " DROP CONSTRAINT " + Ident(op.constraint.name)});
      break;
    case OpKind::kCreateIndex: {
      PLINTH_ASSIGN_OR_RETURN(const schema::Table* table, NeedTable(in.after, op.table));
      PLINTH_ASSIGN_OR_RETURN(std::string sql, CreateIndex(in.after, *table, op.index, op.concurrently));
      if (op.concurrently) {
        // IF NOT EXISTS makes a resumed run repeat the step safely; an index left INVALID by an
        // interrupted build is caught instead of silently kept.
        Statement check{"SELECT i.indisvalid FROM pg_catalog.pg_index i WHERE i.indexrelid = " +
                            Literal(Ident(op.index.name)) + "::regclass",
                        Expect::kTrue,
                        "index " + op.index.name + " on table " + op.table +
                            " is invalid (an earlier CREATE INDEX CONCURRENTLY was interrupted): run DROP "
                            "INDEX CONCURRENTLY " + Ident(op.index.name) + " and run the migration again"};
        out.units.push_back(NonTxUnit({Statement{sql, Expect::kNothing, {}}, std::move(check)}));
      } else {
        tx({sql});
      }
      break;
    }
    case OpKind::kDropIndex:
      if (op.concurrently) {
        out.units.push_back(NonTxUnit({Statement{DropIndex(op.index, true), Expect::kNothing, {}}}));
      } else {
        tx({DropIndex(op.index, false)});
      }
      break;
    case OpKind::kSetTableOptions: tx(OptionChanges(op.table, op.old_options, op.options)); break;
    case OpKind::kCreatePolicy: {
      PLINTH_ASSIGN_OR_RETURN(const schema::Table* table, NeedTable(in.after, op.table));
      PLINTH_ASSIGN_OR_RETURN(std::string sql, CreatePolicy(in.after, *table, op.policy));
      tx({sql});
      break;
    }
    case OpKind::kDropPolicy: tx({DropPolicy(op.table, op.policy.name)}); break;
    case OpKind::kAlterPolicy: {
      PLINTH_ASSIGN_OR_RETURN(const schema::Table* table, NeedTable(in.after, op.table));
      PLINTH_ASSIGN_OR_RETURN(std::vector<std::string> sql, AlterPolicy(in.after, *table, op.old_policy, op.policy));
      tx(std::move(sql));
      break;
    }
    case OpKind::kInstallSupport: {
      PLINTH_ASSIGN_OR_RETURN(std::vector<std::string> sql, InstallSupport(op.name));
      tx(std::move(sql));
      break;
    }
    case OpKind::kRemoveSupport: {
      PLINTH_ASSIGN_OR_RETURN(std::vector<std::string> sql, RemoveSupport(op.name));
      tx(std::move(sql));
      break;
    }
    case OpKind::kRawSql:
      if (!Trim(op.sql_postgres).empty()) tx({op.sql_postgres});
      break;
  }
  return out;
}

}  // namespace plinth::sql::internal
