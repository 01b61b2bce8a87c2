#include <gtest/gtest.h>

#include <filesystem>

#include "plinth/db.h"

namespace plinth::db {
namespace {

TEST(ParseUrl, SqliteAbsolutePath) {
  auto url = ParseUrl("sqlite:///var/lib/app/data.db");
  ASSERT_TRUE(url.ok()) << url.status().ToString();
  EXPECT_EQ(url->backend, Backend::kSqlite);
  EXPECT_EQ(url->path, "/var/lib/app/data.db");
  EXPECT_EQ(url->original, "sqlite:///var/lib/app/data.db");
}

TEST(ParseUrl, SqliteRelativePathsResolveAgainstTheWorkingDirectory) {
  const std::string cwd = std::filesystem::current_path().string();
  auto two_slashes = ParseUrl("sqlite://var/data.db");
  ASSERT_TRUE(two_slashes.ok()) << two_slashes.status().ToString();
  EXPECT_EQ(two_slashes->path, cwd + "/var/data.db");
  auto bare = ParseUrl("sqlite:data.db");
  ASSERT_TRUE(bare.ok());
  EXPECT_EQ(bare->path, cwd + "/data.db");
  auto dotted = ParseUrl("sqlite:./a/../b.db");
  ASSERT_TRUE(dotted.ok());
  EXPECT_EQ(dotted->path, cwd + "/b.db");
  auto one_slash = ParseUrl("sqlite:/tmp/x.db");
  ASSERT_TRUE(one_slash.ok());
  EXPECT_EQ(one_slash->path, "/tmp/x.db");
}

TEST(ParseUrl, SqliteMemory) {
  for (const char* text : {"sqlite::memory:", "sqlite://:memory:"}) {
    auto url = ParseUrl(text);
    ASSERT_TRUE(url.ok()) << text;
    EXPECT_EQ(url->path, ":memory:");
  }
}

TEST(ParseUrl, SqliteErrorsSayWhatWasExpected) {
  auto empty = ParseUrl("sqlite://");
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.status().code(), Code::kInvalidArgument);
  EXPECT_NE(empty.status().message().find("no file path"), std::string::npos);
  EXPECT_NE(empty.status().message().find("sqlite:///absolute/path.db"), std::string::npos);
  auto query = ParseUrl("sqlite://a.db?mode=ro");
  ASSERT_FALSE(query.ok());
  EXPECT_NE(query.status().message().find("query parameters"), std::string::npos);
}

TEST(ParseUrl, PostgresUrisAreKeptForLibpq) {
  for (const char* text : {"postgresql://app@db.internal:5433/prod?sslmode=require",
                           "postgres://u:p@h1:5432,h2:5432/db?target_session_attrs=read-write",
                           }) {
    auto url = ParseUrl(text);
    ASSERT_TRUE(url.ok()) << text << ": " << url.status().ToString();
    EXPECT_EQ(url->backend, Backend::kPostgres);
    EXPECT_EQ(url->conninfo, text);
  }
  auto upper = ParseUrl("PostgreSQL://localhost/x");
  ASSERT_TRUE(upper.ok()) << upper.status().ToString();
  EXPECT_EQ(upper->conninfo, "postgresql://localhost/x") << "scheme lower-cased for libpq";
}

TEST(ParseUrl, PostgresKeywordValueString) {
  auto url = ParseUrl("host=localhost port=5432 dbname=app user=me");
  ASSERT_TRUE(url.ok()) << url.status().ToString();
  EXPECT_EQ(url->backend, Backend::kPostgres);
  EXPECT_EQ(url->conninfo, "host=localhost port=5432 dbname=app user=me");
}

TEST(ParseUrl, MalformedPostgresIsRejectedWithLibpqsReason) {
  auto bad_param = ParseUrl("postgresql://localhost/db?no_such_option=1");
  ASSERT_FALSE(bad_param.ok());
  EXPECT_EQ(bad_param.status().code(), Code::kInvalidArgument);
  EXPECT_NE(bad_param.status().message().find("no_such_option"), std::string::npos)
      << bad_param.status().message();
  auto bad_kv = ParseUrl("host=localhost bogus=1");
  ASSERT_FALSE(bad_kv.ok());
  EXPECT_NE(bad_kv.status().message().find("bogus"), std::string::npos);
}

TEST(ParseUrl, UnknownSchemeAndEmptyInput) {
  auto mysql = ParseUrl("mysql://localhost/db");
  ASSERT_FALSE(mysql.ok());
  EXPECT_NE(mysql.status().message().find("unsupported database URL scheme \"mysql\""), std::string::npos);
  EXPECT_NE(mysql.status().message().find("postgresql://"), std::string::npos);
  auto empty = ParseUrl("  ");
  ASSERT_FALSE(empty.ok());
  EXPECT_NE(empty.status().message().find("DATABASE_URL"), std::string::npos);
  auto path = ParseUrl("just-a-file.db");
  ASSERT_FALSE(path.ok());
  EXPECT_NE(path.status().message().find("not a database URL"), std::string::npos);
}

TEST(Redacted, HidesUriPasswords) {
  auto url = ParseUrl("postgresql://app:s3cr%40t@db:5432/prod?sslmode=require");
  ASSERT_TRUE(url.ok());
  EXPECT_EQ(url->Redacted(), "postgresql://app:***@db:5432/prod?sslmode=require");
  auto multi = ParseUrl("postgres://u:pw@h1,h2:5433/db");
  ASSERT_TRUE(multi.ok());
  EXPECT_EQ(multi->Redacted(), "postgres://u:***@h1,h2:5433/db");
  auto query = ParseUrl("postgresql://u@h/db?password=hunter2&sslmode=disable");
  ASSERT_TRUE(query.ok());
  EXPECT_EQ(query->Redacted(), "postgresql://u@h/db?password=***&sslmode=disable");
  auto no_password = ParseUrl("postgresql://u@h/db");
  ASSERT_TRUE(no_password.ok());
  EXPECT_EQ(no_password->Redacted(), "postgresql://u@h/db");
}

TEST(Redacted, HidesKeywordValuePasswords) {
  auto plain = ParseUrl("host=h password=hunter2 dbname=d");
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->Redacted(), "host=h password=*** dbname=d");
  auto quoted = ParseUrl("host=h password = 'it\\'s a secret' dbname=d");
  ASSERT_TRUE(quoted.ok()) << quoted.status().ToString();
  EXPECT_EQ(quoted->Redacted(), "host=h password = *** dbname=d");
  EXPECT_EQ(quoted->Redacted().find("secret"), std::string::npos);
}

TEST(Redacted, SqliteUrlsAreUnchanged) {
  auto url = ParseUrl("sqlite:///tmp/a.db");
  ASSERT_TRUE(url.ok());
  EXPECT_EQ(url->Redacted(), "sqlite:///tmp/a.db");
}

TEST(CodeForSqlState, PostgresClasses) {
  EXPECT_EQ(CodeForSqlState("23505"), Code::kAlreadyExists);
  EXPECT_EQ(CodeForSqlState("23503"), Code::kConstraintViolation);
  EXPECT_EQ(CodeForSqlState("23514"), Code::kConstraintViolation);
  EXPECT_EQ(CodeForSqlState("42501"), Code::kPolicyViolation);
  EXPECT_EQ(CodeForSqlState("40001"), Code::kRetryable);
  EXPECT_EQ(CodeForSqlState("40P01"), Code::kRetryable);
  EXPECT_EQ(CodeForSqlState("08006"), Code::kUnavailable);
  EXPECT_EQ(CodeForSqlState("57P01"), Code::kUnavailable);
  EXPECT_EQ(CodeForSqlState("57014"), Code::kDeadlineExceeded);
  EXPECT_EQ(CodeForSqlState("28P01"), Code::kUnauthenticated);
  EXPECT_EQ(CodeForSqlState("3D000"), Code::kNotFound);
  EXPECT_EQ(CodeForSqlState("42601"), Code::kInvalidArgument);
  EXPECT_EQ(CodeForSqlState("42P01"), Code::kInvalidArgument);
  EXPECT_EQ(CodeForSqlState("XX000"), Code::kInternal);
  EXPECT_EQ(CodeForSqlState(""), Code::kInternal);
}

TEST(CodeForSqlState, SqliteExtendedCodes) {
  EXPECT_EQ(CodeForSqlState("sqlite:2067"), Code::kAlreadyExists);        // CONSTRAINT_UNIQUE
  EXPECT_EQ(CodeForSqlState("sqlite:1555"), Code::kAlreadyExists);        // CONSTRAINT_PRIMARYKEY
  EXPECT_EQ(CodeForSqlState("sqlite:787"), Code::kConstraintViolation);   // CONSTRAINT_FOREIGNKEY
  EXPECT_EQ(CodeForSqlState("sqlite:275"), Code::kConstraintViolation);   // CONSTRAINT_CHECK
  EXPECT_EQ(CodeForSqlState("sqlite:5"), Code::kRetryable);               // BUSY
  EXPECT_EQ(CodeForSqlState("sqlite:1"), Code::kInvalidArgument);         // ERROR
  EXPECT_EQ(CodeForSqlState("sqlite:14"), Code::kUnavailable);            // CANTOPEN
  EXPECT_EQ(CodeForSqlState("sqlite:8"), Code::kPermissionDenied);        // READONLY
  EXPECT_EQ(CodeForSqlState("sqlite:x"), Code::kInternal);
}

TEST(Quote, IdentifiersAndLiterals) {
  EXPECT_EQ(QuoteIdent("users"), "\"users\"");
  EXPECT_EQ(QuoteIdent("we\"ird"), "\"we\"\"ird\"");
  EXPECT_EQ(QuoteLiteral("it's"), "'it''s'");
  EXPECT_EQ(QuoteLiteral("back\\slash"), "'back\\slash'");
  EXPECT_EQ(QuoteLiteral(""), "''");
}

}  // namespace
}  // namespace plinth::db
