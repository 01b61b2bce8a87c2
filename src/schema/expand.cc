// Expands declarations into the model and validates what involves several objects (see
// phases.h and docs/schema.md).
#include <algorithm>
#include <map>
#include <set>

#include "common/strings.h"
#include "plinth/expr.h"
#include "schema/names.h"
#include "schema/phases.h"

namespace plinth::schema {

namespace {

constexpr std::string_view kCreatedAt = "created_at";
constexpr std::string_view kUpdatedAt = "updated_at";
constexpr std::string_view kTenantPolicyName = "tenant_isolation";

std::string Quoted(std::string_view s) { return "'" + std::string(s) + "'"; }

bool Before(SourcePos a, SourcePos b) { return a.line != b.line ? a.line < b.line : a.column < b.column; }

std::string ListText(const std::vector<std::string>& cols) { return "(" + Join(cols, ", ") + ")"; }

std::vector<std::string> Sorted(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  return v;
}

bool IsSetAction(FkAction a) { return a == FkAction::kSetNull || a == FkAction::kSetDefault; }

// What a table's declared keys are: the targets a foreign key may reference.
struct DeclaredKeys {
  decl::ColumnList primary_key;  // declared columns, without the tenant column
  bool has_primary_key = false;
  std::vector<std::vector<std::string>> unique_sets;  // sorted column names
};

// A name in one of the namespaces the database keeps.
struct Claim {
  std::string name;
  std::string what;  // the object, for messages
  SourcePos pos;
  bool relation = false;  // also claims the schema-wide relation namespace (reported there)
};

// An expression waiting for the model to be complete enough to be checked.
enum class Slot : unsigned char { kCheck, kIndexWhere, kPolicyUsing, kPolicyCheck };
struct PendingExpr {
  size_t table;
  Slot slot;
  std::vector<size_t> targets;  // constraint, index or policy indices in the table
  const decl::Expr* expr;
  expr::Context context;
  std::string what;  // "check 'x' of table 'y'", for messages
};

class Expander {
 public:
  Expander(const decl::Schema& d, const std::string& file, Diagnostics& diags) : d_(d), file_(file), diags_(diags) {}

  Schema Run() {
    out_.app = d_.app;
    out_.enums = d_.enums;
    out_.file = file_;
    for (const decl::Table& t : d_.tables) keys_.push_back(CollectKeys(t));
    CheckApp();
    for (const decl::Table& t : d_.tables) out_.tables.push_back(ExpandColumns(t));
    for (size_t i = 0; i < d_.tables.size(); ++i) ExpandObjects(i);
    CheckExpressions();
    CheckNames();
    CheckRenames();
    Warn();
    out_.support = RequiredSupport(out_);
    return std::move(out_);
  }

 private:
  void Error(SourcePos pos, std::string message, std::string hint = {}) {
    diags_.Error(file_, pos, std::move(message), std::move(hint));
  }

  const std::string& TenantColumn() const { return out_.app.tenant_column; }

  size_t TableIndex(std::string_view name) const {
    for (size_t i = 0; i < d_.tables.size(); ++i) {
      if (d_.tables[i].table.name == name) return i;
    }
    return d_.tables.size();
  }

  std::vector<std::string> TableNames() const {
    std::vector<std::string> out;
    for (const decl::Table& t : d_.tables) out.push_back(t.table.name);
    return out;
  }

  // ---- keys ----

  DeclaredKeys CollectKeys(const decl::Table& t) {
    DeclaredKeys k;
    const std::string owner = "table " + Quoted(t.table.name);
    std::vector<const decl::Column*> marked;
    for (const decl::Column& c : t.columns) {
      if (c.primary_key) marked.push_back(&c);
    }
    if (t.primary_key) {
      for (const decl::Column* c : marked) {
        Error(c->KeyPos("primary_key"),
              owner + " declares its primary key twice: primary_key = true on column " + Quoted(c->column.name) +
                  " and primary_key = [...] on line " + std::to_string(t.primary_key->pos.line),
              "keep one of them");
      }
      k.primary_key = *t.primary_key;
      k.has_primary_key = true;
    } else if (!marked.empty()) {
      for (size_t i = 1; i < marked.size(); ++i) {
        std::vector<std::string> all;
        for (const decl::Column* c : marked) all.push_back("\"" + c->column.name + "\"");
        Error(marked[i]->KeyPos("primary_key"),
              owner + " has primary_key = true on several columns (" + Quoted(marked[0]->column.name) + " on line " +
                  std::to_string(marked[0]->column.pos.line) + ")",
              "for a composite key write primary_key = [" + Join(all, ", ") + "] in the table and remove the flags");
      }
      for (const decl::Column* c : marked) {
        k.primary_key.names.push_back(c->column.name);
        k.primary_key.name_pos.push_back(c->KeyPos("primary_key"));
        k.primary_key.descending.push_back(false);
      }
      k.primary_key.pos = marked[0]->KeyPos("primary_key");
      k.has_primary_key = true;
    } else if (!t.columns.empty()) {
      Error(t.table.pos, owner + " has no primary key",
            "add primary_key = true to a column, e.g. columns.id = { type = \"uuid\", primary_key = true, default = "
            "\"uuid\" }, or primary_key = [\"a\", \"b\"] to the table");
    }
    for (const decl::Unique& u : t.uniques) k.unique_sets.push_back(Sorted(u.columns.names));
    for (const decl::Index& i : t.indexes) {
      if (i.unique && !i.where) k.unique_sets.push_back(Sorted(i.columns.names));
    }
    return k;
  }

  // ---- [app] ----

  void CheckApp() {
    const std::string& tenants = out_.app.tenants_table;
    if (tenants.empty()) {
      for (const decl::Table& t : d_.tables) {
        if (!t.table.options.tenant_scoped) continue;
        Error(t.KeyPos("tenant_scoped"),
              "table " + Quoted(t.table.name) + " is tenant_scoped, but [app] names no tenant table",
              "add tenants = \"tenants\" to [app]: the table with one row per tenant");
      }
      return;
    }
    size_t i = TableIndex(tenants);
    if (i == d_.tables.size()) {
      std::string close = names::ClosestMatch(tenants, TableNames());
      Error(d_.tenants_pos, "the tenant table " + Quoted(tenants) + " is not declared",
            close.empty() ? "declare [table." + tenants + "] with a uuid primary key, e.g. columns.id = { type = "
                                                         "\"uuid\", primary_key = true, default = \"uuid\" }"
                          : "did you mean '" + close + "'?");
      return;
    }
    const decl::Table& t = d_.tables[i];
    bool ok = true;
    if (t.table.options.tenant_scoped) {
      Error(t.KeyPos("tenant_scoped"), "the tenant table " + Quoted(tenants) + " cannot be tenant_scoped",
            "tenants own the rows of tenant-scoped tables; remove tenant_scoped from table " + Quoted(tenants));
      ok = false;
    }
    const DeclaredKeys& k = keys_[i];
    if (!k.has_primary_key) return;  // reported with the table
    const decl::Column* pk = k.primary_key.names.size() == 1 ? t.FindColumn(k.primary_key.names[0]) : nullptr;
    if (k.primary_key.names.size() != 1) {
      Error(k.primary_key.pos,
            "the tenant table " + Quoted(tenants) + " must have a single-column primary key, not " +
                ListText(k.primary_key.names),
            "tenant-scoped tables reference it by one uuid column, e.g. columns.id = { type = \"uuid\", primary_key = "
            "true }");
      ok = false;
    } else if (pk != nullptr && pk->type_valid && pk->column.type.kind != TypeKind::kUuid) {
      Error(pk->KeyPos("type"),
            "the primary key of the tenant table " + Quoted(tenants) + " must be uuid, not " +
                pk->column.type.ToString(),
            "write type = \"uuid\": tenant ids are random so one tenant cannot guess another's");
      ok = false;
    } else if (pk == nullptr || !pk->type_valid) {
      ok = false;  // unknown column or bad type: reported elsewhere
    }
    if (ok) tenant_key_ = k.primary_key.names[0];
  }

  // ---- columns ----

  Table ExpandColumns(const decl::Table& dt) {
    Table t = dt.table;
    const std::string& tc = TenantColumn();
    const bool tenant = dt.table.options.tenant_scoped;
    const DeclaredKeys& k = keys_[TableIndex(dt.table.name)];
    if (dt.columns.empty()) {
      Error(dt.table.pos, "table " + Quoted(dt.table.name) + " has no columns",
            "add columns, e.g. columns.id = { type = \"uuid\", primary_key = true, default = \"uuid\" }");
    }
    size_t after_key = 0;  // insertion point of the tenant column: after the last primary key column
    for (const decl::Column& dc : dt.columns) {
      t.columns.push_back(dc.column);
      if (!dc.type_valid) invalid_types_.insert(dt.table.name + "." + dc.column.name);
      if (std::find(k.primary_key.names.begin(), k.primary_key.names.end(), dc.column.name) !=
          k.primary_key.names.end()) {
        t.columns.back().not_null = true;  // primary key columns are not null
        after_key = t.columns.size();
      }
    }
    if (tenant) {
      if (const decl::Column* declared = dt.FindColumn(tc)) {
        CheckDeclaredTenantColumn(dt, *declared);
      } else {
        Column c;
        c.name = tc;
        c.type.kind = TypeKind::kUuid;
        c.not_null = true;
        c.pos = dt.KeyPos("tenant_scoped");
        t.columns.insert(t.columns.begin() + static_cast<std::ptrdiff_t>(after_key), c);
      }
    }
    if (dt.table.options.timestamps) {
      for (std::string_view name : {kCreatedAt, kUpdatedAt}) {
        Column c;
        c.name = std::string(name);
        c.type.kind = TypeKind::kTimestamp;
        c.not_null = true;
        c.default_value.kind = DefaultKind::kNow;
        c.pos = dt.KeyPos("timestamps");
        if (const decl::Column* declared = dt.FindColumn(name)) {
          CheckDeclaredTimestamp(dt, *declared, c);
        } else {
          t.columns.push_back(c);
        }
      }
    }
    return t;
  }

  // Keys a generated column may be declared with: its definition and the file-only attributes.
  static bool IsDefinitionKey(std::string_view key) {
    return key == "type" || key == "not_null" || key == "comment" || key == "access";
  }

  void CheckDeclaredTenantColumn(const decl::Table& dt, const decl::Column& dc) {
    const std::string what = "the tenant column " + Quoted(dc.column.name) + " of tenant-scoped table " +
                             Quoted(dt.table.name);
    if (dc.type_valid && dc.column.type.kind != TypeKind::kUuid) {
      Error(dc.KeyPos("type"), what + " must be uuid, not " + dc.column.type.ToString(),
            "write type = \"uuid\", or leave the column out and plinth adds it");
    }
    if (!dc.column.not_null) {
      Error(dc.KeyPos("not_null"), what + " must be not_null", "write not_null = true, or leave the column out");
    }
    for (const auto& [key, pos] : dc.keys) {
      if (IsDefinitionKey(key)) continue;
      Error(pos, what + " is managed by plinth and cannot have " + Quoted(key),
            "plinth adds it to the keys, the foreign key to the tenant table and the tenant policy; declare only "
            "{ type = \"uuid\", not_null = true } to place it");
    }
  }

  void CheckDeclaredTimestamp(const decl::Table& dt, const decl::Column& dc, const Column& expected) {
    bool same = dc.column.SameAs(expected);
    for (const auto& [key, pos] : dc.keys) same = same && (IsDefinitionKey(key) || key == "default");
    if (same) return;
    Error(dc.column.pos,
          "column " + Quoted(dt.table.name + "." + dc.column.name) +
              " is added by timestamps = true and declared here with another definition",
          "remove the column, or declare exactly { type = \"timestamp\", not_null = true, default = \"now\" }");
  }

  // ---- constraints, indexes, policies ----

  enum class KeyUse : unsigned char { kKey, kIndex, kForeignKey };

  // Checks the columns of a key, an index or the referencing side of a foreign key.
  bool CheckColumns(const Table& t, const decl::ColumnList& list, const std::string& what,
                    KeyUse use, bool tenant_prefixed) {
    bool ok = true;
    std::map<std::string, int> seen;
    std::vector<std::string> column_names;
    for (const Column& c : t.columns) column_names.push_back(c.name);
    for (size_t i = 0; i < list.names.size(); ++i) {
      const std::string& name = list.names[i];
      const SourcePos at = list.name_pos[i];
      const Column* c = t.FindColumn(name);
      if (c == nullptr) {
        Error(at, "table " + Quoted(t.name) + " has no column " + Quoted(name) + " (in " + what + ")",
              names::SuggestionHint(name, column_names));
        ok = false;
        continue;
      }
      if (auto [it, inserted] = seen.emplace(name, at.line); !inserted) {
        Error(at, "column " + Quoted(name) + " is listed twice in " + what, "remove one of them");
        ok = false;
        continue;
      }
      if (tenant_prefixed && name == TenantColumn()) {
        if (use == KeyUse::kForeignKey) {
          Error(at, "the tenant column " + Quoted(name) + " cannot be listed in " + what +
                        ": plinth adds it in front of foreign keys to tenant-scoped tables, and adds its own foreign "
                        "key to the tenant table",
                "remove " + Quoted(name) + " from the list");
        } else {
          Error(at, "the tenant column " + Quoted(name) + " is put in front of " + what + " automatically",
                use == KeyUse::kIndex
                    ? "remove " + Quoted(name) + " from the list (or set tenant_prefix = false to place it yourself)"
                    : "remove " + Quoted(name) + " from the list");
        }
        ok = false;
        continue;
      }
      if (c->encrypted) {
        Error(at, "column " + Quoted(t.name + "." + name) + " is encrypted and cannot be in " + what,
              "the database holds only ciphertext, which cannot be compared; remove encrypted = true or leave the "
              "column out");
        ok = false;
        continue;
      }
      if (use != KeyUse::kForeignKey && (c->type.kind == TypeKind::kJson || c->type.kind == TypeKind::kBytes)) {
        Error(at, "column " + Quoted(t.name + "." + name) + " is " + c->type.ToString() + " and cannot be in " + what,
              "json and bytes values are not keys; index or constrain a column derived from them instead");
        ok = false;
        continue;
      }
    }
    return ok;
  }

  std::vector<std::string> WithTenant(bool prefixed, const std::vector<std::string>& cols) const {
    if (!prefixed) return cols;
    std::vector<std::string> out = {TenantColumn()};
    out.insert(out.end(), cols.begin(), cols.end());
    return out;
  }

  void ExpandObjects(size_t ti) {
    const decl::Table& dt = d_.tables[ti];
    Table& t = out_.tables[ti];
    const bool tenant = dt.table.options.tenant_scoped;
    const std::string& name = dt.table.name;
    const SourcePos tenant_pos = dt.KeyPos("tenant_scoped");

    // Primary key.
    const DeclaredKeys& k = keys_[ti];
    if (k.has_primary_key &&
        CheckColumns(t, k.primary_key, "the primary key of table " + Quoted(name), KeyUse::kKey, tenant)) {
      Constraint pk;
      pk.kind = ConstraintKind::kPrimaryKey;
      pk.name = ObjectName(name + "_pkey");
      pk.columns = WithTenant(tenant, k.primary_key.names);
      pk.pos = k.primary_key.pos;
      t.constraints.push_back(pk);
      claims_[ti].push_back({pk.name, "the primary key of table " + Quoted(name), pk.pos, true});
    }

    // Unique constraints, in file order.
    std::vector<const decl::Unique*> uniques;
    for (const decl::Unique& u : dt.uniques) uniques.push_back(&u);
    std::stable_sort(uniques.begin(), uniques.end(),
                     [](const decl::Unique* a, const decl::Unique* b) { return Before(a->columns.pos, b->columns.pos); });
    for (const decl::Unique* u : uniques) {
      const std::string what = "the unique constraint on " + name + " " + ListText(u->columns.names);
      if (!CheckColumns(t, u->columns, what, KeyUse::kKey, tenant)) continue;
      Constraint c;
      c.kind = ConstraintKind::kUnique;
      c.name = ObjectName(name + "_" + Join(u->columns.names, "_") + "_key");
      c.columns = WithTenant(tenant, u->columns.names);
      c.pos = u->columns.pos;
      t.constraints.push_back(c);
      claims_[ti].push_back({c.name, what, c.pos, true});
    }

    // Checks, in file order; expressions are checked once the model is complete.
    std::vector<const decl::Check*> checks;
    for (const decl::Check& c : dt.checks) checks.push_back(&c);
    std::stable_sort(checks.begin(), checks.end(),
                     [](const decl::Check* a, const decl::Check* b) { return Before(a->pos, b->pos); });
    for (const decl::Check* check : checks) {
      const std::string what = check->from_column ? "the check of column " + Quoted(name + "." + check->name)
                                                  : "check " + Quoted(check->name) + " of table " + Quoted(name);
      if (check->from_column) {
        const decl::Column* dc = dt.FindColumn(check->name);
        if (dc != nullptr && dc->column.encrypted) {
          Error(check->pos, "column " + Quoted(name + "." + check->name) + " is encrypted and cannot have a check",
                "the database holds only ciphertext; validate the value before it is stored instead");
          continue;
        }
      }
      Constraint c;
      c.kind = ConstraintKind::kCheck;
      c.name = ObjectName(name + "_" + check->name + "_check");
      c.pos = check->pos;
      t.constraints.push_back(c);
      claims_[ti].push_back({c.name, what, c.pos, false});
      pending_.push_back({ti, Slot::kCheck, {t.constraints.size() - 1}, &check->expr, expr::Context::kCheck, what});
    }

    // Foreign keys: the tenant key first, then the declared ones in file order.
    if (tenant && !tenant_key_.empty()) {
      Constraint fk;
      fk.kind = ConstraintKind::kForeignKey;
      fk.name = ObjectName(name + "_" + TenantColumn() + "_fkey");
      fk.columns = {TenantColumn()};
      fk.ref_table = out_.app.tenants_table;
      fk.ref_columns = {tenant_key_};
      fk.on_delete = FkAction::kCascade;
      fk.pos = tenant_pos;
      t.constraints.push_back(fk);
      claims_[ti].push_back({fk.name, "the tenant foreign key of table " + Quoted(name), fk.pos, false});
    }
    std::vector<const decl::ForeignKey*> fks;
    for (const decl::ForeignKey& f : dt.foreign_keys) fks.push_back(&f);
    std::stable_sort(fks.begin(), fks.end(),
                     [](const decl::ForeignKey* a, const decl::ForeignKey* b) { return Before(a->pos, b->pos); });
    for (const decl::ForeignKey* f : fks) ExpandForeignKey(ti, *f);

    // Indexes, in file order.
    for (const decl::Index& di : dt.indexes) {
      const std::string what = "index " + Quoted(di.name) + " of table " + Quoted(name);
      bool ok = true;
      if (di.tenant_prefix && !tenant) {
        Error(di.tenant_prefix_pos, "tenant_prefix of " + what + " applies only to tenant-scoped tables",
              "remove tenant_prefix");
        ok = false;
      } else if (di.tenant_prefix == false && di.unique) {
        Error(di.tenant_prefix_pos,
              "unique " + what + " must lead with the tenant column: otherwise one tenant's insert could detect "
                                 "another tenant's values",
              "remove tenant_prefix = false");
        ok = false;
      }
      const bool prefixed = tenant && (di.unique || di.tenant_prefix.value_or(true));
      ok = CheckColumns(t, di.columns, what, KeyUse::kIndex, prefixed) && ok;
      if (!ok) continue;
      Index idx;
      idx.name = ObjectName(name + "_" + di.name + "_idx");
      if (prefixed) idx.columns.push_back({TenantColumn(), false});
      for (size_t i = 0; i < di.columns.names.size(); ++i) {
        idx.columns.push_back({di.columns.names[i], di.columns.descending[i]});
      }
      idx.unique = di.unique;
      idx.pos = di.pos;
      t.indexes.push_back(idx);
      index_claims_.push_back({idx.name, what, idx.pos, true});
      if (di.where) {
        pending_.push_back({ti, Slot::kIndexWhere, {t.indexes.size() - 1}, &*di.where,
                            expr::Context::kIndexPredicate, "the where of " + what});
      }
    }

    // Policies: the automatic tenant policy first, then the declared ones in file order.
    if (dt.tenant_policy && !tenant) {
      Error(dt.KeyPos("tenant_policy"), "tenant_policy of table " + Quoted(name) + " applies only to tenant-scoped tables",
            "remove tenant_policy");
    }
    if (tenant && dt.tenant_policy.value_or(true)) {
      Policy p;
      p.name = std::string(kTenantPolicyName);
      p.command = PolicyCommand::kAll;
      p.restrictive = true;
      p.using_expr = TenantPolicyText();
      p.check_expr = p.using_expr;
      p.pos = tenant_pos;
      t.policies.push_back(p);
      policy_claims_[ti].push_back({p.name, "the automatic tenant policy of table " + Quoted(name), p.pos, false});
    }
    for (const decl::Policy& dp : dt.policies) {
      if (dp.name.empty() || dp.commands.empty()) continue;
      std::vector<size_t> targets;
      const bool suffixed = dp.commands.size() > 1;
      for (PolicyCommand cmd : dp.commands) {
        Policy p;
        p.name = suffixed ? ObjectName(dp.name + "_" + std::string(PolicyCommandName(cmd))) : dp.name;
        p.command = cmd;
        p.restrictive = dp.restrictive;
        p.pos = dp.pos;
        t.policies.push_back(p);
        targets.push_back(t.policies.size() - 1);
        policy_claims_[ti].push_back({p.name, "policy " + Quoted(p.name) + " of table " + Quoted(name), dp.pos, false});
      }
      const std::string what = "policy " + Quoted(dp.name) + " of table " + Quoted(name);
      if (dp.using_expr) {
        pending_.push_back({ti, Slot::kPolicyUsing, targets, &*dp.using_expr, expr::Context::kPolicy,
                            "the using of " + what});
      }
      if (dp.check_expr) {
        pending_.push_back({ti, Slot::kPolicyCheck, targets, &*dp.check_expr, expr::Context::kPolicy,
                            "the check of " + what});
      }
    }
    t.options.row_security = tenant || !t.policies.empty();
  }

  void ExpandForeignKey(size_t ti, const decl::ForeignKey& f) {
    const decl::Table& dt = d_.tables[ti];
    Table& t = out_.tables[ti];
    const std::string& name = dt.table.name;
    const std::string what = f.from_column ? "the foreign key of column " + Quoted(name + "." + f.name)
                                           : "foreign key " + Quoted(f.name) + " of table " + Quoted(name);
    const bool tenant = dt.table.options.tenant_scoped;
    // A declared tenant column with `references` was reported by CheckDeclaredTenantColumn.
    if (tenant && f.from_column && f.name == TenantColumn()) return;
    const size_t target_index = TableIndex(f.ref_table);
    if (target_index == d_.tables.size()) {
      Error(f.ref_table_pos, what + " references table " + Quoted(f.ref_table) + ", which is not declared",
            names::SuggestionHint(f.ref_table, TableNames()));
      return;
    }
    const decl::Table& target_decl = d_.tables[target_index];
    const Table& target = out_.tables[target_index];
    const bool target_tenant = target_decl.table.options.tenant_scoped;
    const bool composite = tenant && target_tenant;
    const bool tenant_related = composite || (tenant && f.ref_table == out_.app.tenants_table);

    if (!tenant && target_tenant) {
      Error(f.ref_table_pos,
            "table " + Quoted(name) + " is not tenant-scoped but " + what + " references tenant-scoped table " +
                Quoted(f.ref_table) + ": its rows would belong to no tenant",
            "set tenant_scoped = true on table " + Quoted(name) + " too");
      return;
    }
    bool ok = CheckColumns(t, f.columns, what, KeyUse::kForeignKey, tenant_related);

    // The referenced columns: as written, or the target's primary key.
    const DeclaredKeys& target_keys = keys_[target_index];
    decl::ColumnList ref = f.ref_columns;
    if (ref.names.empty()) {
      if (!target_keys.has_primary_key) return;  // reported with the target
      ref.names = target_keys.primary_key.names;
      ref.name_pos.assign(ref.names.size(), f.ref_table_pos);
    }
    std::vector<std::string> target_columns;
    for (const Column& c : target.columns) target_columns.push_back(c.name);
    for (size_t i = 0; i < ref.names.size(); ++i) {
      if (target.FindColumn(ref.names[i]) == nullptr) {
        Error(ref.name_pos[i], what + " references column " + Quoted(ref.names[i]) + ", which table " +
                                   Quoted(f.ref_table) + " does not have",
              names::SuggestionHint(ref.names[i], target_columns));
        ok = false;
      } else if (composite && ref.names[i] == TenantColumn()) {
        Error(ref.name_pos[i], "the tenant column " + Quoted(TenantColumn()) + " is put in front of " + what +
                                   " automatically",
              "remove " + Quoted(TenantColumn()) + " from ref_columns");
        ok = false;
      }
    }
    if (!ok) return;
    if (ref.names.size() != f.columns.names.size()) {
      Error(f.from_column ? f.ref_table_pos : f.columns.pos,
            what + " has " + std::to_string(f.columns.names.size()) + " column(s) but references " +
                std::to_string(ref.names.size()) + " " + ListText(ref.names) + " of table " + Quoted(f.ref_table),
            f.ref_columns.names.empty() ? "the primary key of " + Quoted(f.ref_table) + " is " + ListText(ref.names) +
                                              "; reference it with as many columns, or name ref_columns"
                                        : "list as many columns on both sides");
      return;
    }
    const std::vector<std::string> ref_set = Sorted(ref.names);
    bool is_key = target_keys.has_primary_key && Sorted(target_keys.primary_key.names) == ref_set;
    for (const auto& u : target_keys.unique_sets) is_key = is_key || u == ref_set;
    if (!is_key) {
      const std::string cols = ref.names.size() == 1 ? Quoted(f.ref_table + "." + ref.names[0])
                                                     : ListText(ref.names) + " of table " + Quoted(f.ref_table);
      Error(f.ref_columns.names.empty() ? f.ref_table_pos : f.ref_columns.pos,
            what + " references " + cols + ", which is not a key of " + Quoted(f.ref_table) +
                (composite ? " (with the tenant column in front)" : ""),
            "a foreign key references the primary key or a unique constraint: add " +
                (ref.names.size() == 1 ? "unique = true to column " + Quoted(f.ref_table + "." + ref.names[0])
                                       : "unique = [[\"" + Join(ref.names, "\", \"") + "\"]] to table " +
                                             Quoted(f.ref_table)));
      return;
    }
    for (size_t i = 0; i < ref.names.size(); ++i) {
      const Column* from = t.FindColumn(f.columns.names[i]);
      const Column* to = target.FindColumn(ref.names[i]);
      if (invalid_types_.count(name + "." + from->name) || invalid_types_.count(f.ref_table + "." + to->name)) {
        ok = false;
        continue;
      }
      if (!(from->type == to->type)) {
        Error(f.from_column ? f.ref_table_pos : f.columns.name_pos[i],
              "column " + Quoted(name + "." + from->name) + " is " + from->type.ToString() + " but references " +
                  Quoted(f.ref_table + "." + to->name) + ", which is " + to->type.ToString(),
              "make both columns the same type (" + to->type.ToString() + ")");
        ok = false;
      }
    }
    ok = CheckActions(f, t, what, composite) && ok;
    if (!ok) return;

    Constraint c;
    c.kind = ConstraintKind::kForeignKey;
    c.name = ObjectName(name + "_" + f.name + "_fkey");
    c.columns = WithTenant(composite, f.columns.names);
    c.ref_table = f.ref_table;
    c.ref_columns = WithTenant(composite, ref.names);
    c.on_delete = f.on_delete;
    c.on_update = f.on_update;
    if (composite && IsSetAction(f.on_delete)) c.set_columns = f.columns.names;
    c.pos = f.pos;
    t.constraints.push_back(c);
    claims_[ti].push_back({c.name, what, c.pos, false});
  }

  // set null / set default must be able to do what they say.
  bool CheckActions(const decl::ForeignKey& f, const Table& t, const std::string& what, bool composite) {
    bool ok = true;
    auto check = [&](FkAction action, SourcePos pos, std::string_view key) {
      if (!IsSetAction(action)) return;
      const std::string action_text = std::string(key) + " = '" + std::string(FkActionName(action)) + "'";
      if (composite && key == "on_update") {
        Error(pos, action_text + " cannot be used on " + what + ", which is between tenant-scoped tables: "
                                 "it would also change the tenant column",
              "use 'cascade', 'restrict' or 'no action' for on_update");
        ok = false;
        return;
      }
      for (const std::string& col : f.columns.names) {
        const Column* c = t.FindColumn(col);
        if (c == nullptr || !c->not_null) continue;
        if (action == FkAction::kSetNull) {
          Error(pos, action_text + " of " + what + " cannot null column " + Quoted(t.name + "." + col) +
                         ", which is not null",
                "make the column nullable, or choose 'cascade' or 'restrict'");
          ok = false;
        } else if (c->default_value.kind == DefaultKind::kNone) {
          Error(pos, action_text + " of " + what + " would set not-null column " + Quoted(t.name + "." + col) +
                         " to null: it has no default",
                "give the column a default, or choose another action");
          ok = false;
        }
      }
    };
    check(f.on_delete, f.on_delete_pos, "on_delete");
    check(f.on_update, f.on_update_pos, "on_update");
    return ok;
  }

  std::string TenantPolicyText() {
    const std::string text = TenantColumn() + " = auth.tenant_id()";
    Diagnostics scratch;
    Result<expr::Node> node = expr::Parse(text, expr::ParseOptions{file_, {}}, scratch);
    if (!node.ok()) {
      // The tenant column is a validated identifier, so this is a bug in plinth.
      Error(d_.tenant_column_pos, "internal error: the tenant policy '" + text + "' does not parse: " +
                                      node.status().message());
      return text;
    }
    return expr::Canonical(*node);
  }

  // ---- expressions ----

  void CheckExpressions() {
    std::set<size_t> skip;  // tables with a column of unknown type: checking would only repeat that error
    for (size_t i = 0; i < out_.tables.size(); ++i) {
      for (const Column& c : out_.tables[i].columns) {
        if (invalid_types_.count(out_.tables[i].name + "." + c.name)) skip.insert(i);
      }
    }
    std::vector<std::string> results(pending_.size());
    std::vector<bool> valid(pending_.size(), false);
    for (size_t i = 0; i < pending_.size(); ++i) {
      const PendingExpr& p = pending_[i];
      if (skip.count(p.table)) continue;
      const Table& table = out_.tables[p.table];
      Diagnostics scratch;
      // Positions are counted inside the string (origin 1:1) and mapped to the file below, which
      // stays exact across escapes and line continuations.
      expr::ParseOptions opts{file_, {1, 1}};
      Result<std::string> canonical = expr::CanonicalizeChecked(p.expr->text, opts, out_, table, p.context, scratch);
      for (Diagnostic d : scratch.items()) {
        d.file = file_;
        d.pos = p.expr->positions.ToFile(d.pos);
        diags_.Add(std::move(d));
      }
      if (!canonical.ok()) {
        if (!scratch.has_errors()) {
          Error(p.expr->positions.origin(), p.what + ": " + canonical.status().message());
        }
        continue;
      }
      results[i] = *canonical;
      valid[i] = CheckEncryptedUse(p, table, results[i]);
    }
    for (size_t i = 0; i < pending_.size(); ++i) {
      if (!valid[i]) continue;
      const PendingExpr& p = pending_[i];
      Table& table = out_.tables[p.table];
      for (size_t target : p.targets) {
        switch (p.slot) {
          case Slot::kCheck: table.constraints[target].expression = results[i]; break;
          case Slot::kIndexWhere: table.indexes[target].where = results[i]; break;
          case Slot::kPolicyUsing: table.policies[target].using_expr = results[i]; break;
          case Slot::kPolicyCheck: table.policies[target].check_expr = results[i]; break;
        }
      }
    }
  }

  // Encrypted columns hold ciphertext: an expression cannot look at them.
  bool CheckEncryptedUse(const PendingExpr& p, const Table& table, const std::string& canonical) {
    Result<expr::Node> node = expr::ParseStored(canonical, out_, table, p.context);
    if (!node.ok()) {
      Error(p.expr->positions.origin(),
            "internal error: the canonical form of " + p.what + " does not parse: " + node.status().message());
      return false;
    }
    bool ok = true;
    for (const std::string& col : expr::ReferencedColumns(*node)) {
      const Column* c = table.FindColumn(col);
      if (c != nullptr && c->encrypted) {
        Error(p.expr->positions.origin(),
              p.what + " uses column " + Quoted(table.name + "." + col) + ", which is encrypted",
              "the database holds only ciphertext; expressions cannot use encrypted columns");
        ok = false;
      }
    }
    return ok;
  }

  // ---- names ----

  // Reports every claim whose name an earlier claim (in file order) already has.
  void ReportCollisions(std::vector<Claim> claims, const std::string& hint, bool skip_relation_pairs) {
    std::stable_sort(claims.begin(), claims.end(), [](const Claim& a, const Claim& b) { return Before(a.pos, b.pos); });
    std::map<std::string, const Claim*> first;
    for (const Claim& c : claims) {
      auto [it, inserted] = first.emplace(c.name, &c);
      if (inserted) continue;
      const Claim& earlier = *it->second;
      if (skip_relation_pairs && earlier.relation && c.relation) continue;
      Error(c.pos,
            "duplicate name " + Quoted(c.name) + ": " + c.what + " has the same name as " + earlier.what + " (line " +
                std::to_string(earlier.pos.line) + ")",
            hint);
    }
  }

  void CheckNames() {
    std::vector<Claim> relations = index_claims_;
    std::vector<Claim> types;
    for (const Table& t : out_.tables) {
      relations.push_back({t.name, "table " + Quoted(t.name), t.pos, true});
      types.push_back({t.name, "table " + Quoted(t.name), t.pos, false});
    }
    for (const Enum& e : out_.enums) types.push_back({e.name, "enum " + Quoted(e.name), e.pos, false});
    for (const auto& [ti, claims] : claims_) {
      for (const Claim& c : claims) {
        if (c.relation) relations.push_back(c);
      }
    }
    ReportCollisions(relations,
                     "PostgreSQL keeps the names of tables, indexes, primary keys and unique constraints in one "
                     "namespace: rename one of them",
                     false);
    ReportCollisions(types,
                     "PostgreSQL gives every table a row type of its name, so a table and an enum cannot share it: "
                     "rename one of them",
                     false);
    for (const auto& [ti, claims] : claims_) {
      ReportCollisions(claims, "constraint names are unique within a table: rename one of them", true);
    }
    for (const auto& [ti, claims] : policy_claims_) {
      ReportCollisions(claims, "policy names are unique within a table: rename one of them", false);
    }
  }

  void CheckRenames() {
    // A rename hint names an object that no longer exists, and each old name is renamed once.
    auto check = [&](const std::vector<std::pair<std::string, std::string>>& renamed,  // (name, old)
                     const std::vector<SourcePos>& pos, const std::set<std::string>& current, std::string_view kind) {
      std::map<std::string, size_t> by_old;
      for (size_t i = 0; i < renamed.size(); ++i) {
        const auto& [name, old] = renamed[i];
        if (current.count(old)) {
          Error(pos[i], std::string(kind) + " " + Quoted(name) + " is renamed from " + Quoted(old) + ", but " +
                            Quoted(old) + " is declared too",
                "remove renamed_from, or the declaration of " + Quoted(old));
        } else if (auto [it, inserted] = by_old.emplace(old, i); !inserted) {
          Error(pos[i], std::string(kind) + " " + Quoted(name) + " is renamed from " + Quoted(old) + ", like " +
                            std::string(kind) + " " + Quoted(renamed[it->second].first) + " (line " +
                            std::to_string(pos[it->second].line) + ")",
                "an old name can become only one new one: remove one renamed_from");
        }
      }
    };
    std::vector<std::pair<std::string, std::string>> renamed;
    std::vector<SourcePos> pos;
    std::set<std::string> current;
    for (const decl::Table& t : d_.tables) {
      current.insert(t.table.name);
      if (t.table.renamed_from.empty()) continue;
      renamed.emplace_back(t.table.name, t.table.renamed_from);
      pos.push_back(t.KeyPos("renamed_from"));
    }
    check(renamed, pos, current, "table");
    renamed.clear();
    pos.clear();
    current.clear();
    for (const Enum& e : d_.enums) {
      current.insert(e.name);
      if (e.renamed_from.empty()) continue;
      renamed.emplace_back(e.name, e.renamed_from);
      auto it = d_.enum_renamed_from_pos.find(e.name);
      pos.push_back(it == d_.enum_renamed_from_pos.end() ? e.pos : it->second);
    }
    check(renamed, pos, current, "enum");
    for (const decl::Table& t : d_.tables) {
      renamed.clear();
      pos.clear();
      current.clear();
      for (const decl::Column& c : t.columns) {
        current.insert(c.column.name);
        if (c.column.renamed_from.empty()) continue;
        renamed.emplace_back(t.table.name + "." + c.column.name, c.column.renamed_from);
        pos.push_back(c.KeyPos("renamed_from"));
      }
      check(renamed, pos, current, "column");
    }
  }

  // ---- warnings ----

  void Warn() {
    for (size_t i = 0; i < d_.tables.size(); ++i) {
      const decl::Table& dt = d_.tables[i];
      if (!dt.table.options.tenant_scoped || dt.tenant_policy.value_or(true)) continue;
      if (out_.tables[i].policies.empty()) {
        diags_.Warning(file_, dt.KeyPos("tenant_policy"),
                       "table " + Quoted(dt.table.name) +
                           " opts out of the automatic tenant policy and has no policies: row security is on, so "
                           "no row of it is visible to the API",
                       "add policies, or remove tenant_policy = false");
      } else {
        diags_.Warning(file_, dt.KeyPos("tenant_policy"),
                       "table " + Quoted(dt.table.name) +
                           " opts out of the automatic tenant policy: only its own policies keep tenants apart",
                       "make sure its policies compare " + TenantColumn() + " with auth.tenant_id()");
      }
    }
  }

  const decl::Schema& d_;
  const std::string& file_;
  Diagnostics& diags_;
  Schema out_;
  std::vector<DeclaredKeys> keys_;     // per table, as declared
  std::string tenant_key_;             // primary key column of the tenant table, when valid
  std::set<std::string> invalid_types_;  // "table.column" whose type did not parse
  std::map<size_t, std::vector<Claim>> claims_;         // per table: constraint names
  std::map<size_t, std::vector<Claim>> policy_claims_;  // per table: policy names
  std::vector<Claim> index_claims_;                     // schema-wide
  std::vector<PendingExpr> pending_;
};

}  // namespace

Schema Expand(const decl::Schema& declared, const std::string& file, Diagnostics& diags) {
  return Expander(declared, file, diags).Run();
}

}  // namespace plinth::schema
