// Test helpers for migrate_core: schema models built by hand (the TOML loader is not used
// here), operation constructors, and the replay property every diff must satisfy.
#pragma once

#include <gtest/gtest.h>

#include <initializer_list>
#include <string>
#include <vector>

#include "common/strings.h"
#include "migrate_core/state.h"
#include "plinth/migrate.h"
#include "plinth/schema.h"

namespace plinth::migrate::testing {

inline schema::Type T(const std::string& text) {
  auto t = schema::ParseType(text, [](std::string_view n) { return internal::IsIdentifier(n); });
  EXPECT_TRUE(t.ok()) << text << ": " << t.status().ToString();
  return t.ok() ? *t : schema::Type{};
}

struct ColumnOpts {
  bool not_null = false;
  std::string literal;  // a literal default when non-empty
  bool now = false;     // default now
  bool uuid = false;    // default uuid
  bool encrypted = false;
  std::string renamed_from;
};

inline schema::Column Col(const std::string& name, const std::string& type, ColumnOpts o = {}) {
  schema::Column c;
  c.name = name;
  c.type = T(type);
  c.not_null = o.not_null;
  if (!o.literal.empty()) c.default_value = {schema::DefaultKind::kLiteral, o.literal};
  if (o.now) c.default_value = {schema::DefaultKind::kNow, ""};
  if (o.uuid) c.default_value = {schema::DefaultKind::kNewUuid, ""};
  c.encrypted = o.encrypted;
  c.renamed_from = o.renamed_from;
  return c;
}

inline schema::Constraint Pk(const std::string& name, std::vector<std::string> cols) {
  schema::Constraint c;
  c.kind = schema::ConstraintKind::kPrimaryKey;
  c.name = name;
  c.columns = std::move(cols);
  return c;
}

inline schema::Constraint Unique(const std::string& name, std::vector<std::string> cols) {
  schema::Constraint c;
  c.kind = schema::ConstraintKind::kUnique;
  c.name = name;
  c.columns = std::move(cols);
  return c;
}

inline schema::Constraint Check(const std::string& name, const std::string& expr) {
  schema::Constraint c;
  c.kind = schema::ConstraintKind::kCheck;
  c.name = name;
  c.expression = expr;
  return c;
}

inline schema::Constraint Fk(const std::string& name, std::vector<std::string> cols, const std::string& ref,
                             std::vector<std::string> ref_cols, schema::FkAction on_delete = schema::FkAction::kNoAction) {
  schema::Constraint c;
  c.kind = schema::ConstraintKind::kForeignKey;
  c.name = name;
  c.columns = std::move(cols);
  c.ref_table = ref;
  c.ref_columns = std::move(ref_cols);
  c.on_delete = on_delete;
  return c;
}

// Columns as "name" or "name desc".
inline schema::Index Idx(const std::string& name, std::vector<std::string> cols, bool unique = false,
                         const std::string& where = "") {
  schema::Index i;
  i.name = name;
  for (const auto& spec : cols) {
    auto parts = Split(spec, ' ');
    i.columns.push_back({parts[0], parts.size() > 1 && parts[1] == "desc"});
  }
  i.unique = unique;
  i.where = where;
  return i;
}

inline schema::Policy Pol(const std::string& name, schema::PolicyCommand cmd, const std::string& using_expr,
                          const std::string& check_expr = "", bool restrictive = false) {
  schema::Policy p;
  p.name = name;
  p.command = cmd;
  p.using_expr = using_expr;
  p.check_expr = check_expr;
  p.restrictive = restrictive;
  return p;
}

// A table with an id uuid primary key unless `with_id` is false.
class TableB {
 public:
  explicit TableB(std::string name, bool with_id = true) {
    t_.name = std::move(name);
    if (with_id) {
      t_.columns.push_back(Col("id", "uuid", {.not_null = true, .uuid = true}));
      t_.constraints.push_back(Pk(t_.name + "_pkey", {"id"}));
    }
  }
  TableB& Column(const std::string& name, const std::string& type, ColumnOpts o = {}) {
    t_.columns.push_back(Col(name, type, o));
    return *this;
  }
  TableB& Add(schema::Constraint c) {
    t_.constraints.push_back(std::move(c));
    return *this;
  }
  TableB& Add(schema::Index i) {
    t_.indexes.push_back(std::move(i));
    return *this;
  }
  TableB& Add(schema::Policy p) {
    t_.policies.push_back(std::move(p));
    return *this;
  }
  // A uuid column referencing `ref`.id, with its foreign key TABLE_COL_fkey.
  TableB& Ref(const std::string& column, const std::string& ref, bool not_null = false) {
    t_.columns.push_back(Col(column, "uuid", {.not_null = not_null}));
    t_.constraints.push_back(Fk(t_.name + "_" + column + "_fkey", {column}, ref, {"id"}));
    return *this;
  }
  TableB& Timestamps() {
    t_.columns.push_back(Col("created_at", "timestamp", {.not_null = true, .now = true}));
    t_.columns.push_back(Col("updated_at", "timestamp", {.not_null = true, .now = true}));
    t_.options.timestamps = true;
    return *this;
  }
  TableB& RowSecurity() {
    t_.options.row_security = true;
    return *this;
  }
  TableB& AppendOnly() {
    t_.options.append_only = true;
    return *this;
  }
  TableB& RenamedFrom(const std::string& old) {
    t_.renamed_from = old;
    return *this;
  }
  schema::Table Build() const { return t_; }
  schema::Table& table() { return t_; }

 private:
  schema::Table t_;
};

class SchemaB {
 public:
  SchemaB& Enum(const std::string& name, std::vector<std::string> values, const std::string& renamed_from = "",
                std::map<std::string, std::string> renamed_values = {}) {
    schema::Enum e;
    e.name = name;
    e.values = std::move(values);
    e.renamed_from = renamed_from;
    e.renamed_values = std::move(renamed_values);
    s_.enums.push_back(std::move(e));
    return *this;
  }
  SchemaB& Table(const TableB& t) {
    s_.tables.push_back(t.Build());
    return *this;
  }
  SchemaB& Table(schema::Table t) {
    s_.tables.push_back(std::move(t));
    return *this;
  }
  // The support a replayed state holds: what its tables need.
  schema::Schema Build() const {
    schema::Schema s = s_;
    s.support = schema::RequiredSupport(s);
    return s;
  }

 private:
  schema::Schema s_;
};

inline std::vector<std::string> Describe(const std::vector<Op>& ops) {
  std::vector<std::string> out;
  for (const auto& op : ops) out.push_back(op.Describe());
  return out;
}

// Applies `ops` in order, failing the test on the first that does not apply.
inline schema::Schema ApplyAll(schema::Schema s, const std::vector<Op>& ops) {
  for (const auto& op : ops) {
    Status st = ApplyOp(s, op);
    EXPECT_TRUE(st.ok()) << st.ToString();
    if (!st.ok()) break;
  }
  return s;
}

// Diff(from, to) with the replay property checked: from + up == to, to + down == from, and
// the migration survives a round trip through its file form.
inline DiffResult DiffChecked(const schema::Schema& from, const schema::Schema& to, DiffOptions opts = {}) {
  auto r = Diff(from, to, opts);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  if (!r.ok()) return {};
  schema::Schema forward = ApplyAll(from, r->up);
  EXPECT_EQ(internal::StateDifference(forward, to), "") << "from + up != to";
  schema::Schema back = ApplyAll(forward, r->down);
  EXPECT_EQ(internal::StateDifference(back, from), "") << "to + down != from";
  Migration m;
  m.version = "0001";
  m.up = r->up;
  m.down = r->down;
  Diagnostics diags;
  auto parsed = ParseMigration(ToFileText(m), "diff.json", diags);
  EXPECT_TRUE(parsed.ok()) << diags.ToString();
  if (parsed.ok()) EXPECT_EQ(CanonicalText(*parsed), CanonicalText(m));
  return *r;
}

inline Op MakeOp(OpKind kind) {
  Op op;
  op.kind = kind;
  return op;
}

}  // namespace plinth::migrate::testing
