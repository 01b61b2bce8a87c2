#include "migrate_core/state.h"

#include <algorithm>
#include <cctype>
#include <map>

#include "common/strings.h"

namespace plinth::migrate::internal {

using schema::Column;
using schema::Schema;
using schema::Table;
using schema::Type;
using schema::TypeKind;

bool IsIdentifier(std::string_view name) {
  if (name.empty() || name.size() > kMaxIdentifierBytes) return false;
  if (!(std::islower(static_cast<unsigned char>(name[0])) || name[0] == '_')) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::islower(static_cast<unsigned char>(c)) || std::isdigit(static_cast<unsigned char>(c)) || c == '_';
  });
}

std::set<std::string> EffectiveSupport(const Schema& s) {
  std::set<std::string> out = s.support;
  std::set<std::string> required = schema::RequiredSupport(s);
  out.insert(required.begin(), required.end());
  return out;
}

namespace {

template <typename T>
std::map<std::string, const T*> ByName(const std::vector<T>& items) {
  std::map<std::string, const T*> out;
  for (const T& x : items) out.emplace(x.name, &x);
  return out;
}

// Compares two named collections with SameAs; returns the first difference.
template <typename T>
std::string CompareNamed(const std::string& what, const std::vector<T>& a, const std::vector<T>& b) {
  auto ma = ByName(a);
  auto mb = ByName(b);
  for (const auto& [name, x] : ma) {
    auto it = mb.find(name);
    if (it == mb.end()) return what + " " + name + " only on the left";
    if (!x->SameAs(*it->second)) return what + " " + name + " differs";
  }
  for (const auto& [name, x] : mb) {
    if (!ma.count(name)) return what + " " + name + " only on the right";
  }
  if (a.size() != ma.size() || b.size() != mb.size()) return what + ": duplicate names";
  return "";
}

std::string OptionsText(const schema::TableOptions& o) {
  std::string s;
  auto add = [&](bool on, const char* n) {
    if (on) s += s.empty() ? n : std::string(",") + n;
  };
  add(o.tenant_scoped, "tenant_scoped");
  add(o.timestamps, "timestamps");
  add(o.append_only, "append_only");
  add(o.row_security, "row_security");
  return "{" + s + "}";
}

}  // namespace

std::string StateDifference(const Schema& a, const Schema& b) {
  if (std::string d = CompareNamed("enum", a.enums, b.enums); !d.empty()) return d;
  auto ta = ByName(a.tables);
  auto tb = ByName(b.tables);
  for (const auto& [name, t] : ta) {
    auto it = tb.find(name);
    if (it == tb.end()) return "table " + name + " only on the left";
    const Table& u = *it->second;
    std::string prefix = "table " + name + ": ";
    if (std::string d = CompareNamed("column", t->columns, u.columns); !d.empty()) return prefix + d;
    if (std::string d = CompareNamed("constraint", t->constraints, u.constraints); !d.empty()) return prefix + d;
    if (std::string d = CompareNamed("index", t->indexes, u.indexes); !d.empty()) return prefix + d;
    if (std::string d = CompareNamed("policy", t->policies, u.policies); !d.empty()) return prefix + d;
    if (!(t->options == u.options)) {
      return prefix + "options " + OptionsText(t->options) + " vs " + OptionsText(u.options);
    }
  }
  for (const auto& [name, t] : tb) {
    if (!ta.count(name)) return "table " + name + " only on the right";
  }
  if (a.tables.size() != ta.size() || b.tables.size() != tb.size()) return "duplicate table names";
  std::set<std::string> sa = EffectiveSupport(a), sb = EffectiveSupport(b);
  if (sa != sb) {
    return "support {" + Join(std::vector<std::string>(sa.begin(), sa.end()), ",") + "} vs {" +
           Join(std::vector<std::string>(sb.begin(), sb.end()), ",") + "}";
  }
  return "";
}

bool HasKeyOn(const Table& t, const std::vector<std::string>& cols) {
  using schema::ConstraintKind;
  std::set<std::string> want(cols.begin(), cols.end());
  for (const auto& c : t.constraints) {
    if ((c.kind == ConstraintKind::kPrimaryKey || c.kind == ConstraintKind::kUnique) &&
        std::set<std::string>(c.columns.begin(), c.columns.end()) == want) {
      return true;
    }
  }
  for (const auto& i : t.indexes) {
    if (!i.unique || !i.where.empty()) continue;
    std::set<std::string> have;
    for (const auto& ic : i.columns) have.insert(ic.name);
    if (have == want) return true;
  }
  return false;
}

Column StoredColumn(const Column& c) {
  Column out;
  out.name = c.name;
  out.type = c.type;
  out.not_null = c.not_null;
  out.default_value = c.default_value;
  out.encrypted = c.encrypted;
  return out;
}

schema::Constraint StoredConstraint(const schema::Constraint& c) {
  schema::Constraint out = c;
  out.pos = {};
  return out;
}

schema::Index StoredIndex(const schema::Index& i) {
  schema::Index out = i;
  out.pos = {};
  return out;
}

schema::Policy StoredPolicy(const schema::Policy& p) {
  schema::Policy out = p;
  out.pos = {};
  return out;
}

schema::Enum StoredEnum(const schema::Enum& e) {
  schema::Enum out;
  out.name = e.name;
  out.values = e.values;
  return out;
}

Table StoredTableDef(const Table& t) {
  Table out;
  out.name = t.name;
  for (const Column& c : t.columns) out.columns.push_back(StoredColumn(c));
  for (const auto& c : t.constraints) out.constraints.push_back(StoredConstraint(c));
  out.options = t.options;
  return out;
}

namespace {

// Characters needed to write every value of `t` as text, or 0 when unbounded.
size_t LongestText(const Type& t, const Schema& state) {
  constexpr size_t kUuidTextLength = 36;
  if (t.kind == TypeKind::kUuid) return kUuidTextLength;
  if (t.kind == TypeKind::kEnum) {
    const schema::Enum* e = state.FindEnum(t.enum_name);
    size_t longest = 0;
    if (e) {
      for (const auto& v : e->values) longest = std::max(longest, v.size());
    }
    return longest;
  }
  return 0;
}

bool TypeChangeLosesData(const Type& from, const Type& to, const Schema& state) {
  if (from == to) return false;
  if (from.kind == to.kind) {
    switch (from.kind) {
      case TypeKind::kText:
        // text(n) → text(m): lossy when m < n; text → text(m): lossy; text(n) → text: safe.
        if (to.max_length == 0) return false;
        return from.max_length == 0 || to.max_length < from.max_length;
      case TypeKind::kDecimal:
        return to.scale < from.scale || (to.precision - to.scale) < (from.precision - from.scale);
      case TypeKind::kEnum:
        return true;  // another enum type: values need not exist there
      default:
        return true;
    }
  }
  if (from.kind == TypeKind::kInteger && to.kind == TypeKind::kBigint) return false;
  if (to.kind == TypeKind::kText && (from.kind == TypeKind::kUuid || from.kind == TypeKind::kEnum)) {
    size_t need = LongestText(from, state);
    return to.max_length != 0 && static_cast<size_t>(to.max_length) < need;
  }
  return true;
}

}  // namespace

bool ColumnChangeLosesData(const Column& from, const Column& to, const Schema& state) {
  if (from.encrypted != to.encrypted) return true;
  return TypeChangeLosesData(from.type, to.type, state);
}

bool OpLosesData(const Schema& before, const Op& op) {
  switch (op.kind) {
    case OpKind::kDropTable:
    case OpKind::kDropColumn:
      return true;
    case OpKind::kReplaceEnum:
      for (const auto& v : op.old_values) {
        if (std::find(op.enum_def.values.begin(), op.enum_def.values.end(), v) == op.enum_def.values.end()) {
          return true;
        }
      }
      return false;
    case OpKind::kAlterColumn:
      return ColumnChangeLosesData(op.old_column, op.column, before);
    default:
      return false;
  }
}

bool TypeChangeRewrites(const Type& from, const Type& to) {
  if (from == to) return false;
  if (from.kind == TypeKind::kText && to.kind == TypeKind::kText) {
    return !(to.max_length == 0 || (from.max_length != 0 && to.max_length >= from.max_length));
  }
  if (from.kind == TypeKind::kDecimal && to.kind == TypeKind::kDecimal) {
    return !(to.scale == from.scale && to.precision >= from.precision);
  }
  return true;
}

}  // namespace plinth::migrate::internal
