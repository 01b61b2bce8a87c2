// PostgREST-style list query parsing: every operator, negation, nesting, quoting, ordering,
// paging, select, and each error with the parameter it names.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "api/rest_fixture.h"
#include "plinth/rest.h"

namespace plinth::rest {
namespace {

using data::Filter;
using data::FilterOp;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::string OpName(FilterOp op) {
  switch (op) {
    case FilterOp::kEq: return "eq";
    case FilterOp::kNe: return "ne";
    case FilterOp::kGt: return "gt";
    case FilterOp::kGe: return "ge";
    case FilterOp::kLt: return "lt";
    case FilterOp::kLe: return "le";
    case FilterOp::kLike: return "like";
    case FilterOp::kILike: return "ilike";
    case FilterOp::kIn: return "in";
    case FilterOp::kIsNull: return "isnull";
    case FilterOp::kIsNotNull: return "isnotnull";
    case FilterOp::kIsTrue: return "istrue";
    case FilterOp::kIsFalse: return "isfalse";
  }
  return "?";
}

// A compact text of a filter tree: and(eq(qty,7),not(like(title,%a%))).
std::string Tree(const Filter& f) {
  auto children = [&](const char* name) {
    std::string out = std::string(name) + "(";
    for (size_t i = 0; i < f.children.size(); ++i) out += (i ? "," : "") + Tree(f.children[i]);
    return out + ")";
  };
  switch (f.kind) {
    case Filter::Kind::kAll: return "all";
    case Filter::Kind::kAnd: return children("and");
    case Filter::Kind::kOr: return children("or");
    case Filter::Kind::kNot: return children("not");
    case Filter::Kind::kCondition: {
      std::string out = OpName(f.op) + "(" + f.column;
      for (const std::string& v : f.values) out += "," + v;
      return out + ")";
    }
  }
  return "?";
}

class QueryTest : public ::testing::Test {
 protected:
  QueryTest() : schema_(testing::LoadShop()), items_(*schema_.FindTable("items")) {}

  ParsedListQuery Parse(const QueryParams& params, const QueryLimits& limits = {}) {
    return ParseListQuery(schema_, items_, params, limits);
  }
  // The filter tree of a query that must parse.
  std::string Where(const QueryParams& params) {
    ParsedListQuery q = Parse(params);
    EXPECT_TRUE(q.ok()) << Errors(q.errors);
    return Tree(q.query.where);
  }
  // The errors of a query that must fail, as "field: message".
  std::vector<std::string> Fail(const QueryParams& params, const QueryLimits& limits = {}) {
    ParsedListQuery q = Parse(params, limits);
    EXPECT_FALSE(q.ok()) << "expected errors; tree " << Tree(q.query.where);
    std::vector<std::string> out;
    for (const FieldError& e : q.errors) out.push_back(e.field + ": " + e.message);
    return out;
  }
  static std::string Errors(const FieldErrors& errors) {
    std::string out;
    for (const FieldError& e : errors) out += e.field + ": " + e.message + "\n";
    return out;
  }

  schema::Schema schema_;
  const schema::Table& items_;
};

TEST_F(QueryTest, NoParametersIsEveryRowWithTheDefaultLimit) {
  ParsedListQuery q = Parse({});
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(q.query.where.kind, Filter::Kind::kAll);
  EXPECT_EQ(q.query.limit, 100);
  EXPECT_EQ(q.query.offset, 0);
  EXPECT_TRUE(q.query.select.empty());
  EXPECT_TRUE(q.query.order.empty());
  QueryLimits limits;
  limits.default_limit = 25;
  EXPECT_EQ(Parse({}, limits).query.limit, 25);
}

TEST_F(QueryTest, EveryComparisonOperator) {
  EXPECT_EQ(Where({{"qty", "eq.7"}}), "eq(qty,7)");
  EXPECT_EQ(Where({{"qty", "neq.7"}}), "ne(qty,7)");
  EXPECT_EQ(Where({{"qty", "gt.7"}}), "gt(qty,7)");
  EXPECT_EQ(Where({{"qty", "gte.7"}}), "ge(qty,7)");
  EXPECT_EQ(Where({{"qty", "lt.-7"}}), "lt(qty,-7)");
  EXPECT_EQ(Where({{"qty", "lte.007"}}), "le(qty,7)");
  EXPECT_EQ(Where({{"title", "like.ab*"}}), "like(title,ab%)");
  EXPECT_EQ(Where({{"title", "ilike.*Ab*c*"}}), "ilike(title,%Ab%c%)");
  EXPECT_EQ(Where({{"qty", "in.(1,2,3)"}}), "in(qty,1,2,3)");
  EXPECT_EQ(Where({{"body", "is.null"}}), "isnull(body)");
  EXPECT_EQ(Where({{"body", "is.not_null"}}), "isnotnull(body)");
  EXPECT_EQ(Where({{"done", "is.true"}}), "istrue(done)");
  EXPECT_EQ(Where({{"done", "is.false"}}), "isfalse(done)");
  EXPECT_EQ(Where({{"done", "is.unknown"}}), "isnull(done)");
  EXPECT_EQ(Where({{"done", "is.NULL"}}), "isnull(done)");
}

TEST_F(QueryTest, ValuesComeOutCanonical) {
  EXPECT_EQ(Where({{"id", "eq.0B6F3C2E-9A41-4D0E-8F5C-2A7D3E1B9C44"}}), "eq(id,0b6f3c2e-9a41-4d0e-8f5c-2a7d3e1b9c44)");
  EXPECT_EQ(Where({{"big", "eq.-9223372036854775808"}}), "eq(big,-9223372036854775808)");
  EXPECT_EQ(Where({{"price", "gt.0012.500"}}), "gt(price,12.5)");
  EXPECT_EQ(Where({{"price", "gt.-0.0"}}), "gt(price,0)");
  EXPECT_EQ(Where({{"due_at", "gte.2026-11-21T11:00:00+01:00"}}), "ge(due_at,2026-11-21T10:00:00.000000Z)");
  // An unencoded '+' of an offset arrives as a space after form decoding.
  EXPECT_EQ(Where({{"due_at", "gte.2026-11-21T11:00:00 01:00"}}), "ge(due_at,2026-11-21T10:00:00.000000Z)");
  // A date alone is midnight UTC.
  EXPECT_EQ(Where({{"due_at", "lt.2026-11-21"}}), "lt(due_at,2026-11-21T00:00:00.000000Z)");
  EXPECT_EQ(Where({{"day", "eq.2024-02-29"}}), "eq(day,2024-02-29)");
  EXPECT_EQ(Where({{"status", "in.(draft,active)"}}), "in(status,draft,active)");
  EXPECT_EQ(Where({{"done", "eq.true"}}), "eq(done,true)");
  // A simple filter's value is everything after the operator, dots and commas included.
  EXPECT_EQ(Where({{"title", "eq.a.b,c"}}), "eq(title,a.b,c)");
  EXPECT_EQ(Where({{"title", "eq."}}), "eq(title,)");
}

TEST_F(QueryTest, NotNegatesEveryOperator) {
  EXPECT_EQ(Where({{"qty", "not.eq.1"}}), "not(eq(qty,1))");
  EXPECT_EQ(Where({{"qty", "not.gt.1"}}), "not(gt(qty,1))");
  EXPECT_EQ(Where({{"title", "not.like.a*"}}), "not(like(title,a%))");
  EXPECT_EQ(Where({{"title", "not.ilike.a*"}}), "not(ilike(title,a%))");
  EXPECT_EQ(Where({{"qty", "not.in.(1,2)"}}), "not(in(qty,1,2))");
  EXPECT_EQ(Where({{"body", "not.is.null"}}), "isnotnull(body)");
  EXPECT_EQ(Where({{"body", "not.is.not_null"}}), "isnull(body)");
  EXPECT_EQ(Where({{"done", "not.is.true"}}), "not(istrue(done))");
}

TEST_F(QueryTest, SeveralFiltersAreAnded) {
  EXPECT_EQ(Where({{"qty", "gte.1"}, {"qty", "lte.5"}, {"done", "is.false"}}),
            "and(ge(qty,1),le(qty,5),isfalse(done))");
}

TEST_F(QueryTest, InListsTakeQuotedValues) {
  EXPECT_EQ(Where({{"title", R"x(in.(a,"b,c","d\"e","(x)",""))x"}}), "in(title,a,b,c,d\"e,(x),)");
  EXPECT_THAT(Fail({{"title", "in.()"}}), ElementsAre("title: in needs at least one value: in.(a,b)"));
  EXPECT_THAT(Fail({{"title", "in.(a,b"}}), ElementsAre("title: the list of in is not closed with ')'"));
  EXPECT_THAT(Fail({{"title", "in.a,b"}}), ElementsAre("title: expected '(' to start the list of in"));
  EXPECT_THAT(Fail({{"title", "in.(a)x"}}), ElementsAre("title: unexpected text after the list of in"));
  EXPECT_THAT(Fail({{"title", R"(in.("a)"}}), ElementsAre("title: unterminated \" in the list of in"));
  QueryLimits limits;
  limits.max_in_values = 3;
  EXPECT_THAT(Fail({{"qty", "in.(1,2,3,4)"}}, limits), ElementsAre("qty: in takes at most 3 values"));
  // Every bad value of a list is named.
  EXPECT_THAT(Fail({{"qty", "in.(1,x,3,y)"}}),
              ElementsAre("qty: value 2 of in: 'x' is not an integer (qty is integer)",
                          "qty: value 4 of in: 'y' is not an integer (qty is integer)"));
}

TEST_F(QueryTest, OrAndAndGroupsNest) {
  EXPECT_EQ(Where({{"or", "(qty.eq.1,qty.gt.5)"}}), "or(eq(qty,1),gt(qty,5))");
  EXPECT_EQ(Where({{"and", "(qty.gte.1,done.is.true)"}}), "and(ge(qty,1),istrue(done))");
  EXPECT_EQ(Where({{"or", "(qty.eq.1,and(qty.gt.2,done.is.true))"}}), "or(eq(qty,1),and(gt(qty,2),istrue(done)))");
  EXPECT_EQ(Where({{"not.or", "(qty.eq.1,qty.eq.2)"}}), "not(or(eq(qty,1),eq(qty,2)))");
  EXPECT_EQ(Where({{"not.and", "(qty.eq.1,done.is.false)"}}), "not(and(eq(qty,1),isfalse(done)))");
  EXPECT_EQ(Where({{"or", "(qty.not.eq.1,not.and(title.eq.a,body.not.is.null))"}}),
            "or(not(eq(qty,1)),not(and(eq(title,a),isnotnull(body))))");
  EXPECT_EQ(Where({{"or", "(title.in.(a,\"b,c\"),qty.in.(1))"}}), "or(in(title,a,b,c),in(qty,1))");
  EXPECT_EQ(Where({{"or", R"x((title.eq."a,b)",title.like.*x*))x"}}), "or(eq(title,a,b)),like(title,%x%))");
  EXPECT_EQ(Where({{"qty", "gt.0"}, {"or", "(done.is.true,qty.lt.0)"}}), "and(gt(qty,0),or(istrue(done),lt(qty,0)))");
}

TEST_F(QueryTest, NestingIsBounded) {
  auto nested = [](int depth) {
    std::string v = "(qty.eq.1";
    for (int i = 1; i < depth; ++i) v += ",or(qty.eq.1";
    return v + std::string(static_cast<size_t>(depth), ')');
  };
  QueryLimits limits;
  limits.max_depth = 4;
  EXPECT_TRUE(Parse({{"or", nested(4)}}, limits).ok());
  std::vector<std::string> errors = Fail({{"or", nested(5)}}, limits);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_THAT(errors[0], HasSubstr("or: or/and groups nested deeper than 4 levels"));
  // A configured depth beyond the hard ceiling is clamped; a deep input never recurses far.
  limits.max_depth = 1000000;
  limits.max_query_length = 10000000;
  EXPECT_THAT(Fail({{"or", nested(100000)}}, limits)[0],
              HasSubstr("nested deeper than " + std::to_string(kMaxFilterDepth) + " levels"));
}

TEST_F(QueryTest, GroupSyntaxErrorsNameTheParameterAndPosition) {
  EXPECT_THAT(Fail({{"or", "qty.eq.1"}}), ElementsAre(HasSubstr("or: expected '(': write or=(a.eq.1,b.gt.2)")));
  EXPECT_THAT(Fail({{"or", "()"}}), ElementsAre(HasSubstr("or: empty group")));
  EXPECT_THAT(Fail({{"or", "(qty.eq.1"}}), ElementsAre(HasSubstr("the group is not closed with ')'")));
  EXPECT_THAT(Fail({{"and", "(qty.eq.1)x"}}), ElementsAre(HasSubstr("and: unexpected text after the closing ')'")));
  EXPECT_THAT(Fail({{"or", "(qty)"}}), ElementsAre(HasSubstr("expected '.' after the column name")));
  EXPECT_THAT(Fail({{"or", "(qty.eq)"}}), ElementsAre(HasSubstr("expected '.' and a value after the operator")));
  EXPECT_THAT(Fail({{"or", "(,qty.eq.1)"}}), ElementsAre(HasSubstr("expected a condition")));
  EXPECT_THAT(Fail({{"or", "(title.eq.\"a)"}}), ElementsAre(HasSubstr("unterminated \"")));
  EXPECT_THAT(Fail({{"not.or", "(qty.eq.1"}}), ElementsAre(HasSubstr("not.or: the group is not closed")));
  EXPECT_THAT(Fail({{"or", "(qty.eq.1"}})[0], HasSubstr("(at character 10 of or='(qty.eq.1')"));
}

TEST_F(QueryTest, ErrorsInsideGroupsNameTheItem) {
  EXPECT_THAT(Fail({{"or", "(qty.eq.abc,nope.eq.1,title.gt.a)"}}),
              ElementsAre("or: 'qty.eq.abc': 'abc' is not an integer (qty is integer)",
                          "or: 'nope.eq.1': unknown column 'nope' in items"));
}

TEST_F(QueryTest, UnknownHiddenWriteOnlyAndEncryptedColumns) {
  EXPECT_THAT(Fail({{"titel", "eq.a"}}), ElementsAre("titel: unknown column 'titel' in items (did you mean 'title'?)"));
  // A hidden column is as unknown as a missing one, and never suggested.
  EXPECT_THAT(Fail({{"pw_hash", "eq.a"}}), ElementsAre("pw_hash: unknown column 'pw_hash' in items"));
  EXPECT_THAT(Fail({{"pw_has", "eq.a"}}), ElementsAre("pw_has: unknown column 'pw_has' in items"));
  EXPECT_THAT(Fail({{"secret", "eq.a"}}), ElementsAre("secret: column 'secret' is write-only and cannot be filtered"));
  EXPECT_THAT(Fail({{"config", "is.null"}}),
              ElementsAre("config: column 'config' is stored encrypted and cannot be filtered"));
  EXPECT_THAT(Fail({{"users.name", "eq.a"}}),
              ElementsAre(HasSubstr("unknown column 'users.name' in items; embedded resources are not supported")));
  // The tenant column and the managed timestamps are columns like any other for reading.
  EXPECT_EQ(Where({{"tenant_id", "eq.0b6f3c2e-9a41-4d0e-8f5c-2a7d3e1b9c44"}, {"created_at", "gte.2026-01-01"}}),
            "and(eq(tenant_id,0b6f3c2e-9a41-4d0e-8f5c-2a7d3e1b9c44),ge(created_at,2026-01-01T00:00:00.000000Z))");
}

TEST_F(QueryTest, ValuesAreCheckedAgainstTheColumnType) {
  EXPECT_THAT(Fail({{"qty", "eq.abc"}}), ElementsAre("qty: 'abc' is not an integer (qty is integer)"));
  EXPECT_THAT(Fail({{"qty", "eq.1.5"}}), ElementsAre("qty: '1.5' is not an integer (qty is integer)"));
  EXPECT_THAT(Fail({{"qty", "eq.2147483648"}}),
              ElementsAre("qty: '2147483648' is out of range for integer (-2147483648..2147483647)"));
  EXPECT_THAT(Fail({{"big", "eq.9223372036854775808"}}), ElementsAre(HasSubstr("is out of range for bigint")));
  EXPECT_THAT(Fail({{"id", "eq.not-a-uuid"}}), ElementsAre("id: 'not-a-uuid' is not a uuid (8-4-4-4-12 hex digits)"));
  EXPECT_THAT(Fail({{"status", "eq.deleted"}}),
              ElementsAre("status: 'deleted' is not a value of enum item_status (draft, active, archived)"));
  EXPECT_THAT(Fail({{"price", "eq.1e5"}}), ElementsAre("price: '1e5' is not a decimal number in plain notation (e.g. 12.50)"));
  EXPECT_THAT(Fail({{"done", "eq.yes"}}), ElementsAre("done: 'yes' is not a boolean (true or false)"));
  EXPECT_THAT(Fail({{"due_at", "gt.2026-11-21T10:00:00"}}), ElementsAre(HasSubstr("is not an RFC 3339 timestamp")));
  EXPECT_THAT(Fail({{"day", "eq.2026-02-30"}}), ElementsAre(HasSubstr("2026-02 has no day 30")));
  EXPECT_THAT(Fail({{"title", std::string("eq.a\0b", 6)}}), ElementsAre("title: 'a\\x00b' contains a NUL character"));
  EXPECT_THAT(Fail({{"title", "eq.\xff"}}), ElementsAre(HasSubstr("is not valid UTF-8")));
  // Long values are cut in messages.
  EXPECT_THAT(Fail({{"qty", "eq." + std::string(5000, 'x')}})[0], HasSubstr("…' is not an integer"));
}

TEST_F(QueryTest, OperatorsAreCheckedAgainstTheColumnType) {
  EXPECT_THAT(Fail({{"qty", "like.1*"}}),
              ElementsAre("qty: like cannot be used on integer column 'qty' (like and ilike are for text columns); "
                          "it takes: eq, neq, gt, gte, lt, lte, in, is"));
  EXPECT_THAT(Fail({{"done", "gt.true"}}),
              ElementsAre("done: gt cannot be used on boolean column 'done'; it takes: eq, neq, in, is"));
  EXPECT_THAT(Fail({{"status", "lt.active"}}), ElementsAre(HasSubstr("lt cannot be used on enum item_status column")));
  EXPECT_THAT(Fail({{"meta", "eq.{}"}}), ElementsAre("meta: eq cannot be used on json column 'meta'; it takes: is"));
  EXPECT_THAT(Fail({{"blob", "eq.aGk="}}), ElementsAre("blob: eq cannot be used on bytes column 'blob'; it takes: is"));
  EXPECT_EQ(Where({{"meta", "not.is.null"}}), "isnotnull(meta)");
  EXPECT_THAT(Fail({{"qty", "is.true"}}),
              ElementsAre("qty: 'true' after is: expected null or not_null (true/false are for boolean columns)"));
  EXPECT_THAT(Fail({{"done", "is.maybe"}}), ElementsAre(HasSubstr("expected null, not_null, true, false or unknown")));
  EXPECT_THAT(Fail({{"qty", "match.1"}}), ElementsAre(HasSubstr("qty: unknown operator 'match'")));
  EXPECT_THAT(Fail({{"qty", "5"}}), ElementsAre(HasSubstr("qty: expected operator.value, e.g. qty=eq.5")));
  EXPECT_THAT(Fail({{"qty", "eq"}}), ElementsAre("qty: expected a value after eq: write qty=eq.VALUE"));
  EXPECT_THAT(Fail({{"qty", "not.not.eq.1"}}), ElementsAre(HasSubstr("unknown operator 'not'")));
}

TEST_F(QueryTest, EveryErrorIsReportedAtOnce) {
  std::vector<std::string> errors =
      Fail({{"qty", "eq.x"}, {"limit", "0"}, {"nope", "eq.1"}, {"order", "nope.desc"}, {"select", "secret"}});
  EXPECT_THAT(errors, ElementsAre(HasSubstr("qty: 'x' is not an integer"), HasSubstr("limit: '0': limit must be"),
                                  HasSubstr("nope: unknown column 'nope'"), HasSubstr("order: unknown column 'nope'"),
                                  HasSubstr("select: column 'secret' is write-only")));
}

TEST_F(QueryTest, Order) {
  ParsedListQuery q = Parse({{"order", "qty.desc.nullslast,title,due_at.nullsfirst,day.asc"}});
  ASSERT_TRUE(q.ok()) << Errors(q.errors);
  ASSERT_EQ(q.query.order.size(), 4u);
  EXPECT_EQ(q.query.order[0].column, "qty");
  EXPECT_TRUE(q.query.order[0].descending);
  EXPECT_EQ(q.query.order[0].nulls_first, std::optional<bool>(false));
  EXPECT_EQ(q.query.order[1].column, "title");
  EXPECT_FALSE(q.query.order[1].descending);
  EXPECT_FALSE(q.query.order[1].nulls_first.has_value());
  EXPECT_EQ(q.query.order[2].nulls_first, std::optional<bool>(true));
  EXPECT_FALSE(q.query.order[3].descending);

  EXPECT_THAT(Fail({{"order", "qty.down"}}), ElementsAre("order: 'qty.down': expected col[.asc|.desc][.nullsfirst|.nullslast], found 'down'"));
  EXPECT_THAT(Fail({{"order", "qty.nullslast.desc"}}), ElementsAre(HasSubstr("found 'desc'")));
  EXPECT_THAT(Fail({{"order", "qty.desc.asc"}}), ElementsAre(HasSubstr("found 'asc'")));
  EXPECT_THAT(Fail({{"order", "qty,qty.desc"}}), ElementsAre("order: column 'qty' is ordered by twice"));
  EXPECT_THAT(Fail({{"order", "meta"}}), ElementsAre("order: column 'meta' is json and cannot be ordered by"));
  EXPECT_THAT(Fail({{"order", "secret"}}), ElementsAre("order: column 'secret' is write-only and cannot be ordered by"));
  EXPECT_THAT(Fail({{"order", "config"}}), ElementsAre("order: column 'config' is stored encrypted and cannot be ordered by"));
  EXPECT_THAT(Fail({{"order", "pw_hash"}}), ElementsAre("order: unknown column 'pw_hash' in items"));
  EXPECT_THAT(Fail({{"order", "qty,"}}), ElementsAre(HasSubstr("empty order term")));
  EXPECT_THAT(Fail({{"order", ""}}), ElementsAre(HasSubstr("expected order=col")));
  QueryLimits limits;
  limits.max_order_terms = 2;
  EXPECT_THAT(Fail({{"order", "qty,title,day"}}, limits), ElementsAre("order: at most 2 order terms"));
}

TEST_F(QueryTest, LimitOffsetAndCursor) {
  ParsedListQuery q = Parse({{"limit", "20"}, {"offset", "40"}});
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(q.query.limit, 20);
  EXPECT_EQ(q.query.offset, 40);
  q = Parse({{"after", "eyJpZCI6MX0"}});
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(q.query.after, "eyJpZCI6MX0");
  QueryLimits limits;
  limits.max_limit = 50;
  limits.max_offset = 1000;
  EXPECT_THAT(Fail({{"limit", "51"}}, limits), ElementsAre("limit: '51': limit must be an integer between 1 and 50"));
  EXPECT_THAT(Fail({{"limit", "0"}}), ElementsAre(HasSubstr("between 1 and 1000")));
  EXPECT_THAT(Fail({{"limit", "ten"}}), ElementsAre(HasSubstr("limit must be an integer")));
  EXPECT_THAT(Fail({{"offset", "-1"}}), ElementsAre(HasSubstr("offset must be an integer between 0 and 100000")));
  EXPECT_THAT(Fail({{"offset", "1001"}}, limits), ElementsAre(HasSubstr("after=<next_cursor> (keyset pagination)")));
  EXPECT_THAT(Fail({{"offset", "10"}, {"after", "abc"}}), ElementsAre(HasSubstr("offset: offset cannot be combined with after")));
  EXPECT_THAT(Fail({{"after", ""}}), ElementsAre(HasSubstr("after: not a cursor")));
  EXPECT_THAT(Fail({{"after", "a b"}}), ElementsAre(HasSubstr("after: not a cursor")));
  EXPECT_THAT(Fail({{"after", std::string(3000, 'a')}}), ElementsAre(HasSubstr("after: not a cursor")));
  EXPECT_THAT(Fail({{"limit", "1"}, {"limit", "2"}}), ElementsAre("limit: given more than once"));
  EXPECT_THAT(Fail({{"order", "qty"}, {"order", "title"}}), ElementsAre("order: given more than once"));
}

TEST_F(QueryTest, Select) {
  ParsedListQuery q = Parse({{"select", "id, title,qty,title,code,tenant_id"}});
  ASSERT_TRUE(q.ok()) << Errors(q.errors);
  EXPECT_THAT(q.query.select, ElementsAre("id", "title", "qty", "code", "tenant_id"));
  EXPECT_TRUE(Parse({{"select", "*"}}).query.select.empty());
  EXPECT_THAT(Fail({{"select", "secret"}}),
              ElementsAre("select: column 'secret' is write-only: it is accepted in bodies but never returned"));
  EXPECT_THAT(Fail({{"select", "pw_hash,titel"}}),
              ElementsAre("select: unknown column 'pw_hash' in items",
                          "select: unknown column 'titel' in items (did you mean 'title'?)"));
  EXPECT_THAT(Fail({{"select", "name:title"}}), ElementsAre(HasSubstr("renaming, casts, JSON paths and embedded resources are not supported")));
  EXPECT_THAT(Fail({{"select", "qty::text"}}), ElementsAre(HasSubstr("not supported")));
  EXPECT_THAT(Fail({{"select", "owner(*)"}}), ElementsAre(HasSubstr("not supported")));
  EXPECT_THAT(Fail({{"select", "id,,title"}}), ElementsAre(HasSubstr("empty column name")));
  EXPECT_THAT(Fail({{"select", ""}}), ElementsAre(HasSubstr("expected column names")));
  // Encrypted columns are returned (decrypted by the runtime), so they can be selected.
  EXPECT_TRUE(Parse({{"select", "config"}}).ok());
}

TEST_F(QueryTest, ReservedParametersAreNeverColumns) {
  for (const char* name : {"select", "order", "limit", "offset", "after", "or", "and", "not.or", "not.and"}) {
    EXPECT_TRUE(IsReservedParameter(name)) << name;
  }
  EXPECT_FALSE(IsReservedParameter("title"));
  // links has a column named "after": after= is the cursor; inside and=(…) it is the column.
  const schema::Table& links = *schema_.FindTable("links");
  ParsedListQuery q = ParseListQuery(schema_, links, {{"after", "cur"}, {"and", "(after.eq.x)"}}, {});
  ASSERT_TRUE(q.ok()) << Errors(q.errors);
  EXPECT_EQ(q.query.after, "cur");
  EXPECT_EQ(Tree(q.query.where), "and(eq(after,x))");
}

TEST_F(QueryTest, QuerySizeAndConditionCountAreBounded) {
  QueryLimits limits;
  limits.max_query_length = 64;
  EXPECT_THAT(Fail({{"title", "eq." + std::string(100, 'a')}}, limits), ElementsAre(": the query is longer than 64 bytes"));
  limits = QueryLimits{};
  limits.max_conditions = 3;
  EXPECT_THAT(Fail({{"qty", "gt.1"}, {"or", "(qty.eq.1,qty.eq.2,qty.eq.3)"}}, limits),
              ElementsAre("or: the query has more than 3 conditions"));
}

TEST_F(QueryTest, ItemQueriesTakeOnlySelect) {
  ParsedItemQuery q = ParseItemQuery(schema_, items_, {{"select", "id,title"}}, {});
  ASSERT_TRUE(q.ok());
  EXPECT_THAT(q.select, ElementsAre("id", "title"));
  q = ParseItemQuery(schema_, items_, {{"qty", "eq.1"}, {"select", "secret"}}, {});
  ASSERT_EQ(q.errors.size(), 2u);
  EXPECT_EQ(q.errors[0], (FieldError{"qty", "not allowed here: a single row takes only select="}));
  EXPECT_EQ(q.errors[1].field, "select");
}

TEST_F(QueryTest, ItemIds) {
  Result<std::string> id = ParseItemId(schema_, items_, "0B6F3C2E-9A41-4D0E-8F5C-2A7D3E1B9C44");
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(*id, "0b6f3c2e-9a41-4d0e-8f5c-2a7d3e1b9c44");
  Result<std::string> bad = ParseItemId(schema_, items_, "42");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(bad.status().object(), "id");
  EXPECT_THAT(bad.status().message(), HasSubstr("'42' is not a uuid"));
  const schema::Table& events = *schema_.FindTable("events");
  EXPECT_EQ(*ParseItemId(schema_, events, "0042"), "42");
  EXPECT_FALSE(ParseItemId(schema_, events, "x").ok());
  Result<std::string> composite = ParseItemId(schema_, *schema_.FindTable("links"), "x");
  EXPECT_EQ(composite.status().code(), Code::kNotFound);
}

TEST_F(QueryTest, Exposure) {
  const schema::Table& tenants = *schema_.FindTable("tenants");
  const schema::Table& links = *schema_.FindTable("links");
  const schema::Table& events = *schema_.FindTable("events");
  const schema::Table& hidden = *schema_.FindTable("internal_notes");
  EXPECT_TRUE(TableExposed(items_) && TableAcceptsInsert(items_) && TableAcceptsUpdate(items_) && TableAcceptsDelete(items_));
  EXPECT_TRUE(TableExposed(tenants));
  EXPECT_FALSE(TableAcceptsInsert(tenants) || TableAcceptsUpdate(tenants) || TableAcceptsDelete(tenants));
  EXPECT_TRUE(TableAcceptsInsert(events));
  EXPECT_FALSE(TableAcceptsUpdate(events) || TableAcceptsDelete(events));
  EXPECT_FALSE(TableExposed(hidden));
  ASSERT_NE(ItemKeyColumn(schema_, items_), nullptr);
  EXPECT_EQ(ItemKeyColumn(schema_, items_)->name, "id");  // not tenant_id, which leads the key
  EXPECT_EQ(ItemKeyColumn(schema_, links), nullptr);
  const schema::Column& tenant = *items_.FindColumn("tenant_id");
  EXPECT_TRUE(IsTenantColumn(schema_, items_, tenant));
  EXPECT_TRUE(ColumnReturned(tenant));
  EXPECT_FALSE(ColumnAccepted(schema_, items_, tenant));
  EXPECT_FALSE(ColumnAccepted(schema_, items_, *items_.FindColumn("created_at")));
  EXPECT_FALSE(ColumnAccepted(schema_, items_, *items_.FindColumn("code")));
  EXPECT_TRUE(ColumnAccepted(schema_, items_, *items_.FindColumn("secret")));
  EXPECT_FALSE(ColumnReturned(*items_.FindColumn("secret")));
  EXPECT_FALSE(ColumnReturned(*items_.FindColumn("pw_hash")));
  EXPECT_FALSE(ColumnFilterable(*items_.FindColumn("config")));
  EXPECT_TRUE(ColumnRequiredOnInsert(schema_, items_, *items_.FindColumn("title")));
  EXPECT_FALSE(ColumnRequiredOnInsert(schema_, items_, *items_.FindColumn("id")));   // default uuid
  EXPECT_FALSE(ColumnRequiredOnInsert(schema_, items_, *items_.FindColumn("qty")));  // default 0
}

}  // namespace
}  // namespace plinth::rest
