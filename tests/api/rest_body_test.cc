// Body validation: every type, every kind of error, all errors at once, malformed and deep
// documents.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "api/rest_fixture.h"
#include "plinth/rest.h"

namespace plinth::rest {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;
using ::testing::UnorderedElementsAre;

class BodyTest : public ::testing::Test {
 protected:
  BodyTest() : schema_(testing::LoadShop()), items_(*schema_.FindTable("items")) {}

  ParsedBody Parse(std::string_view json, WriteKind kind = WriteKind::kInsert, const BodyLimits& limits = {}) {
    return ParseBody(schema_, items_, json, kind, limits);
  }
  // The canonical value of `field` in a body that must validate.
  data::Value Value(std::string_view json, const std::string& field, WriteKind kind = WriteKind::kInsert) {
    ParsedBody b = Parse(json, kind);
    EXPECT_TRUE(b.ok()) << Errors(b);
    for (const auto& [name, value] : b.fields) {
      if (name == field) return value;
    }
    ADD_FAILURE() << field << " not in the fields";
    return std::nullopt;
  }
  // "field: message" of every error of a body that must fail.
  std::vector<std::string> Fail(std::string_view json, WriteKind kind = WriteKind::kInsert,
                                const BodyLimits& limits = {}) {
    ParsedBody b = Parse(json, kind, limits);
    EXPECT_FALSE(b.ok()) << "expected errors";
    EXPECT_TRUE(b.fields.empty());
    std::vector<std::string> out;
    for (const FieldError& e : b.errors) out.push_back(e.field + ": " + e.message);
    return out;
  }
  // An insert body with the required fields and `extra` (a JSON member list).
  static std::string With(const std::string& extra) {
    return R"({"title":"t","status":"draft")" + (extra.empty() ? "" : "," + extra) + "}";
  }
  static std::string Errors(const ParsedBody& b) {
    std::string out;
    for (const FieldError& e : b.errors) out += e.field + ": " + e.message + "\n";
    return out;
  }

  schema::Schema schema_;
  const schema::Table& items_;
};

TEST_F(BodyTest, AValidInsertComesOutCanonicalInBodyOrder) {
  ParsedBody b = Parse(R"({
    "id": "0B6F3C2E-9A41-4D0E-8F5C-2A7D3E1B9C44", "title": "Ünïcødé ok", "body": null, "qty": -5,
    "big": 9007199254740993, "done": true, "price": "0012.5", "due_at": "2026-11-21T11:00:00.25+01:00",
    "day": "2024-02-29", "meta": { "a" : [1, 2.50, "x\ty", null, {"b": false}], "e": 1E5 },
    "blob": "3q2+7w==", "status": "active", "secret": "s3cret", "config": {"k": "v"} })");
  ASSERT_TRUE(b.ok()) << Errors(b);
  EXPECT_FALSE(b.malformed);
  EXPECT_THAT(b.fields,
              ElementsAre(Pair("id", "0b6f3c2e-9a41-4d0e-8f5c-2a7d3e1b9c44"), Pair("title", "Ünïcødé ok"),
                          Pair("body", std::nullopt), Pair("qty", "-5"), Pair("big", "9007199254740993"),
                          Pair("done", "true"), Pair("price", "12.50"), Pair("due_at", "2026-11-21T10:00:00.250000Z"),
                          Pair("day", "2024-02-29"), Pair("meta", R"({"a":[1,2.50,"x\ty",null,{"b":false}],"e":1E5})"),
                          Pair("blob", std::string("\xde\xad\xbe\xef")), Pair("status", "active"),
                          Pair("secret", "s3cret"), Pair("config", R"({"k":"v"})")));
}

TEST_F(BodyTest, EachTypeAcceptsItsForms) {
  EXPECT_EQ(Value(With(R"("price": 12.5)"), "price"), "12.50");
  EXPECT_EQ(Value(With(R"("price": 7)"), "price"), "7.00");
  EXPECT_EQ(Value(With(R"("price": "-0.10")"), "price"), "-0.10");
  EXPECT_EQ(Value(With(R"("big": -9223372036854775808)"), "big"), "-9223372036854775808");
  EXPECT_EQ(Value(With(R"("big": 9223372036854775807)"), "big"), "9223372036854775807");
  EXPECT_EQ(Value(With(R"("qty": 2147483647)"), "qty"), "2147483647");
  EXPECT_EQ(Value(With(R"("due_at": "2026-11-21 10:00:00Z")"), "due_at"), "2026-11-21T10:00:00.000000Z");
  EXPECT_EQ(Value(With(R"("meta": "a string")"), "meta"), R"("a string")");
  EXPECT_EQ(Value(With(R"("meta": 3)"), "meta"), "3");
  EXPECT_EQ(Value(With(R"("meta": [])"), "meta"), "[]");
  EXPECT_EQ(Value(With(R"("meta": null)"), "meta"), std::nullopt);  // JSON null is SQL NULL
  EXPECT_EQ(Value(With(R"("blob": "")"), "blob"), "");
  EXPECT_EQ(Value(With(R"("blob": "3q2-7w")"), "blob"), std::string("\xde\xad\xbe\xef"));  // URL-safe, unpadded
  // text(10) counts characters, not bytes: ten two-byte characters fit.
  EXPECT_EQ(Value(R"({"status":"draft","title":"éééééééééé"})", "title"), "éééééééééé");
}

TEST_F(BodyTest, RequiredFields) {
  // id (default uuid), qty (default 0), done (default false) are optional; title and status are not.
  EXPECT_THAT(Fail("{}"), ElementsAre("title: is required (text(10), not null, no default)",
                                      "status: is required (enum item_status, not null, no default)"));
  EXPECT_TRUE(Parse(R"({"title":"t","status":"draft"})").ok());
  EXPECT_THAT(Fail(R"({"title":"t"})", WriteKind::kUpsert), ElementsAre(HasSubstr("status: is required")));
  // An update needs none of them.
  EXPECT_TRUE(Parse(R"({"qty":1})", WriteKind::kUpdate).ok());
}

TEST_F(BodyTest, FieldsThatCannotBeSent) {
  EXPECT_THAT(Fail(With(R"("titel": "x")")), ElementsAre("titel: unknown column 'titel' in items (did you mean 'title'?)"));
  EXPECT_THAT(Fail(With(R"("pw_hash": "x")")), ElementsAre("pw_hash: unknown column 'pw_hash' in items"));
  EXPECT_THAT(Fail(With(R"("code": "x")")), ElementsAre("code: is read-only: it is returned but never accepted"));
  EXPECT_THAT(Fail(With(R"("tenant_id": "0b6f3c2e-9a41-4d0e-8f5c-2a7d3e1b9c44")")),
              ElementsAre("tenant_id: is set from your credentials (the tenant of your API key or token) and cannot be sent"));
  EXPECT_THAT(Fail(With(R"("created_at": "2026-01-01T00:00:00Z", "updated_at": null)")),
              ElementsAre("created_at: is set by the database and cannot be sent",
                          "updated_at: is set by the database and cannot be sent"));
  EXPECT_THAT(Fail(R"({"id":"0b6f3c2e-9a41-4d0e-8f5c-2a7d3e1b9c44"})", WriteKind::kUpdate),
              ElementsAre("id: is part of the row's key and cannot be changed"));
  EXPECT_THAT(Fail(With(R"("qty": 1, "qty": 2)")), ElementsAre("qty: is given more than once"));
}

TEST_F(BodyTest, WrongJsonTypes) {
  EXPECT_THAT(Fail(With(R"("id": 5)")), ElementsAre("id: must be a uuid string, got an integer"));
  EXPECT_THAT(Fail(R"({"title": 5, "status": "draft"})"), ElementsAre("title: must be a string, got an integer"));
  EXPECT_THAT(Fail(With(R"("qty": "5")")), ElementsAre("qty: must be an integer, got a string"));
  EXPECT_THAT(Fail(With(R"("qty": 1.5)")), ElementsAre("qty: must be an integer, got '1.5'"));
  EXPECT_THAT(Fail(With(R"("qty": 1.0)")), ElementsAre("qty: must be an integer, got '1.0'"));
  EXPECT_THAT(Fail(With(R"("done": "true")")), ElementsAre("done: must be true or false, got a string"));
  EXPECT_THAT(Fail(With(R"("done": 1)")), ElementsAre("done: must be true or false, got an integer"));
  EXPECT_THAT(Fail(With(R"("price": true)")), ElementsAre(HasSubstr("price: must be a decimal (a string like \"12.50\", or a number), got true")));
  EXPECT_THAT(Fail(With(R"("due_at": 1700000000)")), ElementsAre("due_at: must be an RFC 3339 timestamp string, got an integer"));
  EXPECT_THAT(Fail(With(R"("day": [2026, 1, 1])")), ElementsAre("day: must be a date string (YYYY-MM-DD), got an array"));
  EXPECT_THAT(Fail(With(R"("blob": {"x": 1})")), ElementsAre("blob: must be a base64 string, got an object"));
  EXPECT_THAT(Fail(R"({"title":"t","status": 1})"), ElementsAre("status: must be one of draft, active, archived, got an integer"));
}

TEST_F(BodyTest, ValuesOutOfRange) {
  EXPECT_THAT(Fail(With(R"("qty": 2147483648)")),
              ElementsAre("qty: 2147483648 is out of range for integer (-2147483648..2147483647)"));
  EXPECT_THAT(Fail(With(R"("qty": -2147483649)")), ElementsAre(HasSubstr("is out of range for integer")));
  EXPECT_THAT(Fail(With(R"("big": 9223372036854775808)")),
              ElementsAre("big: 9223372036854775808 is out of range for bigint (-9223372036854775808..9223372036854775807)"));
  EXPECT_THAT(Fail(With(R"("big": 123456789012345678901234567890)")),
              ElementsAre(HasSubstr("big: '123456789012345678901234567890' is out of range for bigint")));
  EXPECT_THAT(Fail(R"({"status":"draft","title":"ééééééééééé"})"),
              ElementsAre("title: is 11 characters long; text(10) allows at most 10"));
  EXPECT_THAT(Fail(With(R"("price": "1234567.5")")),
              ElementsAre("price: 1234567.5 has 7 digits before the point; decimal(8,2) allows 6"));
  EXPECT_THAT(Fail(With(R"("price": 1.234)")), ElementsAre("price: 1.234 has 3 digits after the point; decimal(8,2) keeps 2"));
  EXPECT_THAT(Fail(With(R"("price": 1e3)")), ElementsAre(HasSubstr("uses an exponent: write the decimal in plain notation")));
  EXPECT_THAT(Fail(With(R"("price": "12,5")")), ElementsAre(HasSubstr("is not a decimal number in plain notation")));
  EXPECT_THAT(Fail(R"({"title":"t","status":"deleted"})"),
              ElementsAre("status: 'deleted' is not a value of enum item_status (draft, active, archived)"));
  EXPECT_THAT(Fail(With(R"("id": "0b6f3c2e-9a41-4d0e-8f5c-2a7d3e1b9c4")")),
              ElementsAre("id: '0b6f3c2e-9a41-4d0e-8f5c-2a7d3e1b9c4' is not a uuid (8-4-4-4-12 hex digits)"));
  EXPECT_THAT(Fail(With(R"("due_at": "2026-11-21T10:00:00")")), ElementsAre(HasSubstr("the UTC offset is missing")));
  EXPECT_THAT(Fail(With(R"("due_at": "2026-11-21")")), ElementsAre(HasSubstr("the time of day is missing")));
  EXPECT_THAT(Fail(With(R"("due_at": "2026-13-01T00:00:00Z")")), ElementsAre(HasSubstr("month 13 does not exist")));
  EXPECT_THAT(Fail(With(R"("day": "2026-02-29")")), ElementsAre(HasSubstr("2026-02 has no day 29")));
  EXPECT_THAT(Fail(With(R"("day": "21/11/2026")")), ElementsAre(HasSubstr("is not a date: write YYYY-MM-DD")));
  EXPECT_THAT(Fail(With(R"("blob": "not base64!")")), ElementsAre(HasSubstr("blob: is not base64")));
  EXPECT_THAT(Fail(With(R"("blob": "3q2+7x==")")), ElementsAre(HasSubstr("blob: is not base64")));  // stray bits
  EXPECT_THAT(Fail(With(R"("body": "a\u0000b")")), ElementsAre(HasSubstr("body: contains a NUL character")));
  EXPECT_THAT(Fail(With(R"("meta": {"k": "a\u0000b"})")), ElementsAre(HasSubstr("meta: contains a NUL character")));
  // Long inputs are cut in messages.
  std::string long_uuid = R"("id": ")" + std::string(10000, 'a') + "\"";
  EXPECT_THAT(Fail(With(long_uuid))[0], HasSubstr("…' is not a uuid"));
}

TEST_F(BodyTest, NullForNotNullColumns) {
  EXPECT_THAT(Fail(R"({"title": null, "status": "draft", "qty": null})"),
              ElementsAre("title: must not be null", "qty: must not be null"));
  EXPECT_THAT(Fail(R"({"done": null})", WriteKind::kUpdate), ElementsAre("done: must not be null"));
}

TEST_F(BodyTest, EveryErrorAtOnce) {
  EXPECT_THAT(Fail(R"({"qty": "x", "nope": 1, "code": "c", "price": "abc", "day": "tomorrow"})"),
              ElementsAre("qty: must be an integer, got a string", HasSubstr("nope: unknown column"),
                          HasSubstr("code: is read-only"), HasSubstr("price: 'abc' is not a decimal"),
                          HasSubstr("day: 'tomorrow' is not a date"), HasSubstr("title: is required"),
                          HasSubstr("status: is required")));
  ParsedBody b = Parse(R"({"qty": "x"})");
  EXPECT_EQ(b.status(), kInvalidBodyStatus);
}

TEST_F(BodyTest, MalformedBodiesAreOneError) {
  for (std::string_view bad : {"", "{", "{\"title\": }", "nul", "{\"a\":1}x", "{'a':1}", "{\"a\":1,}"}) {
    ParsedBody b = Parse(bad);
    EXPECT_TRUE(b.malformed) << bad;
    ASSERT_EQ(b.errors.size(), 1u) << bad;
    EXPECT_EQ(b.errors[0].field, "");
    EXPECT_THAT(b.errors[0].message, HasSubstr("the body is not valid JSON: ")) << bad;
    EXPECT_EQ(b.status(), kMalformedBodyStatus);
  }
  EXPECT_THAT(Parse("[1,2]").errors[0].message, HasSubstr("must be a JSON object of fields, got an array"));
  EXPECT_THAT(Parse("\"x\"").errors[0].message, HasSubstr("got a string"));
  EXPECT_THAT(Parse("null").errors[0].message, HasSubstr("got null"));
  // Invalid UTF-8 inside a string is not JSON.
  EXPECT_TRUE(Parse("{\"title\":\"\xff\"}").malformed);
  ParsedBody empty = Parse("{}", WriteKind::kUpdate);
  EXPECT_THAT(empty.errors, ElementsAre(FieldError{"", "the body names no field to change"}));
  EXPECT_FALSE(empty.malformed);
}

TEST_F(BodyTest, DeepDocumentsAreRefusedWithoutRecursion) {
  const size_t kDepth = 1000000;
  std::string deep = R"({"meta":)" + std::string(kDepth, '[') + std::string(kDepth, ']') + "}";
  ParsedBody b = Parse(deep);
  EXPECT_TRUE(b.malformed);
  EXPECT_THAT(b.errors[0].message, HasSubstr("nested deeper than 64 levels"));
  BodyLimits limits;
  limits.max_depth = 3;
  EXPECT_TRUE(Parse(With(R"("meta": [[1]])"), WriteKind::kInsert, limits).ok());
  EXPECT_TRUE(Parse(With(R"("meta": [[[1]]])"), WriteKind::kInsert, limits).malformed);
  limits = BodyLimits{};
  limits.max_fields = 2;
  EXPECT_THAT(Parse(R"({"title":"t","status":"draft","qty":1})", WriteKind::kInsert, limits).errors[0].message,
              HasSubstr("the body has 3 fields; at most 2 are accepted"));
}

TEST_F(BodyTest, OtherTables) {
  const schema::Table& events = *schema_.FindTable("events");
  // A bigint key without default must be sent.
  ParsedBody b = ParseBody(schema_, events, R"({"what":"x"})", WriteKind::kInsert, {});
  EXPECT_THAT(b.errors, ElementsAre(FieldError{"id", "is required (bigint, not null, no default)"}));
  // A table that is not tenant-scoped has no tenant rule: its columns are plain.
  const schema::Table& links = *schema_.FindTable("links");
  b = ParseBody(schema_, links, R"({"a":"0b6f3c2e-9a41-4d0e-8f5c-2a7d3e1b9c44","b":"0b6f3c2e-9a41-4d0e-8f5c-2a7d3e1b9c45"})",
                WriteKind::kInsert, {});
  EXPECT_TRUE(b.ok());
  EXPECT_EQ(b.fields.size(), 2u);
}

}  // namespace
}  // namespace plinth::rest
