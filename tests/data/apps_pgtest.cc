// The example apps' policies on PostgreSQL, with the transcripts identical to SQLite's
// (tests/data/apps.h).
#include <gtest/gtest.h>

#include "data/apps.h"
#include "data/pg_env.h"

namespace plinth::testing {
namespace {

class PgApps : public ::testing::TestWithParam<AppCase> {};

TEST_P(PgApps, BehaveAsTheirUsersExpectAndMatchSqlite) {
  const std::string schema = ReadExampleSchema(GetParam().app);
  Checker pg_result, sqlite_result;
  {
    PgEnv pg(schema, PgEnvOptions{});
    ASSERT_TRUE(pg.ok());
    pg_result = RunAppCase(pg, GetParam());
  }
  {
    SqliteEnv lite(schema, EnvOptions{});
    ASSERT_TRUE(lite.ok());
    sqlite_result = RunAppCase(lite, GetParam());
  }
  EXPECT_TRUE(pg_result.violations.empty()) << "PostgreSQL:\n" << Lines(pg_result.violations);
  EXPECT_TRUE(sqlite_result.violations.empty()) << "SQLite:\n" << Lines(sqlite_result.violations);
  EXPECT_EQ(Lines(pg_result.transcript), Lines(sqlite_result.transcript));
}

INSTANTIATE_TEST_SUITE_P(Examples, PgApps, ::testing::ValuesIn(AppCases()),
                         [](const ::testing::TestParamInfo<AppCase>& i) { return i.param.name; });

}  // namespace
}  // namespace plinth::testing
