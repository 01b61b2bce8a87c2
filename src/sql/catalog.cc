// What a schema should look like in the database (Expected), and the differences between that and
// what Introspect read (Compare): drift detection for `plinth check` and the runner.
#include <algorithm>
#include <functional>

#include "common/strings.h"
#include "sql/internal.h"

namespace plinth::sql {
namespace {

using schema::ConstraintKind;

std::string KindName(ConstraintKind k) {
  switch (k) {
    case ConstraintKind::kPrimaryKey: return "primary key";
    case ConstraintKind::kUnique: return "unique";
    case ConstraintKind::kCheck: return "check";
    case ConstraintKind::kForeignKey: return "foreign key";
  }
  return "check";
}

std::string PolicyKind(const schema::Policy& p) {
  return std::string(p.restrictive ? "restrictive " : "permissive ") + std::string(schema::PolicyCommandName(p.command));
}

std::string Parenthesized(const std::vector<std::string>& items) { return "(" + Join(items, ", ") + ")"; }

class Differ {
 public:
  void Missing(const std::string& object) { Add(object, "missing"); }
  void Extra(const std::string& object) { Add(object, "in the database, not in the schema"); }
  void Add(const std::string& object, std::string problem) { out_.push_back(Difference{object, std::move(problem)}); }

  // Walks two maps keyed alike: `missing`/`extra` for keys on one side, `both` for the rest.
  template <typename Map, typename Both>
  void Match(const Map& expected, const Map& actual, const std::function<std::string(const std::string&)>& object,
             Both both) {
    for (const auto& [key, want] : expected) {
      auto it = actual.find(key);
      if (it == actual.end()) {
        Missing(object(key));
      } else {
        both(key, want, it->second);
      }
    }
    for (const auto& [key, have] : actual) {
      if (!expected.count(key)) Extra(object(key));
    }
  }

  std::vector<Difference> Take() { return std::move(out_); }

 private:
  std::vector<Difference> out_;
};

std::map<std::string, bool> AsSet(const std::vector<std::string>& v) {
  std::map<std::string, bool> out;
  for (const auto& s : v) out[s] = true;
  return out;
}

}  // namespace

std::string CreateTableSql(Dialect d, const schema::Schema& s, const schema::Table& t) {
  if (d == Dialect::kPostgres) {
    Result<std::vector<std::string>> sql = internal::PostgresCreateTable(s, t);
    return sql.ok() && !sql->empty() ? sql->front() : std::string();
  }
  Result<std::string> sql = internal::SqliteCreateTableStatement(s, t);
  return sql.ok() ? *sql : std::string();
}

Catalog Expected(Dialect d, const schema::Schema& s) {
  const bool pg = d == Dialect::kPostgres;
  Catalog c;
  for (const auto& t : s.tables) {
    CatalogTable& ct = c.tables[t.name];
    for (const auto& col : t.columns) {
      ct.columns[col.name] = CatalogColumn{pg ? internal::PostgresType(col, /*quote_enum=*/false)
                                              : internal::SqliteType(col),
                                           internal::ColumnNotNull(t, col)};
      if (!pg) {
        Result<std::string> check = internal::SqliteTypeCheck(s, col);
        if (check.ok() && !check->empty()) ct.constraints[internal::SqliteTypeCheckName(col)] = "check";
      }
    }
    for (const auto& con : t.constraints) ct.constraints[con.name] = KindName(con.kind);
    if (t.options.timestamps) ct.triggers.push_back(internal::TouchTriggerName(t.name));
    if (t.options.append_only) {
      if (pg) {
        ct.triggers.push_back(internal::PgRefuseChangeTriggerName(t.name));
        ct.triggers.push_back(internal::PgRefuseTruncateTriggerName(t.name));
      } else {
        ct.triggers.push_back(internal::SqliteRefuseUpdateTriggerName(t.name));
        ct.triggers.push_back(internal::SqliteRefuseDeleteTriggerName(t.name));
      }
    }
    if (pg) {
      ct.row_security = t.options.row_security;
      ct.force_row_security = t.options.row_security;
      for (const auto& p : t.policies) ct.policies[p.name] = PolicyKind(p);
    }
    for (const auto& idx : t.indexes) {
      CatalogIndex ci;
      ci.table = t.name;
      for (const auto& col : idx.columns) ci.columns.push_back(col.name + (col.descending ? " desc" : ""));
      ci.unique = idx.unique;
      ci.partial = !idx.where.empty();
      c.indexes[idx.name] = std::move(ci);
    }
  }
  if (!pg) {
    // The triggers carrying out composite set null / set default live on the parent.
    for (const auto& t : s.tables) {
      for (const auto& con : t.constraints) {
        if (con.kind != ConstraintKind::kForeignKey) continue;
        auto parent = c.tables.find(con.ref_table);
        if (parent == c.tables.end()) continue;
        if (internal::SqliteNeedsDeleteTrigger(con)) {
          parent->second.triggers.push_back(internal::FkDeleteTriggerName(con.name));
        }
        if (internal::SqliteNeedsUpdateTrigger(con)) {
          parent->second.triggers.push_back(internal::FkUpdateTriggerName(con.name));
        }
      }
    }
  }
  for (auto& [name, ct] : c.tables) std::sort(ct.triggers.begin(), ct.triggers.end());
  if (pg) {
    for (const auto& e : s.enums) c.enums[e.name] = e.values;
    for (const auto& component : s.support) {
      for (auto& f : internal::SupportFunctions(component)) c.functions.push_back(std::move(f));
    }
    std::sort(c.functions.begin(), c.functions.end());
    c.functions.erase(std::unique(c.functions.begin(), c.functions.end()), c.functions.end());
  }
  return c;
}

std::vector<Difference> Compare(const Catalog& expected, const Catalog& actual) {
  Differ d;
  d.Match(expected.tables, actual.tables, [](const std::string& t) { return "table " + t; },
          [&](const std::string& t, const CatalogTable& want, const CatalogTable& have) {
            d.Match(want.columns, have.columns, [&](const std::string& c) { return "column " + t + "." + c; },
                    [&](const std::string& c, const CatalogColumn& w, const CatalogColumn& h) {
                      const std::string object = "column " + t + "." + c;
                      if (w.type != h.type) d.Add(object, "type is " + h.type + ", the schema says " + w.type);
                      if (w.not_null != h.not_null) {
                        d.Add(object, h.not_null ? "is not null, the schema says nullable"
                                                 : "is nullable, the schema says not null");
                      }
                    });
            d.Match(want.constraints, have.constraints,
                    [&](const std::string& c) { return "constraint " + t + "." + c; },
                    [&](const std::string& c, const std::string& w, const std::string& h) {
                      if (w != h) d.Add("constraint " + t + "." + c, "is a " + h + " constraint, the schema says " + w);
                    });
            d.Match(AsSet(want.triggers), AsSet(have.triggers),
                    [&](const std::string& g) { return "trigger " + t + "." + g; },
                    [](const std::string&, bool, bool) {});
            if (want.row_security != have.row_security) {
              d.Add("table " + t, want.row_security ? "row level security is not enabled"
                                                    : "row level security is enabled, the schema does not enable it");
            }
            if (want.force_row_security != have.force_row_security) {
              d.Add("table " + t, want.force_row_security ? "row level security is not forced"
                                                          : "row level security is forced, the schema does not force it");
            }
            d.Match(want.policies, have.policies, [&](const std::string& p) { return "policy " + t + "." + p; },
                    [&](const std::string& p, const std::string& w, const std::string& h) {
                      if (w != h) d.Add("policy " + t + "." + p, "is " + h + ", the schema says " + w);
                    });
          });

  // Indexes of a table that is missing (or unexpected) as a whole were reported with it.
  auto on_listed_tables = [](const std::map<std::string, CatalogIndex>& indexes, const Catalog& other) {
    std::map<std::string, CatalogIndex> out;
    for (const auto& [name, idx] : indexes) {
      if (other.tables.count(idx.table)) out.emplace(name, idx);
    }
    return out;
  };
  d.Match(on_listed_tables(expected.indexes, actual), on_listed_tables(actual.indexes, expected),
          [](const std::string& i) { return "index " + i; },
          [&](const std::string& i, const CatalogIndex& w, const CatalogIndex& h) {
            const std::string object = "index " + i;
            if (w.table != h.table) d.Add(object, "is on table " + h.table + ", the schema says " + w.table);
            if (w.columns != h.columns) {
              d.Add(object, "columns are " + Parenthesized(h.columns) + ", the schema says " + Parenthesized(w.columns));
            }
            if (w.unique != h.unique) d.Add(object, h.unique ? "is unique, the schema says not unique" : "is not unique, the schema says unique");
            if (w.partial != h.partial) {
              d.Add(object, h.partial ? "is partial, the schema says it covers every row"
                                      : "covers every row, the schema says it is partial");
            }
          });

  d.Match(expected.enums, actual.enums, [](const std::string& e) { return "enum " + e; },
          [&](const std::string& e, const std::vector<std::string>& w, const std::vector<std::string>& h) {
            if (w != h) d.Add("enum " + e, "values are " + Parenthesized(h) + ", the schema says " + Parenthesized(w));
          });
  d.Match(AsSet(expected.functions), AsSet(actual.functions),
          [](const std::string& f) { return "function " + f + "()"; }, [](const std::string&, bool, bool) {});
  return d.Take();
}

}  // namespace plinth::sql
