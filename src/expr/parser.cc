// Recursive-descent parser of the expression language (grammar in plinth/expr.h).
#include <optional>
#include <utility>

#include "expr/lexer.h"
#include "expr/syntax.h"
#include "plinth/expr.h"

namespace plinth::expr {
namespace {

constexpr std::string_view kExistsShape =
    "write exists (select 1 from TABLE [as ALIAS] where CONDITION)";
// Nesting of parentheses, 'not' and unary '-' the parser follows before giving up.
constexpr int kMaxNesting = 100;

std::string PosText(SourcePos p) { return std::to_string(p.line) + ":" + std::to_string(p.column); }

Node MakeNode(NodeKind kind, SourcePos pos) {
  Node n;
  n.kind = kind;
  n.pos = pos;
  return n;
}

Node MakeBinary(BinaryOp op, Node l, Node r, SourcePos pos) {
  Node n = MakeNode(NodeKind::kBinary, pos);
  n.bop = op;
  n.children.push_back(std::move(l));
  n.children.push_back(std::move(r));
  return n;
}

class Parser {
 public:
  Parser(const std::vector<Token>& tokens, const std::string& file, Diagnostics& diags)
      : toks_(tokens), file_(file), diags_(diags) {}

  std::optional<Node> ParseAll() {
    if (Cur().kind == TokenKind::kEnd) {
      return Fail(Cur().pos, "empty expression", "write a condition, e.g. price >= 0");
    }
    auto e = ParseExpr();
    if (!e) return std::nullopt;
    if (Cur().kind != TokenKind::kEnd) {
      std::string hint = "join conditions with 'and' or 'or'";
      if (IsSym(Cur(), ")")) hint = "remove it, or add the matching '('";
      return Fail(Cur().pos, "unexpected " + Describe(Cur()) + " after a complete expression", hint);
    }
    return e;
  }

 private:
  // --- tokens ---------------------------------------------------------------------------
  const Token& Cur() const { return toks_[i_]; }
  const Token& Ahead(size_t k) const { return toks_[std::min(i_ + k, toks_.size() - 1)]; }
  void Advance() {
    if (i_ + 1 < toks_.size()) ++i_;
  }
  static bool IsKw(const Token& t, std::string_view kw) { return t.kind == TokenKind::kIdent && t.text == kw; }
  static bool IsSym(const Token& t, std::string_view s) { return t.kind == TokenKind::kSymbol && t.text == s; }
  // An identifier usable as a name: quoted, or bare and not a keyword.
  static bool IsName(const Token& t) {
    return t.kind == TokenKind::kQuotedIdent || (t.kind == TokenKind::kIdent && !IsKeyword(t.text));
  }
  static std::string Describe(const Token& t) {
    switch (t.kind) {
      case TokenKind::kEnd: return "the end of the expression";
      case TokenKind::kString: return "the string " + t.raw;
      default: return "'" + t.raw + "'";
    }
  }

  std::nullopt_t Fail(SourcePos pos, std::string message, std::string hint = {}) {
    if (!failed_) diags_.Error(file_, pos, std::move(message), std::move(hint));
    failed_ = true;
    return std::nullopt;
  }

  bool Expect(std::string_view symbol_or_keyword, bool keyword, const std::string& context,
              std::string_view hint = {}) {
    const Token& t = Cur();
    bool ok = keyword ? IsKw(t, symbol_or_keyword) : IsSym(t, symbol_or_keyword);
    if (ok) {
      Advance();
      return true;
    }
    Fail(t.pos, "expected '" + std::string(symbol_or_keyword) + "' " + context + ", found " + Describe(t),
         std::string(hint));
    return false;
  }

  // Counts recursion through parentheses, 'not' and '-', refusing absurd nesting.
  class Nest {
   public:
    explicit Nest(Parser& p) : p_(p) { ++p_.nesting_; }
    ~Nest() { --p_.nesting_; }
    bool TooDeep() {
      if (p_.nesting_ <= kMaxNesting) return false;
      p_.Fail(p_.Cur().pos, "expression is nested too deeply (more than " + std::to_string(kMaxNesting) + " levels)",
              "simplify it or split it into several checks");
      return true;
    }

   private:
    Parser& p_;
  };

  // --- grammar --------------------------------------------------------------------------
  std::optional<Node> ParseExpr() { return ParseOr(); }

  std::optional<Node> ParseOr() {
    auto l = ParseAnd();
    while (l && IsKw(Cur(), "or")) {
      SourcePos pos = Cur().pos;
      Advance();
      auto r = ParseAnd();
      if (!r) return std::nullopt;
      l = MakeBinary(BinaryOp::kOr, std::move(*l), std::move(*r), pos);
    }
    return l;
  }

  std::optional<Node> ParseAnd() {
    auto l = ParseNot();
    while (l && IsKw(Cur(), "and")) {
      SourcePos pos = Cur().pos;
      Advance();
      auto r = ParseNot();
      if (!r) return std::nullopt;
      l = MakeBinary(BinaryOp::kAnd, std::move(*l), std::move(*r), pos);
    }
    return l;
  }

  std::optional<Node> ParseNot() {
    // `not exists (…)` is the negated exists primary; any other 'not' negates what follows.
    if (!IsKw(Cur(), "not") || IsKw(Ahead(1), "exists")) return ParsePredicate();
    Nest nest(*this);
    if (nest.TooDeep()) return std::nullopt;
    SourcePos pos = Cur().pos;
    Advance();
    auto operand = ParseNot();
    if (!operand) return std::nullopt;
    if (operand->kind == NodeKind::kExists) {
      // not (exists …) is not exists …: one spelling, one tree.
      operand->negated = !operand->negated;
      operand->pos = pos;
      return operand;
    }
    Node n = MakeNode(NodeKind::kUnary, pos);
    n.uop = UnaryOp::kNot;
    n.children.push_back(std::move(*operand));
    return n;
  }

  static std::optional<BinaryOp> ComparisonOp(const Token& t) {
    if (t.kind != TokenKind::kSymbol) return std::nullopt;
    if (t.text == "=") return BinaryOp::kEq;
    if (t.text == "<>" || t.text == "!=") return BinaryOp::kNe;
    if (t.text == "<") return BinaryOp::kLt;
    if (t.text == "<=") return BinaryOp::kLe;
    if (t.text == ">") return BinaryOp::kGt;
    if (t.text == ">=") return BinaryOp::kGe;
    return std::nullopt;
  }

  static bool IsPredicateKeyword(const Token& t) {
    return IsKw(t, "in") || IsKw(t, "like") || IsKw(t, "ilike") || IsKw(t, "between");
  }

  bool StartsPredicate(const Token& t) const {
    return ComparisonOp(t) || IsKw(t, "is") || IsPredicateKeyword(t) ||
           (IsKw(t, "not") && IsPredicateKeyword(Ahead(1)));
  }

  std::optional<Node> ParsePredicate() {
    auto l = ParseAdditive();
    if (!l) return std::nullopt;
    const Token& t = Cur();
    std::optional<Node> result;
    if (auto op = ComparisonOp(t)) {
      SourcePos pos = t.pos;
      Advance();
      auto r = ParseAdditive();
      if (!r) return std::nullopt;
      result = MakeBinary(*op, std::move(*l), std::move(*r), pos);
    } else if (IsKw(t, "is")) {
      result = ParseIsNull(std::move(*l));
    } else if (IsKw(t, "not") || IsPredicateKeyword(t)) {
      result = ParseNegatablePredicate(std::move(*l));
    } else {
      return l;
    }
    if (!result) return std::nullopt;
    if (StartsPredicate(Cur())) {
      return Fail(Cur().pos, "comparisons cannot be chained: unexpected " + Describe(Cur()),
                  "join comparisons with 'and', or parenthesise, e.g. (a = b) = c");
    }
    return result;
  }

  std::optional<Node> ParseIsNull(Node operand) {
    Node n = MakeNode(NodeKind::kIsNull, Cur().pos);
    Advance();  // is
    if (IsKw(Cur(), "not")) {
      n.negated = true;
      Advance();
    }
    if (!IsKw(Cur(), "null")) {
      return Fail(Cur().pos, "expected 'null' after '" + std::string(n.negated ? "is not" : "is") + "', found " +
                                 Describe(Cur()),
                  "'is' only tests for null (is null, is not null); compare values with '='");
    }
    Advance();
    n.children.push_back(std::move(operand));
    return n;
  }

  std::optional<Node> ParseNegatablePredicate(Node operand) {
    SourcePos pos = Cur().pos;
    bool negated = false;
    if (IsKw(Cur(), "not")) {
      if (!IsPredicateKeyword(Ahead(1))) {
        return Fail(Ahead(1).pos, "expected 'in', 'like', 'ilike' or 'between' after 'not', found " +
                                      Describe(Ahead(1)),
                    "to negate a condition put 'not' in front of it: not (a = b)");
      }
      negated = true;
      Advance();
    }
    const Token kw = Cur();
    Advance();
    if (kw.text == "in") {
      Node n = MakeNode(NodeKind::kIn, pos);
      n.negated = negated;
      n.children.push_back(std::move(operand));
      SourcePos open = Cur().pos;
      if (!Expect("(", false, "after 'in'", "write a list of values: in ('a', 'b')")) return std::nullopt;
      if (IsKw(Cur(), "select")) {
        return Fail(Cur().pos, "in (select …) is not supported",
                    "use exists (select 1 from TABLE where …) in a policy");
      }
      if (IsSym(Cur(), ")")) {
        return Fail(Cur().pos, "an in-list needs at least one value", "write in ('a', 'b')");
      }
      while (true) {
        auto e = ParseExpr();
        if (!e) return std::nullopt;
        n.children.push_back(std::move(*e));
        if (IsSym(Cur(), ",")) {
          Advance();
          continue;
        }
        if (IsSym(Cur(), ")")) break;
        return Fail(Cur().pos, "expected ',' or ')' in the in-list opened at " + PosText(open) + ", found " +
                                   Describe(Cur()));
      }
      Advance();
      return n;
    }
    if (kw.text == "like" || kw.text == "ilike") {
      Node n = MakeNode(NodeKind::kLike, pos);
      n.negated = negated;
      n.case_insensitive = kw.text == "ilike";
      auto pattern = ParseAdditive();
      if (!pattern) return std::nullopt;
      n.children.push_back(std::move(operand));
      n.children.push_back(std::move(*pattern));
      return n;
    }
    // between
    Node n = MakeNode(NodeKind::kBetween, pos);
    n.negated = negated;
    auto low = ParseAdditive();
    if (!low) return std::nullopt;
    if (!Expect("and", true, "between the bounds of 'between'", "write x between LOW and HIGH")) return std::nullopt;
    auto high = ParseAdditive();
    if (!high) return std::nullopt;
    n.children.push_back(std::move(operand));
    n.children.push_back(std::move(*low));
    n.children.push_back(std::move(*high));
    return n;
  }

  std::optional<Node> ParseAdditive() {
    auto l = ParseMultiplicative();
    while (l) {
      const Token& t = Cur();
      BinaryOp op;
      if (IsSym(t, "+")) op = BinaryOp::kAdd;
      else if (IsSym(t, "-")) op = BinaryOp::kSub;
      else if (IsSym(t, "||")) op = BinaryOp::kConcat;
      else break;
      SourcePos pos = t.pos;
      Advance();
      auto r = ParseMultiplicative();
      if (!r) return std::nullopt;
      l = MakeBinary(op, std::move(*l), std::move(*r), pos);
    }
    return l;
  }

  std::optional<Node> ParseMultiplicative() {
    auto l = ParseUnary();
    while (l) {
      const Token& t = Cur();
      BinaryOp op;
      if (IsSym(t, "*")) op = BinaryOp::kMul;
      else if (IsSym(t, "/")) op = BinaryOp::kDiv;
      else if (IsSym(t, "%")) op = BinaryOp::kMod;
      else break;
      SourcePos pos = t.pos;
      Advance();
      auto r = ParseUnary();
      if (!r) return std::nullopt;
      l = MakeBinary(op, std::move(*l), std::move(*r), pos);
    }
    return l;
  }

  std::optional<Node> ParseUnary() {
    if (IsSym(Cur(), "-")) {
      Nest nest(*this);
      if (nest.TooDeep()) return std::nullopt;
      SourcePos pos = Cur().pos;
      Advance();
      auto operand = ParseUnary();
      if (!operand) return std::nullopt;
      Node n = MakeNode(NodeKind::kUnary, pos);
      n.uop = UnaryOp::kNeg;
      n.children.push_back(std::move(*operand));
      return n;
    }
    if (IsSym(Cur(), "+")) {
      // A leading '+' on a number is accepted and dropped: +5 is 5.
      SourcePos pos = Cur().pos;
      if (Ahead(1).kind != TokenKind::kNumber) {
        return Fail(pos, "unary '+' is only allowed in front of a number", "remove the '+'");
      }
      Advance();
      Node n = NumberLiteral(Cur());
      n.pos = pos;
      Advance();
      return n;
    }
    return ParsePrimary();
  }

  static Node NumberLiteral(const Token& t) {
    Node n = MakeNode(NodeKind::kLiteral, t.pos);
    n.lit = t.is_decimal ? LiteralKind::kDecimal : LiteralKind::kInteger;
    n.text = t.text;
    return n;
  }

  std::optional<Node> ParsePrimary() {
    const Token& t = Cur();
    switch (t.kind) {
      case TokenKind::kNumber: {
        Node n = NumberLiteral(t);
        Advance();
        return n;
      }
      case TokenKind::kString: {
        Node n = MakeNode(NodeKind::kLiteral, t.pos);
        n.lit = LiteralKind::kString;
        n.text = t.text;
        Advance();
        return n;
      }
      case TokenKind::kQuotedIdent:
        return ParseNameStart();
      case TokenKind::kIdent:
        if (!IsKeyword(t.text)) return ParseNameStart();
        if (t.text == "null" || t.text == "true" || t.text == "false") {
          Node n = MakeNode(NodeKind::kLiteral, t.pos);
          n.lit = t.text == "null" ? LiteralKind::kNull : LiteralKind::kBool;
          n.text = t.text;
          Advance();
          return n;
        }
        if (t.text == "exists") return ParseExists(false, t.pos);
        if (t.text == "not" && IsKw(Ahead(1), "exists")) {
          SourcePos pos = t.pos;
          Advance();
          return ParseExists(true, pos);
        }
        if (t.text == "not") {
          return Fail(t.pos, "'not' cannot stand here: it negates a whole condition",
                      "put it in front of the condition, or parenthesise: a = (not b)");
        }
        if (t.text == "select") {
          return Fail(t.pos, "a subquery is only allowed as exists (select 1 from …)", std::string(kExistsShape));
        }
        break;
      case TokenKind::kSymbol:
        if (t.text == "(") {
          Nest nest(*this);
          if (nest.TooDeep()) return std::nullopt;
          SourcePos open = t.pos;
          Advance();
          auto e = ParseExpr();
          if (!e) return std::nullopt;
          if (!IsSym(Cur(), ")")) {
            return Fail(Cur().pos, "expected ')' to close the '(' at " + PosText(open) + ", found " +
                                       Describe(Cur()));
          }
          Advance();
          return e;
        }
        break;
      case TokenKind::kEnd:
        break;
    }
    return Fail(t.pos, "expected a value, a column, a function call or '(', found " + Describe(t));
  }

  // A column (`name`, `qualifier.name`) or a call (`name(…)`, `auth.name(…)`).
  std::optional<Node> ParseNameStart() {
    const Token first = Cur();
    Advance();
    bool bare = first.kind == TokenKind::kIdent;
    if (bare && IsSym(Cur(), "(")) return ParseCall(first.text, first.pos);
    if (IsSym(Cur(), ".")) {
      if (bare && Ahead(1).kind == TokenKind::kIdent && IsSym(Ahead(2), "(")) {
        std::string name = first.text + "." + Ahead(1).text;
        Advance();
        Advance();
        return ParseCall(std::move(name), first.pos);
      }
      Advance();
      const Token& col = Cur();
      if (!IsName(col)) {
        std::string hint;
        if (col.kind == TokenKind::kIdent) hint = "quote a column named like a keyword: " + first.raw + ".\"" + col.text + "\"";
        return Fail(col.pos, "expected a column name after '" + first.raw + ".', found " + Describe(col), hint);
      }
      Node n = MakeNode(NodeKind::kColumn, first.pos);
      n.qualifier = first.text;
      n.text = col.text;
      n.name_pos = col.pos;
      Advance();
      return n;
    }
    Node n = MakeNode(NodeKind::kColumn, first.pos);
    n.text = first.text;
    n.name_pos = first.pos;
    return n;
  }

  std::optional<Node> ParseCall(std::string name, SourcePos pos) {
    Node n = MakeNode(NodeKind::kCall, pos);
    n.text = std::move(name);
    SourcePos open = Cur().pos;
    Advance();  // (
    if (IsSym(Cur(), ")")) {
      Advance();
      return n;
    }
    while (true) {
      auto e = ParseExpr();
      if (!e) return std::nullopt;
      n.children.push_back(std::move(*e));
      if (IsSym(Cur(), ",")) {
        Advance();
        continue;
      }
      if (IsSym(Cur(), ")")) break;
      return Fail(Cur().pos, "expected ',' or ')' in the arguments of " + n.text + "() opened at " + PosText(open) +
                                 ", found " + Describe(Cur()));
    }
    Advance();
    return n;
  }

  // Current token: 'exists'. `pos` is where the construct starts ('not' or 'exists').
  std::optional<Node> ParseExists(bool negated, SourcePos pos) {
    Nest nest(*this);
    if (nest.TooDeep()) return std::nullopt;
    Node n = MakeNode(NodeKind::kExists, pos);
    n.negated = negated;
    Advance();  // exists
    SourcePos open = Cur().pos;
    if (!Expect("(", false, "after 'exists'", kExistsShape)) return std::nullopt;
    if (!Expect("select", true, "after 'exists ('", kExistsShape)) return std::nullopt;
    if (!(Cur().kind == TokenKind::kNumber && Cur().text == "1")) {
      return Fail(Cur().pos, "expected '1' after 'select', found " + Describe(Cur()),
                  "exists only asks whether a row exists: " + std::string(kExistsShape));
    }
    Advance();
    if (!Expect("from", true, "after 'select 1'", kExistsShape)) return std::nullopt;
    if (!IsName(Cur())) {
      return Fail(Cur().pos, "expected a table name after 'from', found " + Describe(Cur()),
                  std::string(kExistsShape));
    }
    n.text = Cur().text;
    n.name_pos = Cur().pos;
    Advance();
    if (IsKw(Cur(), "as")) {
      Advance();
      if (!IsName(Cur())) {
        return Fail(Cur().pos, "expected an alias after 'as', found " + Describe(Cur()), std::string(kExistsShape));
      }
      n.qualifier = Cur().text;
      Advance();
    } else if (IsName(Cur())) {
      n.qualifier = Cur().text;
      Advance();
    }
    if (!IsKw(Cur(), "where")) {
      std::string hint(kExistsShape);
      if (IsSym(Cur(), ",") || IsSym(Cur(), ".")) hint = "exists reads one table; nest another exists for a second one";
      return Fail(Cur().pos, "expected 'where' after the table of exists, found " + Describe(Cur()), hint);
    }
    Advance();
    auto cond = ParseExpr();
    if (!cond) return std::nullopt;
    if (!IsSym(Cur(), ")")) {
      return Fail(Cur().pos, "expected ')' to close the 'exists (' at " + PosText(open) + ", found " +
                                 Describe(Cur()));
    }
    Advance();
    n.children.push_back(std::move(*cond));
    return n;
  }

  const std::vector<Token>& toks_;
  const std::string& file_;
  Diagnostics& diags_;
  size_t i_ = 0;
  int nesting_ = 0;
  bool failed_ = false;
};

// Depth of the deepest node, computed without recursion (a long chain of `or` is deep).
int TreeDepth(const Node& root) {
  int deepest = 0;
  std::vector<std::pair<const Node*, int>> stack{{&root, 1}};
  while (!stack.empty()) {
    auto [n, d] = stack.back();
    stack.pop_back();
    deepest = std::max(deepest, d);
    for (const Node& c : n->children) stack.emplace_back(&c, d + 1);
  }
  return deepest;
}

}  // namespace

Result<Node> Parse(std::string_view text, const ParseOptions& opts, Diagnostics& diags) {
  size_t first = diags.items().size();
  std::vector<Token> tokens;
  if (!Lex(text, opts.origin, opts.file, diags, tokens)) return ErrorsSince(diags, first, "invalid expression");
  Parser parser(tokens, opts.file, diags);
  std::optional<Node> node = parser.ParseAll();
  if (!node) return ErrorsSince(diags, first, "invalid expression");
  if (TreeDepth(*node) > kMaxTreeDepth) {
    diags.Error(opts.file, tokens.front().pos,
                "expression is too deeply nested (more than " + std::to_string(kMaxTreeDepth) + " levels)",
                "use in (…) instead of long chains of 'or', or split it into several checks");
    return ErrorsSince(diags, first, "invalid expression");
  }
  return std::move(*node);
}

}  // namespace plinth::expr
