// The canonical text of an expression: one spelling per tree, with the fewest parentheses the
// grammar needs, so that Parse(Canonical(t)) gives t back.
#include "expr/syntax.h"
#include "plinth/expr.h"

namespace plinth::expr {
namespace {

std::string Parens(std::string s) { return "(" + s + ")"; }

std::string Print(const Node& n);

// The exists under a chain of `not`s (printed as one [not] exists), else nullptr.
const Node* ExistsUnderNots(const Node& n, bool& negated) {
  negated = false;
  const Node* x = &n;
  while (x->kind == NodeKind::kUnary && x->uop == UnaryOp::kNot) {
    negated = !negated;
    x = &x->children[0];
  }
  if (x->kind != NodeKind::kExists) return nullptr;
  negated = negated != x->negated;
  return x;
}

// The level of what Print writes: `not` over exists prints as the [not] exists primary.
Level PrintedLevel(const Node& n) {
  bool negated;
  return ExistsUnderNots(n, negated) ? Level::kPrimary : LevelOf(n);
}

// `child` printed as an operand that must bind at least as tightly as `min`.
std::string Operand(const Node& child, Level min) {
  std::string s = Print(child);
  return PrintedLevel(child) < min ? Parens(std::move(s)) : s;
}

std::string PrintExists(const Node& n, bool negated) {
  std::string s = negated ? "not exists (select 1 from " : "exists (select 1 from ";
  s += CanonicalIdent(n.text);
  if (!n.qualifier.empty()) s += " as " + CanonicalIdent(n.qualifier);
  s += " where " + Print(n.children[0]) + ")";
  return s;
}

std::string PrintNot(const Node& n) {
  // `not` over exists is the negated exists, as the parser reads it: not (exists …) and
  // not exists … are one tree, and not not exists … is exists ….
  bool negated;
  if (const Node* exists = ExistsUnderNots(n, negated)) return PrintExists(*exists, negated);
  const Node& operand = n.children[0];
  std::string s = Print(operand);
  // "not exists (…) = b" would read as (not exists (…)) = b: keep the parentheses.
  if (PrintedLevel(operand) < Level::kNot || s.rfind("exists ", 0) == 0) s = Parens(std::move(s));
  return "not " + s;
}

std::string Print(const Node& n) {
  switch (n.kind) {
    case NodeKind::kLiteral:
      switch (n.lit) {
        case LiteralKind::kNull: return "null";
        case LiteralKind::kBool: return n.text == "true" ? "true" : "false";
        case LiteralKind::kInteger:
        case LiteralKind::kDecimal: return n.text;
        case LiteralKind::kString: return QuoteString(n.text);
      }
      return n.text;
    case NodeKind::kColumn:
      return n.qualifier.empty() ? CanonicalIdent(n.text) : CanonicalIdent(n.qualifier) + "." + CanonicalIdent(n.text);
    case NodeKind::kUnary: {
      if (n.uop == UnaryOp::kNot) return PrintNot(n);
      const Node& operand = n.children[0];
      std::string s = Print(operand);
      // -(-x), never --x (which reads as a SQL comment).
      bool minus = operand.kind == NodeKind::kUnary && operand.uop == UnaryOp::kNeg;
      if (PrintedLevel(operand) < Level::kUnaryMinus || minus) s = Parens(std::move(s));
      return "-" + s;
    }
    case NodeKind::kBinary: {
      Level level = LevelOf(n);
      Level left_min = level, right_min = static_cast<Level>(static_cast<int>(level) + 1);
      if (level == Level::kPredicate) left_min = right_min = Level::kAdditive;  // comparisons do not chain
      return Operand(n.children[0], left_min) + " " + std::string(BinaryOpText(n.bop)) + " " +
             Operand(n.children[1], right_min);
    }
    case NodeKind::kIsNull:
      return Operand(n.children[0], Level::kAdditive) + (n.negated ? " is not null" : " is null");
    case NodeKind::kIn: {
      std::string s = Operand(n.children[0], Level::kAdditive) + (n.negated ? " not in (" : " in (");
      for (size_t i = 1; i < n.children.size(); ++i) {
        if (i > 1) s += ", ";
        s += Print(n.children[i]);
      }
      return s + ")";
    }
    case NodeKind::kLike:
      return Operand(n.children[0], Level::kAdditive) + (n.negated ? " not " : " ") +
             (n.case_insensitive ? "ilike " : "like ") + Operand(n.children[1], Level::kAdditive);
    case NodeKind::kBetween:
      return Operand(n.children[0], Level::kAdditive) + (n.negated ? " not between " : " between ") +
             Operand(n.children[1], Level::kAdditive) + " and " + Operand(n.children[2], Level::kAdditive);
    case NodeKind::kCall: {
      std::string s = n.text + "(";
      for (size_t i = 0; i < n.children.size(); ++i) {
        if (i > 0) s += ", ";
        s += Print(n.children[i]);
      }
      return s + ")";
    }
    case NodeKind::kExists:
      return PrintExists(n, n.negated);
  }
  return {};
}

}  // namespace

std::string Canonical(const Node& node) { return Print(node); }

}  // namespace plinth::expr
