// The data runtime (include/plinth/data.h): validation, the statements of each call on each
// database, one batch per call, audit rows, field encryption, output normalisation.
#include <algorithm>
#include <map>
#include <set>

#include <nlohmann/json.hpp>

#include "common/strings.h"
#include "data/policy.h"
#include "data/runtime_internal.h"
#include "data/statements.h"
#include "data/values.h"
#include "plinth/data.h"
#include "sql/internal.h"

namespace plinth::data {
namespace {

using internal::ColInfo;
using internal::Emitter;
using internal::Param;
using internal::PreparedWrite;
using internal::TableInfo;
using internal::Template;
using internal::VFilter;
using internal::VList;
using internal::VOrder;
using schema::TypeKind;

#define PLINTH_CO_RETURN_IF_ERROR(expr)              \
  do {                                               \
    ::plinth::Status plinth_co_status_ = (expr);     \
    if (!plinth_co_status_.ok()) co_return plinth_co_status_; \
  } while (0)

constexpr std::string_view kRedacted = "[redacted]";
constexpr std::string_view kNotFoundState = "P0002";
constexpr std::string_view kAuditColumns =
    "\"tenant_id\", \"principal_kind\", \"user_id\", \"credential_id\", \"action\", \"table_name\", \"row_key\", "
    "\"changes\", \"reason\", \"request_id\", \"ip\", \"user_agent\"";

std::string_view KindName(Principal::Kind k) {
  switch (k) {
    case Principal::Kind::kAnonymous: return "anonymous";
    case Principal::Kind::kUser: return "user";
    case Principal::Kind::kApiKey: return "api_key";
    case Principal::Kind::kSystem: return "system";
  }
  return "anonymous";
}

std::string_view WriteAction(Write::Kind k) {
  switch (k) {
    case Write::Kind::kInsert: return "insert";
    case Write::Kind::kUpsert: return "upsert";
    case Write::Kind::kUpdate: return "update";
    case Write::Kind::kDelete: return "delete";
  }
  return "insert";
}

Status Invalid(const std::string& message, const std::string& object = {}) {
  return Status(Code::kInvalidArgument, message, "", object);
}

Param Opt(const std::string& s) {
  if (s.empty()) return std::nullopt;
  return s;
}

// ---- The audit row --------------------------------------------------------------------------

struct AuditRow {
  Value tenant;
  std::string action;
  std::string table;
  Value row_key;
  std::string changes = "{}";
  Value reason;
};

// The audit insert's values, in kAuditColumns order.
void EmitAuditValues(Emitter& e, const AuditRow& a, const Principal& p, const RequestInfo& r) {
  auto typed = [&](Param v, std::string_view pg_cast) {
    if (e.pg()) {
      e.TextValue(std::move(v));
      // TextValue wrote "::text"; uuid and jsonb need their own cast on top of it.
      if (pg_cast != "text") e.Sql("::").Sql(pg_cast);
    } else {
      e.TextValue(std::move(v));
    }
  };
  typed(a.tenant, "uuid");
  e.Sql(", ");
  typed(std::string(KindName(p.kind)), "text");
  e.Sql(", ");
  typed(Opt(p.user_id), "uuid");
  e.Sql(", ");
  typed(Opt(p.credential_id), "text");
  e.Sql(", ");
  typed(a.action, "text");
  e.Sql(", ");
  typed(a.table, "text");
  e.Sql(", ");
  typed(a.row_key, "text");
  e.Sql(", ");
  typed(a.changes, "jsonb");
  e.Sql(", ");
  typed(a.reason, "text");
  e.Sql(", ");
  typed(Opt(r.request_id), "text");
  e.Sql(", ");
  typed(Opt(r.ip), "text");
  e.Sql(", ");
  typed(Opt(r.user_agent), "text");
}

void EmitAuditInsert(Emitter& e, const AuditRow& a, const Principal& p, const RequestInfo& r) {
  e.Begin();
  e.Sql("INSERT INTO \"plinth_audit\" (").Sql(kAuditColumns).Sql(") VALUES (");
  EmitAuditValues(e, a, p, r);
  e.Sql(")");
}

// ---- Helpers over TableInfo -----------------------------------------------------------------

std::string Q(std::string_view ident) { return db::QuoteIdent(ident); }

const ColInfo& Col(const TableInfo& t, int i) { return t.cols[static_cast<size_t>(i)]; }

std::string IndexKey(const std::vector<int>& cols) {
  std::string out;
  for (int c : cols) out += std::to_string(c) + ",";
  return out;
}

// Associated data of an encrypted value: table, column and the row's primary key.
std::string Aad(const TableInfo& t, const ColInfo& c, const std::vector<Value>& key) {
  std::string aad = t.name;
  aad.push_back('\0');
  aad += c.column->name;
  for (const Value& v : key) {
    aad.push_back('\0');
    if (v) aad += *v;
  }
  return aad;
}

// The row key shown in audit rows: the key without the tenant column; one value as itself,
// several as a JSON object.
std::string RowKeyText(const TableInfo& t, const std::vector<Value>& key) {
  std::vector<std::pair<std::string, Value>> parts;
  for (size_t i = 0; i < t.pk.size(); ++i) {
    if (t.pk[i] == t.tenant_col) continue;
    parts.emplace_back(Col(t, t.pk[i]).column->name, key[i]);
  }
  if (parts.size() == 1) return parts[0].second.value_or("");
  std::string out = "{";
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i) out += ",";
    out += internal::JsonQuote(parts[i].first) + ":" +
           (parts[i].second ? internal::JsonQuote(*parts[i].second) : std::string("null"));
  }
  return out + "}";
}

std::string AuditValue(const ColInfo& c, const Value& v) {
  if (!v) return "null";
  if (c.redacted) return internal::JsonQuote(kRedacted);
  if (c.column->type.kind == TypeKind::kBytes) return internal::JsonQuote("\\x" + HexEncode(*v));
  return internal::JsonQuote(*v);
}

// ---- The runtime ------------------------------------------------------------------------------

class RuntimeImpl final : public Runtime {
 public:
  RuntimeImpl(schema::Schema s, std::unique_ptr<db::Database> db, RuntimeOptions o, std::string head)
      : schema_(std::move(s)),
        db_(std::move(db)),
        admin_db_(std::move(o.admin_database)),
        options_(std::move(o)),
        head_(std::move(head)),
        dialect_(db_->backend() == db::Backend::kPostgres ? expr::Dialect::kPostgres : expr::Dialect::kSqlite) {}

  Status Init();
  asio::awaitable<Status> CheckDatabase();

  const schema::Schema& schema() const override { return schema_; }
  db::Database& database() override { return *db_; }

  asio::awaitable<Result<RowSet>> Get(const Principal& p, const RequestInfo& r, std::string_view table,
                                      std::string_view id, std::vector<std::string> select) override;
  asio::awaitable<Result<ListResult>> List(const Principal& p, const RequestInfo& r, std::string_view table,
                                           ListQuery query) override;
  // (No temporaries inside co_await expressions: g++ 12 may destroy them twice.)
  asio::awaitable<Result<RowSet>> Insert(const Principal& p, const RequestInfo& r, std::string_view table,
                                         Fields fields) override {
    Write w{Write::Kind::kInsert, std::string(table), {}, std::move(fields)};
    Result<RowSet> res = co_await One(p, r, std::move(w));
    co_return res;
  }
  asio::awaitable<Result<RowSet>> Upsert(const Principal& p, const RequestInfo& r, std::string_view table,
                                         Fields fields) override {
    Write w{Write::Kind::kUpsert, std::string(table), {}, std::move(fields)};
    Result<RowSet> res = co_await One(p, r, std::move(w));
    co_return res;
  }
  asio::awaitable<Result<RowSet>> Update(const Principal& p, const RequestInfo& r, std::string_view table,
                                         std::string_view id, Fields fields) override {
    Write w{Write::Kind::kUpdate, std::string(table), std::string(id), std::move(fields)};
    Result<RowSet> res = co_await One(p, r, std::move(w));
    co_return res;
  }
  asio::awaitable<Status> Delete(const Principal& p, const RequestInfo& r, std::string_view table,
                                 std::string_view id) override {
    Write w{Write::Kind::kDelete, std::string(table), std::string(id), {}};
    Result<RowSet> res = co_await One(p, r, std::move(w));
    co_return res.ok() ? Status::Ok() : res.status();
  }
  asio::awaitable<Result<std::vector<RowSet>>> Transact(const Principal& p, const RequestInfo& r,
                                                        std::vector<Write> writes) override {
    Value no_reason;
    Result<std::vector<RowSet>> res = co_await RunWrites(p, r, std::move(writes), /*admin=*/false, std::move(no_reason));
    co_return res;
  }
  asio::awaitable<Result<ListResult>> AdminList(const Principal& admin, const RequestInfo& r, std::string_view reason,
                                                std::string_view table, ListQuery query) override;
  asio::awaitable<Result<std::vector<RowSet>>> AdminTransact(const Principal& admin, const RequestInfo& r,
                                                             std::string_view reason,
                                                             std::vector<Write> writes) override {
    PLINTH_CO_RETURN_IF_ERROR(CheckAdmin(admin, reason));
    Value why = std::string(reason);
    Result<std::vector<RowSet>> res = co_await RunWrites(admin, r, std::move(writes), /*admin=*/true, std::move(why));
    co_return res;
  }
  asio::awaitable<Health> CheckHealth(db::Clock::time_point deadline) override;

 private:
  bool pg() const { return dialect_ == expr::Dialect::kPostgres; }

  Result<const TableInfo*> FindTable(std::string_view name) const {
    auto it = tables_.find(name);
    if (it == tables_.end()) return Invalid("no table " + std::string(name) + " in the schema", std::string(name));
    return &it->second;
  }

  Status CheckPrincipal(const Principal& p) const;
  Status CheckAdmin(const Principal& admin, std::string_view reason) const;
  Status PolicyError(const TableInfo& t, bool admin) const {
    if (admin || pg() || t.policies == nullptr || !t.policies->enabled) return Status::Ok();
    return t.policies->error;
  }

  Result<std::vector<int>> PlanSelect(const TableInfo& t, const std::vector<std::string>& select, bool& secret) const;
  static std::vector<int> WithKey(const TableInfo& t, std::vector<int> cols);

  Result<PreparedWrite> Prepare(const Principal& p, const Write& w, bool admin) const;
  Status PrepareList(const Principal& p, const TableInfo& t, ListQuery&& q, bool admin, VList& out) const;
  Status PrepareFilter(const TableInfo& t, const Filter& f, VFilter& out, std::string& shape, int depth) const;

  // Statement building.
  void EmitClaims(std::vector<db::Stmt>& out, const Principal& p) const;
  void EmitTenant(Emitter& e, const TableInfo& t, bool admin, const Principal& p, bool& first) const;
  void EmitQuals(Emitter& e, const std::string& quals, bool& first) const;
  void EmitFilter(Emitter& e, const TableInfo& t, const VFilter& f) const;
  void EmitKeyset(Emitter& e, const TableInfo& t, const VList& q) const;
  std::string OrderExpr(const TableInfo& t, int col) const;
  void EmitWrite(Emitter& e, const PreparedWrite& w, const Principal& p, const RequestInfo& r, const Value& reason,
                 std::vector<size_t>& result_statements) const;
  void EmitDerivedRow(Emitter& e, const PreparedWrite& w, bool from_existing) const;
  void EmitSelect(Emitter& e, const VList& q, const Principal& p, bool admin) const;

  // Runs builders through the template cache and appends bound statements.
  template <typename Build>
  void Append(const std::string& key, std::vector<db::Stmt>& out, const Principal& p, Build&& build) const;

  Result<RowSet> ToRowSet(const TableInfo& t, const std::vector<int>& fetch, const std::vector<int>& out,
                          const std::vector<db::Row>& rows, std::vector<std::vector<Value>>* canonical = nullptr) const;
  asio::awaitable<Status> MapFailure(const db::BatchOutcome& o, const std::vector<const PreparedWrite*>& by_statement,
                                     const Principal& p);
  asio::awaitable<Result<RowSet>> One(const Principal& p, const RequestInfo& r, Write w) {
    std::vector<Write> ws;
    ws.push_back(std::move(w));
    Value no_reason;
    Result<std::vector<RowSet>> res = co_await RunWrites(p, r, std::move(ws), false, std::move(no_reason));
    if (!res.ok()) co_return res.status();
    RowSet first = std::move(res->front());
    co_return first;
  }
  asio::awaitable<Result<std::vector<RowSet>>> RunWrites(const Principal& p, const RequestInfo& r,
                                                         std::vector<Write> writes, bool admin, Value reason);
  asio::awaitable<Result<ListResult>> RunList(const Principal& p, const RequestInfo& r, std::string_view table,
                                              ListQuery query, bool admin, Value reason);

  schema::Schema schema_;
  std::unique_ptr<db::Database> db_;
  std::unique_ptr<db::Database> admin_db_;
  RuntimeOptions options_;
  std::string head_;
  expr::Dialect dialect_;
  internal::Policies policies_;
  std::map<std::string, TableInfo, std::less<>> tables_;
  mutable internal::TemplateCache cache_;
  // PostgreSQL: the principal's settings that some policy of the schema reads (the tenant's
  // always: the tenant policies and the runtime's own tenant condition). A setting no policy
  // reads is not sent; set_config(…, true) is transaction-local, so an unsent one reads as
  // unset (NULL), never as another principal's. Each set_config costs the server ~3 µs.
  struct UsedClaims {
    bool user = false, role = false, roles = false, permissions = false;
  } used_claims_;
  std::string claims_sql_;  // the one set_config statement of kSetConfig
};

// ---- Open ---------------------------------------------------------------------------------------

Status RuntimeImpl::Init() {
  PLINTH_ASSIGN_OR_RETURN(policies_, internal::Policies::Compile(schema_));
  // Policies are stored in canonical form (expr::Canonical), which prints each call as its
  // name followed by "(".
  for (const schema::Table& t : schema_.tables) {
    for (const schema::Policy& pol : t.policies) {
      const std::string text = ToLower(pol.using_expr + " " + pol.check_expr);
      used_claims_.user = used_claims_.user || text.find("auth.user_id(") != std::string::npos;
      used_claims_.role = used_claims_.role || text.find("auth.role(") != std::string::npos;
      used_claims_.roles = used_claims_.roles || text.find("auth.has_role(") != std::string::npos;
      used_claims_.permissions = used_claims_.permissions || text.find("auth.has_permission(") != std::string::npos;
    }
  }
  claims_sql_ = "SELECT set_config('plinth.tenant_id', $1, true)";
  int next_param = 2;
  auto add_claim = [&](bool used, const char* setting) {
    if (!used) return;
    claims_sql_ += std::string(", set_config('plinth.") + setting + "', $" + std::to_string(next_param++) + ", true)";
  };
  add_claim(used_claims_.user, "user_id");
  add_claim(used_claims_.role, "role");
  add_claim(used_claims_.roles, "roles");
  add_claim(used_claims_.permissions, "permissions");
  for (const schema::Table& t : schema_.tables) {
    TableInfo info;
    info.table = &t;
    info.name = t.name;
    info.quoted = Q(t.name);
    const schema::Constraint* pk = t.PrimaryKey();
    for (size_t i = 0; i < t.columns.size(); ++i) {
      const schema::Column& c = t.columns[i];
      ColInfo ci;
      ci.column = &c;
      ci.index = static_cast<int>(i);
      ci.stored_bytes = c.encrypted || c.type.kind == TypeKind::kBytes;
      ci.write_only = c.access == schema::Access::kWriteOnly;
      ci.returned = c.access == schema::Access::kReadWrite || c.access == schema::Access::kReadOnly;
      ci.redacted = c.encrypted || c.access == schema::Access::kHidden || c.access == schema::Access::kWriteOnly;
      ci.nullable = !sql::internal::ColumnNotNull(t, c);
      ci.has_default = c.default_value.kind != schema::DefaultKind::kNone;
      info.by_name[c.name] = ci.index;
      if (ci.returned) info.default_select.push_back(ci.index);
      if (c.encrypted) info.has_encrypted = true;
      info.cols.push_back(ci);
    }
    if (t.options.tenant_scoped) {
      auto it = info.by_name.find(schema_.app.tenant_column);
      if (it != info.by_name.end()) info.tenant_col = it->second;
    }
    if (pk != nullptr) {
      for (const auto& name : pk->columns) {
        auto it = info.by_name.find(name);
        if (it == info.by_name.end()) return Status(Code::kInternal, "primary key of " + t.name + " names " + name);
        info.pk.push_back(it->second);
        if (name == "id") info.id_col = it->second;
      }
    }
    if (info.id_col >= 0) {
      const schema::Column& id = *Col(info, info.id_col).column;
      info.id_generated = id.type.kind == TypeKind::kUuid;
    }
    info.timestamps = t.options.timestamps;
    if (auto it = info.by_name.find("updated_at"); it != info.by_name.end()) info.updated_at_col = it->second;
    info.policies = &policies_.For(t.name);
    if (info.has_encrypted && options_.cipher == nullptr) {
      return Status(Code::kInvalidArgument, "table " + t.name +
                                                " has encrypted columns: RuntimeOptions::cipher is required "
                                                "(a FieldCipher over the keyring)");
    }
    if (info.has_encrypted && info.pk.empty()) {
      return Status(Code::kInvalidArgument,
                    "table " + t.name + " has encrypted columns but no primary key to bind them to");
    }
    tables_.emplace(t.name, std::move(info));
  }
  if (options_.max_list_limit < 1) return Invalid("max_list_limit must be at least 1");
  return Status::Ok();
}

asio::awaitable<Status> RuntimeImpl::CheckDatabase() {
  const auto deadline = db::Clock::now() + std::chrono::seconds(30);
  if (!pg()) {
    db::Batch b;
    b.statements.push_back({"SELECT count(*) FROM \"plinth_audit\" WHERE 0", {}});
    db::BatchOutcome o = co_await db_->Run(std::move(b), deadline);
    if (!o.status.ok()) {
      co_return Status(Code::kFailedPrecondition,
                       "the database has no audit table plinth_audit: apply the migrations (plinth migrate up) "
                       "before starting the runtime (" + o.status.message() + ")");
    }
    co_return Status::Ok();
  }
  auto role_check = [](db::Database& db, db::Clock::time_point deadline) -> asio::awaitable<Result<db::BatchOutcome>> {
    db::Batch b;
    b.statements.push_back(
        {"SELECT r.rolname, r.rolsuper, r.rolbypassrls, "
         "EXISTS (SELECT 1 FROM pg_catalog.pg_roles o WHERE (o.rolsuper OR o.rolbypassrls) AND o.oid <> r.oid "
         "AND pg_catalog.pg_has_role(r.oid, o.oid, 'MEMBER')), "
         "(SELECT string_agg(c.relname, ', ' ORDER BY c.relname) FROM pg_catalog.pg_class c "
         "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' "
         "AND c.relkind IN ('r', 'p') AND pg_catalog.pg_has_role(r.oid, c.relowner, 'USAGE')) "
         "FROM pg_catalog.pg_roles r WHERE r.rolname = current_user",
         {}});
    b.statements.push_back(
        {"SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity FROM pg_catalog.pg_class c "
         "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' "
         "AND c.relkind IN ('r', 'p')",
         {}});
    db::BatchOutcome o = co_await db.Run(std::move(b), deadline);
    if (!o.status.ok()) co_return o.status.WithContext("checking the connected role");
    co_return o;
  };
  auto is_true = [](const Value& v) { return v && (*v == "t" || *v == "true"); };

  auto main = co_await role_check(*db_, deadline);
  if (!main.ok()) co_return main.status();
  const db::StmtResult& role = main->results[0];
  if (role.rows.empty()) co_return Status(Code::kInternal, "current_user is not in pg_roles");
  const db::Row& rr = role.rows[0];
  const std::string name = rr[0].value_or("");
  if (options_.require_unprivileged_role) {
    std::string why;
    if (is_true(rr[1])) why = "is a superuser";
    else if (is_true(rr[2])) why = "has BYPASSRLS";
    else if (is_true(rr[3])) why = "is a member of a superuser or BYPASSRLS role";
    else if (rr[4] && !rr[4]->empty()) why = "owns tables (" + *rr[4] + ")";
    if (!why.empty()) {
      co_return Status(Code::kFailedPrecondition,
                       "the runtime connects as role " + name + ", which " + why +
                           ": row policies would not bind it. Connect as the runtime role that plinth roles "
                           "creates (not superuser, no BYPASSRLS, owns nothing)");
    }
  }
  if (options_.require_forced_row_security) {
    std::map<std::string, std::pair<bool, bool>> seen;
    for (const db::Row& row : main->results[1].rows) {
      seen[row[0].value_or("")] = {is_true(row[1]), is_true(row[2])};
    }
    if (!seen.count(std::string(schema::kAuditTable))) {
      co_return Status(Code::kFailedPrecondition,
                       "the database has no audit table plinth_audit: apply the migrations (plinth migrate up)");
    }
    for (const schema::Table& t : schema_.tables) {
      auto it = seen.find(t.name);
      if (it == seen.end()) {
        co_return Status(Code::kFailedPrecondition,
                         "table " + t.name + " is missing from the database: apply the migrations (plinth migrate up)");
      }
      if (t.options.row_security && !(it->second.first && it->second.second)) {
        co_return Status(Code::kFailedPrecondition,
                         "table " + t.name + " does not have ENABLE and FORCE ROW LEVEL SECURITY: its policies "
                                             "are not enforced; check with plinth check and re-apply the migrations");
      }
    }
  }
  if (admin_db_) {
    auto admin = co_await role_check(*admin_db_, deadline);
    if (!admin.ok()) co_return admin.status().WithContext("admin database");
    const db::StmtResult& ar = admin->results[0];
    if (ar.rows.empty()) co_return Status(Code::kInternal, "current_user is not in pg_roles (admin database)");
    const db::Row& a = ar.rows[0];
    const std::string admin_name = a[0].value_or("");
    if (!is_true(a[2]) && !is_true(a[1])) {
      co_return Status(Code::kFailedPrecondition, "the admin database connects as role " + admin_name +
                                                      ", which has no BYPASSRLS: it cannot bypass the tenant policies");
    }
    if (options_.require_unprivileged_role && (is_true(a[1]) || (a[4] && !a[4]->empty()))) {
      co_return Status(Code::kFailedPrecondition,
                       "the admin database connects as role " + admin_name +
                           ", which is a superuser or owns tables: use the BYPASSRLS admin role of plinth roles");
    }
    if (admin_name == name) {
      co_return Status(Code::kFailedPrecondition, "the admin database and the runtime use the same role " + name);
    }
  }
  co_return Status::Ok();
}

// ---- Validation ---------------------------------------------------------------------------------

Status RuntimeImpl::CheckPrincipal(const Principal& p) const {
  if (!p.tenant_id.empty()) {
    auto t = internal::CanonicalUuidText(p.tenant_id);
    if (!t.ok() || *t != p.tenant_id) return Invalid("principal tenant_id must be a canonical lower-case uuid");
  }
  if (!p.user_id.empty()) {
    auto u = internal::CanonicalUuidText(p.user_id);
    if (!u.ok() || *u != p.user_id) return Invalid("principal user_id must be a canonical lower-case uuid");
  }
  auto listed = [](const std::vector<std::string>& v, std::string_view what) -> Status {
    for (const auto& s : v) {
      if (s.empty() || s.find(',') != std::string::npos || !internal::IsValidText(s)) {
        return Invalid("principal " + std::string(what) + " '" + s + "' must be non-empty text without ','");
      }
    }
    return Status::Ok();
  };
  PLINTH_RETURN_IF_ERROR(listed(p.roles, "role"));
  PLINTH_RETURN_IF_ERROR(listed(p.permissions, "permission"));
  if (!internal::IsValidText(p.role)) return Invalid("principal role must be UTF-8 text");
  return Status::Ok();
}

Status RuntimeImpl::CheckAdmin(const Principal& admin, std::string_view reason) const {
  PLINTH_RETURN_IF_ERROR(CheckPrincipal(admin));
  if (Trim(reason).empty()) return Invalid("the admin bypass needs a reason: it is written to the audit log", "reason");
  if (admin.user_id.empty() && admin.credential_id.empty()) {
    return Invalid("the admin bypass needs a principal with a user_id or credential_id: the audit row names who");
  }
  if (pg() && !admin_db_) {
    return Status(Code::kFailedPrecondition,
                  "the admin bypass is not configured: RuntimeOptions::admin_database must be a pool connected as "
                  "the BYPASSRLS admin role (plinth roles --admin-role)");
  }
  return Status::Ok();
}

std::vector<int> RuntimeImpl::WithKey(const TableInfo& t, std::vector<int> cols) {
  for (int k : t.pk) {
    if (std::find(cols.begin(), cols.end(), k) == cols.end()) cols.push_back(k);
  }
  return cols;
}

Result<std::vector<int>> RuntimeImpl::PlanSelect(const TableInfo& t, const std::vector<std::string>& select,
                                                 bool& secret) const {
  std::vector<int> out;
  if (select.empty()) {
    out = t.default_select;
  } else {
    for (const std::string& name : select) {
      const ColInfo* c = t.Find(name);
      if (c == nullptr) return Invalid("table " + t.name + " has no column " + name, name);
      if (c->write_only) return Invalid("column " + name + " of " + t.name + " is write-only: it is never returned", name);
      if (std::find(out.begin(), out.end(), c->index) != out.end()) {
        return Invalid("column " + name + " is selected twice", name);
      }
      out.push_back(c->index);
    }
  }
  secret = false;
  for (int c : out) secret = secret || Col(t, c).column->encrypted;
  return out;
}

Result<PreparedWrite> RuntimeImpl::Prepare(const Principal& p, const Write& w, bool admin) const {
  PLINTH_ASSIGN_OR_RETURN(const TableInfo* tp, FindTable(w.table));
  const TableInfo& t = *tp;
  PLINTH_RETURN_IF_ERROR(PolicyError(t, admin));
  PreparedWrite pw;
  pw.kind = w.kind;
  pw.table = &t;
  pw.admin = admin;
  const bool keyed = w.kind == Write::Kind::kUpdate || w.kind == Write::Kind::kDelete;
  if (keyed && t.id_col < 0) {
    return Invalid("table " + t.name + " has no id column in its key: update and delete by id are not possible", t.name);
  }
  if (t.tenant_scoped() && p.tenant_id.empty() && !admin) {
    return Status(Code::kPermissionDenied, "no tenant context: table " + t.name +
                                               " belongs to tenants and the principal has none");
  }
  pw.tenant = Opt(p.tenant_id);

  std::set<int> seen;
  for (const auto& [name, value] : w.fields) {
    const ColInfo* c = t.Find(name);
    if (c == nullptr) return Invalid("table " + t.name + " has no column " + name, name);
    if (!seen.insert(c->index).second) return Invalid("field " + name + " is given twice", name);
    if (w.kind == Write::Kind::kUpdate && std::find(t.pk.begin(), t.pk.end(), c->index) != t.pk.end() &&
        c->index != t.tenant_col) {
      return Invalid("field " + name + " is part of the primary key of " + t.name + " and cannot be updated", name);
    }
    Value v;
    if (value) {
      PLINTH_ASSIGN_OR_RETURN(std::string canon, internal::CanonicalInput(schema_, *c->column, *value));
      v = std::move(canon);
    } else if (!c->nullable) {
      return Invalid("field " + name + " cannot be null", name);
    }
    pw.fields.emplace_back(c->index, std::move(v));
  }
  if (w.kind == Write::Kind::kDelete && !w.fields.empty()) return Invalid("a delete takes no fields");

  if (keyed) {
    PLINTH_ASSIGN_OR_RETURN(std::string id, internal::CanonicalInput(schema_, *Col(t, t.id_col).column, w.id));
    pw.id = id;
    if (t.tenant_scoped()) {
      const Value* tv = pw.FieldValue(t.tenant_col);
      // An admin write names the row's tenant in the fields or through its own tenant.
      if (admin && tv != nullptr && w.kind == Write::Kind::kDelete) pw.tenant = *tv;
    }
    for (int k : t.pk) {
      if (k == t.id_col) pw.key.push_back(pw.id);
      else if (k == t.tenant_col) pw.key.push_back(pw.tenant);
      else pw.key.push_back(std::nullopt);
    }
  } else {
    if (t.tenant_scoped()) {
      const Value* tv = pw.FieldValue(t.tenant_col);
      if (tv == nullptr) {
        if (!pw.tenant) {
          return Invalid("field " + Col(t, t.tenant_col).column->name + " is required: the admin bypass has no tenant",
                         Col(t, t.tenant_col).column->name);
        }
        pw.fields.emplace(pw.fields.begin(), t.tenant_col, pw.tenant);
      } else if (admin) {
        pw.tenant = *tv;
      }
    }
    for (int k : t.pk) {
      if (pw.FieldValue(k) != nullptr) continue;
      if (Col(t, k).column->type.kind == TypeKind::kUuid) {
        pw.fields.emplace_back(k, internal::NewUuid());
      } else {
        return Invalid("field " + Col(t, k).column->name + " (primary key) is required", Col(t, k).column->name);
      }
    }
    for (const ColInfo& c : t.cols) {
      if (!c.nullable && !c.has_default && pw.FieldValue(c.index) == nullptr) {
        return Invalid("field " + c.column->name + " is required", c.column->name);
      }
    }
    for (int k : t.pk) pw.key.push_back(*pw.FieldValue(k));
  }
  pw.row_key = RowKeyText(t, pw.key);

  // Audit changes (before encryption: redaction does not depend on the ciphertext).
  // Written directly in jsonb's normal form (what CanonicalJson would make of it): keys by
  // length, then bytes; every value is a JSON string or null, already in canonical quoting.
  std::vector<std::pair<std::string_view, std::string>> members;
  members.reserve(pw.fields.size());
  for (const auto& [c, v] : pw.fields) members.emplace_back(Col(t, c).column->name, AuditValue(Col(t, c), v));
  std::stable_sort(members.begin(), members.end(), [](const auto& a, const auto& b) {
    return a.first.size() != b.first.size() ? a.first.size() < b.first.size() : a.first < b.first;
  });
  std::string changes = "{";
  for (size_t i = 0; i < members.size(); ++i) {
    if (i + 1 < members.size() && members[i + 1].first == members[i].first) continue;  // the last one wins
    if (changes.size() > 1) changes += ",";
    changes += internal::JsonQuote(members[i].first);
    changes += ":";
    changes += members[i].second;
  }
  changes += "}";
  pw.changes = std::move(changes);

  for (auto& [c, v] : pw.fields) {
    const ColInfo& ci = Col(t, c);
    if (!ci.column->encrypted || !v) continue;
    PLINTH_ASSIGN_OR_RETURN(std::string blob, options_.cipher->Encrypt(*v, Aad(t, ci, pw.key)));
    v = std::move(blob);
  }

  if (w.kind != Write::Kind::kDelete) {
    pw.out = t.default_select;
    pw.fetch = pw.out;
    bool secret = false;
    for (int c : pw.out) secret = secret || Col(t, c).column->encrypted;
    if (secret) pw.fetch = WithKey(t, pw.fetch);
  }
  std::vector<int> provided;
  for (const auto& [c, v] : pw.fields) provided.push_back(c);
  pw.shape = std::to_string(static_cast<int>(w.kind)) + "|" + t.name + "|" + IndexKey(provided) + "|" +
             (admin ? "a" : "p") + (pw.tenant ? "t" : "n");
  return pw;
}

Status RuntimeImpl::PrepareFilter(const TableInfo& t, const Filter& f, VFilter& out, std::string& shape,
                                  int depth) const {
  constexpr int kMaxFilterDepth = 32;
  if (depth > kMaxFilterDepth) return Invalid("the filter is nested too deeply");
  out.kind = f.kind;
  shape += std::to_string(static_cast<int>(f.kind));
  switch (f.kind) {
    case Filter::Kind::kAll: return Status::Ok();
    case Filter::Kind::kAnd:
    case Filter::Kind::kOr:
    case Filter::Kind::kNot: {
      if (f.kind == Filter::Kind::kNot && f.children.size() != 1) return Invalid("not takes exactly one condition");
      shape += "(";
      for (const Filter& c : f.children) {
        out.children.emplace_back();
        PLINTH_RETURN_IF_ERROR(PrepareFilter(t, c, out.children.back(), shape, depth + 1));
        shape += ",";
      }
      shape += ")";
      return Status::Ok();
    }
    case Filter::Kind::kCondition: break;
  }
  const ColInfo* c = t.Find(f.column);
  if (c == nullptr) return Invalid("table " + t.name + " has no column " + f.column, f.column);
  out.col = c->index;
  out.op = f.op;
  shape += ":" + std::to_string(c->index) + ":" + std::to_string(static_cast<int>(f.op));
  const schema::Column& col = *c->column;
  const TypeKind k = col.type.kind;
  auto no_values = [&]() -> Status {
    if (!f.values.empty()) return Invalid("filter on " + f.column + ": this operator takes no value", f.column);
    return Status::Ok();
  };
  switch (f.op) {
    case FilterOp::kIsNull:
    case FilterOp::kIsNotNull: return no_values();
    case FilterOp::kIsTrue:
    case FilterOp::kIsFalse:
      if (k != TypeKind::kBoolean || col.encrypted) {
        return Invalid("filter on " + f.column + ": is true / is false need a boolean column", f.column);
      }
      return no_values();
    default: break;
  }
  if (col.encrypted) return Invalid("column " + f.column + " is encrypted: it can only be tested for null", f.column);
  if (k == TypeKind::kJson || k == TypeKind::kBytes) {
    return Invalid("column " + f.column + " (" + col.type.ToString() + ") can only be tested for null", f.column);
  }
  const bool ranged = f.op == FilterOp::kGt || f.op == FilterOp::kGe || f.op == FilterOp::kLt || f.op == FilterOp::kLe;
  if (ranged && k == TypeKind::kBoolean) return Invalid("filter on " + f.column + ": booleans have no order", f.column);
  auto enum_ordinal = [&](const std::string& v) -> int64_t {
    const schema::Enum* e = schema_.FindEnum(col.type.enum_name);
    return std::find(e->values.begin(), e->values.end(), v) - e->values.begin();
  };
  if (f.op == FilterOp::kLike || f.op == FilterOp::kILike) {
    if (k != TypeKind::kText) return Invalid("filter on " + f.column + ": like needs a text column", f.column);
    if (f.values.size() != 1) return Invalid("filter on " + f.column + ": like takes one pattern", f.column);
    const std::string& pat = f.values[0];
    if (!internal::IsValidText(pat)) return Invalid("filter on " + f.column + ": the pattern is not UTF-8 text", f.column);
    size_t backslashes = 0;
    for (size_t i = pat.size(); i > 0 && pat[i - 1] == '\\'; --i) ++backslashes;
    if (backslashes % 2 == 1) {
      return Invalid("filter on " + f.column + ": the pattern must not end with the escape character \\", f.column);
    }
    if (pg() || f.op == FilterOp::kILike) out.values.push_back(pat);
    else out.values.push_back(internal::LikeToGlob(pat));
    return Status::Ok();
  }
  if (f.op == FilterOp::kIn) {
    std::vector<std::string> canon;
    for (const std::string& v : f.values) {
      PLINTH_ASSIGN_OR_RETURN(std::string cv, internal::CanonicalInput(schema_, col, v));
      canon.push_back(std::move(cv));
    }
    std::string bound;
    if (pg()) {
      bound = "{";
      for (size_t i = 0; i < canon.size(); ++i) {
        if (i) bound += ",";
        bound += "\"";
        for (char ch : canon[i]) {
          if (ch == '"' || ch == '\\') bound.push_back('\\');
          bound.push_back(ch);
        }
        bound += "\"";
      }
      bound += "}";
    } else {
      bound = "[";
      for (size_t i = 0; i < canon.size(); ++i) {
        if (i) bound += ",";
        if (k == TypeKind::kInteger || k == TypeKind::kBigint || k == TypeKind::kDecimal) bound += canon[i];
        else if (k == TypeKind::kBoolean) bound += canon[i] == "true" ? "1" : "0";
        else bound += internal::JsonQuote(canon[i]);
      }
      bound += "]";
    }
    out.values.push_back(std::move(bound));
    return Status::Ok();
  }
  if (f.values.size() != 1) return Invalid("filter on " + f.column + ": the comparison takes one value", f.column);
  PLINTH_ASSIGN_OR_RETURN(std::string v, internal::CanonicalInput(schema_, col, f.values[0]));
  if (!pg() && k == TypeKind::kEnum && ranged) {
    out.values.push_back(std::to_string(enum_ordinal(v)));
  } else {
    out.values.push_back(internal::BindText(dialect_, col, false, v));
  }
  return Status::Ok();
}

// The keyset cursor: base64url of {"v":1,"t":table,"o":["col:a|d:f|l",…],"k":[values]}.
std::string OrderSpec(const TableInfo& t, const std::vector<VOrder>& order) {
  std::string s;
  for (const VOrder& o : order) {
    s += Col(t, o.col).column->name + (o.descending ? ":d" : ":a") + (o.nulls_first ? ":f" : ":l") + ";";
  }
  return s;
}

Status RuntimeImpl::PrepareList(const Principal& p, const TableInfo& t, ListQuery&& q, bool admin, VList& out) const {
  (void)p;
  PLINTH_RETURN_IF_ERROR(PolicyError(t, admin));
  out.table = &t;
  if (q.limit < 1 || q.limit > options_.max_list_limit) {
    return Invalid("limit must be between 1 and " + std::to_string(options_.max_list_limit), "limit");
  }
  if (q.offset < 0) return Invalid("offset must not be negative", "offset");
  out.limit = q.limit;
  out.offset = q.offset;
  out.count = q.count_exact;
  std::string shape = t.name + "|";
  PLINTH_RETURN_IF_ERROR(PrepareFilter(t, q.where, out.where, shape, 0));
  std::set<int> ordered;
  for (const OrderBy& o : q.order) {
    const ColInfo* c = t.Find(o.column);
    if (c == nullptr) return Invalid("table " + t.name + " has no column " + o.column, o.column);
    const TypeKind k = c->column->type.kind;
    if (c->column->encrypted || k == TypeKind::kJson || k == TypeKind::kBytes) {
      return Invalid("column " + o.column + " cannot be ordered by", o.column);
    }
    if (!ordered.insert(c->index).second) return Invalid("column " + o.column + " is ordered by twice", o.column);
    VOrder vo;
    vo.col = c->index;
    vo.descending = o.descending;
    vo.nulls_first = o.nulls_first.value_or(o.descending);  // PostgreSQL's default
    out.order.push_back(vo);
  }
  if (t.pk.empty()) return Invalid("table " + t.name + " has no primary key to page by");
  for (int k : t.pk) {
    if (ordered.count(k)) continue;
    out.order.push_back(VOrder{k, false, false});
  }
  bool secret = false;
  PLINTH_ASSIGN_OR_RETURN(out.out, PlanSelect(t, q.select, secret));
  out.secret = secret;
  out.fetch = out.out;
  for (const VOrder& o : out.order) {
    if (std::find(out.fetch.begin(), out.fetch.end(), o.col) == out.fetch.end()) out.fetch.push_back(o.col);
  }
  if (secret) out.fetch = WithKey(t, out.fetch);

  std::string null_pattern;
  if (!q.after.empty()) {
    auto raw = internal::Base64UrlDecode(q.after);
    nlohmann::json j;
    bool ok = raw.has_value();
    if (ok) {
      j = nlohmann::json::parse(*raw, nullptr, /*allow_exceptions=*/false);
      ok = j.is_object() && j.value("v", 0) == 1 && j.contains("t") && j["t"].is_string() &&
           j["t"].get<std::string>() == t.name && j.contains("o") && j["o"].is_string() &&
           j["o"].get<std::string>() == OrderSpec(t, out.order) && j.contains("k") && j["k"].is_array() &&
           j["k"].size() == out.order.size();
    }
    if (!ok) return Invalid("the cursor does not belong to this list (table, order) or is malformed", "after");
    for (size_t i = 0; i < out.order.size(); ++i) {
      const nlohmann::json& v = j["k"][i];
      const ColInfo& c = Col(t, out.order[i].col);
      if (v.is_null()) {
        if (!c.nullable) return Invalid("the cursor is malformed", "after");
        out.cursor.push_back(std::nullopt);
        null_pattern += "n";
        continue;
      }
      if (!v.is_string()) return Invalid("the cursor is malformed", "after");
      auto cv = internal::CanonicalInput(schema_, *c.column, v.get<std::string>());
      if (!cv.ok()) return Invalid("the cursor is malformed", "after");
      out.cursor.push_back(std::move(cv).value());
      null_pattern += "v";
    }
    out.has_cursor = true;
  }
  shape += "|" + OrderSpec(t, out.order) + "|" + null_pattern + "|" + IndexKey(out.fetch) + "|" +
           (out.count ? "c" : "") + (q.offset > 0 ? "o" : "") + (admin ? "a" : "p");
  out.shape = std::move(shape);
  return Status::Ok();
}

// ---- Statement building -----------------------------------------------------------------------

template <typename Build>
void RuntimeImpl::Append(const std::string& key, std::vector<db::Stmt>& out, const Principal& p,
                         Build&& build) const {
  std::shared_ptr<const std::vector<Template>> templates = cache_.Find(key);
  Emitter e(dialect_, templates == nullptr);
  build(e);
  if (templates == nullptr) {
    auto built = std::make_shared<const std::vector<Template>>(e.TakeTemplates());
    cache_.Put(key, built);
    templates = built;
  }
  for (size_t i = 0; i < templates->size(); ++i) {
    out.push_back(db::Stmt{(*templates)[i].sql, internal::Bind((*templates)[i], e.values()[i], policies_, p)});
  }
}

void RuntimeImpl::EmitClaims(std::vector<db::Stmt>& out, const Principal& p) const {
  if (!pg()) return;
  const UsedClaims& u = used_claims_;
  if (options_.context == ContextStrategy::kSetConfig) {
    db::Params params;
    params.reserve(5);
    params.push_back(p.tenant_id);
    if (u.user) params.push_back(p.user_id);
    if (u.role) params.push_back(p.role);
    if (u.roles) params.push_back(Join(p.roles, ","));
    if (u.permissions) params.push_back(Join(p.permissions, ","));
    out.push_back({claims_sql_, std::move(params)});
    return;
  }
  // SET LOCAL takes no parameters: the values are validated (uuids; names without ',') and
  // quoted as literals.
  out.push_back({"BEGIN", {}});
  out.push_back({"SET LOCAL plinth.tenant_id = " + db::QuoteLiteral(p.tenant_id), {}});
  if (u.user) out.push_back({"SET LOCAL plinth.user_id = " + db::QuoteLiteral(p.user_id), {}});
  if (u.role) out.push_back({"SET LOCAL plinth.role = " + db::QuoteLiteral(p.role), {}});
  if (u.roles) out.push_back({"SET LOCAL plinth.roles = " + db::QuoteLiteral(Join(p.roles, ",")), {}});
  if (u.permissions) {
    out.push_back({"SET LOCAL plinth.permissions = " + db::QuoteLiteral(Join(p.permissions, ",")), {}});
  }
}

void RuntimeImpl::EmitTenant(Emitter& e, const TableInfo& t, bool admin, const Principal& p, bool& first) const {
  if (!t.tenant_scoped()) return;
  if (admin && p.tenant_id.empty()) return;  // the admin bypass across tenants
  e.Sql(first ? " WHERE " : " AND ");
  first = false;
  e.Ident(Col(t, t.tenant_col).column->name).Sql(" = ");
  e.ClaimParam(internal::kTenantClaim, &policies_);
}

void RuntimeImpl::EmitQuals(Emitter& e, const std::string& quals, bool& first) const {
  e.Sql(first ? " WHERE (" : " AND (");
  first = false;
  e.Pred(quals, &policies_);
  e.Sql(")");
}

std::string RuntimeImpl::OrderExpr(const TableInfo& t, int col) const {
  const schema::Column& c = *Col(t, col).column;
  const std::string name = Q(c.name);
  if (pg()) return c.type.kind == TypeKind::kText ? name + " COLLATE \"C\"" : name;
  if (c.type.kind == TypeKind::kEnum) {
    const schema::Enum* e = schema_.FindEnum(c.type.enum_name);
    std::string out = "CASE " + name;
    for (size_t i = 0; i < e->values.size(); ++i) {
      out += " WHEN " + db::QuoteLiteral(e->values[i]) + " THEN " + std::to_string(i);
    }
    return out + " END";
  }
  return name;
}

void RuntimeImpl::EmitFilter(Emitter& e, const TableInfo& t, const VFilter& f) const {
  const std::string kTrue = pg() ? "TRUE" : "1";
  const std::string kFalse = pg() ? "FALSE" : "0";
  switch (f.kind) {
    case Filter::Kind::kAll: e.Sql(kTrue); return;
    case Filter::Kind::kAnd:
    case Filter::Kind::kOr: {
      if (f.children.empty()) {
        e.Sql(f.kind == Filter::Kind::kAnd ? kTrue : kFalse);
        return;
      }
      e.Sql("(");
      for (size_t i = 0; i < f.children.size(); ++i) {
        if (i) e.Sql(f.kind == Filter::Kind::kAnd ? " AND " : " OR ");
        EmitFilter(e, t, f.children[i]);
      }
      e.Sql(")");
      return;
    }
    case Filter::Kind::kNot:
      e.Sql("(NOT ");
      EmitFilter(e, t, f.children[0]);
      e.Sql(")");
      return;
    case Filter::Kind::kCondition: break;
  }
  const ColInfo& c = Col(t, f.col);
  const schema::Column& col = *c.column;
  const std::string name = e.text() ? Q(col.name) : std::string();
  auto value = [&]() { e.ColumnValue(c, f.values[0]); };
  auto cmp = [&](std::string_view op) {
    const bool ranged = op != "=" && op != "<>";
    if (ranged && !pg() && col.type.kind == TypeKind::kEnum) {
      e.Sql("(").Lazy([&] { return OrderExpr(t, f.col); }).Sql(" ").Sql(op).Sql(" ");
      e.IntValue(std::stoll(*f.values[0]));
      e.Sql(")");
      return;
    }
    e.Sql("(").Lazy([&] { return ranged ? OrderExpr(t, f.col) : name; }).Sql(" ").Sql(op).Sql(" ");
    value();
    e.Sql(")");
  };
  switch (f.op) {
    case FilterOp::kEq: cmp("="); return;
    case FilterOp::kNe: cmp("<>"); return;
    case FilterOp::kGt: cmp(">"); return;
    case FilterOp::kGe: cmp(">="); return;
    case FilterOp::kLt: cmp("<"); return;
    case FilterOp::kLe: cmp("<="); return;
    case FilterOp::kLike:
      if (pg()) {
        e.Sql("(").Sql(name).Sql(" LIKE ");
        e.TextValue(f.values[0]);
      } else {
        e.Sql("(").Sql(name).Sql(" GLOB ");
        e.TextValue(f.values[0]);
      }
      e.Sql(")");
      return;
    case FilterOp::kILike:
      e.Sql("(").Sql(name).Sql(pg() ? " ILIKE " : " LIKE ");
      e.TextValue(f.values[0]);
      e.Sql(pg() ? ")" : " ESCAPE '\\')");
      return;
    case FilterOp::kIn:
      if (pg()) {
        e.Sql("(").Sql(name).Sql(" = ANY(");
        e.TextValue(f.values[0]);
        e.Sql("::").Lazy([&] { return internal::PgCast(col); }).Sql("[]))");
      } else {
        e.Sql("(").Sql(name).Sql(" IN (SELECT value FROM json_each(");
        e.TextValue(f.values[0]);
        e.Sql(")))");
      }
      return;
    case FilterOp::kIsNull: e.Sql("(").Sql(name).Sql(" IS NULL)"); return;
    case FilterOp::kIsNotNull: e.Sql("(").Sql(name).Sql(" IS NOT NULL)"); return;
    case FilterOp::kIsTrue: e.Sql("(").Sql(name).Sql(pg() ? " IS TRUE)" : " IS 1)"); return;
    case FilterOp::kIsFalse: e.Sql("(").Sql(name).Sql(pg() ? " IS FALSE)" : " IS 0)"); return;
  }
}

// Rows after the cursor's row in the list order: OR over i of (equal on 0..i-1 and after on i).
void RuntimeImpl::EmitKeyset(Emitter& e, const TableInfo& t, const VList& q) const {
  const std::string kFalse = pg() ? "FALSE" : "0";
  auto bound = [&](size_t i) {
    const ColInfo& c = Col(t, q.order[i].col);
    if (!pg() && c.column->type.kind == TypeKind::kEnum) {
      const schema::Enum* en = schema_.FindEnum(c.column->type.enum_name);
      e.IntValue(std::find(en->values.begin(), en->values.end(), *q.cursor[i]) - en->values.begin());
    } else {
      e.ColumnValue(c, internal::BindText(dialect_, *c.column, false, *q.cursor[i]));
    }
  };
  e.Sql("(");
  for (size_t i = 0; i < q.order.size(); ++i) {
    if (i) e.Sql(" OR ");
    e.Sql("(");
    for (size_t j = 0; j < i; ++j) {
      if (q.cursor[j]) {
        e.Lazy([&] { return OrderExpr(t, q.order[j].col); }).Sql(" = ");
        bound(j);
      } else {
        e.Ident(Col(t, q.order[j].col).column->name).Sql(" IS NULL");
      }
      e.Sql(" AND ");
    }
    const VOrder& o = q.order[i];
    const std::string name = e.text() ? Q(Col(t, o.col).column->name) : std::string();
    if (q.cursor[i]) {
      e.Sql("(").Lazy([&] { return OrderExpr(t, o.col); }).Sql(o.descending ? " < " : " > ");
      bound(i);
      if (!o.nulls_first) e.Sql(" OR ").Sql(name).Sql(" IS NULL");
      e.Sql(")");
    } else if (o.nulls_first) {
      e.Sql(name).Sql(" IS NOT NULL");
    } else {
      e.Sql(kFalse);
    }
    e.Sql(")");
  }
  e.Sql(")");
}

void RuntimeImpl::EmitSelect(Emitter& e, const VList& q, const Principal& p, bool admin) const {
  const TableInfo& t = *q.table;
  auto where = [&](bool keyset) {
    bool first = true;
    EmitTenant(e, t, admin, p, first);
    if (!pg() && !admin && t.policies->enabled) EmitQuals(e, t.policies->select_quals, first);
    if (q.where.kind != Filter::Kind::kAll) {
      e.Sql(first ? " WHERE " : " AND ");
      first = false;
      EmitFilter(e, t, q.where);
    }
    if (keyset && q.has_cursor) {
      e.Sql(first ? " WHERE " : " AND ");
      first = false;
      EmitKeyset(e, t, q);
    }
  };
  e.Begin();
  e.Sql("SELECT ").Columns(t, q.fetch).Sql(" FROM ").Sql(t.quoted);
  where(true);
  e.Sql(" ORDER BY ");
  for (size_t i = 0; i < q.order.size(); ++i) {
    if (i) e.Sql(", ");
    const VOrder& o = q.order[i];
    e.Lazy([&] { return OrderExpr(t, o.col); }).Sql(o.descending ? " DESC" : " ASC").Sql(o.nulls_first ? " NULLS FIRST" : " NULLS LAST");
  }
  e.Sql(" LIMIT ");
  e.IntValue(q.limit + 1);
  if (q.offset > 0) {
    e.Sql(" OFFSET ");
    e.IntValue(q.offset);
  }
  if (q.count) {
    e.Begin();
    e.Sql("SELECT count(*) FROM ").Sql(t.quoted);
    where(false);
  }
}

// SQLite: the new row as a one-row table named like the table, for the policy checks that must
// run before the write (PostgreSQL evaluates WITH CHECK before constraints). From the values
// and the column defaults (insert), or from the existing row with the changes (update).
void RuntimeImpl::EmitDerivedRow(Emitter& e, const PreparedWrite& w, bool from_existing) const {
  const TableInfo& t = *w.table;
  e.Sql("(SELECT ");
  for (size_t i = 0; i < t.cols.size(); ++i) {
    const ColInfo& c = t.cols[i];
    if (i) e.Sql(", ");
    if (const Value* v = w.FieldValue(c.index)) {
      e.ColumnValue(c, v->has_value() ? Param(internal::BindText(dialect_, *c.column, c.stored_bytes, **v))
                                      : Param(std::nullopt));
    } else if (from_existing) {
      e.Ident(c.column->name);
    } else {
      auto def = sql::internal::DefaultSql(sql::Dialect::kSqlite, *c.column);
      e.Sql(def.ok() && !def->empty() ? *def : std::string("NULL"));
    }
    e.Sql(" AS ").Ident(c.column->name);
  }
  if (from_existing) {
    e.Sql(" FROM ").Sql(t.quoted);
  }
}

void RuntimeImpl::EmitWrite(Emitter& e, const PreparedWrite& w, const Principal& p, const RequestInfo& r,
                            const Value& reason, std::vector<size_t>& result_statements) const {
  const TableInfo& t = *w.table;
  const bool checks = !pg() && !w.admin && t.policies->enabled;
  AuditRow audit;
  audit.tenant = w.tenant;
  audit.action = (w.admin ? "admin_" : "") + std::string(WriteAction(w.kind));
  audit.table = t.name;
  audit.row_key = w.row_key;
  audit.changes = w.changes;
  audit.reason = reason;
  // The id is not in the text: the statement is cached for every id (MapFailure names it).
  const std::string not_found = e.text() ? "no row of " + t.name + " with that id is visible" : std::string();

  auto value_of = [&](const ColInfo& c, const Value& v) {
    e.ColumnValue(c, v ? Param(internal::BindText(dialect_, *c.column, c.stored_bytes, *v)) : Param(std::nullopt));
  };
  auto key_match = [&](bool first_where) {
    // The row by id (update/delete), restricted to the tenant.
    bool first = first_where;
    if (t.tenant_scoped() && !(w.admin && !w.tenant)) {
      e.Sql(first ? " WHERE " : " AND ");
      first = false;
      e.Ident(Col(t, t.tenant_col).column->name).Sql(" = ");
      if (w.admin) value_of(Col(t, t.tenant_col), w.tenant);
      else e.ClaimParam(internal::kTenantClaim, &policies_);
    }
    e.Sql(first ? " WHERE " : " AND ");
    e.Ident(Col(t, t.id_col).column->name).Sql(" = ");
    value_of(Col(t, t.id_col), w.id);
  };
  auto pk_match = [&]() {
    // The row by its full key (upsert), from the write's values.
    for (size_t i = 0; i < t.pk.size(); ++i) {
      e.Sql(i ? " AND " : " WHERE ");
      e.Ident(Col(t, t.pk[i]).column->name).Sql(" = ");
      value_of(Col(t, t.pk[i]), *w.FieldValue(t.pk[i]));
    }
  };
  auto set_list = [&](bool from_excluded) {
    bool any = false;
    for (const auto& [c, v] : w.fields) {
      if (w.kind == Write::Kind::kUpsert && std::find(t.pk.begin(), t.pk.end(), c) != t.pk.end()) continue;
      e.Sql(any ? ", " : "");
      any = true;
      const std::string name = e.text() ? Q(Col(t, c).column->name) : std::string();
      e.Sql(name).Sql(" = ");
      if (from_excluded) e.Sql("EXCLUDED.").Sql(name);
      else value_of(Col(t, c), v);
    }
    if (!pg() && t.timestamps && t.updated_at_col >= 0 && w.FieldValue(t.updated_at_col) == nullptr) {
      // SQLite's RETURNING does not see the touch trigger's change; set it in the statement.
      e.Sql(any ? ", " : "").Ident("updated_at").Sql(" = strftime('%Y-%m-%dT%H:%M:%f000Z', 'now')");
      any = true;
    }
    if (!any) {
      const std::string name = e.text() ? Q(Col(t, t.pk.back()).column->name) : std::string();
      e.Sql(name).Sql(" = ").Sql(from_excluded ? "EXCLUDED." + name : name);
    }
  };
  auto returning = [&]() { e.Sql(" RETURNING ").Columns(t, w.fetch); };
  auto insert_values = [&](bool as_select) {
    std::vector<int> cols;
    for (const auto& [c, v] : w.fields) cols.push_back(c);
    e.Sql("INSERT INTO ").Sql(t.quoted).Sql(" (").Columns(t, cols).Sql(as_select ? ") SELECT " : ") VALUES (");
    for (size_t i = 0; i < w.fields.size(); ++i) {
      if (i) e.Sql(", ");
      value_of(Col(t, w.fields[i].first), w.fields[i].second);
    }
    if (!as_select) e.Sql(")");
  };
  auto raise_if_none = [&]() {
    // SQLite: the previous statement changed no row → the batch fails (kNotFound).
    e.Begin();
    e.Sql("SELECT plinth_raise('P0002', ").Lazy([&] { return db::QuoteLiteral(not_found); }).Sql(" || substr(changes(), 1, 0)) WHERE changes() = 0");
  };

  switch (w.kind) {
    case Write::Kind::kInsert:
      if (checks) {
        e.Begin();
        e.Sql("SELECT ").Pred(t.policies->insert_case, &policies_);
        e.Sql(" FROM ");
        EmitDerivedRow(e, w, false);
        e.Sql(") AS ").Sql(t.quoted);
      }
      e.Begin();
      insert_values(false);
      returning();
      result_statements.push_back(e.statements() - 1);
      EmitAuditInsert(e, audit, p, r);
      return;

    case Write::Kind::kUpsert:
      if (pg()) {
        e.Begin();
        insert_values(false);
        e.Sql(" ON CONFLICT (").Columns(t, t.pk).Sql(") DO UPDATE SET ");
        set_list(true);
        returning();
        result_statements.push_back(e.statements() - 1);
        EmitAuditInsert(e, audit, p, r);
        return;
      }
      if (checks) {
        // The proposed row passes the INSERT (and SELECT) checks, whichever path it takes.
        e.Begin();
        e.Sql("SELECT ").Pred(t.policies->insert_case, &policies_);
        e.Sql(" FROM ");
        EmitDerivedRow(e, w, false);
        e.Sql(") AS ").Sql(t.quoted);
        // A conflicting row must be one the principal may update (an error, never skipped).
        e.Begin();
        e.Sql("SELECT ").Pred(t.policies->conflict_case, &policies_);
        e.Sql(" FROM ").Sql(t.quoted);
        pk_match();
        // The updated row passes the UPDATE (and SELECT) checks.
        e.Begin();
        e.Sql("SELECT ").Pred(t.policies->update_case, &policies_);
        e.Sql(" FROM ");
        EmitDerivedRow(e, w, true);
        pk_match();
        e.Sql(") AS ").Sql(t.quoted);
      }
      e.Begin();
      e.Sql("UPDATE ").Sql(t.quoted).Sql(" SET ");
      set_list(false);
      pk_match();
      returning();
      result_statements.push_back(e.statements() - 1);
      e.Begin();
      insert_values(true);
      e.Sql(" WHERE NOT EXISTS (SELECT 1 FROM ").Sql(t.quoted);
      pk_match();
      e.Sql(")");
      returning();
      result_statements.push_back(e.statements() - 1);
      EmitAuditInsert(e, audit, p, r);
      return;

    case Write::Kind::kUpdate:
      if (pg()) {
        e.Begin();
        e.Sql("WITH \"w\" AS (UPDATE ").Sql(t.quoted).Sql(" SET ");
        set_list(false);
        key_match(true);
        returning();
        e.Sql("), \"a\" AS (INSERT INTO \"plinth_audit\" (").Sql(kAuditColumns).Sql(") SELECT ");
        EmitAuditValues(e, audit, p, r);
        e.Sql(" FROM \"w\") SELECT * FROM \"w\" UNION ALL SELECT ");
        for (size_t i = 0; i < w.fetch.size(); ++i) e.Sql(i ? ", NULL" : "NULL");
        e.Sql(" WHERE plinth.raise_if(NOT EXISTS (SELECT 1 FROM \"w\"), 'P0002', ").Lazy([&] { return db::QuoteLiteral(not_found); }).Sql(")");
        result_statements.push_back(e.statements() - 1);
        return;
      }
      if (checks) {
        e.Begin();
        e.Sql("SELECT ").Pred(t.policies->update_case, &policies_);
        e.Sql(" FROM ");
        EmitDerivedRow(e, w, true);
        key_match(true);
        e.Sql(" AND (").Pred(t.policies->update_quals, &policies_);
        e.Sql(")) AS ").Sql(t.quoted);
      }
      e.Begin();
      e.Sql("UPDATE ").Sql(t.quoted).Sql(" SET ");
      set_list(false);
      key_match(true);
      if (checks) {
        e.Sql(" AND (").Pred(t.policies->update_quals, &policies_);
        e.Sql(")");
      }
      returning();
      result_statements.push_back(e.statements() - 1);
      raise_if_none();
      EmitAuditInsert(e, audit, p, r);
      return;

    case Write::Kind::kDelete:
      if (pg()) {
        e.Begin();
        e.Sql("WITH \"w\" AS (DELETE FROM ").Sql(t.quoted);
        key_match(true);
        e.Sql(" RETURNING 1), \"a\" AS (INSERT INTO \"plinth_audit\" (").Sql(kAuditColumns).Sql(") SELECT ");
        EmitAuditValues(e, audit, p, r);
        e.Sql(" FROM \"w\") SELECT plinth.raise_if(NOT EXISTS (SELECT 1 FROM \"w\"), 'P0002', ")
            .Lazy([&] { return db::QuoteLiteral(not_found); })
            .Sql(")");
        return;
      }
      e.Begin();
      e.Sql("DELETE FROM ").Sql(t.quoted);
      key_match(true);
      if (checks) {
        e.Sql(" AND (").Pred(t.policies->delete_quals, &policies_);
        e.Sql(")");
      }
      raise_if_none();
      EmitAuditInsert(e, audit, p, r);
      return;
  }
}

// ---- Results --------------------------------------------------------------------------------

Result<RowSet> RuntimeImpl::ToRowSet(const TableInfo& t, const std::vector<int>& fetch, const std::vector<int>& out,
                                     const std::vector<db::Row>& rows,
                                     std::vector<std::vector<Value>>* canonical) const {
  RowSet rs;
  rs.table = t.table;
  for (int c : out) rs.columns.push_back(Col(t, c).column);
  std::vector<size_t> pos_of(t.cols.size(), SIZE_MAX);
  for (size_t i = 0; i < fetch.size(); ++i) pos_of[static_cast<size_t>(fetch[i])] = i;
  for (const db::Row& row : rows) {
    if (row.size() != fetch.size()) return Status(Code::kInternal, "unexpected column count from the database");
    std::vector<Value> values(fetch.size());
    for (size_t i = 0; i < fetch.size(); ++i) {
      if (!row[i]) continue;
      const ColInfo& c = Col(t, fetch[i]);
      PLINTH_ASSIGN_OR_RETURN(std::string v, internal::CanonicalOutput(dialect_, *c.column, c.stored_bytes, *row[i]));
      values[i] = std::move(v);
    }
    for (size_t i = 0; i < fetch.size(); ++i) {
      const ColInfo& c = Col(t, fetch[i]);
      if (!c.column->encrypted || !values[i]) continue;
      std::vector<Value> key;
      for (int k : t.pk) key.push_back(values[pos_of[static_cast<size_t>(k)]]);
      auto plain = options_.cipher->Decrypt(*values[i], Aad(t, c, key));
      if (!plain.ok()) {
        return Status(Code::kDataLoss, "column " + c.column->name + " of " + t.name + " row " + RowKeyText(t, key) +
                                           " cannot be decrypted (wrong key, or the value was moved from another row): " +
                                           plain.status().message(),
                      "", c.column->name);
      }
      values[i] = std::move(plain).value();
    }
    std::vector<Value> shown;
    shown.reserve(out.size());
    for (int c : out) shown.push_back(values[pos_of[static_cast<size_t>(c)]]);
    rs.rows.push_back(std::move(shown));
    if (canonical != nullptr) canonical->push_back(std::move(values));
  }
  return rs;
}

// The model's name of the constraint an SQLite error names by its columns ("t.a, t.b").
std::string SqliteConstraintName(const TableInfo& t, const std::string& object, bool& is_pk) {
  std::set<std::string> cols;
  for (const std::string& part : Split(object, ',')) {
    std::string s = Trim(part);
    size_t dot = s.find('.');
    cols.insert(dot == std::string::npos ? s : s.substr(dot + 1));
  }
  for (const schema::Constraint& c : t.table->constraints) {
    if (c.kind != schema::ConstraintKind::kPrimaryKey && c.kind != schema::ConstraintKind::kUnique) continue;
    if (std::set<std::string>(c.columns.begin(), c.columns.end()) == cols) {
      is_pk = c.kind == schema::ConstraintKind::kPrimaryKey;
      return c.name;
    }
  }
  for (const schema::Index& idx : t.table->indexes) {
    if (!idx.unique) continue;
    std::set<std::string> ic;
    for (const auto& c : idx.columns) ic.insert(c.name);
    if (ic == cols) return idx.name;
  }
  return object;
}

asio::awaitable<Status> RuntimeImpl::MapFailure(const db::BatchOutcome& o,
                                                const std::vector<const PreparedWrite*>& by_statement,
                                                const Principal& p) {
  const Status& st = o.status;
  const PreparedWrite* w = o.failed_index < by_statement.size() ? by_statement[o.failed_index] : nullptr;
  if (st.sqlstate() == kNotFoundState) {
    std::string message = st.message();
    if (w != nullptr) message = "no row of " + w->table->name + " with id " + w->id.value_or("") + " is visible";
    co_return Status(Code::kNotFound, message, std::string(kNotFoundState));
  }
  if (pg() || !StartsWith(st.sqlstate(), "sqlite:")) co_return st;
  if (w == nullptr) co_return st;
  const TableInfo& t = *w->table;
  const int ext = std::atoi(st.sqlstate().c_str() + std::string_view("sqlite:").size());
  constexpr int kUnique = 2067, kPrimaryKey = 1555, kNotNull = 1299, kCheck = 275, kForeignKey = 787;
  // ON DELETE/UPDATE RESTRICT: SQLite runs the action as an internal trigger, so the violation
  // comes back as SQLITE_CONSTRAINT_TRIGGER with SQLite's foreign key message.
  constexpr int kTrigger = 1811;
  constexpr std::string_view kSqliteForeignKeyMessage = "FOREIGN KEY constraint failed";
  const bool restrict_action = ext == kTrigger && StartsWith(st.message(), kSqliteForeignKeyMessage);
  if (ext == kUnique || ext == kPrimaryKey) {
    bool is_pk = false;
    std::string name = SqliteConstraintName(t, st.object(), is_pk);
    co_return Status(Code::kAlreadyExists, "duplicate key value violates unique constraint \"" + name + "\"", "23505",
                     name);
  }
  if (ext == kNotNull) {
    std::string col = st.object();
    if (size_t dot = col.find('.'); dot != std::string::npos) col = col.substr(dot + 1);
    co_return Status(Code::kConstraintViolation,
                     "null value in column \"" + col + "\" of relation \"" + t.name + "\" violates not-null constraint",
                     "23502", col);
  }
  if (ext == kCheck) {
    co_return Status(Code::kConstraintViolation,
                     "new row for relation \"" + t.name + "\" violates check constraint \"" + st.object() + "\"", "23514",
                     st.object());
  }
  if (ext != kForeignKey && !restrict_action) co_return st;
  // SQLite does not name the foreign key: find it (the batch was rolled back; these reads see
  // the state the write saw).
  db::Batch diag;
  std::vector<std::pair<std::string, std::string>> candidates;  // (constraint, message)
  auto values_of = [&](const PreparedWrite& pw, const std::vector<std::string>& cols, std::vector<Param>& out) {
    for (const std::string& name : cols) {
      const ColInfo* c = t.Find(name);
      const Value* v = c ? pw.FieldValue(c->index) : nullptr;
      if (v == nullptr && c != nullptr && c->index == t.tenant_col) v = &pw.tenant;
      if (v == nullptr || !v->has_value()) return false;
      out.push_back(internal::BindText(dialect_, *c->column, c->stored_bytes, **v));
    }
    return true;
  };
  if (w->kind == Write::Kind::kDelete) {
    for (const schema::Table& child : schema_.tables) {
      for (const schema::Constraint& fk : child.constraints) {
        if (fk.kind != schema::ConstraintKind::kForeignKey || fk.ref_table != t.name) continue;
        std::vector<Param> params;
        std::string sql = "SELECT 1 FROM " + Q(child.name) + " WHERE ";
        bool ok = true;
        for (size_t i = 0; i < fk.columns.size(); ++i) {
          const ColInfo* rc = t.Find(fk.ref_columns[i]);
          auto kp = rc ? std::find(t.pk.begin(), t.pk.end(), rc->index) : t.pk.end();
          if (kp == t.pk.end() || !w->key[static_cast<size_t>(kp - t.pk.begin())]) {
            ok = false;
            break;
          }
          if (i) sql += " AND ";
          sql += Q(fk.columns[i]) + " = ?" + std::to_string(i + 1);
          params.push_back(*w->key[static_cast<size_t>(kp - t.pk.begin())]);
        }
        if (!ok) continue;
        diag.statements.push_back({sql + " LIMIT 1", params});
        candidates.emplace_back(fk.name, "update or delete on table \"" + t.name + "\" violates foreign key constraint \"" +
                                             fk.name + "\" on table \"" + child.name + "\"");
      }
    }
  } else {
    for (const schema::Constraint& fk : t.table->constraints) {
      if (fk.kind != schema::ConstraintKind::kForeignKey) continue;
      std::vector<Param> params;
      if (!values_of(*w, fk.columns, params)) continue;
      std::string sql = "SELECT 1 FROM " + Q(fk.ref_table) + " WHERE ";
      for (size_t i = 0; i < fk.ref_columns.size(); ++i) {
        if (i) sql += " AND ";
        sql += Q(fk.ref_columns[i]) + " = ?" + std::to_string(i + 1);
      }
      diag.statements.push_back({"SELECT NOT EXISTS (" + sql + ")", params});
      candidates.emplace_back(fk.name, "insert or update on table \"" + t.name + "\" violates foreign key constraint \"" +
                                           fk.name + "\"");
    }
  }
  (void)p;
  if (!diag.statements.empty()) {
    const db::Clock::time_point deadline = db::Clock::now() + std::chrono::seconds(5);
    db::BatchOutcome d = co_await db_->Run(std::move(diag), deadline);
    if (d.status.ok()) {
      for (size_t i = 0; i < d.results.size(); ++i) {
        const auto& rows = d.results[i].rows;
        bool hit = w->kind == Write::Kind::kDelete ? !rows.empty() : (!rows.empty() && rows[0][0] == "1");
        if (hit) co_return Status(Code::kConstraintViolation, candidates[i].second, "23503", candidates[i].first);
      }
    }
  }
  co_return Status(Code::kConstraintViolation, "a foreign key of table " + t.name + " is violated", "23503");
}

// ---- Calls ----------------------------------------------------------------------------------

asio::awaitable<Result<std::vector<RowSet>>> RuntimeImpl::RunWrites(const Principal& p, const RequestInfo& r,
                                                                    std::vector<Write> writes, bool admin,
                                                                    Value reason) {
  PLINTH_CO_RETURN_IF_ERROR(CheckPrincipal(p));
  if (writes.empty()) co_return Invalid("a transaction needs at least one write");
  std::vector<PreparedWrite> prepared;
  prepared.reserve(writes.size());
  for (const Write& w : writes) {
    auto pw = Prepare(p, w, admin);
    if (!pw.ok()) {
      co_return writes.size() > 1 ? pw.status().WithContext("write " + std::to_string(prepared.size() + 1))
                                  : pw.status();
    }
    prepared.push_back(std::move(pw).value());
  }
  db::Batch batch;
  batch.mode = db::BatchMode::kWrite;
  EmitClaims(batch.statements, p);
  std::vector<const PreparedWrite*> by_statement(batch.statements.size(), nullptr);
  std::vector<std::vector<size_t>> result_statements(prepared.size());
  for (size_t i = 0; i < prepared.size(); ++i) {
    const PreparedWrite& w = prepared[i];
    const size_t base = batch.statements.size();
    std::vector<size_t> rs;
    Append("W|" + w.shape, batch.statements, p,
           [&](Emitter& e) { EmitWrite(e, w, p, r, reason, rs); });
    for (size_t& s : rs) s += base;
    result_statements[i] = std::move(rs);
    by_statement.resize(batch.statements.size(), &w);
  }
  if (pg() && options_.context == ContextStrategy::kSetLocal) batch.statements.push_back({"COMMIT", {}});
  // SQLite runs the admin path on the same database, without the predicates.
  db::Database& db = admin && pg() ? *admin_db_ : *db_;
  db::BatchOutcome o = co_await db.Run(std::move(batch), r.deadline);
  if (!o.status.ok()) {
    Status failure = co_await MapFailure(o, by_statement, p);
    co_return failure;
  }
  std::vector<RowSet> out;
  for (size_t i = 0; i < prepared.size(); ++i) {
    const PreparedWrite& w = prepared[i];
    std::vector<db::Row> rows;
    for (size_t s : result_statements[i]) {
      for (const db::Row& row : o.results[s].rows) {
        if (w.kind == Write::Kind::kUpdate && pg() && std::all_of(row.begin(), row.end(), [](const auto& v) { return !v; })) {
          continue;
        }
        rows.push_back(row);
      }
    }
    auto rs = ToRowSet(*w.table, w.fetch, w.out, rows);
    if (!rs.ok()) co_return rs.status();
    out.push_back(std::move(rs).value());
  }
  co_return out;
}

asio::awaitable<Result<RowSet>> RuntimeImpl::Get(const Principal& p, const RequestInfo& r, std::string_view table,
                                                 std::string_view id, std::vector<std::string> select) {
  PLINTH_CO_RETURN_IF_ERROR(CheckPrincipal(p));
  auto tr = FindTable(table);
  if (!tr.ok()) co_return tr.status();
  const TableInfo& t = **tr;
  PLINTH_CO_RETURN_IF_ERROR(PolicyError(t, false));
  if (t.id_col < 0) co_return Invalid("table " + t.name + " has no id column in its key", t.name);
  auto idv = internal::CanonicalInput(schema_, *Col(t, t.id_col).column, id);
  if (!idv.ok()) co_return idv.status();
  bool secret = false;
  auto out = PlanSelect(t, select, secret);
  if (!out.ok()) co_return out.status();
  std::vector<int> fetch = secret ? WithKey(t, *out) : *out;

  db::Batch batch;
  batch.mode = secret ? db::BatchMode::kWrite : db::BatchMode::kRead;
  EmitClaims(batch.statements, p);
  const std::string id_value = *idv;
  if (secret) {
    AuditRow a;
    a.tenant = Opt(p.tenant_id);
    a.action = "read_secret";
    a.table = t.name;
    a.row_key = id_value;
    std::string cols = "{\"columns\":[";
    bool first = true;
    for (int c : *out) {
      if (!Col(t, c).column->encrypted) continue;
      cols += std::string(first ? "" : ",") + internal::JsonQuote(Col(t, c).column->name);
      first = false;
    }
    a.changes = cols + "]}";
    Append("AR|" + t.name + "|" + IndexKey(*out), batch.statements, p,
           [&](Emitter& e) { EmitAuditInsert(e, a, p, r); });
  }
  const size_t select_index = batch.statements.size();
  Append("G|" + t.name + "|" + IndexKey(fetch), batch.statements, p, [&](Emitter& e) {
    e.Begin();
    e.Sql("SELECT ").Columns(t, fetch).Sql(" FROM ").Sql(t.quoted);
    bool first = true;
    EmitTenant(e, t, false, p, first);
    e.Sql(first ? " WHERE " : " AND ").Ident(Col(t, t.id_col).column->name).Sql(" = ");
    first = false;
    e.ColumnValue(Col(t, t.id_col), internal::BindText(dialect_, *Col(t, t.id_col).column, false, id_value));
    if (!pg() && t.policies->enabled) EmitQuals(e, t.policies->select_quals, first);
  });
  if (pg() && options_.context == ContextStrategy::kSetLocal) batch.statements.push_back({"COMMIT", {}});
  db::BatchOutcome o = co_await db_->Run(std::move(batch), r.deadline);
  if (!o.status.ok()) {
    std::vector<const PreparedWrite*> none;
    Status failure = co_await MapFailure(o, none, p);
    co_return failure;
  }
  const auto& rows = o.results[select_index].rows;
  if (rows.empty()) co_return Status(Code::kNotFound, "no row of " + t.name + " with id " + id_value + " is visible");
  co_return ToRowSet(t, fetch, *out, rows);
}

asio::awaitable<Result<ListResult>> RuntimeImpl::List(const Principal& p, const RequestInfo& r, std::string_view table,
                                                      ListQuery query) {
  Value no_reason;
  Result<ListResult> res = co_await RunList(p, r, table, std::move(query), false, std::move(no_reason));
  co_return res;
}

asio::awaitable<Result<ListResult>> RuntimeImpl::AdminList(const Principal& admin, const RequestInfo& r,
                                                           std::string_view reason, std::string_view table,
                                                           ListQuery query) {
  PLINTH_CO_RETURN_IF_ERROR(CheckAdmin(admin, reason));
  Value why = std::string(reason);
  Result<ListResult> res = co_await RunList(admin, r, table, std::move(query), true, std::move(why));
  co_return res;
}

asio::awaitable<Result<ListResult>> RuntimeImpl::RunList(const Principal& p, const RequestInfo& r,
                                                         std::string_view table, ListQuery query, bool admin,
                                                         Value reason) {
  PLINTH_CO_RETURN_IF_ERROR(CheckPrincipal(p));
  auto tr = FindTable(table);
  if (!tr.ok()) co_return tr.status();
  const TableInfo& t = **tr;
  VList q;
  PLINTH_CO_RETURN_IF_ERROR(PrepareList(p, t, std::move(query), admin, q));

  db::Batch batch;
  batch.mode = (q.secret || admin) ? db::BatchMode::kWrite : db::BatchMode::kRead;
  // An exact count reads every matching row and an offset skips that many: their cost grows
  // with the table, not with the page, and on a shared connection one of them would hold up
  // every read pipelined behind it. A page by limit or keyset is bounded and shares.
  batch.shareable = !q.count && q.offset == 0;
  EmitClaims(batch.statements, p);
  if (q.secret || admin) {
    AuditRow a;
    a.tenant = Opt(p.tenant_id);
    a.action = admin ? "admin_list" : "read_secret";
    a.table = t.name;
    a.reason = reason;
    std::string cols = "{\"columns\":[";
    bool first = true;
    for (int c : q.out) {
      if (!Col(t, c).column->encrypted) continue;
      cols += std::string(first ? "" : ",") + internal::JsonQuote(Col(t, c).column->name);
      first = false;
    }
    a.changes = cols + "]}";
    Append(std::string(admin ? "AA|" : "AR|") + t.name + "|" + IndexKey(q.out), batch.statements, p,
           [&](Emitter& e) { EmitAuditInsert(e, a, p, r); });
  }
  const size_t select_index = batch.statements.size();
  Append("L|" + q.shape, batch.statements, p, [&](Emitter& e) { EmitSelect(e, q, p, admin); });
  if (pg() && options_.context == ContextStrategy::kSetLocal) batch.statements.push_back({"COMMIT", {}});
  db::Database& db = admin && pg() ? *admin_db_ : *db_;
  db::BatchOutcome o = co_await db.Run(std::move(batch), r.deadline);
  if (!o.status.ok()) {
    std::vector<const PreparedWrite*> none;
    Status failure = co_await MapFailure(o, none, p);
    co_return failure;
  }
  std::vector<db::Row> rows = o.results[select_index].rows;
  const bool more = static_cast<int64_t>(rows.size()) > q.limit;
  if (more) rows.resize(static_cast<size_t>(q.limit));
  std::vector<std::vector<Value>> canonical;
  auto rs = ToRowSet(t, q.fetch, q.out, rows, &canonical);
  if (!rs.ok()) co_return rs.status();
  ListResult result;
  result.rows = std::move(rs).value();
  if (q.count) {
    const auto& cr = o.results[select_index + 1].rows;
    if (!cr.empty() && cr[0][0]) result.total = std::stoll(*cr[0][0]);
  }
  if (more && !canonical.empty()) {
    const std::vector<Value>& last = canonical.back();
    std::string k = "[";
    for (size_t i = 0; i < q.order.size(); ++i) {
      size_t pos = static_cast<size_t>(std::find(q.fetch.begin(), q.fetch.end(), q.order[i].col) - q.fetch.begin());
      if (i) k += ",";
      k += last[pos] ? internal::JsonQuote(*last[pos]) : std::string("null");
    }
    k += "]";
    std::string json = "{\"v\":1,\"t\":" + internal::JsonQuote(t.name) + ",\"o\":" +
                       internal::JsonQuote(OrderSpec(t, q.order)) + ",\"k\":" + k + "}";
    result.next_cursor = internal::Base64UrlEncode(json);
  }
  co_return result;
}

asio::awaitable<Health> RuntimeImpl::CheckHealth(db::Clock::time_point deadline) {
  Health h;
  h.backend = std::string(db::BackendName(db_->backend()));
  h.ping = co_await db_->Check(deadline);
  h.pool = db_->Stats();
  if (!h.ping.connected) co_return h;
  db::Batch b;
  b.statements.push_back({"SELECT version, steps_done, steps_total FROM plinth_migrations", {}});
  db::BatchOutcome o = co_await db_->Run(std::move(b), deadline);
  if (!o.status.ok()) {
    h.migrations_at_head = head_.empty();
    co_return h;
  }
  bool partial = false;
  for (const db::Row& row : o.results[0].rows) {
    if (!row[0]) continue;
    const int64_t done = row[1] ? std::stoll(*row[1]) : 0;
    const int64_t total = row[2] ? std::stoll(*row[2]) : 0;
    if (done < total) partial = true;
    if (h.migration_version.empty() || internal::VersionLess(h.migration_version, *row[0])) {
      h.migration_version = *row[0];
    }
  }
  h.migrations_at_head = !partial && h.migration_version == head_;
  co_return h;
}

}  // namespace

asio::awaitable<Result<std::unique_ptr<Runtime>>> Runtime::Open(schema::Schema schema, std::unique_ptr<db::Database> db,
                                                                RuntimeOptions options, std::string head_version) {
  if (db == nullptr) co_return Status(Code::kInvalidArgument, "Runtime::Open needs a database");
  auto rt = std::make_unique<RuntimeImpl>(std::move(schema), std::move(db), std::move(options), std::move(head_version));
  PLINTH_CO_RETURN_IF_ERROR(rt->Init());
  PLINTH_CO_RETURN_IF_ERROR(co_await rt->CheckDatabase());
  co_return std::unique_ptr<Runtime>(std::move(rt));
}

}  // namespace plinth::data
