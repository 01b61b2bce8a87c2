// PostgREST-style list queries → data::ListQuery, with every column and value checked against
// the table (rest.h, docs/api.md).
#include <algorithm>

#include "api/rest_internal.h"
#include "common/strings.h"
#include "plinth/rest.h"
#include "schema/literals.h"

namespace plinth::rest {

using data::Filter;
using data::FilterOp;
using schema::Column;
using schema::Table;
using schema::TypeKind;
using namespace internal;  // NOLINT(google-build-using-namespace)

namespace {

constexpr std::string_view kSelect = "select";
constexpr std::string_view kOrder = "order";
constexpr std::string_view kLimit = "limit";
constexpr std::string_view kOffset = "offset";
constexpr std::string_view kAfter = "after";
constexpr std::string_view kOr = "or";
constexpr std::string_view kAnd = "and";
constexpr std::string_view kNotOr = "not.or";
constexpr std::string_view kNotAnd = "not.and";
constexpr std::string_view kNotPrefix = "not.";

enum class Op : unsigned char { kEq, kNeq, kGt, kGte, kLt, kLte, kLike, kILike, kIn, kIs };

struct OpName {
  std::string_view name;
  Op op;
};
constexpr OpName kOps[] = {
    {"eq", Op::kEq},     {"neq", Op::kNeq},     {"gt", Op::kGt}, {"gte", Op::kGte}, {"lt", Op::kLt},
    {"lte", Op::kLte},   {"like", Op::kLike},   {"ilike", Op::kILike}, {"in", Op::kIn}, {"is", Op::kIs},
};

std::optional<Op> FindOp(std::string_view name) {
  for (const OpName& o : kOps) {
    if (o.name == name) return o.op;
  }
  return std::nullopt;
}

std::string_view OpText(Op op) {
  for (const OpName& o : kOps) {
    if (o.op == op) return o.name;
  }
  return "?";
}

FilterOp ComparisonOp(Op op) {
  switch (op) {
    case Op::kEq: return FilterOp::kEq;
    case Op::kNeq: return FilterOp::kNe;
    case Op::kGt: return FilterOp::kGt;
    case Op::kGte: return FilterOp::kGe;
    case Op::kLt: return FilterOp::kLt;
    case Op::kLte: return FilterOp::kLe;
    case Op::kLike: return FilterOp::kLike;
    case Op::kILike: return FilterOp::kILike;
    case Op::kIn: return FilterOp::kIn;
    case Op::kIs: return FilterOp::kIsNull;
  }
  return FilterOp::kEq;
}

// Which operators a column type takes (docs/api.md "Operators per type").
bool OpAllowed(TypeKind k, Op op) {
  switch (k) {
    case TypeKind::kText:
      return true;
    case TypeKind::kUuid:
    case TypeKind::kInteger:
    case TypeKind::kBigint:
    case TypeKind::kDecimal:
    case TypeKind::kTimestamp:
    case TypeKind::kDate:
      return op != Op::kLike && op != Op::kILike;
    case TypeKind::kBoolean:
    case TypeKind::kEnum:
      return op == Op::kEq || op == Op::kNeq || op == Op::kIn || op == Op::kIs;
    case TypeKind::kJson:
    case TypeKind::kBytes:
      return op == Op::kIs;
  }
  return false;
}

std::string AllowedOps(TypeKind k) {
  std::vector<std::string> names;
  for (const OpName& o : kOps) {
    if (OpAllowed(k, o.op)) names.emplace_back(o.name);
  }
  return Join(names, ", ");
}

bool IsIdentChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

// A comparison as written, before it is checked against the table.
struct LeafSyntax {
  std::string column;
  bool negated = false;
  std::string op;
  std::string value;              // every operator but `in`
  std::vector<std::string> list;  // `in`
};

// Reads "(a,b,"c,d")" at text[pos] (which must be '('); advances pos past ')'. Quoted items
// take \" and \\ escapes. Returns an error message on failure.
std::optional<std::string> ReadList(std::string_view text, size_t& pos, std::vector<std::string>& out,
                                    size_t max_values) {
  if (pos >= text.size() || text[pos] != '(') return "expected '(' to start the list of in";
  ++pos;
  if (pos < text.size() && text[pos] == ')') return "in needs at least one value: in.(a,b)";
  for (;;) {
    std::string item;
    if (pos < text.size() && text[pos] == '"') {
      ++pos;
      bool closed = false;
      while (pos < text.size()) {
        char c = text[pos++];
        if (c == '\\' && pos < text.size()) {
          item += text[pos++];
        } else if (c == '"') {
          closed = true;
          break;
        } else {
          item += c;
        }
      }
      if (!closed) return "unterminated \" in the list of in";
    } else {
      while (pos < text.size() && text[pos] != ',' && text[pos] != ')') item += text[pos++];
    }
    if (out.size() == max_values) return "in takes at most " + std::to_string(max_values) + " values";
    out.push_back(std::move(item));
    if (pos >= text.size()) return "the list of in is not closed with ')'";
    if (text[pos] == ')') {
      ++pos;
      return std::nullopt;
    }
    if (text[pos] != ',') return "expected ',' or ')' in the list of in";
    ++pos;
  }
}

class QueryParser {
 public:
  QueryParser(const schema::Schema& s, const Table& t, const QueryLimits& limits, FieldErrors& errors)
      : s_(s), t_(t), limits_(limits), errors_(errors) {
    max_depth_ = std::clamp(limits.max_depth, 1, kMaxFilterDepth);
    for (const Column& c : t.columns) {
      if (ColumnReturned(c)) returned_.push_back(c.name);
      if (ColumnFilterable(c)) filterable_.push_back(c.name);
    }
  }

  void Error(std::string_view field, std::string message) {
    errors_.push_back(FieldError{std::string(field), std::move(message)});
  }

  // `col=op.value` (the key is the column).
  std::optional<Filter> SimpleFilter(std::string_view key, std::string_view value) {
    LeafSyntax leaf;
    leaf.column = std::string(key);
    std::string_view rest = value;
    if (StartsWith(rest, kNotPrefix)) {
      leaf.negated = true;
      rest.remove_prefix(kNotPrefix.size());
    }
    size_t dot = rest.find('.');
    if (dot == std::string_view::npos) {
      std::string_view maybe_op = rest;
      if (FindOp(maybe_op)) {
        Error(key, "expected a value after " + std::string(maybe_op) + ": write " + std::string(key) + "=" +
                       std::string(maybe_op) + ".VALUE");
      } else {
        Error(key, "expected operator.value, e.g. " + std::string(key) + "=eq." +
                       std::string(value.substr(0, kShownLength)) + " (operators: eq, neq, gt, gte, lt, lte, "
                       "like, ilike, in, is; not. negates)");
      }
      return std::nullopt;
    }
    leaf.op = std::string(rest.substr(0, dot));
    std::string_view operand = rest.substr(dot + 1);
    if (leaf.op == "in") {
      size_t pos = 0;
      if (std::optional<std::string> err = ReadList(operand, pos, leaf.list, limits_.max_in_values)) {
        Error(key, *err);
        return std::nullopt;
      }
      if (pos != operand.size()) {
        Error(key, "unexpected text after the list of in");
        return std::nullopt;
      }
    } else {
      leaf.value = std::string(operand);
    }
    return Resolve(key, "", leaf);
  }

  // `or=(…)`, `and=(…)`, `not.or=(…)`, `not.and=(…)`.
  std::optional<Filter> LogicFilter(std::string_view key, std::string_view value) {
    bool negated = StartsWith(key, kNotPrefix);
    std::string_view name = negated ? key.substr(kNotPrefix.size()) : key;
    field_ = std::string(key);
    text_ = value;
    pos_ = 0;
    syntax_error_.clear();
    std::optional<Filter> group = Group(name == kOr ? Filter::Kind::kOr : Filter::Kind::kAnd, 1);
    if (group && pos_ != text_.size()) Syntax("unexpected text after the closing ')'");
    if (!syntax_error_.empty()) {
      Error(key, syntax_error_);
      return std::nullopt;
    }
    if (!group) return std::nullopt;
    if (!negated) return group;
    Filter not_node;
    not_node.kind = Filter::Kind::kNot;
    not_node.children.push_back(std::move(*group));
    return not_node;
  }

  std::vector<std::string> Select(std::string_view field, std::string_view value) {
    std::vector<std::string> out;
    if (value.empty()) {
      Error(field, "expected column names: select=col1,col2 (or select=* for every column)");
      return out;
    }
    bool all = false;
    for (const std::string& raw : Split(value, ',')) {
      std::string name = Trim(raw);
      if (name.empty()) {
        Error(field, "empty column name in select (two commas, or one at an end)");
        continue;
      }
      if (name == "*") {
        all = true;
        continue;
      }
      if (name.find_first_of(":()!") != std::string::npos || name.find("->") != std::string::npos) {
        Error(field, Shown(name) + ": renaming, casts, JSON paths and embedded resources are not supported; "
                                   "list column names");
        continue;
      }
      const Column* c = t_.FindColumn(name);
      if (c == nullptr || c->access == schema::Access::kHidden) {
        Error(field, UnknownColumnMessage(t_, name, returned_));
        continue;
      }
      if (!ColumnReturned(*c)) {
        Error(field, "column '" + name + "' is write-only: it is accepted in bodies but never returned");
        continue;
      }
      if (std::find(out.begin(), out.end(), name) == out.end()) out.push_back(name);
    }
    if (all) out.clear();
    return out;
  }

  std::vector<data::OrderBy> Order(std::string_view field, std::string_view value) {
    std::vector<data::OrderBy> out;
    if (value.empty()) {
      Error(field, "expected order=col[.asc|.desc][.nullsfirst|.nullslast],…");
      return out;
    }
    std::vector<std::string> terms = Split(value, ',');
    if (terms.size() > limits_.max_order_terms) {
      Error(field, "at most " + std::to_string(limits_.max_order_terms) + " order terms");
      return out;
    }
    for (const std::string& term : terms) {
      if (term.empty()) {
        Error(field, "empty order term (two commas, or one at an end)");
        continue;
      }
      std::vector<std::string> parts = Split(term, '.');
      data::OrderBy ob;
      ob.column = parts[0];
      bool bad = false;
      bool have_direction = false;
      for (size_t i = 1; i < parts.size() && !bad; ++i) {
        const std::string& p = parts[i];
        if ((p == "asc" || p == "desc") && !have_direction && !ob.nulls_first) {
          ob.descending = p == "desc";
          have_direction = true;
        } else if ((p == "nullsfirst" || p == "nullslast") && !ob.nulls_first) {
          ob.nulls_first = p == "nullsfirst";
        } else {
          Error(field, Shown(term) + ": expected col[.asc|.desc][.nullsfirst|.nullslast], found " + Shown(p));
          bad = true;
        }
      }
      if (bad) continue;
      const Column* c = t_.FindColumn(ob.column);
      if (c == nullptr || c->access == schema::Access::kHidden) {
        Error(field, UnknownColumnMessage(t_, ob.column, filterable_));
        continue;
      }
      if (!ColumnReturned(*c)) {
        Error(field, "column '" + ob.column + "' is write-only and cannot be ordered by");
        continue;
      }
      if (c->encrypted) {
        Error(field, "column '" + ob.column + "' is stored encrypted and cannot be ordered by");
        continue;
      }
      if (c->type.kind == TypeKind::kJson) {
        Error(field, "column '" + ob.column + "' is json and cannot be ordered by");
        continue;
      }
      bool dup = std::any_of(out.begin(), out.end(), [&](const data::OrderBy& o) { return o.column == ob.column; });
      if (dup) {
        Error(field, "column '" + ob.column + "' is ordered by twice");
        continue;
      }
      out.push_back(std::move(ob));
    }
    return out;
  }

 private:
  void Syntax(const std::string& what) {
    if (syntax_error_.empty()) {
      syntax_error_ = what + " (at character " + std::to_string(pos_ + 1) + " of " + field_ + "=" +
                      Shown(text_) + ")";
    }
  }
  bool Peek(char c) const { return pos_ < text_.size() && text_[pos_] == c; }
  std::string Ident() {
    size_t start = pos_;
    while (pos_ < text_.size() && IsIdentChar(text_[pos_])) ++pos_;
    return std::string(text_.substr(start, pos_ - start));
  }

  std::optional<Filter> Group(Filter::Kind kind, int depth) {
    if (depth > max_depth_) {
      Syntax("or/and groups nested deeper than " + std::to_string(max_depth_) + " levels");
      return std::nullopt;
    }
    if (!Peek('(')) {
      Syntax("expected '(': write " + field_ + "=(a.eq.1,b.gt.2)");
      return std::nullopt;
    }
    ++pos_;
    if (Peek(')')) {
      Syntax("empty group: list at least one condition");
      return std::nullopt;
    }
    Filter group;
    group.kind = kind;
    bool any_invalid = false;
    for (;;) {
      std::optional<Filter> child = Item(depth);
      if (!syntax_error_.empty()) return std::nullopt;
      if (child) {
        group.children.push_back(std::move(*child));
      } else {
        any_invalid = true;
      }
      if (Peek(',')) {
        ++pos_;
        continue;
      }
      if (Peek(')')) {
        ++pos_;
        break;
      }
      Syntax(pos_ >= text_.size() ? "the group is not closed with ')'" : "expected ',' or ')'");
      return std::nullopt;
    }
    if (any_invalid) return std::nullopt;
    return group;
  }

  std::optional<Filter> Item(int depth) {
    size_t item_start = pos_;
    std::string name = Ident();
    if (name.empty()) {
      Syntax("expected a condition (col.op.value) or a group (or(…), and(…))");
      return std::nullopt;
    }
    bool negated_group = false;
    if (name == "not" && Peek('.')) {
      size_t save = pos_;
      ++pos_;
      std::string next = Ident();
      if ((next == kOr || next == kAnd) && Peek('(')) {
        negated_group = true;
        name = next;
      } else {
        pos_ = save;
      }
    }
    if ((name == kOr || name == kAnd) && Peek('(')) {
      std::optional<Filter> g = Group(name == kOr ? Filter::Kind::kOr : Filter::Kind::kAnd, depth + 1);
      if (!g || !negated_group) return g;
      Filter not_node;
      not_node.kind = Filter::Kind::kNot;
      not_node.children.push_back(std::move(*g));
      return not_node;
    }
    LeafSyntax leaf;
    leaf.column = name;
    if (!Peek('.')) {
      Syntax("expected '.' after the column name: col.op.value");
      return std::nullopt;
    }
    ++pos_;
    leaf.op = Ident();
    if (leaf.op == "not" && Peek('.')) {
      leaf.negated = true;
      ++pos_;
      leaf.op = Ident();
    }
    if (leaf.op.empty()) {
      Syntax("expected an operator after '" + leaf.column + ".'");
      return std::nullopt;
    }
    if (!Peek('.')) {
      Syntax("expected '.' and a value after the operator: " + leaf.column + "." + leaf.op + ".VALUE");
      return std::nullopt;
    }
    ++pos_;
    if (leaf.op == "in") {
      if (std::optional<std::string> err = ReadList(text_, pos_, leaf.list, limits_.max_in_values)) {
        Syntax(*err);
        return std::nullopt;
      }
    } else if (Peek('"')) {
      ++pos_;
      bool closed = false;
      while (pos_ < text_.size()) {
        char c = text_[pos_++];
        if (c == '\\' && pos_ < text_.size()) {
          leaf.value += text_[pos_++];
        } else if (c == '"') {
          closed = true;
          break;
        } else {
          leaf.value += c;
        }
      }
      if (!closed) {
        Syntax("unterminated \"");
        return std::nullopt;
      }
    } else {
      while (pos_ < text_.size() && text_[pos_] != ',' && text_[pos_] != ')') leaf.value += text_[pos_++];
    }
    std::string item(text_.substr(item_start, pos_ - item_start));
    return Resolve(field_, item, leaf);
  }

  // Checks a comparison against the table; `item` is its text inside a group ("" for a simple
  // filter, whose field already names the column).
  std::optional<Filter> Resolve(std::string_view field, std::string_view item, const LeafSyntax& leaf) {
    auto fail = [&](const std::string& message) -> std::optional<Filter> {
      Error(field, item.empty() ? message : Shown(item) + ": " + message);
      return std::nullopt;
    };
    ++conditions_;
    if (conditions_ > limits_.max_conditions) {
      if (conditions_ == limits_.max_conditions + 1) {
        Error(field, "the query has more than " + std::to_string(limits_.max_conditions) + " conditions");
      }
      return std::nullopt;
    }
    const Column* c = t_.FindColumn(leaf.column);
    if (c == nullptr || c->access == schema::Access::kHidden) {
      std::string msg = UnknownColumnMessage(t_, leaf.column, filterable_);
      if (item.empty() && leaf.column.find('.') != std::string::npos) {
        msg += "; embedded resources are not supported";
      }
      return fail(msg);
    }
    if (!ColumnReturned(*c)) return fail("column '" + c->name + "' is write-only and cannot be filtered");
    if (c->encrypted) return fail("column '" + c->name + "' is stored encrypted and cannot be filtered");
    std::optional<Op> op = FindOp(leaf.op);
    if (!op) {
      return fail("unknown operator " + Shown(leaf.op) + " (operators for " + TypeLabel(*c) + " column '" +
                  c->name + "': " + AllowedOps(c->type.kind) + "; not. negates)");
    }
    if (!OpAllowed(c->type.kind, *op)) {
      std::string why = (*op == Op::kLike || *op == Op::kILike) ? " (like and ilike are for text columns)" : "";
      return fail(std::string(OpText(*op)) + " cannot be used on " + TypeLabel(*c) + " column '" + c->name + "'" +
                  why + "; it takes: " + AllowedOps(c->type.kind));
    }
    Filter f;
    f.kind = Filter::Kind::kCondition;
    f.column = c->name;
    bool negate = leaf.negated;
    if (*op == Op::kIs) {
      std::string v = ToLower(leaf.value);
      bool boolean = c->type.kind == TypeKind::kBoolean;
      if (v == "null") {
        f.op = negate ? FilterOp::kIsNotNull : FilterOp::kIsNull;
        negate = false;
      } else if (v == "not_null") {
        f.op = negate ? FilterOp::kIsNull : FilterOp::kIsNotNull;
        negate = false;
      } else if (boolean && v == "true") {
        f.op = FilterOp::kIsTrue;
      } else if (boolean && v == "false") {
        f.op = FilterOp::kIsFalse;
      } else if (boolean && v == "unknown") {
        f.op = negate ? FilterOp::kIsNotNull : FilterOp::kIsNull;
        negate = false;
      } else {
        return fail(Shown(leaf.value) + " after is: expected " +
                    std::string(boolean ? "null, not_null, true, false or unknown"
                                        : "null or not_null (true/false are for boolean columns)"));
      }
    } else if (*op == Op::kIn) {
      f.op = FilterOp::kIn;
      bool bad = false;
      for (size_t i = 0; i < leaf.list.size(); ++i) {
        Result<std::string> v = FilterValue(*c, leaf.list[i]);
        if (!v.ok()) {
          fail("value " + std::to_string(i + 1) + " of in: " + v.status().message());
          bad = true;
        } else {
          f.values.push_back(std::move(v).value());
        }
      }
      if (bad) return std::nullopt;
    } else if (*op == Op::kLike || *op == Op::kILike) {
      f.op = ComparisonOp(*op);
      if (leaf.value.find('\0') != std::string::npos) return fail("the pattern contains a NUL character");
      if (!ValidUtf8(leaf.value)) return fail("the pattern is not valid UTF-8");
      std::string pattern = leaf.value;
      std::replace(pattern.begin(), pattern.end(), '*', '%');
      f.values.push_back(std::move(pattern));
    } else {
      f.op = ComparisonOp(*op);
      Result<std::string> v = FilterValue(*c, leaf.value);
      if (!v.ok()) return fail(v.status().message());
      f.values.push_back(std::move(v).value());
    }
    if (!negate) return f;
    Filter not_node;
    not_node.kind = Filter::Kind::kNot;
    not_node.children.push_back(std::move(f));
    return not_node;
  }

  // The canonical text of a comparison value for column `c` (data.h's forms).
  Result<std::string> FilterValue(const Column& c, std::string_view text) const {
    auto invalid = [](std::string m) { return Status(Code::kInvalidArgument, std::move(m)); };
    const std::string shown = Shown(text);
    if (text.find('\0') != std::string_view::npos) return invalid(shown + " contains a NUL character");
    switch (c.type.kind) {
      case TypeKind::kText:
        if (!ValidUtf8(text)) return invalid(shown + " is not valid UTF-8");
        return std::string(text);
      case TypeKind::kUuid: {
        Result<std::string> u = schema::literals::CanonicalUuid(text);
        if (!u.ok()) return invalid(shown + " is not a uuid (8-4-4-4-12 hex digits)");
        return u;
      }
      case TypeKind::kInteger:
      case TypeKind::kBigint: {
        int64_t v = 0;
        switch (ParseInteger(text, IntegerMin(c.type.kind), IntegerMax(c.type.kind), v)) {
          case IntParse::kOk: return std::to_string(v);
          case IntParse::kNotInteger: return invalid(shown + " is not an integer (" + c.name + " is " + TypeLabel(c) + ")");
          case IntParse::kOutOfRange:
            return invalid(shown + " is out of range for " + TypeLabel(c) + " (" + std::to_string(IntegerMin(c.type.kind)) +
                           ".." + std::to_string(IntegerMax(c.type.kind)) + ")");
        }
        break;
      }
      case TypeKind::kDecimal: {
        std::optional<std::string> d = NormalizePlainDecimal(text);
        if (!d) return invalid(shown + " is not a decimal number in plain notation (e.g. 12.50)");
        return *d;
      }
      case TypeKind::kBoolean:
        if (text == "true" || text == "false") return std::string(text);
        return invalid(shown + " is not a boolean (true or false)");
      case TypeKind::kTimestamp: {
        if (text.size() > 64) return invalid(shown + " is not an RFC 3339 timestamp");
        Result<std::string> ts = schema::literals::CanonicalTimestamp(text);
        if (ts.ok()) return ts;
        // Form decoding turns an unencoded '+' of an offset into a space: "…10:00:00 01:00".
        if (text.size() > 6 && text[text.size() - 6] == ' ' && text[text.size() - 3] == ':') {
          std::string fixed(text);
          fixed[fixed.size() - 6] = '+';
          Result<std::string> again = schema::literals::CanonicalTimestamp(fixed);
          if (again.ok()) return again;
        }
        // A date alone means midnight UTC.
        if (text.size() == 10 && schema::literals::CanonicalDate(text).ok()) {
          return schema::literals::CanonicalTimestamp(std::string(text) + "T00:00:00Z");
        }
        return invalid(shown + " is not an RFC 3339 timestamp with an offset (e.g. 2026-11-21T10:00:00Z) or a date");
      }
      case TypeKind::kDate: {
        Result<std::string> d = schema::literals::CanonicalDate(text);
        if (!d.ok()) {
          if (text.size() > 16) return invalid(shown + " is not a date (YYYY-MM-DD)");
          return invalid(d.status().message());
        }
        return d;
      }
      case TypeKind::kEnum: {
        const std::vector<std::string>* values = EnumValues(s_, c);
        if (values != nullptr && std::find(values->begin(), values->end(), text) != values->end()) {
          return std::string(text);
        }
        return invalid(shown + " is not a value of enum " + c.type.enum_name +
                       (values != nullptr ? " (" + ListNames(*values) + ")" : std::string()));
      }
      case TypeKind::kJson:
      case TypeKind::kBytes:
        break;
    }
    return invalid(c.name + " cannot be compared with a value");
  }

  const schema::Schema& s_;
  const Table& t_;
  const QueryLimits& limits_;
  FieldErrors& errors_;
  int max_depth_ = 1;
  size_t conditions_ = 0;
  std::vector<std::string> returned_;
  std::vector<std::string> filterable_;

  // The group being parsed.
  std::string field_;
  std::string_view text_;
  size_t pos_ = 0;
  std::string syntax_error_;
};

bool CheckLength(const QueryParams& params, const QueryLimits& limits, FieldErrors& errors) {
  size_t total = 0;
  for (const auto& [k, v] : params) total += k.size() + v.size() + 2;
  if (total <= limits.max_query_length) return true;
  errors.push_back(FieldError{"", "the query is longer than " + std::to_string(limits.max_query_length) + " bytes"});
  return false;
}

// Marks `name` as seen; false (and an error) when it was already.
bool Once(std::vector<std::string_view>& seen, std::string_view name, FieldErrors& errors) {
  if (std::find(seen.begin(), seen.end(), name) != seen.end()) {
    errors.push_back(FieldError{std::string(name), "given more than once"});
    return false;
  }
  seen.push_back(name);
  return true;
}

}  // namespace

bool IsReservedParameter(std::string_view name) {
  return name == kSelect || name == kOrder || name == kLimit || name == kOffset || name == kAfter || name == kOr ||
         name == kAnd || name == kNotOr || name == kNotAnd;
}

ParsedListQuery ParseListQuery(const schema::Schema& s, const Table& t, const QueryParams& params,
                               const QueryLimits& limits) {
  ParsedListQuery out;
  out.query.limit = limits.default_limit;
  if (!CheckLength(params, limits, out.errors)) return out;
  QueryParser parser(s, t, limits, out.errors);
  std::vector<std::string_view> seen;
  std::vector<Filter> conditions;
  bool have_offset = false;
  for (const auto& [key, value] : params) {
    if (key == kSelect) {
      if (Once(seen, kSelect, out.errors)) out.query.select = parser.Select(key, value);
    } else if (key == kOrder) {
      if (Once(seen, kOrder, out.errors)) out.query.order = parser.Order(key, value);
    } else if (key == kLimit) {
      if (!Once(seen, kLimit, out.errors)) continue;
      int64_t v = 0;
      if (ParseInteger(value, 1, limits.max_limit, v) != IntParse::kOk) {
        out.errors.push_back(FieldError{key, Shown(value) + ": limit must be an integer between 1 and " +
                                                 std::to_string(limits.max_limit)});
      } else {
        out.query.limit = v;
      }
    } else if (key == kOffset) {
      if (!Once(seen, kOffset, out.errors)) continue;
      int64_t v = 0;
      if (ParseInteger(value, 0, limits.max_offset, v) != IntParse::kOk) {
        out.errors.push_back(FieldError{key, Shown(value) + ": offset must be an integer between 0 and " +
                                                 std::to_string(limits.max_offset) +
                                                 "; page deeper with after=<next_cursor> (keyset pagination)"});
      } else {
        out.query.offset = v;
        have_offset = true;
      }
    } else if (key == kAfter) {
      if (!Once(seen, kAfter, out.errors)) continue;
      bool printable = std::all_of(value.begin(), value.end(), [](char c) { return c > 0x20 && c < 0x7F; });
      if (value.empty() || value.size() > limits.max_cursor_length || !printable) {
        out.errors.push_back(FieldError{key, "not a cursor: pass the next_cursor of the previous page unchanged"});
      } else {
        out.query.after = value;
      }
    } else if (key == kOr || key == kAnd || key == kNotOr || key == kNotAnd) {
      if (std::optional<Filter> f = parser.LogicFilter(key, value)) conditions.push_back(std::move(*f));
    } else {
      if (std::optional<Filter> f = parser.SimpleFilter(key, value)) conditions.push_back(std::move(*f));
    }
  }
  if (have_offset && !out.query.after.empty()) {
    out.errors.push_back(FieldError{std::string(kOffset), "offset cannot be combined with after (the cursor already "
                                                          "says where the page starts)"});
  }
  if (conditions.size() == 1) {
    out.query.where = std::move(conditions.front());
  } else if (conditions.size() > 1) {
    out.query.where.kind = Filter::Kind::kAnd;
    out.query.where.children = std::move(conditions);
  }
  return out;
}

ParsedItemQuery ParseItemQuery(const schema::Schema& s, const Table& t, const QueryParams& params,
                               const QueryLimits& limits) {
  ParsedItemQuery out;
  if (!CheckLength(params, limits, out.errors)) return out;
  QueryParser parser(s, t, limits, out.errors);
  std::vector<std::string_view> seen;
  for (const auto& [key, value] : params) {
    if (key == kSelect) {
      if (Once(seen, kSelect, out.errors)) out.select = parser.Select(key, value);
    } else {
      out.errors.push_back(FieldError{key, "not allowed here: a single row takes only select="});
    }
  }
  return out;
}

Result<std::string> ParseItemId(const schema::Schema& s, const Table& t, std::string_view id) {
  const Column* key = ItemKeyColumn(s, t);
  if (key == nullptr) {
    return Status(Code::kNotFound, "table " + t.name + " has no single-column key: rows are not addressable by id");
  }
  auto invalid = [&](std::string m) { return Status(Code::kInvalidArgument, std::move(m), "", key->name); };
  const std::string shown = Shown(id);
  switch (key->type.kind) {
    case TypeKind::kUuid: {
      Result<std::string> u = schema::literals::CanonicalUuid(id);
      if (!u.ok()) return invalid(shown + " is not a uuid (8-4-4-4-12 hex digits)");
      return u;
    }
    case TypeKind::kInteger:
    case TypeKind::kBigint: {
      int64_t v = 0;
      if (ParseInteger(id, IntegerMin(key->type.kind), IntegerMax(key->type.kind), v) != IntParse::kOk) {
        return invalid(shown + " is not a " + TypeLabel(*key));
      }
      return std::to_string(v);
    }
    case TypeKind::kText:
      if (id.empty() || id.find('\0') != std::string_view::npos || !ValidUtf8(id)) {
        return invalid(shown + " is not a valid key");
      }
      return std::string(id);
    case TypeKind::kDate: {
      Result<std::string> d = schema::literals::CanonicalDate(id);
      if (!d.ok()) return invalid(shown + " is not a date (YYYY-MM-DD)");
      return d;
    }
    case TypeKind::kEnum: {
      const std::vector<std::string>* values = EnumValues(s, *key);
      if (values != nullptr && std::find(values->begin(), values->end(), id) != values->end()) return std::string(id);
      return invalid(shown + " is not a value of enum " + key->type.enum_name);
    }
    default:
      return invalid("rows of " + t.name + " are not addressable by a " + TypeLabel(*key) + " key");
  }
}

}  // namespace plinth::rest
