// The randomized isolation test on PostgreSQL (tests/data/random.h), with backends of the
// runtime role terminated at random while the workers run.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "data/pg_env.h"
#include "data/random.h"

namespace plinth::testing {
namespace {

TEST(PgRandomized, NoPrincipalObservesOrChangesARowItsPoliciesForbidWhileConnectionsDie) {
  PgEnvOptions o;
  o.pool.size = 4;
  o.pool.max_overflow = 2;
  PgEnv env(ReadSchemaFile("isolation.toml"), o);
  ASSERT_TRUE(env.ok());
  Checker c;
  RandomRun run(env, /*seed=*/20261202);
  run.Seed(c);

  std::atomic<bool> stop{false};
  std::atomic<int> killed{0};
  std::thread killer([&] {
    auto url = db::ParseUrl(AdminPgUrl());
    auto conn = db::Connect(*url);
    if (!conn.ok()) return;
    std::mt19937 rng(7);
    while (!stop) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20 + rng() % 60));
      auto r = (*conn)->Query(
          "SELECT count(pg_terminate_backend(pid)) FROM (SELECT pid FROM pg_stat_activity WHERE usename = $1 "
          "AND datname = $2 ORDER BY random() LIMIT 1) s",
          {env.runtime_role(), env.database().name()});
      if (r.ok() && !r->rows.empty() && r->rows[0][0] == "1") ++killed;
    }
  });
  run.Run(/*operations=*/2000, /*workers=*/8, c);
  stop = true;
  killer.join();
  run.Verify(c);
  EXPECT_TRUE(c.violations.empty()) << Lines(c.violations);
  std::string outcomes;
  for (const auto& [k, n] : run.stats().outcomes) outcomes += k + "=" + std::to_string(n) + " ";
  EXPECT_GT(killed.load(), 0) << "no backend was terminated: the fault was not injected";
  for (const char* k : {"insert ok", "insert policy_violation", "update ok", "delete ok", "get ok", "list ok",
                        "transact not_found"}) {
    EXPECT_GT(run.stats().outcomes.count(k) ? run.stats().outcomes.at(k) : 0, 0) << k << ": " << outcomes;
  }
  std::cout << "killed " << killed << " backends; outcomes: " << outcomes << "\n";
}

}  // namespace
}  // namespace plinth::testing
