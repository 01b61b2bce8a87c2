// The runner on SQLite: every shared scenario (scenarios.h) on a database file.
#include "migrate/scenarios.h"

namespace plinth::runner::testing {
namespace {

class SqliteRunner : public ::testing::Test {
 protected:
  void SetUp() override { db_ = TestDb::Sqlite(); }
  std::unique_ptr<TestDb> db_;
};

class SqliteExampleApp : public ::testing::TestWithParam<std::string> {};

TEST_P(SqliteExampleApp, UpCheckDownBaseUpAgain) {
  auto t = TestDb::Sqlite();
  ExampleAppRoundTrip(*t, GetParam());
}

TEST_P(SqliteExampleApp, MigrateSqlIsExactlyWhatUpAndDownRun) {
  auto t = TestDb::Sqlite();
  SqlScriptIsWhatRuns(*t, GetParam());
}

INSTANTIATE_TEST_SUITE_P(Examples, SqliteExampleApp,
                         ::testing::Values("documents", "escrow", "settings", "curatore"));

TEST_F(SqliteRunner, FailedMigrationKeepsThePreviousVersion) { FailedMigrationKeepsPreviousVersion(*db_); }
TEST_F(SqliteRunner, DataLossNeedsPermission) { DataLossNeedsPermission(*db_); }
TEST_F(SqliteRunner, TamperedFileIsRefusedByName) { TamperedFileRefused(*db_); }
TEST_F(SqliteRunner, DriftFindsHandMadeChanges) { DriftFindsHandMadeChanges(*db_); }
TEST_F(SqliteRunner, StampWritesOnlyHistory) { StampWritesOnlyHistory(*db_); }
TEST_F(SqliteRunner, ConcurrentUpAppliesEachMigrationOnce) { ConcurrentUpAppliesOnce(*db_); }

}  // namespace
}  // namespace plinth::runner::testing
