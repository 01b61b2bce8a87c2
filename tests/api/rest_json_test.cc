// JSON rendering of rows (every type, escaping, invalid UTF-8), the list shape, next links,
// Content-Range, base64, problem+json and the Prefer header.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "api/rest_fixture.h"
#include "plinth/rest.h"

namespace plinth::rest {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

std::string Str(std::string_view s) {
  std::string out;
  AppendJsonString(out, s);
  return out;
}

TEST(JsonString, Escaping) {
  EXPECT_EQ(Str("plain"), R"("plain")");
  EXPECT_EQ(Str(""), R"("")");
  EXPECT_EQ(Str("a\"b\\c/d"), R"("a\"b\\c/d")");
  EXPECT_EQ(Str("\n\r\t\b\f"), R"("\n\r\t\b\f")");
  EXPECT_EQ(Str(std::string("\x00\x01\x1f\x7f", 4)), "\"\\u0000\\u0001\\u001f\x7f\"");
  EXPECT_EQ(Str("é€😀"), "\"é€😀\"");
  // U+2028 and U+2029 are escaped (line terminators in JavaScript).
  EXPECT_EQ(Str("a\xE2\x80\xA8" "b\xE2\x80\xA9"), R"("a\u2028b\u2029")");
}

TEST(JsonString, InvalidUtf8BecomesReplacementCharacters) {
  const std::string kFffd = "\xEF\xBF\xBD";
  EXPECT_EQ(Str("a\xff" "b"), "\"a" + kFffd + "b\"");
  EXPECT_EQ(Str("\xC0\xAF"), "\"" + kFffd + kFffd + "\"");        // overlong '/'
  EXPECT_EQ(Str("\xED\xA0\x80"), "\"" + kFffd + kFffd + kFffd + "\"");  // a UTF-16 surrogate
  EXPECT_EQ(Str("\xE2\x82"), "\"" + kFffd + kFffd + "\"");         // truncated
  EXPECT_EQ(Str("\xF4\x90\x80\x80"), "\"" + kFffd + kFffd + kFffd + kFffd + "\"");  // above U+10FFFF
  // Whatever the bytes, the output parses as JSON.
  std::string all;
  for (int i = 0; i < 256; ++i) all += static_cast<char>(i);
  for (int i = 0; i < 256; ++i) all += static_cast<char>(255 - i);
  nlohmann::json parsed = nlohmann::json::parse(Str(all), nullptr, false);
  ASSERT_FALSE(parsed.is_discarded());
  EXPECT_TRUE(parsed.is_string());
}

class RenderTest : public ::testing::Test {
 protected:
  RenderTest() : schema_(testing::LoadShop()), items_(*schema_.FindTable("items")) {}

  // A RowSet over the named columns with one row of `values`.
  data::RowSet Rows(const std::vector<std::string>& columns, std::vector<data::Value> values) {
    data::RowSet rs;
    rs.table = &items_;
    for (const std::string& c : columns) rs.columns.push_back(items_.FindColumn(c));
    rs.rows.push_back(std::move(values));
    return rs;
  }
  std::string One(const std::string& column, data::Value v) { return RowJson(Rows({column}, {std::move(v)}), 0); }

  schema::Schema schema_;
  const schema::Table& items_;
};

TEST_F(RenderTest, EveryType) {
  EXPECT_EQ(One("id", "0b6f3c2e-9a41-4d0e-8f5c-2a7d3e1b9c44"), R"({"id":"0b6f3c2e-9a41-4d0e-8f5c-2a7d3e1b9c44"})");
  EXPECT_EQ(One("title", "say \"hi\"\n"), R"({"title":"say \"hi\"\n"})");
  EXPECT_EQ(One("qty", "-42"), R"({"qty":-42})");
  EXPECT_EQ(One("big", "9223372036854775807"), R"({"big":9223372036854775807})");
  EXPECT_EQ(One("done", "true"), R"({"done":true})");
  EXPECT_EQ(One("done", "false"), R"({"done":false})");
  EXPECT_EQ(One("done", "t"), R"({"done":true})");
  EXPECT_EQ(One("price", "12.50"), R"({"price":"12.50"})");
  EXPECT_EQ(One("due_at", "2026-12-01T20:00:00.000000Z"), R"({"due_at":"2026-12-01T20:00:00.000000Z"})");
  EXPECT_EQ(One("day", "2026-12-01"), R"({"day":"2026-12-01"})");
  EXPECT_EQ(One("meta", R"({"a": [1, 2.5, "x"], "b": {"c": null}})"), R"({"meta":{"a":[1,2.5,"x"],"b":{"c":null}}})");
  EXPECT_EQ(One("meta", "\"s\""), R"({"meta":"s"})");
  EXPECT_EQ(One("meta", "  [ ]  "), R"({"meta":[]})");
  EXPECT_EQ(One("blob", std::string("\xde\xad\xbe\xef", 4)), R"({"blob":"3q2+7w=="})");
  EXPECT_EQ(One("blob", std::string("\0", 1)), R"({"blob":"AA=="})");
  EXPECT_EQ(One("status", "active"), R"({"status":"active"})");
  EXPECT_EQ(One("body", std::nullopt), R"({"body":null})");
  EXPECT_EQ(One("tenant_id", "0b6f3c2e-9a41-4d0e-8f5c-2a7d3e1b9c44"),
            R"({"tenant_id":"0b6f3c2e-9a41-4d0e-8f5c-2a7d3e1b9c44"})");
}

TEST_F(RenderTest, ValuesThatAreNotWhatTheTypeSaysStayValidJson) {
  // json text that is not JSON is rendered as a string rather than breaking the document.
  EXPECT_EQ(One("meta", "{not json"), R"({"meta":"{not json"})");
  EXPECT_EQ(One("meta", "[1,]"), R"({"meta":"[1,]"})");
  EXPECT_EQ(One("meta", "{\"a\":1} x"), R"({"meta":"{\"a\":1} x"})");
  EXPECT_EQ(One("meta", "\"\xff\""), "{\"meta\":\"\\\"\xEF\xBF\xBD\\\"\"}");
  EXPECT_EQ(One("qty", "12abc"), R"({"qty":"12abc"})");
  EXPECT_EQ(One("done", "maybe"), R"({"done":"maybe"})");
  // Deep stored json is copied iteratively; beyond the bound it becomes a string.
  std::string deep = std::string(100000, '[') + std::string(100000, ']');
  std::string out = One("meta", deep);
  nlohmann::json parsed = nlohmann::json::parse(out, nullptr, false);
  EXPECT_FALSE(parsed.is_discarded());
  EXPECT_TRUE(parsed["meta"].is_string());
  EXPECT_EQ(One("meta", "[[[1]]]"), R"({"meta":[[[1]]]})");
}

TEST_F(RenderTest, HiddenAndWriteOnlyColumnsAreNeverRendered) {
  data::RowSet rs = Rows({"id", "secret", "pw_hash", "title", "code"},
                         {"0b6f3c2e-9a41-4d0e-8f5c-2a7d3e1b9c44", "s3cret", "$argon2id$…", "t", "C-1"});
  std::string out = RowJson(rs, 0);
  EXPECT_EQ(out, R"({"id":"0b6f3c2e-9a41-4d0e-8f5c-2a7d3e1b9c44","title":"t","code":"C-1"})");
  EXPECT_THAT(out, Not(HasSubstr("s3cret")));
  EXPECT_THAT(out, Not(HasSubstr("argon2")));
}

TEST_F(RenderTest, ListShape) {
  data::ListResult r;
  r.rows = Rows({"id", "qty"}, {"0b6f3c2e-9a41-4d0e-8f5c-2a7d3e1b9c44", "1"});
  r.rows.rows.push_back({"1b6f3c2e-9a41-4d0e-8f5c-2a7d3e1b9c44", std::nullopt});
  EXPECT_EQ(ListJson(r, ""),
            R"({"items":[{"id":"0b6f3c2e-9a41-4d0e-8f5c-2a7d3e1b9c44","qty":1},)"
            R"({"id":"1b6f3c2e-9a41-4d0e-8f5c-2a7d3e1b9c44","qty":null}],"next_cursor":null,"next":null})");
  r.next_cursor = "abc";
  r.total = 1000;
  std::string out = ListJson(r, "/api/v1/items?limit=2&after=abc");
  nlohmann::json j = nlohmann::json::parse(out);
  EXPECT_EQ(j["items"].size(), 2u);
  EXPECT_EQ(j["next_cursor"], "abc");
  EXPECT_EQ(j["next"], "/api/v1/items?limit=2&after=abc");
  EXPECT_EQ(j["total"], 1000);
  data::ListResult empty;
  empty.rows.table = &items_;
  EXPECT_EQ(ListJson(empty, ""), R"({"items":[],"next_cursor":null,"next":null})");
}

TEST(NextLink, KeepsTheQueryReplacesTheCursorAndEncodes) {
  QueryParams params = {{"title", "eq.a b&c+d"}, {"offset", "20"}, {"order", "qty.desc,id"}, {"after", "old"},
                        {"or", "(qty.eq.1,qty.eq.2)"}};
  EXPECT_EQ(NextLink("/api/v1/items", params, "c/ur+sor="),
            "/api/v1/items?title=eq.a%20b%26c%2Bd&order=qty.desc,id&or=(qty.eq.1,qty.eq.2)&after=c%2Fur%2Bsor%3D");
  EXPECT_EQ(NextLink("/api/v1/items", {}, "x"), "/api/v1/items?after=x");
  EXPECT_EQ(NextLink("/api/v1/items", params, ""), "");
}

TEST(ContentRange, PostgrestForms) {
  EXPECT_EQ(ContentRange(0, 20, 1000), "0-19/1000");
  EXPECT_EQ(ContentRange(40, 5, 45), "40-44/45");
  EXPECT_EQ(ContentRange(0, 20, std::nullopt), "0-19/*");
  EXPECT_EQ(ContentRange(0, 0, 0), "*/0");
  EXPECT_EQ(ContentRange(100, 0, std::nullopt), "*/*");
}

TEST(Base64, RoundTripsAndRefusesBadInput) {
  for (std::string s : {std::string(""), std::string("f"), std::string("fo"), std::string("foo"), std::string("foob"),
                        std::string("\0\xff\x10", 3)}) {
    std::optional<std::string> back = Base64Decode(Base64Encode(s));
    ASSERT_TRUE(back.has_value()) << s;
    EXPECT_EQ(*back, s);
  }
  EXPECT_EQ(Base64Encode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(Base64Encode("fo"), "Zm8=");
  EXPECT_EQ(Base64Decode("Zm8"), "fo");
  EXPECT_EQ(Base64Decode("-_8="), std::string("\xfb\xff", 2));
  EXPECT_FALSE(Base64Decode("Z").has_value());
  EXPECT_FALSE(Base64Decode("Zm9=v").has_value());
  EXPECT_FALSE(Base64Decode("Zm 9v").has_value());
  EXPECT_FALSE(Base64Decode("Zm8==").has_value());
  EXPECT_FALSE(Base64Decode("Zm9=").has_value());  // stray bits
}

TEST(ProblemJson, Rfc9457WithErrors) {
  Problem p;
  p.status = 422;
  p.detail = "the body has 2 errors";
  p.errors = {{"title", "must be a string, got an integer"}, {"qty", "say \"no\""}};
  nlohmann::json j = nlohmann::json::parse(ProblemJson(p));
  EXPECT_EQ(j["type"], "about:blank");
  EXPECT_EQ(j["title"], "Unprocessable Content");
  EXPECT_EQ(j["status"], 422);
  EXPECT_EQ(j["detail"], "the body has 2 errors");
  ASSERT_EQ(j["errors"].size(), 2u);
  EXPECT_EQ(j["errors"][1]["field"], "qty");
  EXPECT_EQ(j["errors"][1]["message"], "say \"no\"");
  Problem bare;
  bare.status = 404;
  EXPECT_EQ(ProblemJson(bare), R"({"type":"about:blank","title":"Not Found","status":404})");
  EXPECT_EQ(StatusTitle(429), "Too Many Requests");
  EXPECT_EQ(StatusTitle(999), "Error");
}

TEST(Prefer, Preferences) {
  Preferences p = ParsePrefer("");
  EXPECT_EQ(p.return_mode, Preferences::Return::kRepresentation);
  EXPECT_FALSE(p.count_exact);
  EXPECT_FALSE(p.merge_duplicates);
  EXPECT_EQ(p.PreferenceApplied(), "");

  p = ParsePrefer("return=minimal");
  EXPECT_EQ(p.return_mode, Preferences::Return::kMinimal);
  EXPECT_EQ(p.PreferenceApplied(), "return=minimal");

  p = ParsePrefer(" count=exact ,Return=Representation; x=y, resolution=merge-duplicates, tx=rollback, count=planned");
  EXPECT_TRUE(p.count_exact);
  EXPECT_TRUE(p.merge_duplicates);
  EXPECT_EQ(p.return_mode, Preferences::Return::kRepresentation);
  EXPECT_THAT(p.applied, ElementsAre("count=exact", "return=representation", "resolution=merge-duplicates"));
  EXPECT_EQ(p.PreferenceApplied(), "count=exact, return=representation, resolution=merge-duplicates");

  // Two header lines joined with ','; the first value of a preference wins.
  p = ParsePrefer("return=minimal, return=representation");
  EXPECT_EQ(p.return_mode, Preferences::Return::kMinimal);
  EXPECT_THAT(p.applied, ElementsAre("return=minimal"));
  p = ParsePrefer("return=\"minimal\"");
  EXPECT_EQ(p.return_mode, Preferences::Return::kMinimal);
  // Unknown preferences and values are ignored.
  p = ParsePrefer("count=estimated, resolution=ignore-duplicates, handling=strict, return=headers-only, ,,");
  EXPECT_FALSE(p.count_exact);
  EXPECT_FALSE(p.merge_duplicates);
  EXPECT_EQ(p.return_mode, Preferences::Return::kRepresentation);
  EXPECT_TRUE(p.applied.empty());
}

}  // namespace
}  // namespace plinth::rest
