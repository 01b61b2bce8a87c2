// Reads a parsed schema.toml into declarations (see phases.h).
#include <algorithm>
#include <array>
#include <cctype>
#include <set>

#include "common/strings.h"
#include "schema/literals.h"
#include "schema/names.h"
#include "schema/phases.h"

namespace plinth::schema {

namespace {

// The keys each part of the file may hold.
// [auth] is read and validated by the auth layer (plinth/auth.h, LoadAuthConfig).
const std::vector<std::string> kRootKeys = {"app", "enum", "table", "auth"};
const std::vector<std::string> kAppKeys = {"name", "tenants", "tenant_column"};
const std::vector<std::string> kEnumKeys = {"values", "renamed_from", "renamed_values"};
const std::vector<std::string> kTableKeys = {"columns",       "primary_key", "unique",      "checks",   "foreign_keys",
                                             "indexes",       "tenant_scoped", "timestamps", "append_only",
                                             "tenant_policy", "policies",    "api",         "comment",  "renamed_from"};
const std::vector<std::string> kColumnKeys = {"type",       "not_null",  "primary_key", "unique",  "default",
                                              "check",      "references", "on_delete",  "on_update", "encrypted",
                                              "access",     "comment",   "renamed_from"};
const std::vector<std::string> kForeignKeyKeys = {"columns", "references", "ref_columns", "on_delete", "on_update"};
const std::vector<std::string> kIndexKeys = {"columns", "unique", "where", "tenant_prefix"};
const std::vector<std::string> kPolicyKeys = {"name", "for", "as", "using", "check"};
const std::vector<std::string> kTypeNames = {"uuid", "text",     "varchar", "integer", "int",  "bigint",
                                             "boolean", "bool", "decimal", "numeric", "timestamp",
                                             "timestamptz", "date", "json", "jsonb", "bytes", "bytea"};

SourcePos Begin(const toml::source_region& r) {
  return {static_cast<int>(r.begin.line), static_cast<int>(r.begin.column)};
}

std::string_view TomlTypeName(const toml::node& n) {
  switch (n.type()) {
    case toml::node_type::table: return "a table";
    case toml::node_type::array: return "an array";
    case toml::node_type::string: return "a string";
    case toml::node_type::integer: return "an integer";
    case toml::node_type::floating_point: return "a float";
    case toml::node_type::boolean: return "a boolean";
    case toml::node_type::date: return "a date";
    case toml::node_type::time: return "a time";
    case toml::node_type::date_time: return "a date-time";
    case toml::node_type::none: break;
  }
  return "nothing";
}

// One key of a table with where it was written.
struct Entry {
  std::string key;
  SourcePos key_pos;
  const toml::node* node;
  SourcePos value_pos() const { return Begin(node->source()); }
};

// The entries of a table in the order they were written (toml++ keeps tables sorted by key).
std::vector<Entry> Ordered(const toml::table& t) {
  std::vector<Entry> out;
  for (auto&& [k, v] : t) out.push_back({std::string(k.str()), Begin(k.source()), &v});
  std::stable_sort(out.begin(), out.end(), [](const Entry& a, const Entry& b) {
    return a.key_pos.line != b.key_pos.line ? a.key_pos.line < b.key_pos.line : a.key_pos.column < b.key_pos.column;
  });
  return out;
}

std::string Quote(std::string_view s) { return "'" + std::string(s) + "'"; }

class Reader {
 public:
  Reader(const SourceText& source, const std::string& file, Diagnostics& diags)
      : source_(source), file_(file), diags_(diags) {}

  decl::Schema Read(const toml::table& root) {
    decl::Schema out;
    CheckKeys(root, kRootKeys, "the schema file", "the top level holds [app], [enum.NAME], [table.NAME] and [auth]");
    if (const toml::node* app = root.get("app")) {
      ReadApp(*app, out);
    } else {
      diags_.Error(file_, {1, 1}, "the schema has no [app] section",
                   "start the file with [app] and name = \"my_app\"");
    }
    if (const toml::node* enums = root.get("enum")) {
      if (const toml::table* t = TableOf(*enums, "enum", "[enum.NAME] sections")) {
        for (const Entry& e : Ordered(*t)) ReadEnum(e, out);
      }
    }
    enums_ = &out.enums;
    if (const toml::node* tables = root.get("table")) {
      if (const toml::table* t = TableOf(*tables, "table", "[table.NAME] sections")) {
        for (const Entry& e : Ordered(*t)) ReadTable(e, out);
      }
    }
    return out;
  }

 private:
  void Error(SourcePos pos, std::string message, std::string hint = {}) {
    diags_.Error(file_, pos, std::move(message), std::move(hint));
  }

  // Reports every key of `t` that is not in `allowed`. Returns the keys suggested for typos, so
  // that a required key written with a typo is not reported as missing too.
  std::set<std::string> CheckKeys(const toml::table& t, const std::vector<std::string>& allowed,
                                  std::string_view where, std::string_view fallback_hint = {}) {
    std::set<std::string> suggested;
    for (const Entry& e : Ordered(t)) {
      if (std::find(allowed.begin(), allowed.end(), e.key) != allowed.end()) continue;
      std::string close = names::ClosestMatch(e.key, allowed);
      if (!close.empty()) suggested.insert(close);
      std::string hint = !close.empty() ? "did you mean '" + close + "'?"
                                         : fallback_hint.empty() ? "valid keys: " + Join(allowed, ", ")
                                                                 : std::string(fallback_hint);
      Error(e.key_pos, "unknown key " + Quote(e.key) + " in " + std::string(where), hint);
    }
    return suggested;
  }

  void WrongType(const toml::node& n, std::string_view what, std::string_view expected, std::string hint = {}) {
    Error(Begin(n.source()),
          std::string(what) + " must be " + std::string(expected) + ", not " + std::string(TomlTypeName(n)),
          std::move(hint));
  }

  const toml::table* TableOf(const toml::node& n, std::string_view what, std::string_view expected) {
    if (const toml::table* t = n.as_table()) return t;
    WrongType(n, what, "a table of " + std::string(expected), "docs/schema.md shows the layout of each section");
    return nullptr;
  }

  std::optional<std::string> String(const toml::node& n, std::string_view what, std::string hint = {}) {
    if (const auto* s = n.as_string()) return s->get();
    WrongType(n, what, "a string", hint.empty() ? "write the value in double quotes" : std::move(hint));
    return std::nullopt;
  }

  std::optional<bool> Bool(const toml::node& n, std::string_view what) {
    if (const auto* b = n.as_boolean()) return b->get();
    WrongType(n, what, "true or false", "write true or false, without quotes");
    return std::nullopt;
  }

  // An array of strings, each with its position.
  std::optional<decl::ColumnList> Strings(const toml::node& n, std::string_view what, std::string_view example) {
    const toml::array* a = n.as_array();
    if (a == nullptr) {
      WrongType(n, what, "an array of strings", "write e.g. " + std::string(example));
      return std::nullopt;
    }
    decl::ColumnList out;
    out.pos = Begin(n.source());
    bool ok = true;
    for (const toml::node& item : *a) {
      if (const auto* s = item.as_string()) {
        out.names.push_back(s->get());
        out.name_pos.push_back(Begin(item.source()));
        out.descending.push_back(false);
      } else {
        WrongType(item, "each entry of " + std::string(what), "a string", "write e.g. " + std::string(example));
        ok = false;
      }
    }
    if (!ok) return std::nullopt;
    return out;
  }

  decl::Expr ExprOf(const toml::node& n, const std::string& text) {
    decl::Expr e;
    e.text = text;
    e.pos = Begin(n.source());
    e.positions = StringPositions::Build(source_, e.pos, text);
    return e;
  }

  // Reports a bad identifier; true when the name is fine.
  bool Identifier(std::string_view name, std::string_view what, SourcePos pos, bool check_reserved) {
    if (auto problem = names::CheckIdentifier(name, what, check_reserved)) {
      Error(pos, problem->message, problem->hint);
      return false;
    }
    return true;
  }

  void ReadRenamedFrom(const toml::node& n, std::string_view owner, std::string_view current,
                       std::string& out) {
    auto s = String(n, "renamed_from of " + std::string(owner));
    if (!s) return;
    if (!Identifier(*s, "renamed_from", Begin(n.source()), /*check_reserved=*/false)) return;
    if (*s == current) {
      Error(Begin(n.source()), std::string(owner) + " is renamed from its own name",
            "remove renamed_from, or write the name it had before");
      return;
    }
    out = *s;
  }

  // ---- [app] ----

  void ReadApp(const toml::node& node, decl::Schema& out) {
    const toml::table* app = TableOf(node, "[app]", "settings");
    if (app == nullptr) return;
    out.has_app = true;
    out.app_pos = Begin(node.source());
    const std::set<std::string> typos = CheckKeys(*app, kAppKeys, "[app]");
    if (const toml::node* n = app->get("name")) {
      if (auto s = String(*n, "app name")) {
        bool ok = !s->empty() && std::all_of(s->begin(), s->end(), [](char c) {
          return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
        });
        if (ok) {
          out.app.name = *s;
        } else {
          Error(Begin(n->source()), "app name " + Quote(*s) + " may hold only letters, digits, '_' and '-'",
                "e.g. name = \"documents\"");
        }
      }
    } else if (!typos.count("name")) {
      Error(out.app_pos, "[app] has no name", "add name = \"my_app\" (letters, digits, '_', '-')");
    }
    if (const toml::node* n = app->get("tenants")) {
      out.tenants_pos = Begin(n->source());
      if (auto s = String(*n, "app tenants", "name the tenant table, e.g. tenants = \"tenants\"")) {
        if (Identifier(*s, "tenant table name", out.tenants_pos, /*check_reserved=*/true)) out.app.tenants_table = *s;
      }
    }
    if (const toml::node* n = app->get("tenant_column")) {
      out.tenant_column_pos = Begin(n->source());
      if (auto s = String(*n, "app tenant_column")) {
        if (Identifier(*s, "tenant column name", out.tenant_column_pos, /*check_reserved=*/true)) {
          out.app.tenant_column = *s;
        }
      }
    }
  }

  // ---- [enum.NAME] ----

  void ReadEnum(const Entry& entry, decl::Schema& out) {
    const std::string owner = "enum " + Quote(entry.key);
    Identifier(entry.key, "enum name", entry.key_pos, /*check_reserved=*/true);
    const toml::table* t = TableOf(*entry.node, owner, "settings (values = [...])");
    if (t == nullptr) return;
    const std::set<std::string> typos = CheckKeys(*t, kEnumKeys, owner);
    Enum e;
    e.name = entry.key;
    e.pos = entry.key_pos;
    if (const toml::node* n = t->get("values")) {
      if (auto list = Strings(*n, "values of " + owner, "values = [\"draft\", \"published\"]")) {
        if (list->names.empty()) {
          Error(list->pos, owner + " has no values", "list at least one, e.g. values = [\"draft\", \"published\"]");
        }
        std::map<std::string, int> seen;  // value → line
        for (size_t i = 0; i < list->names.size(); ++i) {
          const std::string& v = list->names[i];
          SourcePos at = list->name_pos[i];
          if (v.empty()) {
            Error(at, "enum values cannot be empty strings", "remove \"\" or give it a name");
          } else if (v.size() > names::kMaxIdentifierBytes) {
            Error(at, "enum value " + Quote(v) + " is longer than 63 bytes", "choose a shorter value");
          } else if (auto [it, inserted] = seen.emplace(v, at.line); !inserted) {
            Error(at, "enum value " + Quote(v) + " is listed twice (first on line " + std::to_string(it->second) + ")",
                  "remove one of them");
          } else {
            e.values.push_back(v);
          }
        }
      }
    } else if (!typos.count("values")) {
      Error(entry.key_pos, owner + " has no values", "add values = [\"a\", \"b\"]");
    }
    if (const toml::node* n = t->get("renamed_from")) {
      ReadRenamedFrom(*n, owner, e.name, e.renamed_from);
      out.enum_renamed_from_pos[e.name] = Begin(n->source());
    }
    if (const toml::node* n = t->get("renamed_values")) {
      if (const toml::table* rv = TableOf(*n, "renamed_values of " + owner, "new = \"old\" pairs")) {
        std::map<std::string, std::string> old_to_new;
        for (const Entry& r : Ordered(*rv)) {
          auto old_name = String(*r.node, "renamed value " + Quote(r.key), "write new = \"old\"");
          if (!old_name) continue;
          if (std::find(e.values.begin(), e.values.end(), r.key) == e.values.end()) {
            Error(r.key_pos, Quote(r.key) + " in renamed_values is not a value of " + owner,
                  "renamed_values maps a new value (listed in values) to its old name: new = \"old\"");
          } else if (std::find(e.values.begin(), e.values.end(), *old_name) != e.values.end()) {
            Error(r.value_pos(), "renamed value " + Quote(*old_name) + " is still listed in values of " + owner,
                  "a renamed value has a new name: remove " + Quote(*old_name) + " from values");
          } else if (auto [it, inserted] = old_to_new.emplace(*old_name, r.key); !inserted) {
            Error(r.value_pos(), Quote(*old_name) + " is renamed twice (to " + Quote(it->second) + " and " +
                                     Quote(r.key) + ")",
                  "keep one rename");
          } else {
            e.renamed_values[r.key] = *old_name;
          }
        }
      }
    }
    out.enums.push_back(std::move(e));
  }

  // ---- [table.NAME] ----

  void ReadTable(const Entry& entry, decl::Schema& out) {
    const std::string owner = "table " + Quote(entry.key);
    Identifier(entry.key, "table name", entry.key_pos, /*check_reserved=*/true);
    const toml::table* t = TableOf(*entry.node, owner, "settings (columns.NAME = {...})");
    if (t == nullptr) return;
    CheckKeys(*t, kTableKeys, owner);
    decl::Table dt;
    dt.table.name = entry.key;
    dt.table.pos = entry.key_pos;
    for (const Entry& e : Ordered(*t)) dt.keys[e.key] = e.key_pos;

    auto flag = [&](std::string_view key, auto apply) {
      if (const toml::node* n = t->get(key)) {
        if (auto b = Bool(*n, std::string(key) + " of " + owner)) apply(*b);
      }
    };
    flag("tenant_scoped", [&](bool b) { dt.table.options.tenant_scoped = b; });
    flag("timestamps", [&](bool b) { dt.table.options.timestamps = b; });
    flag("append_only", [&](bool b) { dt.table.options.append_only = b; });
    flag("tenant_policy", [&](bool b) { dt.tenant_policy = b; });
    if (const toml::node* n = t->get("comment")) {
      if (auto s = String(*n, "comment of " + owner)) dt.table.comment = *s;
    }
    if (const toml::node* n = t->get("renamed_from")) ReadRenamedFrom(*n, owner, dt.table.name, dt.table.renamed_from);
    if (const toml::node* n = t->get("api")) {
      if (auto s = String(*n, "api of " + owner)) {
        if (*s == "read_write") {
          dt.table.api = Access::kReadWrite;
        } else if (*s == "read_only") {
          dt.table.api = Access::kReadOnly;
        } else if (*s == "hidden") {
          dt.table.api = Access::kHidden;
        } else {
          Error(Begin(n->source()), "api of " + owner + " is " + Quote(*s) + ", not one of read_write, read_only, hidden",
                names::SuggestionHint(*s, {"read_write", "read_only", "hidden"}));
        }
      }
    }

    if (const toml::node* n = t->get("columns")) {
      if (const toml::table* cols = TableOf(*n, "columns of " + owner, "columns (columns.NAME = { type = ... })")) {
        for (const Entry& c : Ordered(*cols)) ReadColumn(c, dt);
      }
    }
    if (const toml::node* n = t->get("primary_key")) ReadPrimaryKey(*n, dt);
    if (const toml::node* n = t->get("unique")) ReadUniques(*n, dt);
    if (const toml::node* n = t->get("checks")) {
      if (const toml::table* checks = TableOf(*n, "checks of " + owner, "named checks (checks.NAME = \"expr\")")) {
        for (const Entry& c : Ordered(*checks)) {
          Identifier(c.key, "check name", c.key_pos, /*check_reserved=*/false);
          if (auto s = String(*c.node, "check " + Quote(c.key) + " of " + owner,
                              "write checks." + c.key + " = \"expression\"")) {
            dt.checks.push_back({c.key, c.key_pos, /*from_column=*/false, ExprOf(*c.node, *s)});
          }
        }
      }
    }
    if (const toml::node* n = t->get("foreign_keys")) {
      if (const toml::table* fks = TableOf(*n, "foreign_keys of " + owner, "named foreign keys")) {
        for (const Entry& f : Ordered(*fks)) ReadForeignKey(f, dt);
      }
    }
    if (const toml::node* n = t->get("indexes")) {
      if (const toml::table* idx = TableOf(*n, "indexes of " + owner, "named indexes (indexes.NAME = {...})")) {
        for (const Entry& i : Ordered(*idx)) ReadIndex(i, dt);
      }
    }
    if (const toml::node* n = t->get("policies")) {
      if (const toml::array* a = n->as_array()) {
        for (const toml::node& p : *a) ReadPolicy(p, dt);
      } else {
        WrongType(*n, "policies of " + owner, "an array of tables",
                  "write each policy as [[table." + dt.table.name + ".policies]]");
      }
    }
    out.tables.push_back(std::move(dt));
  }

  void ReadColumn(const Entry& entry, decl::Table& dt) {
    const std::string owner = "column " + Quote(dt.table.name + "." + entry.key);
    Identifier(entry.key, "column name", entry.key_pos, /*check_reserved=*/true);
    const toml::table* t = entry.node->as_table();
    if (t == nullptr) {
      WrongType(*entry.node, owner, "an inline table", "write columns." + entry.key + " = { type = \"text\" }");
      return;
    }
    const std::set<std::string> typos = CheckKeys(*t, kColumnKeys, owner);
    decl::Column dc;
    Column& c = dc.column;
    c.name = entry.key;
    c.pos = entry.key_pos;
    for (const Entry& e : Ordered(*t)) dc.keys[e.key] = e.key_pos;

    if (const toml::node* n = t->get("type")) {
      if (auto s = String(*n, "type of " + owner, "e.g. type = \"text\"")) {
        Result<Type> type = ParseType(*s, [&](std::string_view name) { return FindEnum(name) != nullptr; });
        if (type.ok()) {
          c.type = *type;
          dc.type_valid = true;
        } else {
          std::vector<std::string> candidates = kTypeNames;
          for (const Enum& e : *enums_) candidates.push_back(e.name);
          const bool unknown = StartsWith(type.status().message(), "unknown type");
          std::string close = unknown ? names::ClosestMatch(*s, candidates) : "";
          std::string hint = !close.empty() ? "did you mean '" + close + "'?"
                             : unknown ? "an enum is usable as a type once declared as [enum.NAME] with values = [...]"
                                       : "e.g. type = \"text(200)\" or type = \"decimal(12,2)\"";
          Error(Begin(n->source()), owner + ": " + type.status().message(), hint);
        }
      }
    } else if (!typos.count("type")) {
      Error(entry.key_pos, owner + " has no type", "add type = \"...\" (uuid, text, integer, …)");
    }
    auto flag = [&](std::string_view key, bool& target) {
      if (const toml::node* n = t->get(key)) {
        if (auto b = Bool(*n, std::string(key) + " of " + owner)) target = *b;
      }
    };
    flag("not_null", c.not_null);
    flag("primary_key", dc.primary_key);
    flag("encrypted", c.encrypted);
    bool unique = false;
    flag("unique", unique);
    if (unique) {
      decl::Unique u;
      u.from_column = true;
      u.columns.names = {c.name};
      u.columns.name_pos = {dc.KeyPos("unique")};
      u.columns.descending = {false};
      u.columns.pos = dc.KeyPos("unique");
      dt.uniques.push_back(std::move(u));
    }
    if (const toml::node* n = t->get("comment")) {
      if (auto s = String(*n, "comment of " + owner)) c.comment = *s;
    }
    if (const toml::node* n = t->get("renamed_from")) ReadRenamedFrom(*n, owner, c.name, c.renamed_from);
    if (const toml::node* n = t->get("access")) {
      if (auto s = String(*n, "access of " + owner)) {
        static const std::vector<std::string> kAccess = {"read_write", "read_only", "write_only", "hidden"};
        static constexpr std::array<Access, 4> kAccessValues = {Access::kReadWrite, Access::kReadOnly,
                                                                Access::kWriteOnly, Access::kHidden};
        auto it = std::find(kAccess.begin(), kAccess.end(), *s);
        if (it != kAccess.end()) {
          c.access = kAccessValues[static_cast<size_t>(it - kAccess.begin())];
        } else {
          Error(Begin(n->source()), "access of " + owner + " is " + Quote(*s) + ", not one of " + Join(kAccess, ", "),
                names::SuggestionHint(*s, kAccess));
        }
      }
    }
    if (const toml::node* n = t->get("check")) {
      if (auto s = String(*n, "check of " + owner, "write check = \"expression\"")) {
        dt.checks.push_back({c.name, dc.KeyPos("check"), /*from_column=*/true, ExprOf(*n, *s)});
      }
    }
    const toml::node* references = t->get("references");
    if (references != nullptr) ReadColumnReference(*references, dc, dt, owner, *t);
    for (std::string_view key : {"on_delete", "on_update"}) {
      if (t->get(key) != nullptr && references == nullptr) {
        Error(dc.KeyPos(key), std::string(key) + " of " + owner + " needs references",
              "add references = \"table\" (or remove " + std::string(key) + ")");
      }
    }
    if (const toml::node* n = t->get("default")) {
      if (c.encrypted) {
        Error(dc.KeyPos("default"), owner + " is encrypted and cannot have a default",
              "the database holds only ciphertext: remove the default or encrypted = true");
      } else if (dc.type_valid) {
        ReadDefault(*n, c, owner);
      }
    }
    dt.columns.push_back(std::move(dc));
  }

  void ReadColumnReference(const toml::node& n, const decl::Column& dc, decl::Table& dt, const std::string& owner,
                           const toml::table& column) {
    auto s = String(n, "references of " + owner, "write references = \"table\" or \"table.column\"");
    if (!s) return;
    std::vector<std::string> parts = Split(*s, '.');
    if (parts.size() > 2 || parts[0].empty() || (parts.size() == 2 && parts[1].empty())) {
      Error(Begin(n.source()), "references of " + owner + " is " + Quote(*s) + ", not \"table\" or \"table.column\"",
            "e.g. references = \"users\" (its primary key) or \"users.email\" (a unique column)");
      return;
    }
    decl::ForeignKey fk;
    fk.name = dc.column.name;
    fk.pos = dc.KeyPos("references");
    fk.from_column = true;
    fk.columns.names = {dc.column.name};
    fk.columns.name_pos = {fk.pos};
    fk.columns.descending = {false};
    fk.columns.pos = fk.pos;
    fk.ref_table = parts[0];
    fk.ref_table_pos = Begin(n.source());
    fk.ref_columns.pos = fk.ref_table_pos;
    if (parts.size() == 2) {
      fk.ref_columns.names = {parts[1]};
      fk.ref_columns.name_pos = {fk.ref_table_pos};
      fk.ref_columns.descending = {false};
    }
    ReadActions(column, owner, fk);
    dt.foreign_keys.push_back(std::move(fk));
  }

  void ReadActions(const toml::table& t, const std::string& owner, decl::ForeignKey& fk) {
    for (std::string_view key : {"on_delete", "on_update"}) {
      const toml::node* n = t.get(key);
      if (n == nullptr) continue;
      auto s = String(*n, std::string(key) + " of " + owner);
      if (!s) continue;
      Result<FkAction> action = ParseFkAction(*s);
      if (!action.ok()) {
        Error(Begin(n->source()), std::string(key) + " of " + owner + ": " + action.status().message(),
              names::SuggestionHint(*s, {"no action", "restrict", "cascade", "set null", "set default"}));
        continue;
      }
      if (key == "on_delete") {
        fk.on_delete = *action;
        fk.on_delete_pos = Begin(n->source());
      } else {
        fk.on_update = *action;
        fk.on_update_pos = Begin(n->source());
      }
    }
  }

  void ReadPrimaryKey(const toml::node& n, decl::Table& dt) {
    const std::string what = "primary_key of table " + Quote(dt.table.name);
    if (n.is_boolean()) {
      Error(Begin(n.source()), what + " must list columns",
            "write primary_key = true on the column itself, or primary_key = [\"a\", \"b\"] here");
      return;
    }
    auto list = Strings(n, what, "primary_key = [\"a\", \"b\"]");
    if (!list) return;
    if (list->names.empty()) {
      Error(list->pos, what + " lists no columns", "write primary_key = [\"a\", \"b\"]");
      return;
    }
    list->pos = dt.KeyPos("primary_key");
    dt.primary_key = std::move(*list);
  }

  void ReadUniques(const toml::node& n, decl::Table& dt) {
    const std::string what = "unique of table " + Quote(dt.table.name);
    const toml::array* a = n.as_array();
    if (a == nullptr) {
      WrongType(n, what, "an array of column lists", "write unique = [[\"a\", \"b\"]]");
      return;
    }
    for (const toml::node& item : *a) {
      if (!item.is_array()) {
        WrongType(item, "each entry of " + what, "a list of columns",
                  "write unique = [[\"a\", \"b\"]] (one inner list per constraint)");
        continue;
      }
      auto list = Strings(item, "each entry of " + what, "unique = [[\"a\", \"b\"]]");
      if (!list) continue;
      if (list->names.empty()) {
        Error(list->pos, "a unique constraint of table " + Quote(dt.table.name) + " lists no columns",
              "list its columns, e.g. [\"a\", \"b\"]");
        continue;
      }
      dt.uniques.push_back({std::move(*list), /*from_column=*/false});
    }
  }

  void ReadForeignKey(const Entry& entry, decl::Table& dt) {
    const std::string owner = "foreign key " + Quote(entry.key) + " of table " + Quote(dt.table.name);
    Identifier(entry.key, "foreign key name", entry.key_pos, /*check_reserved=*/false);
    const toml::table* t = entry.node->as_table();
    if (t == nullptr) {
      WrongType(*entry.node, owner, "an inline table",
                "write foreign_keys." + entry.key + " = { columns = [...], references = \"table\" }");
      return;
    }
    const std::set<std::string> typos = CheckKeys(*t, kForeignKeyKeys, owner);
    decl::ForeignKey fk;
    fk.name = entry.key;
    fk.pos = entry.key_pos;
    bool ok = true;
    if (const toml::node* n = t->get("columns")) {
      if (auto list = Strings(*n, "columns of " + owner, "columns = [\"a\", \"b\"]")) {
        fk.columns = std::move(*list);
        if (fk.columns.names.empty()) {
          Error(fk.columns.pos, owner + " lists no columns", "write columns = [\"a\", \"b\"]");
          ok = false;
        }
      } else {
        ok = false;
      }
    } else {
      if (!typos.count("columns")) Error(entry.key_pos, owner + " has no columns", "add columns = [\"a\", \"b\"]");
      ok = false;
    }
    if (const toml::node* n = t->get("references")) {
      if (auto s = String(*n, "references of " + owner, "name the referenced table, e.g. references = \"users\"")) {
        fk.ref_table = *s;
        fk.ref_table_pos = Begin(n->source());
        if (s->find('.') != std::string::npos) {
          Error(fk.ref_table_pos, "references of " + owner + " names a table, not " + Quote(*s),
                "list the referenced columns in ref_columns = [...]");
          ok = false;
        }
      } else {
        ok = false;
      }
    } else {
      if (!typos.count("references")) Error(entry.key_pos, owner + " has no references", "add references = \"table\"");
      ok = false;
    }
    if (const toml::node* n = t->get("ref_columns")) {
      if (auto list = Strings(*n, "ref_columns of " + owner, "ref_columns = [\"a\", \"b\"]")) {
        fk.ref_columns = std::move(*list);
      } else {
        ok = false;
      }
    }
    ReadActions(*t, owner, fk);
    if (ok) dt.foreign_keys.push_back(std::move(fk));
  }

  void ReadIndex(const Entry& entry, decl::Table& dt) {
    const std::string owner = "index " + Quote(entry.key) + " of table " + Quote(dt.table.name);
    Identifier(entry.key, "index name", entry.key_pos, /*check_reserved=*/false);
    const toml::table* t = entry.node->as_table();
    if (t == nullptr) {
      WrongType(*entry.node, owner, "an inline table", "write indexes." + entry.key + " = { columns = [\"a\"] }");
      return;
    }
    const std::set<std::string> typos = CheckKeys(*t, kIndexKeys, owner);
    decl::Index idx;
    idx.name = entry.key;
    idx.pos = entry.key_pos;
    const toml::node* cols = t->get("columns");
    if (cols == nullptr) {
      if (!typos.count("columns")) Error(entry.key_pos, owner + " has no columns", "add columns = [\"a\", \"b desc\"]");
      return;
    }
    auto list = Strings(*cols, "columns of " + owner, "columns = [\"a\", \"b desc\"]");
    if (!list) return;
    if (list->names.empty()) {
      Error(list->pos, owner + " lists no columns", "write columns = [\"a\", \"b desc\"]");
      return;
    }
    for (size_t i = 0; i < list->names.size(); ++i) {
      std::vector<std::string> words;
      for (const std::string& w : Split(Trim(list->names[i]), ' ')) {
        if (!w.empty()) words.push_back(w);
      }
      std::string direction = words.size() == 2 ? ToLower(words[1]) : "";
      if (words.empty() || words.size() > 2 || (words.size() == 2 && direction != "asc" && direction != "desc")) {
        Error(list->name_pos[i], "index column " + Quote(list->names[i]) + " of " + owner +
                                     " is not \"column\", \"column asc\" or \"column desc\"",
              "e.g. columns = [\"created_at desc\"]");
        return;
      }
      list->names[i] = words[0];
      list->descending[i] = direction == "desc";
    }
    idx.columns = std::move(*list);
    if (const toml::node* n = t->get("unique")) {
      if (auto b = Bool(*n, "unique of " + owner)) idx.unique = *b;
    }
    if (const toml::node* n = t->get("tenant_prefix")) {
      idx.tenant_prefix_pos = Begin(n->source());
      if (auto b = Bool(*n, "tenant_prefix of " + owner)) idx.tenant_prefix = *b;
    }
    if (const toml::node* n = t->get("where")) {
      if (auto s = String(*n, "where of " + owner, "write where = \"expression\"")) idx.where = ExprOf(*n, *s);
    }
    dt.indexes.push_back(std::move(idx));
  }

  void ReadPolicy(const toml::node& node, decl::Table& dt) {
    const toml::table* t = node.as_table();
    if (t == nullptr) {
      WrongType(node, "a policy of table " + Quote(dt.table.name), "a table",
                "write each policy as [[table." + dt.table.name + ".policies]]");
      return;
    }
    decl::Policy p;
    p.pos = Begin(node.source());
    p.name_pos = p.pos;
    const toml::node* name = t->get("name");
    if (name != nullptr && name->is_string()) p.name = name->as_string()->get();
    const std::string owner = p.name.empty() ? "a policy of table " + Quote(dt.table.name)
                                             : "policy " + Quote(p.name) + " of table " + Quote(dt.table.name);
    const std::set<std::string> typos = CheckKeys(*t, kPolicyKeys, owner);
    if (name != nullptr) {
      p.name_pos = Begin(name->source());
      if (String(*name, "the name of " + owner)) {
        Identifier(p.name, "policy name", p.name_pos, /*check_reserved=*/false);
      }
    } else if (!typos.count("name")) {
      Error(p.pos, owner + " has no name",
            "add name = \"...\", e.g. name = \"" + dt.table.name + "_select_own\"");
    }
    bool commands_ok = ReadPolicyCommands(*t, owner, p);
    if (const toml::node* n = t->get("as")) {
      if (auto s = String(*n, "as of " + owner)) {
        if (*s == "restrictive") {
          p.restrictive = true;
        } else if (*s != "permissive") {
          Error(Begin(n->source()), "as of " + owner + " is " + Quote(*s) + ", not permissive or restrictive",
                names::SuggestionHint(*s, {"permissive", "restrictive"}));
        }
      }
    }
    for (const Entry& e : Ordered(*t)) {
      if (e.key == "using") p.using_key_pos = e.key_pos;
      if (e.key == "check") p.check_key_pos = e.key_pos;
    }
    if (const toml::node* n = t->get("using")) {
      if (auto s = String(*n, "using of " + owner, "write using = \"expression\"")) p.using_expr = ExprOf(*n, *s);
    }
    if (const toml::node* n = t->get("check")) {
      if (auto s = String(*n, "check of " + owner, "write check = \"expression\"")) p.check_expr = ExprOf(*n, *s);
    }
    if (commands_ok) CheckPolicyClauses(*t, owner, p, typos);
    dt.policies.push_back(std::move(p));
  }

  bool ReadPolicyCommands(const toml::table& t, const std::string& owner, decl::Policy& p) {
    static const std::vector<std::string> kCommands = {"all", "select", "insert", "update", "delete"};
    const toml::node* n = t.get("for");
    if (n == nullptr) {
      p.commands = {PolicyCommand::kAll};
      return true;
    }
    p.for_pos = Begin(n->source());
    std::vector<std::pair<std::string, SourcePos>> words;
    if (const auto* s = n->as_string()) {
      words.emplace_back(s->get(), p.for_pos);
    } else if (const toml::array* a = n->as_array()) {
      p.commands_from_list = true;
      for (const toml::node& item : *a) {
        if (const auto* s = item.as_string()) {
          words.emplace_back(s->get(), Begin(item.source()));
        } else {
          WrongType(item, "each entry of for of " + owner, "a string", "e.g. for = [\"update\", \"delete\"]");
          return false;
        }
      }
      if (words.empty()) {
        Error(p.for_pos, "for of " + owner + " lists no commands",
              "list commands, e.g. for = [\"update\", \"delete\"], or leave out for (all commands)");
        return false;
      }
    } else {
      WrongType(*n, "for of " + owner, "a command or a list of commands", "e.g. for = \"select\"");
      return false;
    }
    bool ok = true;
    for (const auto& [word, at] : words) {
      auto it = std::find(kCommands.begin(), kCommands.end(), ToLower(word));
      if (it == kCommands.end()) {
        Error(at, Quote(word) + " is not a policy command (" + owner + ")",
              names::SuggestionHint(word, kCommands));
        ok = false;
        continue;
      }
      PolicyCommand cmd = static_cast<PolicyCommand>(it - kCommands.begin());
      if (std::find(p.commands.begin(), p.commands.end(), cmd) != p.commands.end()) {
        Error(at, "command " + Quote(word) + " is listed twice in for of " + owner, "remove one of them");
        ok = false;
        continue;
      }
      p.commands.push_back(cmd);
    }
    if (ok && p.commands.size() > 1 &&
        std::find(p.commands.begin(), p.commands.end(), PolicyCommand::kAll) != p.commands.end()) {
      Error(p.for_pos, "for of " + owner + " lists 'all' together with other commands",
            "'all' already covers every command: write for = \"all\" or list the commands");
      ok = false;
    }
    return ok;
  }

  // Which clauses each command takes: select/delete filter existing rows (using); insert checks
  // new rows (check); update and all do both (check defaults to using).
  void CheckPolicyClauses(const toml::table& t, const std::string& owner, const decl::Policy& p,
                          const std::set<std::string>& typos) {
    auto has = [&](PolicyCommand c) { return std::find(p.commands.begin(), p.commands.end(), c) != p.commands.end(); };
    const bool takes_no_check = has(PolicyCommand::kSelect) || has(PolicyCommand::kDelete);
    const bool takes_no_using = has(PolicyCommand::kInsert);
    const bool needs_using = has(PolicyCommand::kSelect) || has(PolicyCommand::kDelete) ||
                             has(PolicyCommand::kUpdate) || has(PolicyCommand::kAll);
    std::vector<std::string> listed;
    for (PolicyCommand c : p.commands) listed.emplace_back(PolicyCommandName(c));
    const std::string cmds = Join(listed, ", ");
    if (t.get("check") != nullptr && takes_no_check) {
      Error(p.check_key_pos, owner + " is for " + cmds + ": select and delete policies take no check",
            "check tests new rows (insert, update); write a separate policy for those commands");
    }
    if (t.get("using") != nullptr && takes_no_using) {
      Error(p.using_key_pos, owner + " is for " + cmds + ": insert policies take no using",
            "using filters existing rows; an insert policy says which new rows are allowed with check = \"...\"");
    }
    if (t.get("using") == nullptr && needs_using && !takes_no_using && !typos.count("using")) {
      Error(p.pos, owner + " has no using: which existing rows it applies to",
            "add using = \"expression\" (e.g. using = \"user_id = auth.user_id()\")");
    }
    if (t.get("check") == nullptr && takes_no_using && !typos.count("check")) {
      Error(p.pos, owner + " has no check: which new rows may be inserted",
            "add check = \"expression\" (e.g. check = \"user_id = auth.user_id()\")");
    }
  }

  // ---- defaults ----

  const Enum* FindEnum(std::string_view name) const {
    for (const Enum& e : *enums_) {
      if (e.name == name) return &e;
    }
    return nullptr;
  }

  void ReadDefault(const toml::node& n, Column& c, const std::string& owner) {
    const SourcePos at = Begin(n.source());
    const std::string type = c.type.ToString();
    auto wrong = [&](std::string_view expected, std::string example) {
      Error(at, "default of " + owner + " must be " + std::string(expected) + " (the column is " + type + "), not " +
                    std::string(TomlTypeName(n)),
            "write e.g. default = " + example);
    };
    auto misfit = [&](const Status& why) {
      Error(at, "default of " + owner + " does not fit " + type + ": " + why.message(),
            "change the default or the column's type");
    };
    auto literal = [&](Result<std::string> r) {
      if (!r.ok()) {
        misfit(r.status());
        return;
      }
      c.default_value = {DefaultKind::kLiteral, std::move(r).value()};
    };
    const auto* str = n.as_string();
    switch (c.type.kind) {
      case TypeKind::kUuid:
        if (str == nullptr) return wrong("a string", "\"uuid\" (a new random uuid)");
        if (str->get() == "uuid") {
          c.default_value = {DefaultKind::kNewUuid, ""};
          return;
        }
        return literal(literals::CanonicalUuid(str->get()));
      case TypeKind::kText:
        if (str == nullptr) return wrong("a string", "\"\"");
        if (c.type.max_length > 0 && literals::Utf8Length(str->get()) > static_cast<size_t>(c.type.max_length)) {
          return misfit(Status(Code::kInvalidArgument, "it is " + std::to_string(literals::Utf8Length(str->get())) +
                                                           " characters long"));
        }
        c.default_value = {DefaultKind::kLiteral, str->get()};
        return;
      case TypeKind::kInteger:
      case TypeKind::kBigint:
        if (const auto* i = n.as_integer()) {
          return literal(literals::CanonicalInteger(i->get(), c.type.kind == TypeKind::kInteger ? 32 : 64));
        }
        return wrong("an integer", "0");
      case TypeKind::kBoolean:
        if (const auto* b = n.as_boolean()) {
          c.default_value = {DefaultKind::kLiteral, b->get() ? "true" : "false"};
          return;
        }
        return wrong("true or false", "false");
      case TypeKind::kDecimal: {
        std::string text;
        if (str != nullptr) {
          text = str->get();
        } else if (const auto* i = n.as_integer()) {
          text = std::to_string(i->get());
        } else if (n.is_floating_point()) {
          // Binary floats are inexact: read the digits as written.
          std::string raw(source_.Slice(at, {static_cast<int>(n.source().end.line),
                                             static_cast<int>(n.source().end.column)}));
          raw.erase(std::remove(raw.begin(), raw.end(), '_'), raw.end());
          text = raw;
        } else {
          return wrong("a number", "\"12.50\"");
        }
        return literal(literals::CanonicalDecimal(text, c.type.precision, c.type.scale));
      }
      case TypeKind::kTimestamp:
        if (str != nullptr) {
          if (str->get() == "now") {
            c.default_value = {DefaultKind::kNow, ""};
            return;
          }
          return literal(literals::CanonicalTimestamp(str->get()));
        }
        if (const auto* dt = n.as_date_time()) {
          const toml::date_time& v = dt->get();
          if (!v.offset) {
            return misfit(Status(Code::kInvalidArgument, "the date-time has no UTC offset (end it with Z or +02:00)"));
          }
          constexpr uint32_t kNanosPerMicro = 1000;
          if (v.time.nanosecond % kNanosPerMicro != 0) {
            return misfit(Status(Code::kInvalidArgument, "timestamps keep microseconds, not nanoseconds"));
          }
          literals::TimestampParts p{v.date.year,   v.date.month,  v.date.day,
                                     v.time.hour,   v.time.minute, v.time.second,
                                     static_cast<int>(v.time.nanosecond / kNanosPerMicro), v.offset->minutes};
          return literal(literals::CanonicalTimestamp(p));
        }
        return wrong("\"now\" or a timestamp", "\"now\" or \"2026-01-01T00:00:00Z\"");
      case TypeKind::kDate:
        if (str != nullptr) {
          if (str->get() == "now") {
            c.default_value = {DefaultKind::kNow, ""};
            return;
          }
          return literal(literals::CanonicalDate(str->get()));
        }
        if (const auto* d = n.as_date()) {
          return literal(literals::CanonicalDate(d->get().year, d->get().month, d->get().day));
        }
        return wrong("\"now\" or a date", "\"now\" or \"2026-01-01\"");
      case TypeKind::kJson:
        if (str == nullptr) return wrong("a string holding JSON", "\"{}\"");
        return literal(literals::CompactJson(str->get()));
      case TypeKind::kBytes:
        if (str == nullptr) return wrong("a string of hex digits", "\"deadbeef\"");
        return literal(literals::CanonicalBytes(str->get()));
      case TypeKind::kEnum: {
        if (str == nullptr) return wrong("one of the enum's values", "\"...\"");
        const Enum* e = FindEnum(c.type.enum_name);
        if (e != nullptr && std::find(e->values.begin(), e->values.end(), str->get()) == e->values.end()) {
          Error(at, "default of " + owner + " is " + Quote(str->get()) + ", not a value of enum " + Quote(e->name),
                names::SuggestionHint(str->get(), e->values));
          return;
        }
        c.default_value = {DefaultKind::kLiteral, str->get()};
        return;
      }
    }
  }

  const SourceText& source_;
  const std::string& file_;
  Diagnostics& diags_;
  const std::vector<Enum>* enums_ = nullptr;
};

}  // namespace

decl::Schema ReadDeclarations(const toml::table& root, const SourceText& source, const std::string& file,
                              Diagnostics& diags) {
  return Reader(source, file, diags).Read(root);
}

}  // namespace plinth::schema
