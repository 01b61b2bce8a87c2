// Request bodies → data::Fields: nlohmann-json's SAX parser with a depth limit builds a small
// tree, whose top-level members are checked against the table's columns (rest.h).
#include <nlohmann/json.hpp>

#include <algorithm>

#include "api/rest_internal.h"
#include "plinth/rest.h"
#include "schema/literals.h"

namespace plinth::rest {

using schema::Column;
using schema::Table;
using schema::TypeKind;
using namespace internal;  // NOLINT(google-build-using-namespace)

namespace {

using json = nlohmann::json;

// The hard ceiling of BodyLimits::max_depth: the tree below is serialised recursively.
constexpr int kMaxBodyDepth = 512;

struct JNode {
  enum class Kind : unsigned char { kNull, kBool, kInteger, kUnsigned, kFloat, kString, kArray, kObject };
  Kind kind = Kind::kNull;
  bool boolean = false;
  int64_t integer = 0;
  uint64_t unsigned_integer = 0;
  std::string text;               // kString: the value; kFloat: the number as written
  std::vector<std::string> keys;  // kObject: member names, parallel to children
  std::vector<JNode> children;    // kArray items, kObject member values
};

// nlohmann-json SAX handler building a JNode tree; refuses documents nested deeper than
// `max_depth` by stopping the parse (nothing recurses while parsing).
class TreeBuilder {
 public:
  explicit TreeBuilder(int max_depth) : max_depth_(max_depth) {}

  bool null() { return Add(JNode{}); }
  bool boolean(bool v) {
    JNode n;
    n.kind = JNode::Kind::kBool;
    n.boolean = v;
    return Add(std::move(n));
  }
  bool number_integer(json::number_integer_t v) {
    JNode n;
    n.kind = JNode::Kind::kInteger;
    n.integer = v;
    return Add(std::move(n));
  }
  bool number_unsigned(json::number_unsigned_t v) {
    JNode n;
    n.kind = JNode::Kind::kUnsigned;
    n.unsigned_integer = v;
    return Add(std::move(n));
  }
  bool number_float(json::number_float_t /*v*/, const std::string& s) {
    JNode n;
    n.kind = JNode::Kind::kFloat;
    n.text = s;
    return Add(std::move(n));
  }
  bool string(std::string& s) {
    JNode n;
    n.kind = JNode::Kind::kString;
    n.text = std::move(s);
    return Add(std::move(n));
  }
  bool binary(json::binary_t& /*b*/) { return false; }  // not produced by the JSON parser
  bool start_object(std::size_t /*n*/) { return Open(JNode::Kind::kObject); }
  bool key(std::string& k) {
    key_ = std::move(k);
    return true;
  }
  bool end_object() {
    stack_.pop_back();
    return true;
  }
  bool start_array(std::size_t /*n*/) { return Open(JNode::Kind::kArray); }
  bool end_array() {
    stack_.pop_back();
    return true;
  }
  bool parse_error(std::size_t /*position*/, const std::string& /*last_token*/, const nlohmann::detail::exception& ex) {
    std::string what = ex.what();
    // "[json.exception.parse_error.101] parse error at line 1, column 2: …" → "parse error at …"
    if (size_t close = what.find("] "); what.rfind("[json.exception.", 0) == 0 && close != std::string::npos) {
      what = what.substr(close + 2);
    }
    error_ = what;
    return false;
  }

  const std::string& error() const { return error_; }
  bool too_deep() const { return too_deep_; }
  JNode& root() { return root_; }

 private:
  bool Open(JNode::Kind kind) {
    if (static_cast<int>(stack_.size()) >= max_depth_) {
      too_deep_ = true;
      return false;
    }
    JNode n;
    n.kind = kind;
    JNode* placed = Place(std::move(n));
    stack_.push_back(placed);
    return true;
  }
  bool Add(JNode n) {
    Place(std::move(n));
    return true;
  }
  // Stores `n` in the open container (or as the root) and returns where it now lives. Pointers
  // on the stack stay valid: only the innermost open container grows.
  JNode* Place(JNode n) {
    if (stack_.empty()) {
      root_ = std::move(n);
      return &root_;
    }
    JNode* top = stack_.back();
    if (top->kind == JNode::Kind::kObject) top->keys.push_back(std::move(key_));
    top->children.push_back(std::move(n));
    return &top->children.back();
  }

  int max_depth_;
  JNode root_;
  std::vector<JNode*> stack_;
  std::string key_;
  std::string error_;
  bool too_deep_ = false;
};

std::string_view Describe(const JNode& n) {
  switch (n.kind) {
    case JNode::Kind::kNull: return "null";
    case JNode::Kind::kBool: return n.boolean ? "true" : "false";
    case JNode::Kind::kInteger:
    case JNode::Kind::kUnsigned: return "an integer";
    case JNode::Kind::kFloat: return "a number";
    case JNode::Kind::kString: return "a string";
    case JNode::Kind::kArray: return "an array";
    case JNode::Kind::kObject: return "an object";
  }
  return "a value";
}

// Compact JSON text of a json column's value. Fails on strings holding U+0000, which
// PostgreSQL's jsonb cannot store.
bool Serialize(const JNode& n, std::string& out) {
  switch (n.kind) {
    case JNode::Kind::kNull: out += "null"; return true;
    case JNode::Kind::kBool: out += n.boolean ? "true" : "false"; return true;
    case JNode::Kind::kInteger: out += std::to_string(n.integer); return true;
    case JNode::Kind::kUnsigned: out += std::to_string(n.unsigned_integer); return true;
    case JNode::Kind::kFloat: out += n.text; return true;
    case JNode::Kind::kString:
      if (n.text.find('\0') != std::string::npos) return false;
      AppendJsonString(out, n.text);
      return true;
    case JNode::Kind::kArray:
      out += '[';
      for (size_t i = 0; i < n.children.size(); ++i) {
        if (i > 0) out += ',';
        if (!Serialize(n.children[i], out)) return false;
      }
      out += ']';
      return true;
    case JNode::Kind::kObject:
      out += '{';
      for (size_t i = 0; i < n.children.size(); ++i) {
        if (i > 0) out += ',';
        if (n.keys[i].find('\0') != std::string::npos) return false;
        AppendJsonString(out, n.keys[i]);
        out += ':';
        if (!Serialize(n.children[i], out)) return false;
      }
      out += '}';
      return true;
  }
  return false;
}

// A value of the body for column `c` in canonical text, or the message of what is wrong.
struct Converted {
  std::string value;
  std::string error;
};

Converted Convert(const schema::Schema& s, const Column& c, const JNode& v) {
  Converted out;
  auto fail = [&](std::string m) {
    out.error = std::move(m);
    return out;
  };
  auto expect = [&](std::string_view what) {
    return fail("must be " + std::string(what) + ", got " + std::string(Describe(v)));
  };
  // Messages of the literal checkers quote the whole input; keep ours short for long inputs.
  constexpr size_t kQuoteWhole = 64;
  switch (c.type.kind) {
    case TypeKind::kUuid: {
      if (v.kind != JNode::Kind::kString) return expect("a uuid string");
      Result<std::string> u = schema::literals::CanonicalUuid(v.text);
      if (!u.ok()) return fail(Shown(v.text) + " is not a uuid (8-4-4-4-12 hex digits)");
      out.value = std::move(u).value();
      return out;
    }
    case TypeKind::kText: {
      if (v.kind != JNode::Kind::kString) return expect("a string");
      if (v.text.find('\0') != std::string::npos) return fail("contains a NUL character (\\u0000), which text cannot hold");
      if (c.type.max_length > 0) {
        size_t n = schema::literals::Utf8Length(v.text);
        if (n > static_cast<size_t>(c.type.max_length)) {
          return fail("is " + std::to_string(n) + " characters long; " + c.type.ToString() + " allows at most " +
                      std::to_string(c.type.max_length));
        }
      }
      out.value = v.text;
      return out;
    }
    case TypeKind::kInteger:
    case TypeKind::kBigint: {
      const int64_t min = IntegerMin(c.type.kind), max = IntegerMax(c.type.kind);
      const std::string range = " (" + std::to_string(min) + ".." + std::to_string(max) + ")";
      if (v.kind == JNode::Kind::kInteger) {
        if (v.integer < min || v.integer > max) {
          return fail(std::to_string(v.integer) + " is out of range for " + TypeLabel(c) + range);
        }
        out.value = std::to_string(v.integer);
        return out;
      }
      if (v.kind == JNode::Kind::kUnsigned) {
        if (v.unsigned_integer > static_cast<uint64_t>(max)) {
          return fail(std::to_string(v.unsigned_integer) + " is out of range for " + TypeLabel(c) + range);
        }
        out.value = std::to_string(v.unsigned_integer);
        return out;
      }
      if (v.kind == JNode::Kind::kFloat) {
        int64_t ignored = 0;
        if (ParseInteger(v.text, min, max, ignored) == IntParse::kOutOfRange) {
          return fail(Shown(v.text) + " is out of range for " + TypeLabel(c) + range);
        }
        return fail("must be an integer, got " + Shown(v.text));
      }
      return expect("an integer");
    }
    case TypeKind::kBoolean:
      if (v.kind != JNode::Kind::kBool) return expect("true or false");
      out.value = v.boolean ? "true" : "false";
      return out;
    case TypeKind::kDecimal: {
      std::string text;
      if (v.kind == JNode::Kind::kString || v.kind == JNode::Kind::kFloat) {
        text = v.text;
      } else if (v.kind == JNode::Kind::kInteger) {
        text = std::to_string(v.integer);
      } else if (v.kind == JNode::Kind::kUnsigned) {
        text = std::to_string(v.unsigned_integer);
      } else {
        return expect("a decimal (a string like \"12.50\", or a number)");
      }
      if (v.kind == JNode::Kind::kFloat && text.find_first_of("eE") != std::string::npos) {
        return fail(Shown(text) + " uses an exponent: write the decimal in plain notation, e.g. \"12.50\"");
      }
      Result<std::string> d = schema::literals::CanonicalDecimal(text, c.type.precision, c.type.scale);
      if (!d.ok()) {
        if (text.size() > kQuoteWhole) return fail(Shown(text) + " does not fit " + c.type.ToString());
        return fail(d.status().message());
      }
      out.value = std::move(d).value();
      return out;
    }
    case TypeKind::kTimestamp: {
      if (v.kind != JNode::Kind::kString) return expect("an RFC 3339 timestamp string");
      if (v.text.size() > kQuoteWhole) {
        return fail(Shown(v.text) + " is not an RFC 3339 timestamp (e.g. 2026-11-21T10:00:00Z)");
      }
      Result<std::string> ts = schema::literals::CanonicalTimestamp(v.text);
      if (!ts.ok()) return fail(ts.status().message());
      out.value = std::move(ts).value();
      return out;
    }
    case TypeKind::kDate: {
      if (v.kind != JNode::Kind::kString) return expect("a date string (YYYY-MM-DD)");
      if (v.text.size() > kQuoteWhole) return fail(Shown(v.text) + " is not a date (YYYY-MM-DD)");
      Result<std::string> d = schema::literals::CanonicalDate(v.text);
      if (!d.ok()) return fail(d.status().message());
      out.value = std::move(d).value();
      return out;
    }
    case TypeKind::kJson: {
      if (!Serialize(v, out.value)) {
        out.value.clear();
        return fail("contains a NUL character (\\u0000) in a string, which json columns cannot hold");
      }
      return out;
    }
    case TypeKind::kBytes: {
      if (v.kind != JNode::Kind::kString) return expect("a base64 string");
      std::optional<std::string> bytes = Base64Decode(v.text);
      if (!bytes) return fail("is not base64 (RFC 4648, e.g. \"3q2+7w==\")");
      out.value = std::move(*bytes);
      return out;
    }
    case TypeKind::kEnum: {
      const std::vector<std::string>* values = EnumValues(s, c);
      if (v.kind != JNode::Kind::kString) {
        return expect("one of " + (values != nullptr ? ListNames(*values) : std::string("the enum's values")));
      }
      if (values == nullptr || std::find(values->begin(), values->end(), v.text) == values->end()) {
        return fail(Shown(v.text) + " is not a value of enum " + c.type.enum_name +
                    (values != nullptr ? " (" + ListNames(*values) + ")" : std::string()));
      }
      out.value = v.text;
      return out;
    }
  }
  return fail("has a type the API cannot accept");
}

bool IsKeyColumn(const Table& t, const Column& c) {
  const schema::Constraint* pk = t.PrimaryKey();
  return pk != nullptr && std::find(pk->columns.begin(), pk->columns.end(), c.name) != pk->columns.end();
}

}  // namespace

ParsedBody ParseBody(const schema::Schema& s, const Table& t, std::string_view text, WriteKind kind,
                     const BodyLimits& limits) {
  ParsedBody out;
  auto malformed = [&](std::string message) {
    out.malformed = true;
    out.fields.clear();
    out.errors.assign(1, FieldError{"", std::move(message)});
    return out;
  };
  const int max_depth = std::clamp(limits.max_depth, 1, kMaxBodyDepth);
  TreeBuilder builder(max_depth);
  bool parsed = false;
  try {
    parsed = json::sax_parse(text, &builder, json::input_format_t::json, /*strict=*/true);
  } catch (const json::exception& e) {
    return malformed(std::string("the body is not valid JSON: ") + e.what());
  }
  if (builder.too_deep()) {
    return malformed("the body is nested deeper than " + std::to_string(max_depth) + " levels");
  }
  if (!parsed) {
    return malformed("the body is not valid JSON: " + (builder.error().empty() ? "parse error" : builder.error()));
  }
  JNode& root = builder.root();
  if (root.kind != JNode::Kind::kObject) {
    return malformed("the body must be a JSON object of fields, got " + std::string(Describe(root)));
  }
  if (root.children.size() > limits.max_fields) {
    return malformed("the body has " + std::to_string(root.children.size()) + " fields; at most " +
                     std::to_string(limits.max_fields) + " are accepted");
  }

  std::vector<std::string> accepted;
  for (const Column& c : t.columns) {
    if (ColumnAccepted(s, t, c)) accepted.push_back(c.name);
  }
  std::vector<std::string_view> present;
  for (size_t i = 0; i < root.children.size(); ++i) {
    const std::string& name = root.keys[i];
    const JNode& value = root.children[i];
    auto error = [&](std::string message) { out.errors.push_back(FieldError{name, std::move(message)}); };
    if (std::find(present.begin(), present.end(), name) != present.end()) {
      error("is given more than once");
      continue;
    }
    present.push_back(name);
    const Column* c = t.FindColumn(name);
    if (c == nullptr || c->access == schema::Access::kHidden) {
      error(UnknownColumnMessage(t, name, accepted));
      continue;
    }
    if (IsTenantColumn(s, t, *c)) {
      error("is set from your credentials (the tenant of your API key or token) and cannot be sent");
      continue;
    }
    if (IsManagedTimestamp(t, *c)) {
      error("is set by the database and cannot be sent");
      continue;
    }
    if (c->access == schema::Access::kReadOnly) {
      error("is read-only: it is returned but never accepted");
      continue;
    }
    if (kind == WriteKind::kUpdate && IsKeyColumn(t, *c)) {
      error("is part of the row's key and cannot be changed");
      continue;
    }
    if (value.kind == JNode::Kind::kNull) {
      if (c->not_null) {
        error("must not be null");
      } else {
        out.fields.emplace_back(c->name, std::nullopt);
      }
      continue;
    }
    Converted v = Convert(s, *c, value);
    if (!v.error.empty()) {
      error(std::move(v.error));
    } else {
      out.fields.emplace_back(c->name, std::move(v.value));
    }
  }
  if (kind == WriteKind::kUpdate) {
    if (root.children.empty()) out.errors.push_back(FieldError{"", "the body names no field to change"});
  } else {
    for (const Column& c : t.columns) {
      if (!ColumnRequiredOnInsert(s, t, c)) continue;
      if (std::find(present.begin(), present.end(), c.name) == present.end()) {
        out.errors.push_back(FieldError{c.name, "is required (" + TypeLabel(c) + ", not null, no default)"});
      }
    }
  }
  if (!out.errors.empty()) out.fields.clear();
  return out;
}

}  // namespace plinth::rest
