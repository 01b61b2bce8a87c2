#include "migrate_core/op_json.h"

#include <algorithm>
#include <cctype>
#include <set>

#include "common/strings.h"
#include "migrate_core/state.h"

namespace plinth::migrate::internal {

using schema::ConstraintKind;
using schema::DefaultKind;
using schema::FkAction;
using schema::PolicyCommand;

namespace {

// ---- names of model enumerations in files -------------------------------------------------

constexpr std::pair<ConstraintKind, std::string_view> kConstraintKinds[] = {
    {ConstraintKind::kPrimaryKey, "primary_key"},
    {ConstraintKind::kUnique, "unique"},
    {ConstraintKind::kCheck, "check"},
    {ConstraintKind::kForeignKey, "foreign_key"},
};

constexpr std::pair<DefaultKind, std::string_view> kDefaultKinds[] = {
    {DefaultKind::kLiteral, "literal"},
    {DefaultKind::kNow, "now"},
    {DefaultKind::kNewUuid, "uuid"},
};

constexpr PolicyCommand kPolicyCommands[] = {PolicyCommand::kAll, PolicyCommand::kSelect, PolicyCommand::kInsert,
                                             PolicyCommand::kUpdate, PolicyCommand::kDelete};

template <typename E, size_t N>
std::string_view NameOf(const std::pair<E, std::string_view> (&table)[N], E e) {
  for (const auto& [k, n] : table) {
    if (k == e) return n;
  }
  return "?";
}

template <typename E, size_t N>
std::optional<E> FromName(const std::pair<E, std::string_view> (&table)[N], std::string_view name) {
  for (const auto& [k, n] : table) {
    if (n == name) return k;
  }
  return std::nullopt;
}

template <typename E, size_t N>
std::string NameList(const std::pair<E, std::string_view> (&table)[N]) {
  std::vector<std::string> names;
  for (const auto& [k, n] : table) names.emplace_back(n);
  return Join(names, ", ");
}

// ---- writing ---------------------------------------------------------------------------------

Json StringList(const std::vector<std::string>& v) {
  Json a = Json::array();
  for (const auto& s : v) a.push_back(s);
  return a;
}

Json ColumnToJson(const schema::Column& c) {
  Json j;
  j["name"] = c.name;
  j["type"] = c.type.ToString();
  if (c.not_null) j["not_null"] = true;
  if (c.default_value.kind != DefaultKind::kNone) {
    Json d;
    d["kind"] = NameOf(kDefaultKinds, c.default_value.kind);
    if (c.default_value.kind == DefaultKind::kLiteral) d["value"] = c.default_value.value;
    j["default"] = std::move(d);
  }
  if (c.encrypted) j["encrypted"] = true;
  return j;
}

Json ConstraintToJson(const schema::Constraint& c) {
  Json j;
  j["name"] = c.name;
  j["kind"] = NameOf(kConstraintKinds, c.kind);
  if (c.kind == ConstraintKind::kCheck) {
    j["expression"] = c.expression;
    return j;
  }
  j["columns"] = StringList(c.columns);
  if (c.kind != ConstraintKind::kForeignKey) return j;
  j["ref_table"] = c.ref_table;
  j["ref_columns"] = StringList(c.ref_columns);
  if (c.on_delete != FkAction::kNoAction) j["on_delete"] = schema::FkActionName(c.on_delete);
  if (c.on_update != FkAction::kNoAction) j["on_update"] = schema::FkActionName(c.on_update);
  if (!c.set_columns.empty()) j["set_columns"] = StringList(c.set_columns);
  return j;
}

Json IndexToJson(const schema::Index& i) {
  Json j;
  j["name"] = i.name;
  Json cols = Json::array();
  for (const auto& c : i.columns) cols.push_back(c.descending ? c.name + " desc" : c.name);
  j["columns"] = std::move(cols);
  if (i.unique) j["unique"] = true;
  if (!i.where.empty()) j["where"] = i.where;
  return j;
}

Json PolicyToJson(const schema::Policy& p) {
  Json j;
  j["name"] = p.name;
  j["command"] = schema::PolicyCommandName(p.command);
  if (p.restrictive) j["restrictive"] = true;
  if (!p.using_expr.empty()) j["using"] = p.using_expr;
  if (!p.check_expr.empty()) j["check"] = p.check_expr;
  return j;
}

Json OptionsToJson(const schema::TableOptions& o) {
  Json j = Json::object();
  if (o.tenant_scoped) j["tenant_scoped"] = true;
  if (o.timestamps) j["timestamps"] = true;
  if (o.append_only) j["append_only"] = true;
  if (o.row_security) j["row_security"] = true;
  return j;
}

void TableDefToJson(const schema::Table& t, Json& j) {
  j["table"] = t.name;
  Json cols = Json::array();
  for (const auto& c : t.columns) cols.push_back(ColumnToJson(c));
  j["columns"] = std::move(cols);
  if (!t.constraints.empty()) {
    Json cs = Json::array();
    for (const auto& c : t.constraints) cs.push_back(ConstraintToJson(c));
    j["constraints"] = std::move(cs);
  }
  if (!(t.options == schema::TableOptions{})) j["options"] = OptionsToJson(t.options);
}

}  // namespace

Json OpToJson(const Op& op, bool with_note) {
  Json j;
  j["op"] = OpKindName(op.kind);
  switch (op.kind) {
    case OpKind::kCreateEnum:
    case OpKind::kDropEnum:
      j["enum"] = op.enum_def.name;
      j["values"] = StringList(op.enum_def.values);
      break;
    case OpKind::kAddEnumValue:
      j["enum"] = op.name;
      j["value"] = op.value;
      if (!op.before.empty()) j["before"] = op.before;
      break;
    case OpKind::kRenameEnumValue:
      j["enum"] = op.name;
      j["from"] = op.value;
      j["to"] = op.new_name;
      break;
    case OpKind::kReplaceEnum: {
      j["enum"] = op.name;
      j["old_values"] = StringList(op.old_values);
      j["values"] = StringList(op.enum_def.values);
      if (!op.value_map.empty()) {
        Json m = Json::object();
        for (const auto& [from, to] : op.value_map) m[from] = to;
        j["value_map"] = std::move(m);
      }
      break;
    }
    case OpKind::kRenameEnum:
      j["from"] = op.name;
      j["to"] = op.new_name;
      break;
    case OpKind::kCreateTable:
    case OpKind::kDropTable:
      TableDefToJson(op.table_def, j);
      break;
    case OpKind::kRenameTable:
      j["from"] = op.table;
      j["to"] = op.new_name;
      break;
    case OpKind::kAddColumn:
    case OpKind::kDropColumn:
      j["table"] = op.table;
      j["column"] = ColumnToJson(op.column);
      break;
    case OpKind::kRenameColumn:
      j["table"] = op.table;
      j["from"] = op.name;
      j["to"] = op.new_name;
      break;
    case OpKind::kAlterColumn:
      j["table"] = op.table;
      j["old_column"] = ColumnToJson(op.old_column);
      j["column"] = ColumnToJson(op.column);
      break;
    case OpKind::kAddConstraint:
    case OpKind::kDropConstraint:
      j["table"] = op.table;
      j["constraint"] = ConstraintToJson(op.constraint);
      break;
    case OpKind::kCreateIndex:
    case OpKind::kDropIndex:
      j["table"] = op.table;
      j["index"] = IndexToJson(op.index);
      if (op.concurrently) j["concurrently"] = true;
      break;
    case OpKind::kSetTableOptions:
      j["table"] = op.table;
      j["old_options"] = OptionsToJson(op.old_options);
      j["options"] = OptionsToJson(op.options);
      break;
    case OpKind::kCreatePolicy:
    case OpKind::kDropPolicy:
      j["table"] = op.table;
      j["policy"] = PolicyToJson(op.policy);
      break;
    case OpKind::kAlterPolicy:
      j["table"] = op.table;
      j["old_policy"] = PolicyToJson(op.old_policy);
      j["policy"] = PolicyToJson(op.policy);
      break;
    case OpKind::kInstallSupport:
    case OpKind::kRemoveSupport:
      j["name"] = op.name;
      break;
    case OpKind::kRawSql:
      if (!op.sql_postgres.empty()) j["sql_postgres"] = op.sql_postgres;
      if (!op.sql_sqlite.empty()) j["sql_sqlite"] = op.sql_sqlite;
      break;
  }
  if (op.data_loss) j["data_loss"] = true;
  if (with_note && !op.note.empty()) j["note"] = op.note;
  return j;
}

// ---- positions -------------------------------------------------------------------------------

namespace {

class PositionScanner {
 public:
  PositionScanner(std::string_view text, std::map<std::string, SourcePos>& out,
                  std::vector<std::pair<std::string, SourcePos>>& dups)
      : s_(text), out_(out), dups_(dups) {}

  void Run() {
    SkipSpace();
    Value("");
  }

 private:
  SourcePos Here() const { return SourcePos{line_, col_}; }
  bool AtEnd() const { return i_ >= s_.size(); }
  void Advance() {
    if (AtEnd()) return;
    if (s_[i_] == '\n') {
      ++line_;
      col_ = 1;
    } else if ((static_cast<unsigned char>(s_[i_]) & 0xC0) != 0x80) {
      ++col_;  // count UTF-8 code points, not continuation bytes
    }
    ++i_;
  }
  void SkipSpace() {
    while (!AtEnd() && std::isspace(static_cast<unsigned char>(s_[i_]))) Advance();
  }
  std::string String() {
    std::string out;
    Advance();  // opening quote
    while (!AtEnd() && s_[i_] != '"') {
      if (s_[i_] == '\\') {
        Advance();
        if (AtEnd()) break;
        out.push_back(s_[i_] == '"' || s_[i_] == '\\' ? s_[i_] : '?');
      } else {
        out.push_back(s_[i_]);
      }
      Advance();
    }
    Advance();  // closing quote
    return out;
  }
  void Value(const std::string& path) {
    out_.emplace(path, Here());
    if (AtEnd()) return;
    char c = s_[i_];
    if (c == '{') {
      Advance();
      std::set<std::string> keys;
      SkipSpace();
      while (!AtEnd() && s_[i_] != '}') {
        SourcePos key_pos = Here();
        std::string key = String();
        std::string child = path + "/" + key;
        if (!keys.insert(key).second) dups_.emplace_back(child, key_pos);
        SkipSpace();
        Advance();  // ':'
        SkipSpace();
        if (out_.count(child)) {
          std::map<std::string, SourcePos> ignored;
          std::vector<std::pair<std::string, SourcePos>> ignored_dups;
          PositionScanner sub(s_, ignored, ignored_dups);
          sub.i_ = i_, sub.line_ = line_, sub.col_ = col_;
          sub.Value(child);
          i_ = sub.i_, line_ = sub.line_, col_ = sub.col_;
        } else {
          Value(child);
        }
        SkipSpace();
        if (!AtEnd() && s_[i_] == ',') Advance();
        SkipSpace();
      }
      Advance();
    } else if (c == '[') {
      Advance();
      SkipSpace();
      size_t n = 0;
      while (!AtEnd() && s_[i_] != ']') {
        Value(path + "/" + std::to_string(n++));
        SkipSpace();
        if (!AtEnd() && s_[i_] == ',') Advance();
        SkipSpace();
      }
      Advance();
    } else if (c == '"') {
      String();
    } else {
      while (!AtEnd() && !std::isspace(static_cast<unsigned char>(s_[i_])) && s_[i_] != ',' && s_[i_] != ']' &&
             s_[i_] != '}') {
        Advance();
      }
    }
  }

  std::string_view s_;
  size_t i_ = 0;
  int line_ = 1;
  int col_ = 1;
  std::map<std::string, SourcePos>& out_;
  std::vector<std::pair<std::string, SourcePos>>& dups_;
};

}  // namespace

JsonPositions::JsonPositions(std::string_view text) { PositionScanner(text, positions_, duplicates_).Run(); }

SourcePos JsonPositions::Find(std::string path) const {
  for (;;) {
    auto it = positions_.find(path);
    if (it != positions_.end()) return it->second;
    if (path.empty()) return SourcePos{};
    path.erase(path.rfind('/'));
  }
}

// ---- reading ---------------------------------------------------------------------------------

namespace {

std::string TypeName(const Json& j) {
  if (j.is_string()) return "a string";
  if (j.is_boolean()) return "a boolean";
  if (j.is_number()) return "a number";
  if (j.is_array()) return "an array";
  if (j.is_object()) return "an object";
  return "null";
}

// Reads the fields of one JSON object, remembering which were read so that the rest can be
// reported as unknown.
class ObjectReader {
 public:
  ObjectReader(const Json& j, std::string path, std::string label, ReadContext& ctx)
      : j_(j), path_(std::move(path)), label_(std::move(label)), ctx_(ctx) {}

  bool ok() const { return ok_; }
  const std::string& path() const { return path_; }
  const std::string& label() const { return label_; }

  void Error(const std::string& key, const std::string& message) {
    ok_ = false;
    std::string where = key.empty() ? path_ : path_ + "/" + key;
    ctx_.diags.Error(ctx_.file, ctx_.positions.Find(where), label_ + ": " + message);
  }

  // The value of `key` when present and of the JSON type `want` says; reports otherwise.
  const Json* Field(const std::string& key, bool required, bool (Json::*is)() const noexcept, const char* want) {
    known_.push_back(key);
    auto it = j_.find(key);
    if (it == j_.end()) {
      if (required) Error("", "missing field \"" + key + "\"");
      return nullptr;
    }
    if (!((*it).*is)()) {
      Error(key, "field \"" + key + "\" must be " + want + ", not " + TypeName(*it));
      return nullptr;
    }
    return &*it;
  }

  std::string Str(const std::string& key, bool required = true) {
    const Json* v = Field(key, required, &Json::is_string, "a string");
    return v ? v->get<std::string>() : std::string();
  }
  // A string that must not be empty when present.
  std::string Name(const std::string& key, bool required = true) {
    std::string s = Str(key, required);
    if (s.empty() && j_.contains(key) && j_[key].is_string()) Error(key, "field \"" + key + "\" must not be empty");
    return s;
  }
  bool Bool(const std::string& key) {
    const Json* v = Field(key, false, &Json::is_boolean, "true or false");
    return v && v->get<bool>();
  }
  std::vector<std::string> StrList(const std::string& key, bool required = true, bool non_empty = true) {
    std::vector<std::string> out;
    const Json* v = Field(key, required, &Json::is_array, "an array of strings");
    if (!v) return out;
    for (size_t i = 0; i < v->size(); ++i) {
      const Json& e = (*v)[i];
      if (!e.is_string()) {
        Error(key + "/" + std::to_string(i), "field \"" + key + "\" must hold strings, not " + TypeName(e));
        continue;
      }
      out.push_back(e.get<std::string>());
    }
    if (non_empty && out.empty() && ok_) Error(key, "field \"" + key + "\" must not be empty");
    return out;
  }
  const Json* Obj(const std::string& key, bool required = true) {
    return Field(key, required, &Json::is_object, "an object");
  }
  const Json* Arr(const std::string& key, bool required = true) { return Field(key, required, &Json::is_array, "an array"); }

  // Reports fields that were never asked for.
  void Finish() {
    for (auto it = j_.begin(); it != j_.end(); ++it) {
      if (std::find(known_.begin(), known_.end(), it.key()) == known_.end()) {
        Error(it.key(), "unknown field \"" + it.key() + "\" (expected " + Join(known_, ", ") + ")");
      }
    }
  }

  ReadContext& ctx() const { return ctx_; }
  bool Has(const std::string& key) const { return j_.contains(key); }
  // Records that a nested reader reported a problem.
  void MarkFailed() { ok_ = false; }

 private:
  const Json& j_;
  std::string path_;
  std::string label_;
  ReadContext& ctx_;
  std::vector<std::string> known_;
  bool ok_ = true;
};

// Where a nested object lives: path and label for its reader.
struct Place {
  std::string path;
  std::string label;
  static Place Field(const ObjectReader& parent, const std::string& key) {
    return Place{parent.path() + "/" + key, parent.label() + ": " + key};
  }
  static Place Element(const ObjectReader& parent, const std::string& key, size_t i) {
    return Place{parent.path() + "/" + key + "/" + std::to_string(i),
                 parent.label() + ": " + key + "[" + std::to_string(i) + "]"};
  }
};

bool ReadColumn(const Json& j, const Place& at, ReadContext& ctx, schema::Column& out) {
  ObjectReader r(j, at.path, at.label, ctx);
  out.name = r.Name("name");
  if (const Json* type = r.Field("type", true, &Json::is_string, "a string")) {
    // A migration cannot know the enums declared by earlier files: any identifier is taken as
    // an enum's name here, and ApplyOp checks that the enum exists.
    auto t = schema::ParseType(type->get<std::string>(), [](std::string_view n) { return IsIdentifier(n); });
    if (t.ok()) {
      out.type = *t;
    } else {
      r.Error("type", t.status().message());
    }
  }
  out.not_null = r.Bool("not_null");
  if (const Json* d = r.Obj("default", false)) {
    Place dp = Place::Field(r, "default");
    ObjectReader dr(*d, dp.path, dp.label, ctx);
    std::string kind = dr.Str("kind");
    auto k = FromName(kDefaultKinds, kind);
    if (!k && dr.ok()) dr.Error("kind", "unknown default kind \"" + kind + "\" (expected " + NameList(kDefaultKinds) + ")");
    if (k) out.default_value.kind = *k;
    if (k == DefaultKind::kLiteral) out.default_value.value = dr.Str("value");
    dr.Finish();
    if (!dr.ok()) r.MarkFailed();
  }
  out.encrypted = r.Bool("encrypted");
  r.Finish();
  return r.ok();
}

bool ReadColumnField(ObjectReader& parent, const std::string& key, schema::Column& out) {
  const Json* j = parent.Obj(key);
  if (!j) return false;
  return ReadColumn(*j, Place::Field(parent, key), parent.ctx(), out);
}

bool ReadFkAction(ObjectReader& r, const std::string& key, FkAction& out) {
  std::string text = r.Str(key, false);
  if (text.empty()) return true;
  auto a = schema::ParseFkAction(text);
  if (!a.ok() || schema::FkActionName(*a) != text) {
    r.Error(key, "unknown action \"" + text + "\" (expected no action, restrict, cascade, set null or set default)");
    return false;
  }
  out = *a;
  return true;
}

bool ReadConstraint(const Json& j, const Place& at, ReadContext& ctx, schema::Constraint& out) {
  ObjectReader r(j, at.path, at.label, ctx);
  out.name = r.Name("name");
  std::string kind = r.Str("kind");
  auto k = FromName(kConstraintKinds, kind);
  if (!k) {
    if (r.ok()) r.Error("kind", "unknown constraint kind \"" + kind + "\" (expected " + NameList(kConstraintKinds) + ")");
    return false;
  }
  out.kind = *k;
  if (out.kind == ConstraintKind::kCheck) {
    out.expression = r.Name("expression");
  } else {
    out.columns = r.StrList("columns");
  }
  if (out.kind == ConstraintKind::kForeignKey) {
    out.ref_table = r.Name("ref_table");
    out.ref_columns = r.StrList("ref_columns");
    ReadFkAction(r, "on_delete", out.on_delete);
    ReadFkAction(r, "on_update", out.on_update);
    out.set_columns = r.StrList("set_columns", false, false);
  }
  r.Finish();
  return r.ok();
}

bool ReadIndex(ObjectReader& parent, const std::string& key, schema::Index& out) {
  const Json* j = parent.Obj(key);
  if (!j) return false;
  Place at = Place::Field(parent, key);
  ObjectReader r(*j, at.path, at.label, parent.ctx());
  out.name = r.Name("name");
  for (const std::string& spec : r.StrList("columns")) {
    std::vector<std::string> parts = Split(spec, ' ');
    schema::IndexColumn c;
    c.name = parts[0];
    if (parts.size() == 2 && (parts[1] == "desc" || parts[1] == "asc")) {
      c.descending = parts[1] == "desc";
    } else if (parts.size() != 1 || c.name.empty()) {
      r.Error("columns", "index column \"" + spec + "\" must be a name, optionally followed by \" desc\"");
    }
    out.columns.push_back(std::move(c));
  }
  out.unique = r.Bool("unique");
  out.where = r.Str("where", false);
  r.Finish();
  return r.ok();
}

bool ReadPolicy(ObjectReader& parent, const std::string& key, schema::Policy& out) {
  const Json* j = parent.Obj(key);
  if (!j) return false;
  Place at = Place::Field(parent, key);
  ObjectReader r(*j, at.path, at.label, parent.ctx());
  out.name = r.Name("name");
  std::string command = r.Str("command");
  bool found = false;
  for (PolicyCommand c : kPolicyCommands) {
    if (schema::PolicyCommandName(c) == command) {
      out.command = c;
      found = true;
    }
  }
  if (!found && r.ok()) {
    r.Error("command", "unknown command \"" + command + "\" (expected all, select, insert, update or delete)");
  }
  out.restrictive = r.Bool("restrictive");
  out.using_expr = r.Str("using", false);
  out.check_expr = r.Str("check", false);
  r.Finish();
  return r.ok();
}

bool ReadOptions(ObjectReader& parent, const std::string& key, bool required, schema::TableOptions& out) {
  const Json* j = parent.Obj(key, required);
  if (!j) return !required && !parent.Has(key);
  Place at = Place::Field(parent, key);
  ObjectReader r(*j, at.path, at.label, parent.ctx());
  out.tenant_scoped = r.Bool("tenant_scoped");
  out.timestamps = r.Bool("timestamps");
  out.append_only = r.Bool("append_only");
  out.row_security = r.Bool("row_security");
  r.Finish();
  return r.ok();
}

void ReadTableDef(ObjectReader& r, schema::Table& t) {
  t.name = r.Name("table");
  if (const Json* cols = r.Arr("columns")) {
    if (cols->empty()) r.Error("columns", "field \"columns\" must not be empty");
    for (size_t i = 0; i < cols->size(); ++i) {
      Place at = Place::Element(r, "columns", i);
      const Json& e = (*cols)[i];
      schema::Column c;
      if (!e.is_object()) {
        r.Error("columns/" + std::to_string(i), "columns must hold objects, not " + TypeName(e));
      } else if (!ReadColumn(e, at, r.ctx(), c)) {
        r.MarkFailed();
      }
      t.columns.push_back(std::move(c));
    }
  }
  if (const Json* cs = r.Arr("constraints", false)) {
    for (size_t i = 0; i < cs->size(); ++i) {
      Place at = Place::Element(r, "constraints", i);
      const Json& e = (*cs)[i];
      schema::Constraint c;
      if (!e.is_object()) {
        r.Error("constraints/" + std::to_string(i), "constraints must hold objects, not " + TypeName(e));
      } else if (!ReadConstraint(e, at, r.ctx(), c)) {
        r.MarkFailed();
      }
      t.constraints.push_back(std::move(c));
    }
  }
  if (!ReadOptions(r, "options", false, t.options)) r.MarkFailed();
}

}  // namespace

std::optional<Op> OpFromJson(const Json& j, const std::string& path, const std::string& label, ReadContext& ctx) {
  if (!j.is_object()) {
    ctx.diags.Error(ctx.file, ctx.positions.Find(path), label + ": an operation must be an object, not " + TypeName(j));
    return std::nullopt;
  }
  ObjectReader r(j, path, label, ctx);
  std::string kind_name = r.Str("op");
  if (!r.ok()) return std::nullopt;
  std::optional<OpKind> kind = ParseOpKind(kind_name);
  if (!kind) {
    r.Error("op", "unknown operation \"" + kind_name + "\"");
    return std::nullopt;
  }
  ObjectReader body(j, path, label + " (" + kind_name + ")", ctx);
  body.Str("op");
  Op op;
  op.kind = *kind;
  switch (op.kind) {
    case OpKind::kCreateEnum:
    case OpKind::kDropEnum:
      op.enum_def.name = body.Name("enum");
      op.enum_def.values = body.StrList("values");
      break;
    case OpKind::kAddEnumValue:
      op.name = body.Name("enum");
      op.value = body.Name("value");
      op.before = body.Str("before", false);
      break;
    case OpKind::kRenameEnumValue:
      op.name = body.Name("enum");
      op.value = body.Name("from");
      op.new_name = body.Name("to");
      break;
    case OpKind::kReplaceEnum:
      op.name = body.Name("enum");
      op.enum_def.name = op.name;
      op.old_values = body.StrList("old_values");
      op.enum_def.values = body.StrList("values");
      if (const Json* m = body.Obj("value_map", false)) {
        for (auto it = m->begin(); it != m->end(); ++it) {
          if (!it.value().is_string()) {
            body.Error("value_map/" + it.key(), "value_map must map strings to strings, not to " + TypeName(it.value()));
            continue;
          }
          op.value_map[it.key()] = it.value().get<std::string>();
        }
      }
      break;
    case OpKind::kRenameEnum:
      op.name = body.Name("from");
      op.new_name = body.Name("to");
      break;
    case OpKind::kCreateTable:
    case OpKind::kDropTable:
      ReadTableDef(body, op.table_def);
      break;
    case OpKind::kRenameTable:
      op.table = body.Name("from");
      op.new_name = body.Name("to");
      break;
    case OpKind::kAddColumn:
    case OpKind::kDropColumn:
      op.table = body.Name("table");
      if (!ReadColumnField(body, "column", op.column)) body.MarkFailed();
      break;
    case OpKind::kRenameColumn:
      op.table = body.Name("table");
      op.name = body.Name("from");
      op.new_name = body.Name("to");
      break;
    case OpKind::kAlterColumn:
      op.table = body.Name("table");
      if (!ReadColumnField(body, "old_column", op.old_column)) body.MarkFailed();
      if (!ReadColumnField(body, "column", op.column)) body.MarkFailed();
      break;
    case OpKind::kAddConstraint:
    case OpKind::kDropConstraint:
      op.table = body.Name("table");
      if (const Json* c = body.Obj("constraint")) {
        if (!ReadConstraint(*c, Place::Field(body, "constraint"), ctx, op.constraint)) body.MarkFailed();
      }
      break;
    case OpKind::kCreateIndex:
    case OpKind::kDropIndex:
      op.table = body.Name("table");
      if (!ReadIndex(body, "index", op.index)) body.MarkFailed();
      op.concurrently = body.Bool("concurrently");
      break;
    case OpKind::kSetTableOptions:
      op.table = body.Name("table");
      if (!ReadOptions(body, "old_options", true, op.old_options)) body.MarkFailed();
      if (!ReadOptions(body, "options", true, op.options)) body.MarkFailed();
      break;
    case OpKind::kCreatePolicy:
    case OpKind::kDropPolicy:
      op.table = body.Name("table");
      if (!ReadPolicy(body, "policy", op.policy)) body.MarkFailed();
      break;
    case OpKind::kAlterPolicy:
      op.table = body.Name("table");
      if (!ReadPolicy(body, "old_policy", op.old_policy)) body.MarkFailed();
      if (!ReadPolicy(body, "policy", op.policy)) body.MarkFailed();
      break;
    case OpKind::kInstallSupport:
    case OpKind::kRemoveSupport:
      op.name = body.Name("name");
      break;
    case OpKind::kRawSql:
      op.sql_postgres = body.Str("sql_postgres", false);
      op.sql_sqlite = body.Str("sql_sqlite", false);
      if (body.ok() && op.sql_postgres.empty() && op.sql_sqlite.empty()) {
        body.Error("", "raw_sql needs sql_postgres, sql_sqlite or both");
      }
      break;
  }
  op.data_loss = body.Bool("data_loss");
  op.note = body.Str("note", false);
  body.Finish();
  if (!body.ok()) return std::nullopt;
  return op;
}

}  // namespace plinth::migrate::internal
