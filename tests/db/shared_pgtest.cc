// Shared connections on PostgreSQL (pg_connection.h, "shared mode"): read batches of many
// callers in one pipeline on one connection, each its own transaction — settings that end with
// their batch, failures that stay in their batch, deadlines that cancel only what overran,
// stalled connections passed over, killed backends failed over, and writes (and reads marked
// unshareable) that never share.
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_future.hpp>

#include <future>
#include <set>

#include "db/async_runner.h"
#include "db/pg_fixture.h"
#include "db/pg_test_support.h"
#include "plinth/database.h"

namespace plinth::db {
namespace {

using namespace std::chrono_literals;
using plinth::testing::Eventually;
using plinth::testing::In;
using plinth::testing::IoRunner;
using plinth::testing::MakeBatch;
using plinth::testing::TestDatabase;

PoolOptions SharedPool(int lanes = 1, int depth = 64) {
  PoolOptions o;
  o.size = 8;
  o.max_overflow = 0;
  o.shared_connections = lanes;
  o.shared_depth = depth;
  o.backoff_initial = std::chrono::milliseconds(20);
  o.backoff_max = std::chrono::milliseconds(200);
  o.cancel_grace = 3s;  // generous on a loaded machine
  return o;
}

class PgSharedTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(test_db_.ok());
    admin_ = test_db_.Connect();
    ASSERT_TRUE(admin_);
  }

  void Open(const PoolOptions& o) {
    auto url = ParseUrl(test_db_.url());
    ASSERT_TRUE(url.ok()) << url.status().ToString();
    auto db = OpenDatabase(runner_.io(), *url, o);
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    db_ = std::move(db).value();
  }

  BatchOutcome Run(BatchMode mode, std::vector<Stmt> statements, std::chrono::milliseconds limit = 10s) {
    return runner_.Await(db_->Run(MakeBatch(mode, std::move(statements)), In(limit)));
  }
  std::future<BatchOutcome> Start(BatchMode mode, std::vector<Stmt> statements, std::chrono::milliseconds limit = 10s) {
    return boost::asio::co_spawn(runner_.io(), db_->Run(MakeBatch(mode, std::move(statements)), In(limit)),
                                 boost::asio::use_future);
  }
  std::string Pid(BatchMode mode = BatchMode::kRead) {
    BatchOutcome out = Run(mode, {{"SELECT pg_backend_pid()", {}}});
    EXPECT_TRUE(out.status.ok()) << out.status.ToString();
    return out.status.ok() ? *out.results[0].rows[0][0] : "";
  }
  // Reads until the pool has opened its shared connection(s); returns the pid an idle shared
  // connection answers with (the least loaded one takes the next read).
  std::string SharedPid(int lanes = 1) {
    EXPECT_TRUE(Eventually(
        [&] {
          Pid();
          return db_->Stats().shared == lanes;
        },
        10s))
        << "the pool did not open its shared connection";
    return Pid();
  }
  std::string One(const std::string& sql, const Params& params = {}) {
    auto r = admin_->Query(sql, params);
    EXPECT_TRUE(r.ok()) << sql << ": " << r.status().ToString();
    if (!r.ok() || r->rows.empty() || !r->rows[0][0]) return "<null>";
    return *r->rows[0][0];
  }

  IoRunner runner_;
  TestDatabase test_db_;
  std::unique_ptr<Connection> admin_;
  std::unique_ptr<Database> db_;
};

TEST_F(PgSharedTest, ManyCallersShareOneConnectionEachWithItsOwnSettings) {
  Open(SharedPool(1, 64));
  const std::string lane = SharedPid();
  EXPECT_EQ(Pid(), lane) << "an idle shared connection takes the next read";
  constexpr int kCallers = 64;
  std::vector<std::future<BatchOutcome>> running;
  for (int i = 0; i < kCallers; ++i) {
    running.push_back(Start(BatchMode::kRead,
                            {{"SELECT set_config('plinth.tenant_id', $1, true)", {"tenant-" + std::to_string(i)}},
                             {"SELECT current_setting('plinth.tenant_id', true), pg_backend_pid()", {}}}));
  }
  std::set<std::string> pids;
  for (int i = 0; i < kCallers; ++i) {
    BatchOutcome out = running[static_cast<size_t>(i)].get();
    ASSERT_TRUE(out.status.ok()) << i << ": " << out.status.ToString();
    EXPECT_EQ(out.results[1].rows[0][0], "tenant-" + std::to_string(i)) << "each batch sees its own setting";
    pids.insert(*out.results[1].rows[0][1]);
  }
  EXPECT_EQ(pids, std::set<std::string>{lane}) << "all 64 batches ran on the one shared connection";
  BatchOutcome after = Run(BatchMode::kRead,
                           {{"SELECT coalesce(current_setting('plinth.tenant_id', true), ''), pg_backend_pid()", {}}});
  ASSERT_TRUE(after.status.ok()) << after.status.ToString();
  EXPECT_EQ(after.results[0].rows[0][1], lane);
  EXPECT_EQ(after.results[0].rows[0][0], "") << "no setting outlives its batch on a shared connection";
  EXPECT_EQ(db_->Stats().discarded, 0u);
}

TEST_F(PgSharedTest, AFailingBatchFailsAloneAmongItsNeighbours) {
  Open(SharedPool(1, 64));
  const std::string lane = SharedPid();
  constexpr int kCallers = 40;
  std::vector<std::future<BatchOutcome>> running;
  for (int i = 0; i < kCallers; ++i) {
    const std::string n = std::to_string(i);
    running.push_back(Start(BatchMode::kRead, {{"SELECT set_config('plinth.tenant_id', $1, true)", {n}},
                                               {i % 2 ? "SELECT 1 / ($1::int - $1::int)" : "SELECT $1::int * 2", {n}},
                                               {"SELECT current_setting('plinth.tenant_id', true)", {}}}));
  }
  for (int i = 0; i < kCallers; ++i) {
    BatchOutcome out = running[static_cast<size_t>(i)].get();
    if (i % 2) {
      EXPECT_FALSE(out.status.ok()) << i;
      EXPECT_EQ(out.status.sqlstate(), "22012") << i << ": " << out.status.ToString();
      EXPECT_EQ(out.failed_index, 1u) << i;
    } else {
      ASSERT_TRUE(out.status.ok()) << i << ": " << out.status.ToString();
      EXPECT_EQ(out.results[1].rows[0][0], std::to_string(i * 2));
      EXPECT_EQ(out.results[2].rows[0][0], std::to_string(i)) << "a neighbour's failure does not touch this batch";
    }
  }
  EXPECT_EQ(Pid(), lane) << "failures inside batches keep the shared connection";
  EXPECT_EQ(db_->Stats().discarded, 0u);
}

TEST_F(PgSharedTest, AReadPastItsDeadlineIsCancelledAndTheReadsBehindItGoOn) {
  PoolOptions o = SharedPool(1, 64);
  o.shared_stall = 60s;  // the second read queues behind the first however slow the machine
  Open(o);
  const std::string lane = SharedPid();
  const auto start = Clock::now();
  auto slow = Start(BatchMode::kRead, {{"SELECT pg_sleep(30)", {}}}, 300ms);
  auto behind = Start(BatchMode::kRead, {{"SELECT 42, pg_backend_pid()", {}}}, 10s);
  BatchOutcome timed_out = slow.get();
  const auto elapsed = Clock::now() - start;
  EXPECT_EQ(timed_out.status.code(), Code::kDeadlineExceeded) << timed_out.status.ToString();
  EXPECT_GE(elapsed, 300ms);
  EXPECT_LT(elapsed, 3000ms) << "the caller is answered at its deadline, not when the server is done";
  ASSERT_EQ(behind.wait_for(5s), std::future_status::ready) << "the cancel freed the backend for the next batch";
  BatchOutcome next = behind.get();
  ASSERT_TRUE(next.status.ok()) << next.status.ToString();
  EXPECT_EQ(next.results[0].rows[0][0], "42");
  EXPECT_GE(db_->Stats().cancels, 1u);
  EXPECT_TRUE(Eventually([&] { return One("SELECT count(*) FROM pg_stat_activity WHERE wait_event = 'PgSleep' AND datname = $1",
                                          {test_db_.name()}) == "0"; },
                         5s))
      << "the sleeping statement was cancelled on the server";
  EXPECT_EQ(Pid(), lane) << "the shared connection is kept";
}

TEST_F(PgSharedTest, ReadsArrivingBehindAStalledBatchGoElsewhere) {
  Open(SharedPool(1, 64));
  const std::string lane = SharedPid();
  auto slow = Start(BatchMode::kRead, {{"SELECT pg_sleep(2)", {}}}, 10s);
  ASSERT_TRUE(Eventually([&] { return One("SELECT count(*) FROM pg_stat_activity WHERE pid = $1 AND wait_event = 'PgSleep'",
                                          {lane}) == "1"; },
                         5s));
  std::this_thread::sleep_for(100ms);  // beyond shared_stall (50 ms)
  const auto start = Clock::now();
  const std::string other = Pid();
  EXPECT_LT(Clock::now() - start, 1000ms) << "not queued behind the 2 s sleep";
  EXPECT_NE(other, lane);
  BatchOutcome done = slow.get();
  EXPECT_TRUE(done.status.ok()) << done.status.ToString();
}

TEST_F(PgSharedTest, BatchesOnAKilledSharedBackendRunAgainElsewhere) {
  PoolOptions o = SharedPool(1, 64);
  o.shared_stall = 60s;  // the five reads queue behind the sleeper on the shared connection
  Open(o);
  ASSERT_TRUE(admin_->Exec("CREATE SEQUENCE runs").ok());
  const std::string lane = SharedPid();
  // The first run sleeps (and is killed there); its re-run does not.
  auto sleeper = Start(BatchMode::kRead, {{"SELECT pg_sleep(CASE WHEN nextval('runs') = 1 THEN 30 ELSE 0 END)", {}}}, 20s);
  ASSERT_TRUE(Eventually([&] { return One("SELECT count(*) FROM pg_stat_activity WHERE pid = $1 AND wait_event = 'PgSleep'",
                                          {lane}) == "1"; },
                         5s));
  std::vector<std::future<BatchOutcome>> behind;
  for (int i = 0; i < 5; ++i) behind.push_back(Start(BatchMode::kRead, {{"SELECT $1::int", {std::to_string(i)}}}, 20s));
  std::this_thread::sleep_for(100ms);  // they are sent
  EXPECT_EQ(One("SELECT pg_terminate_backend($1)", {lane}), "t");
  ASSERT_EQ(sleeper.wait_for(20s), std::future_status::ready);
  BatchOutcome out = sleeper.get();
  ASSERT_TRUE(out.status.ok()) << out.status.ToString();
  EXPECT_EQ(out.attempts, 2);
  for (int i = 0; i < 5; ++i) {
    BatchOutcome b = behind[static_cast<size_t>(i)].get();
    ASSERT_TRUE(b.status.ok()) << b.status.ToString();
    EXPECT_EQ(b.results[0].rows[0][0], std::to_string(i));
  }
  EXPECT_NE(Pid(), lane);
}

TEST_F(PgSharedTest, WritesAndTransactionControlNeverShare) {
  Open(SharedPool(1, 64));
  const std::string lane = SharedPid();
  EXPECT_NE(Pid(BatchMode::kWrite), lane) << "a write takes a connection of its own";
  BatchOutcome explicit_txn =
      Run(BatchMode::kRead, {{"BEGIN", {}}, {"SELECT pg_backend_pid()", {}}, {"COMMIT", {}}});
  ASSERT_TRUE(explicit_txn.status.ok()) << explicit_txn.status.ToString();
  EXPECT_NE(explicit_txn.results[1].rows[0][0], lane) << "a batch with BEGIN takes a connection of its own";
}

TEST_F(PgSharedTest, AReadMarkedUnshareableTakesAConnectionOfItsOwn) {
  Open(SharedPool(1, 64));
  const std::string lane = SharedPid();
  Batch list = MakeBatch(BatchMode::kRead, {{"SELECT pg_backend_pid()", {}}});
  list.shareable = false;
  for (int i = 0; i < 3; ++i) {
    BatchOutcome out = runner_.Await(db_->Run(list, In(10s)));
    ASSERT_TRUE(out.status.ok()) << out.status.ToString();
    EXPECT_NE(*out.results[0].rows[0][0], lane) << "an unshareable read ran on the shared connection";
  }
  EXPECT_EQ(Pid(), lane) << "the shared connection still takes the reads that may share";
}

TEST_F(PgSharedTest, APoolOfOneNeverShares) {
  PoolOptions o = SharedPool(4, 64);
  o.size = 1;
  Open(o);
  for (int i = 0; i < 5; ++i) Pid();
  EXPECT_EQ(db_->Stats().shared, 0) << "sharing would leave writes without a connection";
  EXPECT_FALSE(Pid(BatchMode::kWrite).empty());
}

TEST_F(PgSharedTest, SharingCanBeTurnedOff) {
  PoolOptions o = SharedPool(0, 64);
  Open(o);
  for (int i = 0; i < 5; ++i) Pid();
  EXPECT_EQ(db_->Stats().shared, 0);
}

}  // namespace
}  // namespace plinth::db
