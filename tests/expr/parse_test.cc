// Parsing: every construct of the grammar, the tree it gives, and every syntax error with its
// exact position.
#include "expr/fixture.h"

namespace plinth::expr::testing {
namespace {

class ParseTest : public ExprTest {
 protected:
  // Parses text expected to fail; returns the diagnostics.
  Diagnostics Fails(std::string_view text, SourcePos origin = {1, 1}) const {
    Diagnostics diags;
    auto parsed = Parse(text, ParseOptions{"schema.toml", origin}, diags);
    EXPECT_FALSE(parsed.ok()) << text;
    if (!parsed.ok()) {
      EXPECT_EQ(parsed.status().code(), Code::kInvalidArgument);
    }
    return diags;
  }
};

TEST_F(ParseTest, Literals) {
  Node n = Parsed("null");
  EXPECT_EQ(n.kind, NodeKind::kLiteral);
  EXPECT_EQ(n.lit, LiteralKind::kNull);
  EXPECT_EQ(Parsed("TRUE").lit, LiteralKind::kBool);
  EXPECT_EQ(Parsed("TRUE").text, "true");
  EXPECT_EQ(Parsed("false").text, "false");
  n = Parsed("42");
  EXPECT_EQ(n.lit, LiteralKind::kInteger);
  EXPECT_EQ(n.text, "42");
  n = Parsed("12.50");
  EXPECT_EQ(n.lit, LiteralKind::kDecimal);
  EXPECT_EQ(n.text, "12.50");
  n = Parsed("1.5E3");
  EXPECT_EQ(n.lit, LiteralKind::kDecimal);
  EXPECT_EQ(n.text, "1.5e3");
  EXPECT_EQ(Parsed(".5").text, ".5");
  n = Parsed("+7");
  EXPECT_EQ(n.lit, LiteralKind::kInteger);
  EXPECT_EQ(n.text, "7");
  n = Parsed("'it''s'");
  EXPECT_EQ(n.lit, LiteralKind::kString);
  EXPECT_EQ(n.text, "it's");
  EXPECT_EQ(Parsed("''").text, "");
  EXPECT_EQ(Parsed("'line\nbreak'").text, "line\nbreak");
}

TEST_F(ParseTest, ColumnsAreFoldedToLowerCaseUnlessQuoted) {
  Node n = Parsed("Title");
  EXPECT_EQ(n.kind, NodeKind::kColumn);
  EXPECT_EQ(n.text, "title");
  EXPECT_EQ(n.qualifier, "");
  n = Parsed("\"Mixed Case\"");
  EXPECT_EQ(n.text, "Mixed Case");
  n = Parsed("\"say \"\"hi\"\"\"");
  EXPECT_EQ(n.text, "say \"hi\"");
  n = Parsed("\"select\"");
  EXPECT_EQ(n.text, "select");
  n = Parsed("P.Owner_Id");
  EXPECT_EQ(n.qualifier, "p");
  EXPECT_EQ(n.text, "owner_id");
  EXPECT_EQ(n.name_pos.column, 3);
  n = Parsed("m.\"from\"");
  EXPECT_EQ(n.qualifier, "m");
  EXPECT_EQ(n.text, "from");
}

TEST_F(ParseTest, ComparisonOperators) {
  struct Case {
    const char* text;
    BinaryOp op;
  } cases[] = {{"a = 1", BinaryOp::kEq},  {"a <> 1", BinaryOp::kNe}, {"a != 1", BinaryOp::kNe},
               {"a < 1", BinaryOp::kLt},  {"a <= 1", BinaryOp::kLe}, {"a > 1", BinaryOp::kGt},
               {"a >= 1", BinaryOp::kGe}};
  for (const auto& c : cases) {
    Node n = Parsed(c.text);
    EXPECT_EQ(n.kind, NodeKind::kBinary) << c.text;
    EXPECT_EQ(n.bop, c.op) << c.text;
    EXPECT_EQ(n.pos.column, 3) << c.text;  // the operator's position
  }
}

TEST_F(ParseTest, ArithmeticAndConcatenation) {
  Node n = Parsed("a + b * c");
  EXPECT_EQ(n.bop, BinaryOp::kAdd);
  EXPECT_EQ(n.children[1].bop, BinaryOp::kMul);
  n = Parsed("a - b - c");  // left-associative
  EXPECT_EQ(n.bop, BinaryOp::kSub);
  EXPECT_EQ(n.children[0].bop, BinaryOp::kSub);
  n = Parsed("a / b % c");
  EXPECT_EQ(n.bop, BinaryOp::kMod);
  EXPECT_EQ(n.children[0].bop, BinaryOp::kDiv);
  n = Parsed("-a * b");
  EXPECT_EQ(n.bop, BinaryOp::kMul);
  EXPECT_EQ(n.children[0].kind, NodeKind::kUnary);
  EXPECT_EQ(n.children[0].uop, UnaryOp::kNeg);
  n = Parsed("- -a");
  EXPECT_EQ(n.uop, UnaryOp::kNeg);
  EXPECT_EQ(n.children[0].uop, UnaryOp::kNeg);
  n = Parsed("a || 'x' || b");
  EXPECT_EQ(n.bop, BinaryOp::kConcat);
  EXPECT_EQ(n.children[0].bop, BinaryOp::kConcat);
  n = Parsed("(a + b) * c");
  EXPECT_EQ(n.bop, BinaryOp::kMul);
  EXPECT_EQ(n.children[0].bop, BinaryOp::kAdd);
}

TEST_F(ParseTest, BooleanOperatorsAndPrecedence) {
  Node n = Parsed("a or b and c");
  EXPECT_EQ(n.bop, BinaryOp::kOr);
  EXPECT_EQ(n.children[1].bop, BinaryOp::kAnd);
  n = Parsed("a and b or c");
  EXPECT_EQ(n.bop, BinaryOp::kOr);
  EXPECT_EQ(n.children[0].bop, BinaryOp::kAnd);
  n = Parsed("not a = b and c");
  EXPECT_EQ(n.bop, BinaryOp::kAnd);
  EXPECT_EQ(n.children[0].kind, NodeKind::kUnary);
  EXPECT_EQ(n.children[0].uop, UnaryOp::kNot);
  EXPECT_EQ(n.children[0].children[0].bop, BinaryOp::kEq);
  n = Parsed("NOT not a");
  EXPECT_EQ(n.uop, UnaryOp::kNot);
  EXPECT_EQ(n.children[0].uop, UnaryOp::kNot);
  n = Parsed("a = 1 AND (b = 2 OR c = 3)");
  EXPECT_EQ(n.bop, BinaryOp::kAnd);
  EXPECT_EQ(n.children[1].bop, BinaryOp::kOr);
  n = Parsed("a + 1 > b * 2");
  EXPECT_EQ(n.bop, BinaryOp::kGt);
  EXPECT_EQ(n.children[0].bop, BinaryOp::kAdd);
  EXPECT_EQ(n.children[1].bop, BinaryOp::kMul);
}

TEST_F(ParseTest, Predicates) {
  Node n = Parsed("a is null");
  EXPECT_EQ(n.kind, NodeKind::kIsNull);
  EXPECT_FALSE(n.negated);
  EXPECT_EQ(n.pos.column, 3);
  EXPECT_TRUE(Parsed("a IS NOT NULL").negated);

  n = Parsed("a in (1, 2, 3)");
  EXPECT_EQ(n.kind, NodeKind::kIn);
  EXPECT_FALSE(n.negated);
  ASSERT_EQ(n.children.size(), 4u);
  EXPECT_EQ(n.children[3].text, "3");
  n = Parsed("a not in ('x')");
  EXPECT_TRUE(n.negated);
  EXPECT_EQ(n.children.size(), 2u);

  n = Parsed("a like 'x%'");
  EXPECT_EQ(n.kind, NodeKind::kLike);
  EXPECT_FALSE(n.negated);
  EXPECT_FALSE(n.case_insensitive);
  n = Parsed("a not ilike b || '%'");
  EXPECT_TRUE(n.negated);
  EXPECT_TRUE(n.case_insensitive);
  EXPECT_EQ(n.children[1].bop, BinaryOp::kConcat);

  n = Parsed("a between 1 and 2 + 3");
  EXPECT_EQ(n.kind, NodeKind::kBetween);
  EXPECT_FALSE(n.negated);
  EXPECT_EQ(n.children[2].bop, BinaryOp::kAdd);
  n = Parsed("a not between 1 and 2 and b");  // the second 'and' ends the between
  EXPECT_EQ(n.bop, BinaryOp::kAnd);
  EXPECT_TRUE(n.children[0].negated);
}

TEST_F(ParseTest, Calls) {
  Node n = Parsed("length(title)");
  EXPECT_EQ(n.kind, NodeKind::kCall);
  EXPECT_EQ(n.text, "length");
  ASSERT_EQ(n.children.size(), 1u);
  n = Parsed("COALESCE(a, b, 'c')");
  EXPECT_EQ(n.text, "coalesce");
  EXPECT_EQ(n.children.size(), 3u);
  n = Parsed("now()");
  EXPECT_EQ(n.text, "now");
  EXPECT_TRUE(n.children.empty());
  n = Parsed("Auth.User_Id()");
  EXPECT_EQ(n.text, "auth.user_id");
  n = Parsed("auth.has_permission('invoices', 'approve')");
  EXPECT_EQ(n.text, "auth.has_permission");
  ASSERT_EQ(n.children.size(), 2u);
  EXPECT_EQ(n.children[1].text, "approve");
}

TEST_F(ParseTest, Exists) {
  Node n = Parsed("exists (select 1 from milestones as m where m.done)");
  EXPECT_EQ(n.kind, NodeKind::kExists);
  EXPECT_FALSE(n.negated);
  EXPECT_EQ(n.text, "milestones");
  EXPECT_EQ(n.qualifier, "m");
  EXPECT_EQ(n.name_pos.column, 23);
  ASSERT_EQ(n.children.size(), 1u);
  EXPECT_EQ(n.children[0].qualifier, "m");

  EXPECT_EQ(Parsed("exists (select 1 from milestones m where done)").qualifier, "m");
  EXPECT_EQ(Parsed("exists (select 1 from milestones where done)").qualifier, "");
  n = Parsed("NOT EXISTS (SELECT 1 FROM milestones WHERE done)");
  EXPECT_EQ(n.kind, NodeKind::kExists);
  EXPECT_TRUE(n.negated);
  // not (exists …) is the same tree as not exists …; not not exists … is exists ….
  n = Parsed("not (exists (select 1 from milestones where done))");
  EXPECT_EQ(n.kind, NodeKind::kExists);
  EXPECT_TRUE(n.negated);
  n = Parsed("not not exists (select 1 from milestones where done)");
  EXPECT_EQ(n.kind, NodeKind::kExists);
  EXPECT_FALSE(n.negated);
  // Nested.
  n = Parsed("exists (select 1 from milestones m where exists (select 1 from users u where u.id = m.user_id))");
  EXPECT_EQ(n.children[0].kind, NodeKind::kExists);
  EXPECT_EQ(n.children[0].qualifier, "u");
}

TEST_F(ParseTest, PositionsFollowTheOriginAcrossLines) {
  Diagnostics diags;
  // The expression starts at line 7, column 10 of the file; its second line starts at column 1.
  auto n = Parse("a = 1\n  and b <> 2", ParseOptions{"schema.toml", {7, 10}}, diags);
  ASSERT_TRUE(n.ok()) << diags.ToString();
  EXPECT_EQ(n->pos.line, 8);  // 'and'
  EXPECT_EQ(n->pos.column, 3);
  EXPECT_EQ(n->children[0].pos.line, 7);  // '='
  EXPECT_EQ(n->children[0].pos.column, 12);
  EXPECT_EQ(n->children[0].children[0].pos.column, 10);  // 'a'
  EXPECT_EQ(n->children[1].pos.line, 8);                // '<>'
  EXPECT_EQ(n->children[1].pos.column, 9);
}

TEST_F(ParseTest, ColumnsCountCharactersNotBytes) {
  Diagnostics diags;
  auto n = Parse("'héllo' = b", ParseOptions{"schema.toml", {1, 1}}, diags);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(n->pos.column, 9);
  EXPECT_EQ(n->children[1].pos.column, 11);
}

TEST_F(ParseTest, LexErrors) {
  EXPECT_TRUE(HasError(Fails("title = 'abc"), 1, 9, "unterminated string literal", "close it with '"));
  EXPECT_TRUE(HasError(Fails("\"title = 1"), 1, 1, "unterminated quoted identifier"));
  EXPECT_TRUE(HasError(Fails("a # b"), 1, 3, "unexpected character '#'"));
  EXPECT_TRUE(HasError(Fails("a = é"), 1, 5, "unexpected character 'é'"));
  EXPECT_TRUE(HasError(Fails("a == 1"), 1, 3, "'==' is not an operator", "use '='"));
  EXPECT_TRUE(HasError(Fails("a && b"), 1, 3, "unexpected character '&'", "use 'and'"));
  EXPECT_TRUE(HasError(Fails("!a"), 1, 1, "unexpected character '!'", "use 'not'"));
  EXPECT_TRUE(HasError(Fails("a = 1; drop table x"), 1, 6, "unexpected character ';'"));
  EXPECT_TRUE(HasError(Fails("a::text = 'x'"), 1, 2, "unexpected character ':'", "casts are not supported"));
  EXPECT_TRUE(HasError(Fails("a = $1"), 1, 5, "unexpected character '$'", "parameters are not supported"));
  EXPECT_TRUE(HasError(Fails("a = 1 -- comment"), 1, 7, "comments ('--') are not allowed"));
  EXPECT_TRUE(HasError(Fails("a = 12abc"), 1, 5, "malformed number '12abc'"));
  EXPECT_TRUE(HasError(Fails("a = 1e"), 1, 5, "malformed number '1e'"));
  EXPECT_TRUE(HasError(Fails("a = 1.2.3"), 1, 5, "malformed number"));
  EXPECT_TRUE(HasError(Fails("a = \"\""), 1, 5, "empty quoted identifier"));
  EXPECT_TRUE(HasError(Fails(std::string("a = 'x\0y'", 10)), 1, 5, "contains a NUL character"));
  EXPECT_TRUE(HasError(Fails("a = '\xff'"), 1, 5, "not valid UTF-8"));
  // Every malformed token is reported, not only the first.
  Diagnostics both = Fails("a # b @ c");
  EXPECT_EQ(both.error_count(), 2u);
  EXPECT_TRUE(HasError(both, 1, 7, "unexpected character '@'"));
}

TEST_F(ParseTest, SyntaxErrors) {
  EXPECT_TRUE(HasError(Fails(""), 1, 1, "empty expression"));
  EXPECT_TRUE(HasError(Fails("   "), 1, 4, "empty expression"));
  EXPECT_TRUE(HasError(Fails("a ="), 1, 4, "expected a value, a column, a function call or '(', found the end"));
  EXPECT_TRUE(HasError(Fails("a = and"), 1, 5, "found 'and'"));
  EXPECT_TRUE(HasError(Fails("(a = 1"), 1, 7, "expected ')' to close the '(' at 1:1"));
  EXPECT_TRUE(HasError(Fails("a = 1)"), 1, 6, "unexpected ')' after a complete expression"));
  EXPECT_TRUE(HasError(Fails("a = 1 b = 2"), 1, 7, "unexpected 'b' after a complete expression",
                       "join conditions with 'and' or 'or'"));
  EXPECT_TRUE(HasError(Fails("a = b = c"), 1, 7, "comparisons cannot be chained"));
  EXPECT_TRUE(HasError(Fails("a < b is null"), 1, 7, "comparisons cannot be chained"));
  EXPECT_TRUE(HasError(Fails("a is true"), 1, 6, "expected 'null' after 'is'", "'is' only tests for null"));
  EXPECT_TRUE(HasError(Fails("a is not 1"), 1, 10, "expected 'null' after 'is not'"));
  EXPECT_TRUE(HasError(Fails("a not b"), 1, 7, "expected 'in', 'like', 'ilike' or 'between' after 'not'"));
  EXPECT_TRUE(HasError(Fails("a = not b"), 1, 5, "'not' cannot stand here"));
  EXPECT_TRUE(HasError(Fails("a in ()"), 1, 7, "an in-list needs at least one value"));
  EXPECT_TRUE(HasError(Fails("a in 1"), 1, 6, "expected '(' after 'in'"));
  EXPECT_TRUE(HasError(Fails("a in (1 2)"), 1, 9, "expected ',' or ')' in the in-list opened at 1:6"));
  EXPECT_TRUE(HasError(Fails("a in (select id from t)"), 1, 7, "in (select …) is not supported", "use exists"));
  EXPECT_TRUE(HasError(Fails("a between 1 or 2"), 1, 13, "expected 'and' between the bounds of 'between'"));
  EXPECT_TRUE(HasError(Fails("lower(a b)"), 1, 9, "expected ',' or ')' in the arguments of lower() opened at 1:6"));
  EXPECT_TRUE(HasError(Fails("+a"), 1, 1, "unary '+' is only allowed in front of a number"));
  EXPECT_TRUE(HasError(Fails("p.and = 1"), 1, 3, "expected a column name after 'p.'", "p.\"and\""));
  EXPECT_TRUE(HasError(Fails("select 1"), 1, 1, "a subquery is only allowed as exists"));
}

TEST_F(ParseTest, ExistsSyntaxErrors) {
  EXPECT_TRUE(HasError(Fails("exists select 1"), 1, 8, "expected '(' after 'exists'"));
  EXPECT_TRUE(HasError(Fails("exists (1)"), 1, 9, "expected 'select' after 'exists ('"));
  EXPECT_TRUE(HasError(Fails("exists (select * from t where a)"), 1, 16, "expected '1' after 'select'"));
  EXPECT_TRUE(HasError(Fails("exists (select 1 t where a)"), 1, 18, "expected 'from' after 'select 1'"));
  EXPECT_TRUE(HasError(Fails("exists (select 1 from where a)"), 1, 23, "expected a table name after 'from'"));
  EXPECT_TRUE(HasError(Fails("exists (select 1 from t as where a)"), 1, 28, "expected an alias after 'as'"));
  EXPECT_TRUE(HasError(Fails("exists (select 1 from t, u where a)"), 1, 24, "expected 'where' after the table",
                       "nest another exists"));
  EXPECT_TRUE(HasError(Fails("exists (select 1 from t)"), 1, 24, "expected 'where'"));
  EXPECT_TRUE(HasError(Fails("exists (select 1 from t where a"), 1, 32, "expected ')' to close the 'exists (' at 1:8"));
}

TEST_F(ParseTest, MultiLineErrorPointsIntoTheFile) {
  // As in a TOML multi-line string starting at line 10, column 15.
  Diagnostics diags = Fails("priority > 1\n  and (title = 'x'\n  or )", {10, 15});
  EXPECT_TRUE(HasError(diags, 12, 6, "expected a value, a column, a function call or '(', found ')'"));
  diags = Fails("status = 'active'\n\tand title = 'it''s\nfine", {3, 9});
  EXPECT_TRUE(HasError(diags, 4, 14, "unterminated string literal"));
  std::string text = diags.ToString();
  EXPECT_NE(text.find("schema.toml:4:14: error: unterminated string literal"), std::string::npos) << text;
}

TEST_F(ParseTest, StatusMessageNamesTheFirstError) {
  Diagnostics diags;
  auto r = Parse("a = ", ParseOptions{"app/schema.toml", {3, 12}}, diags);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("app/schema.toml:3:16: expected a value"), std::string::npos)
      << r.status().message();
}

TEST_F(ParseTest, NestingIsBounded) {
  std::string deep(150, '(');
  deep += "a";
  deep += std::string(150, ')');
  EXPECT_TRUE(HasError(Fails(deep), 1, 101, "nested too deeply"));

  std::string chain = "a = 0";
  for (int i = 1; i <= 500; ++i) chain += " or a = " + std::to_string(i);
  EXPECT_TRUE(HasError(Fails(chain), 1, 1, "too deeply nested", "use in (…)"));

  // Reasonable sizes are fine.
  std::string ok = "a = 0";
  for (int i = 1; i <= 100; ++i) ok += " or a = " + std::to_string(i);
  Parsed(ok);
}

}  // namespace
}  // namespace plinth::expr::testing
