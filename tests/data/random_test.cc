// The randomized isolation test on SQLite (tests/data/random.h): concurrent workers over the
// pool (readers and the writer), statements failing at random.
#include <gtest/gtest.h>

#include "data/random.h"

namespace plinth::testing {
namespace {

TEST(SqliteRandomized, NoPrincipalObservesOrChangesARowItsPoliciesForbid) {
  SqliteEnv env(ReadSchemaFile("isolation.toml"), EnvOptions{});
  ASSERT_TRUE(env.ok());
  Checker c;
  RandomRun run(env, /*seed=*/20261201);
  run.Seed(c);
  run.Run(/*operations=*/3000, /*workers=*/8, c);
  run.Verify(c);
  EXPECT_TRUE(c.violations.empty()) << Lines(c.violations);
  std::string outcomes;
  for (const auto& [k, n] : run.stats().outcomes) outcomes += k + "=" + std::to_string(n) + " ";
  EXPECT_EQ(run.stats().operations, 3000) << outcomes;
  // The workload reached the paths it is meant to: successes and refusals of each kind.
  for (const char* k : {"insert ok", "insert policy_violation", "update ok", "update not_found", "delete ok",
                        "get ok", "get not_found", "list ok", "upsert ok", "transact ok", "transact not_found"}) {
    EXPECT_GT(run.stats().outcomes.count(k) ? run.stats().outcomes.at(k) : 0, 0) << k << ": " << outcomes;
  }
}

}  // namespace
}  // namespace plinth::testing
