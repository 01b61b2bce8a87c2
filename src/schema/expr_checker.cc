// The type checker: resolves columns, enforces what each context may use, computes types.
#include <algorithm>
#include <array>

#include "common/strings.h"
#include "expr/syntax.h"
#include "expr/values.h"
#include "plinth/expr.h"

namespace plinth::expr {
namespace {

using schema::TypeKind;

std::string_view ContextName(Context ctx) {
  switch (ctx) {
    case Context::kCheck: return "a check constraint";
    case Context::kIndexPredicate: return "a partial index predicate";
    case Context::kPolicy: return "a policy";
  }
  return "an expression";
}

ValueKind KindOf(const schema::Type& t) {
  switch (t.kind) {
    case TypeKind::kUuid: return ValueKind::kUuid;
    case TypeKind::kText: return ValueKind::kText;
    case TypeKind::kInteger:
    case TypeKind::kBigint: return ValueKind::kInteger;
    case TypeKind::kBoolean: return ValueKind::kBool;
    case TypeKind::kDecimal: return ValueKind::kDecimal;
    case TypeKind::kTimestamp: return ValueKind::kTimestamp;
    case TypeKind::kDate: return ValueKind::kDate;
    case TypeKind::kJson: return ValueKind::kJson;
    case TypeKind::kBytes: return ValueKind::kBytes;
    case TypeKind::kEnum: return ValueKind::kEnum;
  }
  return ValueKind::kUnknown;
}

std::string TypeName(const Node& n) {
  switch (n.value) {
    case ValueKind::kUnknown: return "of unknown type";
    case ValueKind::kNull: return "null";
    case ValueKind::kBool: return "boolean";
    case ValueKind::kInteger: return "integer";
    case ValueKind::kDecimal: return "decimal";
    case ValueKind::kText: return "text";
    case ValueKind::kUuid: return "uuid";
    case ValueKind::kTimestamp: return "timestamp";
    case ValueKind::kDate: return "date";
    case ValueKind::kJson: return "json";
    case ValueKind::kBytes: return "bytes";
    case ValueKind::kEnum: return "enum '" + n.enum_name + "'";
  }
  return "?";
}

bool IsNumeric(ValueKind v) { return v == ValueKind::kInteger || v == ValueKind::kDecimal; }
bool IsStringLiteral(const Node& n) { return n.kind == NodeKind::kLiteral && n.lit == LiteralKind::kString; }
bool IsNullLiteral(const Node& n) { return n.kind == NodeKind::kLiteral && n.lit == LiteralKind::kNull; }
bool Known(const Node& n) { return n.value != ValueKind::kUnknown; }
// Types a string literal can stand for when compared with a value of that type.
bool TakesStringLiterals(ValueKind v) {
  return v == ValueKind::kUuid || v == ValueKind::kTimestamp || v == ValueKind::kDate || v == ValueKind::kEnum;
}

// A column reference as written, for messages: "m.user_id" or "user_id".
std::string Written(const Node& col) {
  return col.qualifier.empty() ? col.text : col.qualifier + "." + col.text;
}

constexpr std::array<std::string_view, 6> kPlainFunctions = {"length", "lower", "upper", "trim", "abs", "coalesce"};
constexpr std::array<std::string_view, 6> kPolicyFunctions = {
    "now", "auth.tenant_id", "auth.user_id", "auth.role", "auth.has_role", "auth.has_permission"};

template <size_t N>
bool Contains(const std::array<std::string_view, N>& a, std::string_view s) {
  return std::find(a.begin(), a.end(), s) != a.end();
}

struct Scope {
  const schema::Table* table;
  std::string name;  // how its columns are qualified: the alias, else the table name
  bool aliased;
};

enum class Match : unsigned char { kOk, kMismatch, kReported };

class Checker {
 public:
  Checker(const schema::Schema& schema, const schema::Table& table, Context ctx, const std::string& file,
          Diagnostics& diags)
      : schema_(schema), ctx_(ctx), file_(file), diags_(diags) {
    scopes_.push_back({&table, table.name, false});
  }

  bool Run(Node& root) {
    Visit(root);
    RequireBool(root, "the expression");
    return ok_;
  }

 private:
  void Error(SourcePos pos, std::string message, std::string hint = {}) {
    diags_.Error(file_, pos, std::move(message), std::move(hint));
    ok_ = false;
  }

  void Visit(Node& n) {
    n.value = ValueKind::kUnknown;
    n.enum_name.clear();
    switch (n.kind) {
      case NodeKind::kLiteral: return VisitLiteral(n);
      case NodeKind::kColumn: return VisitColumn(n);
      case NodeKind::kUnary: return VisitUnary(n);
      case NodeKind::kBinary: return VisitBinary(n);
      case NodeKind::kIsNull:
        Visit(n.children[0]);
        n.value = ValueKind::kBool;
        return;
      case NodeKind::kIn: return VisitIn(n);
      case NodeKind::kLike: return VisitLike(n);
      case NodeKind::kBetween: return VisitBetween(n);
      case NodeKind::kCall: return VisitCall(n);
      case NodeKind::kExists: return VisitExists(n);
    }
  }

  static void VisitLiteral(Node& n) {
    switch (n.lit) {
      case LiteralKind::kNull: n.value = ValueKind::kNull; break;
      case LiteralKind::kBool: n.value = ValueKind::kBool; break;
      case LiteralKind::kInteger: n.value = ValueKind::kInteger; break;
      case LiteralKind::kDecimal: n.value = ValueKind::kDecimal; break;
      case LiteralKind::kString: n.value = ValueKind::kText; break;
    }
  }

  // --- columns --------------------------------------------------------------------------
  void VisitColumn(Node& n) {
    n.column_table.clear();
    n.scope = 0;
    int found = n.qualifier.empty() ? ResolveUnqualified(n) : ResolveQualified(n);
    if (found < 0) return;
    const Scope& scope = scopes_[static_cast<size_t>(found)];
    const schema::Column* col = scope.table->FindColumn(n.text);
    n.scope = found;
    n.column_table = scope.table->name;
    if (col->encrypted) {
      Error(n.name_pos, "encrypted column '" + n.text + "' cannot be used in an expression",
            "the database holds only its ciphertext; compare it in the application instead");
      return;
    }
    n.value = KindOf(col->type);
    if (n.value == ValueKind::kEnum) n.enum_name = col->type.enum_name;
  }

  int ResolveUnqualified(const Node& n) {
    for (int i = static_cast<int>(scopes_.size()) - 1; i >= 0; --i) {
      if (!scopes_[static_cast<size_t>(i)].table->FindColumn(n.text)) continue;
      for (int j = i - 1; j >= 0; --j) {
        const Scope& outer = scopes_[static_cast<size_t>(j)];
        if (!outer.table->FindColumn(n.text)) continue;
        const Scope& inner = scopes_[static_cast<size_t>(i)];
        diags_.Warning(file_, n.pos,
                       "'" + n.text + "' refers to " + inner.name + "." + n.text + " (the table of exists), not to " +
                           outer.name + "." + n.text,
                       "qualify it to say which one you mean: " + inner.name + "." + n.text + " or " + outer.name +
                           "." + n.text);
        break;
      }
      return i;
    }
    std::vector<std::string> candidates;
    std::vector<std::string> tables;
    for (const Scope& s : scopes_) {
      tables.push_back("'" + s.table->name + "'");
      for (const auto& c : s.table->columns) candidates.push_back(c.name);
    }
    std::string where = scopes_.size() == 1 ? "in table " + tables[0] : "in tables " + Join(tables, ", ");
    std::string hint;
    if (auto m = ClosestMatch(n.text, candidates)) {
      hint = "did you mean '" + *m + "'?";
    } else if (n.text == "now") {
      hint = "call it: now()";
    } else {
      hint = "string literals are written in single quotes: '" + n.text + "'";
    }
    Error(n.name_pos, "unknown column '" + n.text + "' " + where, hint);
    return -1;
  }

  int ResolveQualified(const Node& n) {
    std::vector<int> matches;
    for (size_t i = 0; i < scopes_.size(); ++i) {
      if (scopes_[i].name == n.qualifier) matches.push_back(static_cast<int>(i));
    }
    if (matches.size() > 1) {
      Error(n.pos, "ambiguous reference '" + Written(n) + "': '" + n.qualifier + "' names more than one table here",
            "give the table of exists an alias: exists (select 1 from " + n.qualifier + " as x where …)");
      return -1;
    }
    if (matches.empty()) {
      std::vector<std::string> names;
      for (const Scope& s : scopes_) {
        if (s.aliased && s.table->name == n.qualifier) {
          Error(n.pos, "table '" + n.qualifier + "' is called '" + s.name + "' in this exists",
                "write " + s.name + "." + n.text);
          return -1;
        }
        names.push_back(s.name);
      }
      std::string hint;
      if (n.qualifier == "auth") hint = "auth functions are called with parentheses: auth." + n.text + "()";
      else if (auto m = ClosestMatch(n.qualifier, names)) hint = "did you mean '" + *m + "." + n.text + "'?";
      else hint = "tables here: " + Join(names, ", ");
      Error(n.pos, "unknown table or alias '" + n.qualifier + "' in '" + Written(n) + "'", hint);
      return -1;
    }
    int i = matches[0];
    const Scope& s = scopes_[static_cast<size_t>(i)];
    if (!s.table->FindColumn(n.text)) {
      std::vector<std::string> candidates;
      for (const auto& c : s.table->columns) candidates.push_back(c.name);
      std::string hint;
      if (auto m = ClosestMatch(n.text, candidates)) hint = "did you mean '" + n.qualifier + "." + *m + "'?";
      Error(n.name_pos, "unknown column '" + n.text + "' in table '" + s.table->name + "'", hint);
      return -1;
    }
    return i;
  }

  // --- operand requirements ---------------------------------------------------------------
  // json and bytes values can only be tested for null. True when `n` is one (and reported).
  bool RejectOpaque(const Node& n) {
    if (n.value != ValueKind::kJson && n.value != ValueKind::kBytes) return false;
    std::string what = n.kind == NodeKind::kColumn ? TypeName(n) + " column '" + Written(n) + "'" : TypeName(n) + " value";
    Error(StartPos(n), what + " can only be tested with 'is null' or 'is not null'");
    return true;
  }

  void RequireBool(const Node& n, std::string_view what) {
    if (!Known(n) || n.value == ValueKind::kBool || RejectOpaque(n)) return;
    std::string hint;
    if (n.kind == NodeKind::kColumn) {
      hint = "compare it, e.g. " + Written(n) + (IsNumeric(n.value) ? " > 0" : " is not null");
    } else if (IsNumeric(n.value)) {
      hint = "compare it, e.g. (…) > 0";
    }
    Error(StartPos(n), std::string(what) + " must be a condition (boolean), but it is " + TypeName(n), hint);
  }

  void RequireNumeric(const Node& n, std::string_view op) {
    if (!Known(n) || IsNumeric(n.value) || RejectOpaque(n)) return;
    if (n.value == ValueKind::kNull) {
      Error(StartPos(n), std::string(op) + " with null always gives null", "use coalesce(x, 0) for a default");
      return;
    }
    std::string hint;
    if (op == "'+'" && n.value == ValueKind::kText) hint = "use '||' to join text";
    Error(StartPos(n), std::string(op) + " needs numbers, but this is " + TypeName(n), hint);
  }

  void RequireText(const Node& n, std::string_view op) {
    if (!Known(n) || n.value == ValueKind::kText || RejectOpaque(n)) return;
    if (n.value == ValueKind::kNull) {
      Error(StartPos(n), std::string(op) + " with null always gives null", "use coalesce(x, '') for a default");
      return;
    }
    std::string hint;
    if (n.value == ValueKind::kEnum || n.value == ValueKind::kUuid) hint = "compare it with '=' or 'in' instead";
    Error(StartPos(n), std::string(op) + " needs text, but this is " + TypeName(n), hint);
  }

  // Gives a string literal the type of the value it is compared with, validating its text.
  Match Coerce(Node& lit, const Node& target) {
    const std::string& s = lit.text;
    switch (target.value) {
      case ValueKind::kUuid:
        if (!IsUuidText(s)) {
          Error(lit.pos, "'" + s + "' is not a valid uuid",
                "write 32 hex digits as 8-4-4-4-12, e.g. '123e4567-e89b-12d3-a456-426614174000'");
          return Match::kReported;
        }
        break;
      case ValueKind::kTimestamp:
        if (!NormalizeTimestamp(s)) {
          Error(lit.pos, "'" + s + "' is not a valid timestamp",
                "write RFC 3339 with an offset, e.g. '2024-01-31T12:00:00Z', or a date '2024-01-31'");
          return Match::kReported;
        }
        break;
      case ValueKind::kDate:
        if (!IsDateText(s)) {
          Error(lit.pos, "'" + s + "' is not a valid date", "write YYYY-MM-DD, e.g. '2024-01-31'");
          return Match::kReported;
        }
        break;
      case ValueKind::kEnum:
        if (const schema::Enum* e = schema_.FindEnum(target.enum_name)) {
          if (std::find(e->values.begin(), e->values.end(), s) == e->values.end()) {
            std::vector<std::string> quoted;
            for (const auto& v : e->values) quoted.push_back(QuoteString(v));
            std::string hint;
            if (auto m = ClosestMatch(s, e->values)) hint = "did you mean '" + *m + "'?";
            Error(lit.pos, "'" + s + "' is not a value of enum '" + e->name + "' (valid values: " + Join(quoted, ", ") + ")",
                  hint);
            return Match::kReported;
          }
        }
        break;
      default:
        return Match::kMismatch;
    }
    lit.value = target.value;
    lit.enum_name = target.enum_name;
    return Match::kOk;
  }

  // Whether `a` and `b` can be compared (or be arguments of one coalesce); string literals take
  // the other side's type. Unknown and null operands are left to the caller.
  Match Unify(Node& a, Node& b) {
    if (!Known(a) || !Known(b) || a.value == ValueKind::kNull || b.value == ValueKind::kNull) return Match::kOk;
    bool opaque_a = RejectOpaque(a);
    bool opaque_b = RejectOpaque(b);
    if (opaque_a || opaque_b) return Match::kReported;
    if (IsStringLiteral(a) && a.value != b.value && TakesStringLiterals(b.value)) return Coerce(a, b);
    if (IsStringLiteral(b) && a.value != b.value && TakesStringLiterals(a.value)) return Coerce(b, a);
    if (IsStringLiteral(a) && IsStringLiteral(b) && a.value == ValueKind::kEnum && b.value == ValueKind::kEnum &&
        a.enum_name != b.enum_name) {
      return Match::kMismatch;
    }
    if (IsStringLiteral(a) && b.value == ValueKind::kEnum) return Coerce(a, b);
    if (IsStringLiteral(b) && a.value == ValueKind::kEnum) return Coerce(b, a);
    if (IsNumeric(a.value) && IsNumeric(b.value)) return Match::kOk;
    if (a.value == b.value && (a.value != ValueKind::kEnum || a.enum_name == b.enum_name)) return Match::kOk;
    return Match::kMismatch;
  }

  std::string MismatchHint(const Node& a, const Node& b) {
    auto literal_vs_text = [](const Node& lit, const Node& other) {
      return lit.kind == NodeKind::kLiteral && lit.lit != LiteralKind::kString && lit.lit != LiteralKind::kNull &&
             other.value == ValueKind::kText;
    };
    if (literal_vs_text(a, b) || literal_vs_text(b, a)) return "to compare with text, write the value in single quotes";
    if ((a.value == ValueKind::kDate && b.value == ValueKind::kTimestamp) ||
        (a.value == ValueKind::kTimestamp && b.value == ValueKind::kDate)) {
      return "a date and a timestamp are different types: compare a date with a date literal 'YYYY-MM-DD'";
    }
    return {};
  }

  // Enum values have no order both databases agree on (PostgreSQL: declaration, SQLite: text).
  void RejectEnumOrder(const Node& a, SourcePos pos, std::string_view op) {
    if (a.value != ValueKind::kEnum) return;
    Error(pos, "enum values cannot be ordered with " + std::string(op),
          "PostgreSQL orders an enum by declaration and SQLite by text; compare with '=', '<>' or 'in'");
  }

  // --- operators --------------------------------------------------------------------------
  void VisitUnary(Node& n) {
    Node& x = n.children[0];
    Visit(x);
    if (n.uop == UnaryOp::kNot) {
      RequireBool(x, "the operand of 'not'");
      n.value = ValueKind::kBool;
      return;
    }
    RequireNumeric(x, "unary '-'");
    if (IsNumeric(x.value)) n.value = x.value;
  }

  void VisitBinary(Node& n) {
    Node& l = n.children[0];
    Node& r = n.children[1];
    Visit(l);
    Visit(r);
    std::string op = "'" + std::string(BinaryOpText(n.bop)) + "'";
    if (n.bop == BinaryOp::kAnd || n.bop == BinaryOp::kOr) {
      RequireBool(l, "the operand of " + op);
      RequireBool(r, "the operand of " + op);
      n.value = ValueKind::kBool;
      return;
    }
    if (IsComparison(n.bop)) {
      n.value = ValueKind::kBool;
      if (IsNullLiteral(l) || IsNullLiteral(r)) {
        std::string hint = n.bop == BinaryOp::kEq   ? "use 'is null' instead of '= null'"
                           : n.bop == BinaryOp::kNe ? "use 'is not null' instead of '<> null'"
                                                    : "use 'is null' to test for null";
        Error(n.pos, "comparison with null is never true", hint);
        return;
      }
      Match m = Unify(l, r);
      if (m == Match::kMismatch) {
        Error(n.pos, "cannot compare " + TypeName(l) + " with " + TypeName(r), MismatchHint(l, r));
      } else if (m == Match::kOk && IsOrdering(n.bop)) {
        RejectEnumOrder(l.value == ValueKind::kEnum ? l : r, n.pos, op);
      }
      return;
    }
    if (n.bop == BinaryOp::kConcat) {
      RequireText(l, op);
      RequireText(r, op);
      n.value = ValueKind::kText;
      return;
    }
    // Arithmetic.
    RequireNumeric(l, op);
    RequireNumeric(r, op);
    if (n.bop == BinaryOp::kMod) {
      for (const Node* x : {&l, &r}) {
        if (x->value == ValueKind::kDecimal) {
          Error(StartPos(*x), "'%' needs integers, but this is decimal",
                "SQLite truncates decimals before '%' and PostgreSQL does not, so the result would differ");
          return;
        }
      }
    }
    if (IsNumeric(l.value) && IsNumeric(r.value)) {
      n.value = l.value == ValueKind::kInteger && r.value == ValueKind::kInteger ? ValueKind::kInteger
                                                                                : ValueKind::kDecimal;
    }
  }

  void VisitIn(Node& n) {
    for (Node& c : n.children) Visit(c);
    n.value = ValueKind::kBool;
    Node& needle = n.children[0];
    if (IsNullLiteral(needle)) {
      Error(StartPos(needle), "null in (…) is never true", "use 'is null' to test for null");
      return;
    }
    for (size_t i = 1; i < n.children.size(); ++i) {
      Node& e = n.children[i];
      if (IsNullLiteral(e)) {
        Error(e.pos, "null in an in-list never matches", "test for null separately: x is null or x in (…)");
        continue;
      }
      if (Unify(needle, e) == Match::kMismatch) {
        Error(StartPos(e), "cannot compare " + TypeName(needle) + " with " + TypeName(e) + " in an in-list",
              MismatchHint(needle, e));
      }
    }
  }

  void VisitLike(Node& n) {
    Node& x = n.children[0];
    Node& pattern = n.children[1];
    Visit(x);
    Visit(pattern);
    n.value = ValueKind::kBool;
    std::string op = std::string(n.negated ? "'not " : "'") + (n.case_insensitive ? "ilike'" : "like'");
    RequireText(x, op);
    RequireText(pattern, op);
    if (IsStringLiteral(pattern)) {
      // '\' escapes the next character (PostgreSQL's default); a pattern cannot end in it.
      bool escaped = false;
      for (char c : pattern.text) escaped = !escaped && c == '\\';
      if (escaped) {
        Error(pattern.pos, "like pattern ends with the escape character '\\'", "write '\\\\' to match a backslash");
      }
    }
  }

  void VisitBetween(Node& n) {
    for (Node& c : n.children) Visit(c);
    n.value = ValueKind::kBool;
    Node& x = n.children[0];
    bool ok = true;
    for (size_t i = 0; i < n.children.size(); ++i) {
      if (IsNullLiteral(n.children[i])) {
        Error(n.children[i].pos, "'between' with null is never true", "use 'is null' to test for null");
        ok = false;
      }
    }
    if (!ok) return;
    for (size_t i = 1; i < 3; ++i) {
      Node& bound = n.children[i];
      Match m = Unify(x, bound);
      if (m == Match::kMismatch) {
        Error(StartPos(bound), "cannot compare " + TypeName(x) + " with " + TypeName(bound) + " in 'between'",
              MismatchHint(x, bound));
        ok = false;
      } else if (m == Match::kReported) {
        ok = false;
      }
    }
    if (ok) RejectEnumOrder(x, n.pos, "'between'");
  }

  // --- calls ------------------------------------------------------------------------------
  bool Arity(const Node& n, size_t expected, std::string_view what = {}) {
    if (n.children.size() == expected) return true;
    std::string takes = expected == 0   ? "takes no arguments"
                        : expected == 1 ? "takes 1 argument"
                                        : "takes " + std::to_string(expected) + " arguments";
    if (!what.empty()) takes += " (" + std::string(what) + ")";
    Error(n.pos, n.text + "() " + takes + ", but " + std::to_string(n.children.size()) +
                     (n.children.size() == 1 ? " was" : " were") + " given");
    return false;
  }

  // auth.has_role / auth.has_permission take names written as string literals.
  void RequireNameLiteral(const Node& arg, const std::string& fn, std::string_view example) {
    if (!IsStringLiteral(arg)) {
      Error(StartPos(arg), fn + "() takes string literals, e.g. " + std::string(example),
            "the names are fixed in the schema, not computed");
    } else if (Trim(arg.text).empty()) {
      Error(arg.pos, "empty name in " + fn + "()", "e.g. " + std::string(example));
    }
  }

  void VisitCall(Node& n) {
    for (Node& c : n.children) Visit(c);
    const std::string& f = n.text;
    bool policy_only = Contains(kPolicyFunctions, f);
    if (!policy_only && !Contains(kPlainFunctions, f)) return UnknownFunction(n);
    if (policy_only && ctx_ != Context::kPolicy) {
      std::string hint = f == "now" ? "a check must hold at any time; compare with a fixed timestamp instead"
                                    : "rules about who is asking belong in a policy";
      Error(n.pos, f + "() is only allowed in policies, not in " + std::string(ContextName(ctx_)), hint);
    }
    if (f == "length" || f == "lower" || f == "upper" || f == "trim") {
      if (Arity(n, 1)) RequireText(n.children[0], f + "()");
      n.value = f == "length" ? ValueKind::kInteger : ValueKind::kText;
    } else if (f == "abs") {
      if (Arity(n, 1)) {
        RequireNumeric(n.children[0], "abs()");
        if (IsNumeric(n.children[0].value)) n.value = n.children[0].value;
      }
    } else if (f == "coalesce") {
      VisitCoalesce(n);
    } else if (f == "now") {
      Arity(n, 0);
      n.value = ValueKind::kTimestamp;
    } else if (f == "auth.tenant_id" || f == "auth.user_id") {
      Arity(n, 0);
      n.value = ValueKind::kUuid;
    } else if (f == "auth.role") {
      Arity(n, 0);
      n.value = ValueKind::kText;
    } else if (f == "auth.has_role") {
      if (Arity(n, 1, "a role name")) RequireNameLiteral(n.children[0], f, "auth.has_role('admin')");
      n.value = ValueKind::kBool;
    } else {  // auth.has_permission
      if (Arity(n, 2, "a resource and an action")) {
        for (const Node& a : n.children) RequireNameLiteral(a, f, "auth.has_permission('invoices', 'approve')");
      }
      n.value = ValueKind::kBool;
    }
  }

  void UnknownFunction(const Node& n) {
    std::vector<std::string> allowed(kPlainFunctions.begin(), kPlainFunctions.end());
    if (ctx_ == Context::kPolicy) allowed.insert(allowed.end(), kPolicyFunctions.begin(), kPolicyFunctions.end());
    std::string hint;
    if (auto m = ClosestMatch(n.text, allowed)) {
      hint = "did you mean " + *m + "()?";
    } else if (ctx_ != Context::kPolicy && (StartsWith(n.text, "auth.") || n.text == "now")) {
      hint = "auth.* functions and now() are only allowed in policies";
    }
    Error(n.pos, "unknown function '" + n.text + "()': the functions allowed in " + std::string(ContextName(ctx_)) +
                     " are " + Join(allowed, ", "),
          hint);
  }

  void VisitCoalesce(Node& n) {
    if (n.children.size() < 2) {
      Error(n.pos, "coalesce() takes at least 2 arguments, but " + std::to_string(n.children.size()) +
                       (n.children.size() == 1 ? " was" : " were") + " given");
      return;
    }
    // The type comes from the first argument that is neither null nor a bare string literal;
    // string literals then take that type (coalesce(status, 'open') is an enum).
    Node* lead = nullptr;
    bool ok = true;
    for (Node& a : n.children) {
      if (!Known(a) || RejectOpaque(a)) {
        ok = false;
        continue;
      }
      if (a.value == ValueKind::kNull) continue;
      if (!lead || (IsStringLiteral(*lead) && !IsStringLiteral(a))) lead = &a;
    }
    if (!lead) {
      if (ok) Error(n.pos, "coalesce() of nulls only is always null");
      return;
    }
    bool decimal = lead->value == ValueKind::kDecimal;
    for (Node& a : n.children) {
      if (&a == lead || !Known(a) || a.value == ValueKind::kJson || a.value == ValueKind::kBytes) continue;
      Match m = Unify(*lead, a);
      if (m == Match::kMismatch) {
        Error(StartPos(a), "coalesce() arguments must have one type, but " + TypeName(*lead) + " and " +
                               TypeName(a) + " differ",
              MismatchHint(*lead, a));
      }
      if (m != Match::kOk) ok = false;
      if (a.value == ValueKind::kDecimal) decimal = true;
    }
    if (!ok) return;
    n.value = decimal && IsNumeric(lead->value) ? ValueKind::kDecimal : lead->value;
    n.enum_name = lead->enum_name;
  }

  // --- exists -----------------------------------------------------------------------------
  void VisitExists(Node& n) {
    n.value = ValueKind::kBool;
    if (ctx_ != Context::kPolicy) {
      Error(n.pos, "exists is only allowed in policies, not in " + std::string(ContextName(ctx_)),
            "a check or index predicate can only use the columns of its own row");
    }
    const schema::Table* table = schema_.FindTable(n.text);
    if (!table) {
      std::vector<std::string> names;
      for (const auto& t : schema_.tables) names.push_back(t.name);
      std::string hint;
      if (auto m = ClosestMatch(n.text, names)) hint = "did you mean '" + *m + "'?";
      Error(n.name_pos, "unknown table '" + n.text + "' in exists", hint);
      return;
    }
    scopes_.push_back({table, n.qualifier.empty() ? table->name : n.qualifier, !n.qualifier.empty()});
    Node& cond = n.children[0];
    Visit(cond);
    RequireBool(cond, "the condition of exists");
    scopes_.pop_back();
  }

  const schema::Schema& schema_;
  Context ctx_;
  const std::string& file_;
  Diagnostics& diags_;
  std::vector<Scope> scopes_;
  bool ok_ = true;
};

}  // namespace

bool Check(Node& node, const schema::Schema& schema, const schema::Table& table, Context ctx,
           const std::string& file, Diagnostics& diags) {
  return Checker(schema, table, ctx, file, diags).Run(node);
}

}  // namespace plinth::expr
