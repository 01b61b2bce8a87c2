// SQL for PostgreSQL and SQLite from a checked tree. Identifiers are always quoted, values are
// SQL literals, and operands are parenthesised wherever the two databases' precedence rules
// could read them differently.
#include <algorithm>

#include "common/strings.h"
#include "expr/syntax.h"
#include "expr/values.h"
#include "plinth/expr.h"

namespace plinth::expr {
namespace {

constexpr std::string_view kSqliteNow = "strftime('%Y-%m-%dT%H:%M:%f000Z','now')";

std::string Parenthesized(std::string s) { return "(" + s + ")"; }

bool IsConcat(const Node& n) { return n.kind == NodeKind::kBinary && n.bop == BinaryOp::kConcat; }
bool IsBinary(const Node& n, BinaryOp op) { return n.kind == NodeKind::kBinary && n.bop == op; }

// Level for rendering: NOT EXISTS binds like NOT (an operand of a comparison gets parentheses).
Level SqlLevel(const Node& n) {
  if (n.kind == NodeKind::kExists && n.negated) return Level::kNot;
  return LevelOf(n);
}

// A LIKE pattern (with '\' escapes, PostgreSQL's default) as a case-sensitive GLOB pattern:
// % → *, _ → ?, and the GLOB metacharacters * ? [ matched literally as [*] [?] [[].
std::string LikeToGlob(std::string_view pattern) {
  std::string out;
  auto literal = [&](char c) {
    if (c == '*') out += "[*]";
    else if (c == '?') out += "[?]";
    else if (c == '[') out += "[[]";
    else out.push_back(c);
  };
  for (size_t i = 0; i < pattern.size(); ++i) {
    char c = pattern[i];
    if (c == '\\' && i + 1 < pattern.size()) {
      literal(pattern[++i]);  // a multi-byte character's other bytes follow as plain bytes
    } else if (c == '%') {
      out.push_back('*');
    } else if (c == '_') {
      out.push_back('?');
    } else {
      literal(c);
    }
  }
  return out;
}

// The default rendering of auth.* calls (see RenderOptions::render_auth).
std::string DefaultAuth(const Node& call, const RenderOptions& opts) {
  std::string fn = call.text.substr(std::string_view("auth.").size());
  std::vector<std::string> args;
  for (const Node& a : call.children) args.push_back(QuoteString(a.text));
  if (opts.dialect == Dialect::kPostgres) {
    // A scalar sub-select is evaluated once per statement, not once per row.
    return "(SELECT auth." + fn + "(" + Join(args, ", ") + "))";
  }
  if (fn == "has_role" || fn == "has_permission") return "plinth_" + fn + "(" + Join(args, ", ") + ")";
  return "plinth_auth(" + QuoteString(fn) + ")";
}

class Renderer {
 public:
  explicit Renderer(const RenderOptions& opts) : opts_(opts) {}

  std::string Run(const Node& root) {
    main_table_ = FindMainTable(root);
    return R(root);
  }

 private:
  bool Pg() const { return opts_.dialect == Dialect::kPostgres; }

  static std::string FindMainTable(const Node& n) {
    if (n.kind == NodeKind::kColumn && n.scope == 0 && !n.column_table.empty()) return n.column_table;
    for (const Node& c : n.children) {
      std::string t = FindMainTable(c);
      if (!t.empty()) return t;
    }
    return {};
  }

  std::string Operand(const Node& child, bool parens) {
    std::string s = R(child);
    return parens ? Parenthesized(std::move(s)) : s;
  }

  // An operand of a comparison, is null, in, like or between: arithmetic binds tighter than
  // these in both databases; anything else (and || whose precedence differs) is parenthesised.
  std::string PredicateOperand(const Node& child) {
    return Operand(child, SqlLevel(child) < Level::kAdditive || IsConcat(child));
  }

  std::string Literal(const Node& n) {
    switch (n.lit) {
      case LiteralKind::kNull: return "NULL";
      case LiteralKind::kBool:
        if (n.text == "true") return Pg() ? "TRUE" : "1";
        return Pg() ? "FALSE" : "0";
      case LiteralKind::kInteger:
      case LiteralKind::kDecimal: return n.text;
      case LiteralKind::kString:
        // Values as stored: timestamps in UTC with 6 fractional digits (text comparison on
        // SQLite orders them), uuids in lower case.
        if (n.value == ValueKind::kTimestamp) {
          if (auto ts = NormalizeTimestamp(n.text)) return QuoteString(*ts);
        }
        if (n.value == ValueKind::kUuid) return QuoteString(NormalizeUuid(n.text));
        return QuoteString(n.text);
    }
    return QuoteString(n.text);
  }

  std::string Column(const Node& n) {
    std::string qualifier;
    if (n.scope == 0) {
      // Inside exists the main table's columns are always qualified, so that a column of the
      // same name in the inner table cannot capture them.
      if (!opts_.table_alias.empty()) qualifier = opts_.table_alias;
      else if (!aliases_.empty()) qualifier = n.column_table;
    } else if (static_cast<size_t>(n.scope) <= aliases_.size()) {
      qualifier = aliases_[static_cast<size_t>(n.scope) - 1];
    }
    return qualifier.empty() ? SqlIdent(n.text) : SqlIdent(qualifier) + "." + SqlIdent(n.text);
  }

  // The alias an exists table gets: its own (or its name), made distinct from every name an
  // outer reference may use, so that no outer column is captured by the inner table.
  std::string ExistsAlias(const Node& n) const {
    std::vector<std::string> taken;
    taken.push_back(ToLower(!opts_.table_alias.empty() ? opts_.table_alias : main_table_));
    for (const std::string& a : aliases_) taken.push_back(ToLower(a));
    std::string base = n.qualifier.empty() ? n.text : n.qualifier;
    std::string alias = base;
    for (int k = 2; std::find(taken.begin(), taken.end(), ToLower(alias)) != taken.end(); ++k) {
      alias = base + "_" + std::to_string(k);
    }
    return alias;
  }

  std::string Call(const Node& n) {
    if (StartsWith(n.text, "auth.")) {
      return opts_.render_auth ? opts_.render_auth(n, opts_) : DefaultAuth(n, opts_);
    }
    if (n.text == "now") return Pg() ? "now()" : std::string(kSqliteNow);
    std::string name = n.text == "length" && Pg() ? "char_length" : n.text;
    std::vector<std::string> args;
    for (const Node& a : n.children) args.push_back(R(a));
    return name + "(" + Join(args, ", ") + ")";
  }

  std::string Like(const Node& n) {
    const Node& pattern = n.children[1];
    std::string x = PredicateOperand(n.children[0]);
    std::string neg = n.negated ? " NOT" : "";
    if (Pg()) return x + neg + (n.case_insensitive ? " ILIKE " : " LIKE ") + PredicateOperand(pattern);
    if (!n.case_insensitive && pattern.kind == NodeKind::kLiteral && pattern.lit == LiteralKind::kString) {
      // SQLite's LIKE ignores ASCII case; GLOB is case-sensitive like PostgreSQL's LIKE.
      return x + neg + " GLOB " + QuoteString(LikeToGlob(pattern.text));
    }
    return x + neg + " LIKE " + PredicateOperand(pattern) + " ESCAPE '\\'";
  }

  std::string Exists(const Node& n) {
    std::string alias = ExistsAlias(n);
    aliases_.push_back(alias);
    std::string cond = R(n.children[0]);
    aliases_.pop_back();
    return std::string(n.negated ? "NOT EXISTS" : "EXISTS") + " (SELECT 1 FROM " + SqlIdent(n.text) + " AS " +
           SqlIdent(alias) + " WHERE " + cond + ")";
  }

  std::string Binary(const Node& n) {
    const Node& l = n.children[0];
    const Node& r = n.children[1];
    switch (n.bop) {
      case BinaryOp::kOr:
        // a AND b inside OR is parenthesised for the reader; nested OR on the right keeps the tree.
        return Operand(l, IsBinary(l, BinaryOp::kAnd) || SqlLevel(l) < Level::kOr) + " OR " +
               Operand(r, IsBinary(r, BinaryOp::kAnd) || SqlLevel(r) <= Level::kOr);
      case BinaryOp::kAnd:
        return Operand(l, SqlLevel(l) < Level::kAnd) + " AND " + Operand(r, SqlLevel(r) <= Level::kAnd);
      case BinaryOp::kConcat:
        return Operand(l, SqlLevel(l) < Level::kPrimary && !IsConcat(l)) + " || " +
               Operand(r, SqlLevel(r) < Level::kPrimary);
      case BinaryOp::kAdd:
      case BinaryOp::kSub:
        return Operand(l, SqlLevel(l) < Level::kAdditive || IsConcat(l)) + " " + std::string(BinaryOpText(n.bop)) +
               " " + Operand(r, SqlLevel(r) < Level::kMultiplicative);
      case BinaryOp::kMul:
      case BinaryOp::kDiv:
      case BinaryOp::kMod:
        return Operand(l, SqlLevel(l) < Level::kMultiplicative) + " " + std::string(BinaryOpText(n.bop)) + " " +
               Operand(r, SqlLevel(r) < Level::kUnaryMinus);
      default:  // comparisons
        return PredicateOperand(l) + " " + std::string(BinaryOpText(n.bop)) + " " + PredicateOperand(r);
    }
  }

  std::string R(const Node& n) {
    switch (n.kind) {
      case NodeKind::kLiteral: return Literal(n);
      case NodeKind::kColumn: return Column(n);
      case NodeKind::kUnary: {
        const Node& x = n.children[0];
        if (n.uop == UnaryOp::kNot) return "NOT " + Operand(x, SqlLevel(x) < Level::kPrimary);
        // -(-x): never "--", which starts a comment.
        return "-" + Operand(x, SqlLevel(x) < Level::kPrimary);
      }
      case NodeKind::kBinary: return Binary(n);
      case NodeKind::kIsNull: return PredicateOperand(n.children[0]) + (n.negated ? " IS NOT NULL" : " IS NULL");
      case NodeKind::kIn: {
        std::vector<std::string> items;
        for (size_t i = 1; i < n.children.size(); ++i) items.push_back(R(n.children[i]));
        return PredicateOperand(n.children[0]) + (n.negated ? " NOT IN (" : " IN (") + Join(items, ", ") + ")";
      }
      case NodeKind::kLike: return Like(n);
      case NodeKind::kBetween:
        return PredicateOperand(n.children[0]) + (n.negated ? " NOT BETWEEN " : " BETWEEN ") +
               PredicateOperand(n.children[1]) + " AND " + PredicateOperand(n.children[2]);
      case NodeKind::kCall: return Call(n);
      case NodeKind::kExists: return Exists(n);
    }
    return {};
  }

  const RenderOptions& opts_;
  std::string main_table_;
  std::vector<std::string> aliases_;  // effective aliases of the enclosing exists, outermost first
};

}  // namespace

std::string Render(const Node& node, const RenderOptions& opts) { return Renderer(opts).Run(node); }

}  // namespace plinth::expr
