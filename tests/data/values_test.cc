// Canonical values, JSON in jsonb's form, cursors' base64url, LIKE → GLOB, and the compiled
// SQLite policies' shape (PostgreSQL's combination rules).
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <set>

#include "data/policy.h"
#include "data/statements.h"
#include "data/values.h"
#include "plinth/schema.h"

namespace plinth::data::internal {
namespace {

schema::Column Col(schema::TypeKind k, int a = 0, int b = 0) {
  schema::Column c;
  c.name = "f";
  c.type.kind = k;
  if (k == schema::TypeKind::kText) c.type.max_length = a;
  if (k == schema::TypeKind::kDecimal) {
    c.type.precision = a;
    c.type.scale = b;
  }
  return c;
}

std::string In(const schema::Column& c, std::string_view v) {
  schema::Schema s;
  auto r = CanonicalInput(s, c, v);
  return r.ok() ? *r : "ERR:" + r.status().object();
}

TEST(CanonicalInput, EveryType) {
  using K = schema::TypeKind;
  EXPECT_EQ(In(Col(K::kUuid), "0B6F3C2E-9A41-4D0E-8F5C-2A7D3E1B9C44"), "0b6f3c2e-9a41-4d0e-8f5c-2a7d3e1b9c44");
  EXPECT_EQ(In(Col(K::kUuid), "0b6f3c2e9a414d0e8f5c2a7d3e1b9c44"), "ERR:f");
  EXPECT_EQ(In(Col(K::kText, 3), "äöü"), "äöü");
  EXPECT_EQ(In(Col(K::kText, 3), "abcd"), "ERR:f");
  EXPECT_EQ(In(Col(K::kText), std::string("a\0b", 3)), "ERR:f");
  EXPECT_EQ(In(Col(K::kText), "\xc0\x80"), "ERR:f");  // overlong NUL
  EXPECT_EQ(In(Col(K::kInteger), "+42"), "42");
  EXPECT_EQ(In(Col(K::kInteger), "-2147483649"), "ERR:f");
  EXPECT_EQ(In(Col(K::kInteger), "+-1"), "ERR:f");
  EXPECT_EQ(In(Col(K::kBigint), "-9223372036854775808"), "-9223372036854775808");
  EXPECT_EQ(In(Col(K::kBigint), "9223372036854775808"), "ERR:f");
  EXPECT_EQ(In(Col(K::kBoolean), "TRUE"), "true");
  EXPECT_EQ(In(Col(K::kBoolean), "0"), "false");
  EXPECT_EQ(In(Col(K::kBoolean), "yes"), "ERR:f");
  EXPECT_EQ(In(Col(K::kDecimal, 5, 2), "3"), "3.00");
  EXPECT_EQ(In(Col(K::kDecimal, 5, 2), "-0.10"), "-0.10");
  EXPECT_EQ(In(Col(K::kDecimal, 5, 2), "1234.5"), "ERR:f");
  EXPECT_EQ(In(Col(K::kTimestamp), "2026-12-01T21:00:00+01:00"), "2026-12-01T20:00:00.000000Z");
  EXPECT_EQ(In(Col(K::kTimestamp), "2026-12-01"), "ERR:f");
  EXPECT_EQ(In(Col(K::kDate), "2024-02-29"), "2024-02-29");
  EXPECT_EQ(In(Col(K::kDate), "2023-02-29"), "ERR:f");
  EXPECT_EQ(In(Col(K::kJson), "[1, {\"b\":1,\"a\":2}]"), "[1,{\"a\":2,\"b\":1}]");
}

TEST(CanonicalJson, FollowsJsonb) {
  auto j = [](std::string_view t) {
    auto r = CanonicalJson(t);
    return r.ok() ? *r : "ERR";
  };
  EXPECT_EQ(j(" {\"bb\": 1, \"a\": 2, \"c\": 3} "), "{\"a\":2,\"c\":3,\"bb\":1}");  // length, then bytes
  EXPECT_EQ(j("{\"a\": 1, \"a\": 2}"), "{\"a\":2}");                             // the last wins
  EXPECT_EQ(j("[1e2, 1.50, -0, 0.0, 1.5e1, 1.50e1, 1e-2, -1.25E+1]"), "[100,1.50,0,0.0,15,15.0,0.01,-12.5]");
  EXPECT_EQ(j("\"\\u00e9\\/\\n\\u0001\""), "\"é/\\n\\u0001\"");
  EXPECT_EQ(j("\"\\ud83d\\ude00\""), "\"\xf0\x9f\x98\x80\"");
  EXPECT_EQ(j("\"\\u0000\""), "ERR");
  EXPECT_EQ(j("\"\\ud83d\""), "ERR");
  EXPECT_EQ(j("{\"a\":1,}"), "ERR");
  EXPECT_EQ(j("01"), "ERR");
  EXPECT_EQ(j("true false"), "ERR");
  EXPECT_EQ(j("null"), "null");
  EXPECT_EQ(CompactJsonText("{\"a\": [1, 2], \"b\": \"x y\"}"), "{\"a\":[1,2],\"b\":\"x y\"}");
}

TEST(CanonicalOutput, NormalisesEachDatabase) {
  using K = schema::TypeKind;
  auto out = [](Dialect d, const schema::Column& c, std::string_view v, bool bytes = false) {
    auto r = CanonicalOutput(d, c, bytes, v);
    return r.ok() ? *r : "ERR";
  };
  EXPECT_EQ(out(Dialect::kPostgres, Col(K::kBoolean), "t"), "true");
  EXPECT_EQ(out(Dialect::kSqlite, Col(K::kBoolean), "0"), "false");
  EXPECT_EQ(out(Dialect::kPostgres, Col(K::kTimestamp), "2026-12-01 20:00:00+00"), "2026-12-01T20:00:00.000000Z");
  EXPECT_EQ(out(Dialect::kPostgres, Col(K::kTimestamp), "2026-12-01 21:30:00.5+01:30"), "2026-12-01T20:00:00.500000Z");
  // The UTC fast path gives what the general path gives.
  EXPECT_EQ(out(Dialect::kPostgres, Col(K::kTimestamp), "2026-12-01 20:00:00.123456+00"), "2026-12-01T20:00:00.123456Z");
  EXPECT_EQ(out(Dialect::kPostgres, Col(K::kTimestamp), "0001-01-01 00:00:00.5+00"), "0001-01-01T00:00:00.500000Z");
  EXPECT_EQ(out(Dialect::kPostgres, Col(K::kTimestamp), "2026-12-01 20:00:00.5-00:30"), "2026-12-01T20:30:00.500000Z");
  EXPECT_EQ(out(Dialect::kPostgres, Col(K::kTimestamp), "2026-12-01 20:0x:00+00"), "ERR");
  EXPECT_EQ(out(Dialect::kSqlite, Col(K::kDecimal, 10, 2), "1.5"), "1.50");
  EXPECT_EQ(out(Dialect::kSqlite, Col(K::kDecimal, 10, 2), "3"), "3.00");
  EXPECT_EQ(out(Dialect::kSqlite, Col(K::kDecimal, 30, 2), "1.0e+20"), "100000000000000000000.00");
  EXPECT_EQ(out(Dialect::kPostgres, Col(K::kJson), "{\"a\": [1, 2]}"), "{\"a\":[1,2]}");
  EXPECT_EQ(out(Dialect::kPostgres, Col(K::kBytes), "\\x00ff", true), std::string("\x00\xff", 2));
  EXPECT_EQ(BindText(Dialect::kPostgres, Col(K::kBytes), true, std::string("\x00\xff", 2)), "\\x00ff");
  EXPECT_EQ(BindText(Dialect::kSqlite, Col(K::kBoolean), false, "true"), "1");
}

TEST(Base64Url, RoundTripsAndRejectsNonCanonical) {
  for (std::string s : {"", "a", "ab", "abc", "abcd", "\xff\x00\x10"}) {
    auto back = Base64UrlDecode(Base64UrlEncode(s));
    ASSERT_TRUE(back.has_value());
    EXPECT_EQ(*back, s);
  }
  EXPECT_FALSE(Base64UrlDecode("a").has_value());
  EXPECT_FALSE(Base64UrlDecode("ab+c").has_value());
  EXPECT_FALSE(Base64UrlDecode("YR").has_value());  // leftover bits set
}

TEST(LikeToGlob, KeepsPostgresSemantics) {
  EXPECT_EQ(LikeToGlob("a%b_c"), "a*b?c");
  EXPECT_EQ(LikeToGlob("50\\%*[x]"), "50%[*][[]x]");
}

TEST(NewUuid, IsVersion4) {
  std::string u = NewUuid();
  EXPECT_EQ(u.size(), 36u);
  EXPECT_EQ(u[14], '4');
  EXPECT_TRUE(u[19] == '8' || u[19] == '9' || u[19] == 'a' || u[19] == 'b');
  EXPECT_NE(NewUuid(), u);
}

// Ids come from a per-thread block of random bytes: many in a row are distinct and well formed,
// across block refills.
TEST(NewUuid, ManyAreDistinctAndCanonical) {
  constexpr int kIds = 2000;
  std::set<std::string> seen;
  for (int i = 0; i < kIds; ++i) {
    std::string u = NewUuid();
    EXPECT_TRUE(CanonicalUuidText(u).ok() && *CanonicalUuidText(u) == u) << u;
    EXPECT_EQ(u[14], '4');
    seen.insert(u);
  }
  EXPECT_EQ(seen.size(), static_cast<size_t>(kIds));
}

// A forked child does not hand out the ids its parent's block still holds.
TEST(NewUuid, AForkedChildDrawsItsOwnIds) {
  (void)NewUuid();  // the parent's block is filled
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    const std::string u = NewUuid();
    ::_exit(::write(fds[1], u.data(), u.size()) == static_cast<ssize_t>(u.size()) ? 0 : 1);
  }
  ::close(fds[1]);
  const std::string mine = NewUuid();
  char buf[64] = {0};
  const ssize_t n = ::read(fds[0], buf, sizeof buf);
  ::close(fds[0]);
  int status = 0;
  ::waitpid(child, &status, 0);
  ASSERT_EQ(n, 36);
  EXPECT_NE(std::string(buf, 36), mine);
}

TEST(VersionOrder, IsNumeric) {
  EXPECT_TRUE(VersionLess("0999", "1000"));
  EXPECT_TRUE(VersionLess("9999", "10000"));
  EXPECT_FALSE(VersionLess("0002", "0002"));
}

schema::Schema Load(std::string_view text) {
  Diagnostics d;
  auto s = schema::LoadSchemaText(text, "schema.toml", d);
  EXPECT_TRUE(s.ok()) << d.ToString();
  return s.ok() ? *s : schema::Schema{};
}

std::string Plain(std::string s) {
  for (char& ch : s) {
    if (ch == kClaimOpen) ch = '<';
    if (ch == kClaimClose) ch = '>';
  }
  return s;
}

TEST(Policies, PermissiveOrRestrictiveAndNoPermissiveMeansNothing) {
  auto s = Load(R"toml(
[app]
name = "p"
[table.t]
columns.id = { type = "uuid", primary_key = true }
columns.owner = { type = "uuid" }
columns.public = { type = "boolean", not_null = true, default = false }
[[table.t.policies]]
name = "own"
for = "select"
using = "owner = auth.user_id()"
[[table.t.policies]]
name = "public"
for = "select"
using = "public"
[[table.t.policies]]
name = "admins_only_when_flagged"
as = "restrictive"
for = "all"
using = "auth.has_role('member')"
[table.u]
columns.id = { type = "uuid", primary_key = true }
[[table.u.policies]]
name = "only_restrictive"
as = "restrictive"
for = "select"
using = "true"
)toml");
  auto p = Policies::Compile(s);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  const TablePolicies& t = p->For("t");
  EXPECT_EQ(Plain(t.select_quals), "<3> AND (\"owner\" = <1> OR \"public\")");
  // No update policy: no row can be updated; no insert policy: every insert fails.
  EXPECT_NE(Plain(t.update_quals).find("AND 0"), std::string::npos);
  ASSERT_FALSE(t.insert_checks.empty());
  EXPECT_EQ(t.insert_checks[0].sql, "0");
  EXPECT_EQ(t.insert_checks[0].message, "new row violates row-level security policy for table \"t\"");
  EXPECT_EQ(t.insert_checks[1].message,
            "new row violates row-level security policy \"admins_only_when_flagged\" for table \"t\"");
  // Only restrictive policies: nothing is visible.
  EXPECT_EQ(Plain(p->For("u").select_quals), "1 AND 0");
}

TEST(Policies, ExistsSeesTheRelatedTableThroughItsOwnPolicies) {
  auto s = Load(R"toml(
[app]
name = "p"
[table.projects]
columns.id = { type = "uuid", primary_key = true }
columns.owner = { type = "uuid" }
[[table.projects.policies]]
name = "own"
for = "select"
using = "owner = auth.user_id()"
[table.tasks]
columns.id = { type = "uuid", primary_key = true }
columns.project_id = { type = "uuid", references = "projects" }
[[table.tasks.policies]]
name = "of_visible_projects"
for = "select"
using = "exists (select 1 from projects p where p.id = project_id)"
[table.loop_a]
columns.id = { type = "uuid", primary_key = true }
[[table.loop_a.policies]]
name = "a"
for = "select"
using = "exists (select 1 from loop_b b where b.id = id)"
[table.loop_b]
columns.id = { type = "uuid", primary_key = true }
[[table.loop_b.policies]]
name = "b"
for = "select"
using = "exists (select 1 from loop_a a where a.id = id)"
)toml");
  auto p = Policies::Compile(s);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(Plain(p->For("tasks").select_quals),
            "EXISTS (SELECT 1 FROM \"projects\" AS \"p\" WHERE \"p\".\"id\" = \"tasks\".\"project_id\" AND "
            "\"p\".\"owner\" = <1>)");
  EXPECT_EQ(p->For("loop_a").error.sqlstate(), "42P17");
  EXPECT_EQ(p->For("loop_b").error.sqlstate(), "42P17");
  EXPECT_TRUE(p->For("tasks").error.ok());
}

}  // namespace
}  // namespace plinth::data::internal
