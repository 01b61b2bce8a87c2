// Router, query-string parsing and percent-decoding.
#include <gtest/gtest.h>

#include "http/internal.h"
#include "plinth/http.h"

namespace plinth::http {
namespace {

Handler Noop() {
  return [](Request&) -> asio::awaitable<Response> { co_return NoContentResponse(); };
}

struct Found {
  Router::Outcome outcome;
  std::string pattern;
  std::string allow;
  std::vector<std::pair<std::string, std::string>> params;
};

Found Look(const Router& r, Verb v, std::string_view path) {
  PathParams params;
  auto m = r.Find(v, path, params);
  EXPECT_TRUE(m.ok()) << m.status().ToString();
  Found f{m->outcome, std::string(m->pattern), m->allow, {}};
  for (const auto& p : params.all()) f.params.emplace_back(std::string(p.name), p.value);
  return f;
}

TEST(RouterTest, LiteralsBeatParametersAndParametersAreDecoded) {
  Router r;
  ASSERT_TRUE(r.Get("/api/v1/{table}/{id}", Noop()).ok());
  ASSERT_TRUE(r.Get("/api/v1/auth/me", Noop()).ok());
  ASSERT_TRUE(r.Get("/api/v1/{table}", Noop()).ok());
  ASSERT_TRUE(r.Get("/", Noop()).ok());

  Found me = Look(r, Verb::get, "/api/v1/auth/me");
  EXPECT_EQ(me.outcome, Router::Outcome::kFound);
  EXPECT_EQ(me.pattern, "/api/v1/auth/me");
  EXPECT_TRUE(me.params.empty());

  Found row = Look(r, Verb::get, "/api/v1/documents/a%2Fb%20c");
  EXPECT_EQ(row.outcome, Router::Outcome::kFound);
  EXPECT_EQ(row.pattern, "/api/v1/{table}/{id}");
  ASSERT_EQ(row.params.size(), 2u);
  EXPECT_EQ(row.params[0], (std::pair<std::string, std::string>{"table", "documents"}));
  EXPECT_EQ(row.params[1], (std::pair<std::string, std::string>{"id", "a/b c"}));

  EXPECT_EQ(Look(r, Verb::get, "/api/v1/auth").pattern, "/api/v1/{table}");
  EXPECT_EQ(Look(r, Verb::get, "/").pattern, "/");
  // An escaped literal still matches the literal.
  EXPECT_EQ(Look(r, Verb::get, "/api/v1/auth/%6De").pattern, "/api/v1/auth/me");
}

TEST(RouterTest, BacktracksFromADeadLiteralBranch) {
  Router r;
  ASSERT_TRUE(r.Get("/a/b/c", Noop()).ok());
  ASSERT_TRUE(r.Get("/a/{x}/d", Noop()).ok());
  Found f = Look(r, Verb::get, "/a/b/d");
  EXPECT_EQ(f.outcome, Router::Outcome::kFound);
  EXPECT_EQ(f.pattern, "/a/{x}/d");
  ASSERT_EQ(f.params.size(), 1u);
  EXPECT_EQ(f.params[0].second, "b");
}

TEST(RouterTest, NotFoundAndMethodNotAllowedWithAllow) {
  Router r;
  ASSERT_TRUE(r.Get("/items/{id}", Noop()).ok());
  ASSERT_TRUE(r.Delete("/items/{id}", Noop()).ok());
  ASSERT_TRUE(r.Post("/items", Noop()).ok());

  EXPECT_EQ(Look(r, Verb::get, "/nothing").outcome, Router::Outcome::kNotFound);
  EXPECT_EQ(Look(r, Verb::get, "/items/1/extra").outcome, Router::Outcome::kNotFound);
  // A trailing slash is significant; an empty segment is no parameter value.
  EXPECT_EQ(Look(r, Verb::post, "/items/").outcome, Router::Outcome::kNotFound);
  EXPECT_EQ(Look(r, Verb::get, "/items//").outcome, Router::Outcome::kNotFound);

  Found f = Look(r, Verb::put, "/items/7");
  EXPECT_EQ(f.outcome, Router::Outcome::kMethodNotAllowed);
  EXPECT_EQ(f.allow, "GET, HEAD, DELETE, OPTIONS");
  EXPECT_EQ(f.pattern, "/items/{id}");
  EXPECT_EQ(Look(r, Verb::get, "/items").allow, "POST, OPTIONS");
}

TEST(RouterTest, HeadFallsBackToGet) {
  Router r;
  ASSERT_TRUE(r.Get("/x", Noop()).ok());
  Found f = Look(r, Verb::head, "/x");
  EXPECT_EQ(f.outcome, Router::Outcome::kFound);
  EXPECT_EQ(f.pattern, "/x");
}

TEST(RouterTest, RejectsBadTemplatesAndConflicts) {
  Router r;
  EXPECT_EQ(r.Get("no-slash", Noop()).code(), Code::kInvalidArgument);
  EXPECT_EQ(r.Get("/a/", Noop()).code(), Code::kInvalidArgument);
  EXPECT_EQ(r.Get("/a//b", Noop()).code(), Code::kInvalidArgument);
  EXPECT_EQ(r.Get("/a/{1x}", Noop()).code(), Code::kInvalidArgument);
  EXPECT_EQ(r.Get("/a/{x", Noop()).code(), Code::kInvalidArgument);
  EXPECT_EQ(r.Get("/a/{x}/{x}", Noop()).code(), Code::kInvalidArgument);
  EXPECT_EQ(r.Get("/a b", Noop()).code(), Code::kInvalidArgument);
  EXPECT_EQ(r.Get("/a", Handler()).code(), Code::kInvalidArgument);
  EXPECT_EQ(r.Add(Verb::unknown, "/a", Noop()).code(), Code::kInvalidArgument);
  ASSERT_TRUE(r.Get("/t/{id}", Noop()).ok());
  Status dup = r.Get("/t/{other}", Noop());
  EXPECT_EQ(dup.code(), Code::kAlreadyExists);
  EXPECT_NE(dup.message().find("/t/{id}"), std::string::npos);
  EXPECT_TRUE(r.Post("/t/{other}", Noop()).ok());  // another method on the same shape
}

TEST(RouterTest, BadEscapeInAParameterIsAnError) {
  Router r;
  ASSERT_TRUE(r.Get("/t/{id}", Noop()).ok());
  PathParams params;
  auto bad = r.Find(Verb::get, "/t/%zz", params);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(bad.status().object(), "id");
  EXPECT_FALSE(r.Find(Verb::get, "/t/%00", params).ok());
  EXPECT_FALSE(r.Find(Verb::get, "/t/%C3%28", params).ok());  // invalid UTF-8
}

TEST(QueryTest, KeepsOrderRepeatsAndRawForm) {
  std::string raw = "or=(a.eq.1,b.eq.2)&limit=20&tag=x&tag=y%20z&order=created_at.desc&flag&&e=";
  Query q;
  ASSERT_TRUE(q.Parse(raw).ok());
  ASSERT_EQ(q.size(), 7u);
  EXPECT_EQ(q.params()[0].key, "or");
  EXPECT_EQ(q.params()[0].value, "(a.eq.1,b.eq.2)");
  EXPECT_EQ(q.params()[0].raw_value, "(a.eq.1,b.eq.2)");
  EXPECT_EQ(q.Get("limit"), "20");
  EXPECT_EQ(q.GetAll("tag"), (std::vector<std::string_view>{"x", "y z"}));
  EXPECT_EQ(q.params()[3].raw_value, "y%20z");
  EXPECT_FALSE(q.params()[5].has_value);
  EXPECT_EQ(q.params()[5].key, "flag");
  EXPECT_TRUE(q.params()[6].has_value);
  EXPECT_EQ(q.params()[6].value, "");
  EXPECT_FALSE(q.Get("missing").has_value());
  EXPECT_EQ(q.raw(), raw);
}

TEST(QueryTest, DecodesPlusAndEscapes) {
  Query q;
  ASSERT_TRUE(q.Parse("name=a+b%2Bc&k%65y=%E2%82%AC").ok());
  EXPECT_EQ(q.Get("name"), "a b+c");
  EXPECT_EQ(q.Get("key"), "\xE2\x82\xAC");
  EXPECT_EQ(q.params()[1].raw_key, "k%65y");
}

TEST(QueryTest, RejectsMalformedEscapesNulAndInvalidUtf8) {
  Query q;
  for (const char* bad : {"a=%", "a=%4", "a=%zz", "a=%00", "%ff=1", "a=%C0%80", "a=%ED%A0%80"}) {
    Status s = q.Parse(bad);
    EXPECT_EQ(s.code(), Code::kInvalidArgument) << bad;
    EXPECT_TRUE(q.empty()) << bad;
  }
  Status s = q.Parse("limit=1&title=%zz");
  EXPECT_NE(s.message().find("title"), std::string::npos) << s.message();
  EXPECT_EQ(s.object(), "title");
}

TEST(QueryTest, ReuseKeepsNoStaleEntries) {
  Query q;
  ASSERT_TRUE(q.Parse("a=1&b=2&c=3").ok());
  ASSERT_TRUE(q.Parse("d=4").ok());
  EXPECT_EQ(q.size(), 1u);
  EXPECT_FALSE(q.Has("a"));
  EXPECT_EQ(q.Get("d"), "4");
  ASSERT_TRUE(q.Parse("").ok());
  EXPECT_TRUE(q.empty());
}

TEST(PercentDecodeTest, Utf8Validation) {
  std::string out;
  EXPECT_TRUE(PercentDecode("caf%C3%A9", false, out).ok());
  EXPECT_EQ(out, "caf\xC3\xA9");
  EXPECT_TRUE(PercentDecode("a+b", false, out).ok());
  EXPECT_EQ(out, "a+b");
  EXPECT_FALSE(PercentDecode("%F4%90%80%80", false, out).ok());  // > U+10FFFF
  EXPECT_FALSE(PercentDecode("%E0%80%80", false, out).ok());     // overlong
  EXPECT_TRUE(PercentDecode("%F0%9F%98%80", false, out).ok());   // U+1F600
  EXPECT_TRUE(IsValidUtf8("plain ascii text that is longer than eight bytes"));
  EXPECT_FALSE(IsValidUtf8(std::string("abcdefgh\x80", 9)));
}

}  // namespace
}  // namespace plinth::http
