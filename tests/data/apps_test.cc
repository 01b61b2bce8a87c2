// The example apps' policies on SQLite (tests/data/apps.h).
#include <gtest/gtest.h>

#include "data/apps.h"

namespace plinth::testing {
namespace {

class SqliteApps : public ::testing::TestWithParam<AppCase> {};

TEST_P(SqliteApps, BehaveAsTheirUsersExpect) {
  SqliteEnv env(ReadExampleSchema(GetParam().app), EnvOptions{});
  ASSERT_TRUE(env.ok());
  Checker c = RunAppCase(env, GetParam());
  EXPECT_TRUE(c.violations.empty()) << Lines(c.violations);
}

INSTANTIATE_TEST_SUITE_P(Examples, SqliteApps, ::testing::ValuesIn(AppCases()),
                         [](const ::testing::TestParamInfo<AppCase>& i) { return i.param.name; });

TEST(SqliteHealth, ReportsBackendPoolAndMigrationVersion) {
  SqliteEnv env(ReadSchemaFile("isolation.toml"), EnvOptions{});
  ASSERT_TRUE(env.ok());
  data::Health h = env.Run(env.rt().CheckHealth(db::Clock::now() + std::chrono::seconds(5)));
  EXPECT_TRUE(h.ping.connected) << h.ping.status.ToString();
  EXPECT_EQ(h.backend, "sqlite");
  EXPECT_EQ(h.migration_version, "0001");
  EXPECT_TRUE(h.migrations_at_head);
}

TEST(SqliteOpen, RefusesADatabaseWithoutMigrationsAndASchemaWithoutCipher) {
  Loop loop;
  TempDir dir;
  auto url = db::ParseUrl("sqlite://" + dir / "empty.db");
  auto database = db::OpenDatabase(loop.io(), *url, db::PoolOptions{});
  ASSERT_TRUE(database.ok());
  auto s = LoadSchema(ReadSchemaFile("isolation.toml"));
  ASSERT_TRUE(s.ok());
  data::RuntimeOptions no_cipher;
  auto rt = loop.Run(data::Runtime::Open(*s, std::move(database).value(), std::move(no_cipher), "0001"));
  EXPECT_EQ(rt.status().code(), Code::kInvalidArgument);
  EXPECT_NE(rt.status().message().find("cipher"), std::string::npos);
  auto database2 = db::OpenDatabase(loop.io(), *url, db::PoolOptions{});
  ASSERT_TRUE(database2.ok());
  TestCipher cipher;
  data::RuntimeOptions o;
  o.cipher = &cipher;
  auto rt2 = loop.Run(data::Runtime::Open(*s, std::move(database2).value(), std::move(o), "0001"));
  EXPECT_EQ(rt2.status().code(), Code::kFailedPrecondition);
  EXPECT_NE(rt2.status().message().find("migrate"), std::string::npos) << rt2.status().ToString();
}

}  // namespace
}  // namespace plinth::testing
