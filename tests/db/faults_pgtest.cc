// Fault tests of the request-path database on PostgreSQL clusters of their own (pg_cluster.h):
// server restart while idle and under load, the server down and back (and the health check
// meanwhile), and failover to a promoted streaming replica through a multi-host URL. Backends
// killed mid-transaction and mid-batch, deadlocks and the retry budget are in
// database_pgtest.cc (the shared cluster suffices).
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>

#include <atomic>
#include <future>
#include <map>
#include <mutex>
#include <set>

#include "db/async_runner.h"
#include "db/pg_cluster.h"
#include "db/pg_test_support.h"
#include "plinth/database.h"

namespace plinth::db {
namespace {

using namespace std::chrono_literals;
using plinth::testing::Eventually;
using plinth::testing::In;
using plinth::testing::IoRunner;
using plinth::testing::MakeBatch;
using plinth::testing::PgCluster;

PoolOptions FaultPool(int size) {
  PoolOptions o;
  o.size = size;
  o.max_overflow = 0;
  o.backoff_initial = 20ms;
  o.backoff_max = 200ms;
  o.connect_timeout = 2s;
  o.cancel_grace = 500ms;
  return o;
}

std::unique_ptr<Connection> Admin(const std::string& url_text) {
  auto url = ParseUrl(url_text);
  EXPECT_TRUE(url.ok()) << url.status().ToString();
  if (!url.ok()) return nullptr;
  auto conn = Connect(*url);
  EXPECT_TRUE(conn.ok()) << conn.status().ToString();
  return conn.ok() ? std::move(conn).value() : nullptr;
}

class FaultTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string error;
    cluster_ = PgCluster::Create(&error);
    ASSERT_TRUE(cluster_) << error;
    auto admin = Admin(cluster_->Url());
    ASSERT_TRUE(admin);
    ASSERT_TRUE(admin->Exec("CREATE TABLE t (id bigint PRIMARY KEY, worker int)").ok());
  }
  std::unique_ptr<Database> Open(const std::string& url_text, const PoolOptions& o) {
    auto url = ParseUrl(url_text);
    EXPECT_TRUE(url.ok()) << url.status().ToString();
    auto db = OpenDatabase(runner_.io(), *url, o);
    EXPECT_TRUE(db.ok()) << db.status().ToString();
    return db.ok() ? std::move(db).value() : nullptr;
  }
  BatchOutcome Run(Database& db, BatchMode mode, std::vector<Stmt> statements, std::chrono::milliseconds limit = 5s) {
    return runner_.Await(db.Run(MakeBatch(mode, std::move(statements)), In(limit)));
  }
  // Runs the batch until it succeeds (reconnecting is paused between failures), within `limit`.
  BatchOutcome RunUntilOk(Database& db, BatchMode mode, const std::vector<Stmt>& statements,
                          std::chrono::milliseconds limit) {
    const auto until = Clock::now() + limit;
    BatchOutcome out;
    while (Clock::now() < until) {
      out = Run(db, mode, statements, 2s);
      if (out.status.ok()) return out;
      std::this_thread::sleep_for(20ms);
    }
    return out;
  }

  IoRunner runner_;
  std::unique_ptr<PgCluster> cluster_;
};

TEST_F(FaultTest, RestartWhileIdleIsInvisibleToTheNextCaller) {
  auto db = Open(cluster_->Url(), FaultPool(3));
  ASSERT_TRUE(db);
  ASSERT_TRUE(Run(*db, BatchMode::kWrite, {{"INSERT INTO t VALUES ($1, 0)", {"1"}}}).status.ok());
  ASSERT_TRUE(Eventually([&] { return db->Stats().idle == 3; }, 10s)) << "the pool warms up to its size";
  std::string out;
  ASSERT_TRUE(cluster_->Restart("fast", &out)) << out;
  // Every pooled connection is dead now; the next callers must not notice.
  for (int i = 2; i < 6; ++i) {
    BatchOutcome w = Run(*db, BatchMode::kWrite, {{"INSERT INTO t VALUES ($1, 0)", {std::to_string(i)}}});
    ASSERT_TRUE(w.status.ok()) << "insert " << i << ": " << w.status.ToString();
    EXPECT_EQ(w.attempts, 1);
  }
  EXPECT_GE(db->Stats().discarded, 1u);
  EXPECT_EQ(db->Stats().commit_unknown, 0u);
}

TEST_F(FaultTest, RestartUnderLoadRecoversAndNoCallOverrunsItsDeadline) {
  auto db = Open(cluster_->Url(), FaultPool(4));
  ASSERT_TRUE(db);
  constexpr int kWorkers = 6;
  constexpr auto kDeadline = 1500ms;
  constexpr auto kSlack = 700ms;  // scheduling on a loaded 2-core machine
  std::atomic<bool> stop{false};
  std::atomic<int64_t> next_id{100};
  std::mutex mu;
  std::set<int64_t> acknowledged;
  std::map<Code, int> outcomes;
  Clock::duration worst_overrun{0};
  std::atomic<int> ok_after_restart{0};
  std::atomic<bool> restarted{false};

  auto worker = [&](int w) -> boost::asio::awaitable<void> {
    while (!stop) {
      const int64_t id = next_id++;
      const bool write = id % 2 == 0;
      Batch batch = write ? MakeBatch(BatchMode::kWrite, {{"INSERT INTO t VALUES ($1, $2)", {std::to_string(id), std::to_string(w)}}})
                          : MakeBatch(BatchMode::kRead, {{"SELECT count(*) FROM t WHERE worker = $1", {std::to_string(w)}}});
      const Clock::time_point deadline = In(kDeadline);
      BatchOutcome out = co_await db->Run(std::move(batch), deadline);
      const Clock::time_point done = Clock::now();
      {
        std::lock_guard lock(mu);
        outcomes[out.status.code()]++;
        if (done > deadline) worst_overrun = std::max(worst_overrun, done - deadline);
        if (write && out.status.ok()) acknowledged.insert(id);
      }
      if (out.status.ok() && restarted) ++ok_after_restart;
      if (!out.status.ok()) {
        boost::asio::steady_timer pause(co_await boost::asio::this_coro::executor);
        pause.expires_after(10ms);
        co_await pause.async_wait(boost::asio::use_awaitable);
      }
    }
  };
  std::vector<std::future<void>> running;
  for (int w = 0; w < kWorkers; ++w) {
    running.push_back(boost::asio::co_spawn(runner_.io(), worker(w), boost::asio::use_future));
  }
  ASSERT_TRUE(Eventually([&] { return next_id > 300; }, 20s)) << "load never got going";
  std::string out;
  ASSERT_TRUE(cluster_->Restart("fast", &out)) << out;
  restarted = true;
  EXPECT_TRUE(Eventually([&] { return ok_after_restart >= 50; }, 20s)) << "the pool did not recover";
  stop = true;
  for (auto& f : running) ASSERT_EQ(f.wait_for(10s), std::future_status::ready) << "a worker hung";
  for (auto& f : running) f.get();

  std::lock_guard lock(mu);
  EXPECT_LT(worst_overrun, kSlack) << "a call returned long after its deadline";
  for (const auto& [code, n] : outcomes) {
    EXPECT_TRUE(code == Code::kOk || code == Code::kUnavailable || code == Code::kCommitUnknown ||
                code == Code::kDeadlineExceeded)
        << n << " calls ended with " << CodeName(code);
  }
  auto admin = Admin(cluster_->Url());
  ASSERT_TRUE(admin);
  auto rows = admin->Query("SELECT id FROM t");
  ASSERT_TRUE(rows.ok());
  std::set<int64_t> present;
  for (const auto& r : rows->rows) present.insert(std::stoll(*r[0]));
  for (int64_t id : acknowledged) EXPECT_TRUE(present.count(id)) << "acknowledged insert " << id << " is missing";
  EXPECT_GT(acknowledged.size(), 50u);
}

TEST_F(FaultTest, ServerDownFailsFastAndTheSameCallsSucceedOnceItIsBack) {
  auto db = Open(cluster_->Url(), FaultPool(2));
  ASSERT_TRUE(db);
  ASSERT_TRUE(Run(*db, BatchMode::kRead, {{"SELECT 1", {}}}).status.ok());
  std::string out;
  ASSERT_TRUE(cluster_->Stop("fast", &out)) << out;
  for (int i = 0; i < 10; ++i) {
    const auto start = Clock::now();
    BatchOutcome r = Run(*db, BatchMode::kRead, {{"SELECT 1", {}}}, 1s);
    EXPECT_EQ(r.status.code(), Code::kUnavailable) << r.status.ToString();
    EXPECT_LT(Clock::now() - start, 1500ms);
  }
  EXPECT_TRUE(db->Stats().backing_off);
  // The health check says so too, in time, without a connection.
  const auto checked = Clock::now();
  Ping down = runner_.Await(db->Check(In(1s)));
  EXPECT_LT(Clock::now() - checked, 1500ms);
  EXPECT_FALSE(down.connected);
  EXPECT_EQ(down.status.code(), Code::kUnavailable) << down.status.ToString();
  ASSERT_TRUE(cluster_->Start(&out)) << out;
  BatchOutcome back = RunUntilOk(*db, BatchMode::kWrite, {{"INSERT INTO t VALUES ($1, 0)", {"7"}}}, 15s);
  ASSERT_TRUE(back.status.ok()) << back.status.ToString();
  EXPECT_FALSE(db->Stats().backing_off);
  Ping up = runner_.Await(db->Check(In(5s)));
  EXPECT_TRUE(up.connected) << up.status.ToString();
  EXPECT_GT(up.latency_ms, 0);
}

TEST_F(FaultTest, WritesResumeOnAPromotedReplicaThroughAMultiHostUrl) {
  std::string error;
  auto replica = cluster_->CreateReplica(&error);
  ASSERT_TRUE(replica) << error;
  auto on_replica = Admin(replica->Url());
  ASSERT_TRUE(on_replica);
  const std::string url = "postgresql://postgres@127.0.0.1:" + std::to_string(cluster_->port()) + ",127.0.0.1:" +
                          std::to_string(replica->port()) + "/postgres?target_session_attrs=read-write&sslmode=disable";
  auto db = Open(url, FaultPool(2));
  ASSERT_TRUE(db);
  const std::vector<Stmt> where = {{"SELECT inet_server_port(), pg_is_in_recovery()", {}}};
  BatchOutcome before = Run(*db, BatchMode::kWrite, {{"INSERT INTO t VALUES ($1, 0)", {"1"}}, where[0]});
  ASSERT_TRUE(before.status.ok()) << before.status.ToString();
  EXPECT_EQ(before.results[1].rows[0][0], std::to_string(cluster_->port())) << "writes go to the primary";
  ASSERT_TRUE(Eventually(
      [&] {
        auto r = on_replica->Query("SELECT count(*) FROM t");
        return r.ok() && r->rows[0][0] == "1";
      },
      20s))
      << "the replica never caught up";

  std::string out;
  ASSERT_TRUE(cluster_->Stop("fast", &out)) << out;
  // Between the primary's end and the promotion no server accepts writes: calls fail, in time.
  const auto start = Clock::now();
  BatchOutcome during = Run(*db, BatchMode::kWrite, {{"INSERT INTO t VALUES ($1, 0)", {"2"}}}, 2s);
  EXPECT_FALSE(during.status.ok());
  EXPECT_EQ(during.status.code(), Code::kUnavailable) << during.status.ToString();
  EXPECT_LT(Clock::now() - start, 3s);

  ASSERT_TRUE(replica->Promote(&out)) << out;
  BatchOutcome after = RunUntilOk(*db, BatchMode::kWrite, {{"INSERT INTO t VALUES ($1, 0)", {"3"}}, where[0]}, 20s);
  ASSERT_TRUE(after.status.ok()) << after.status.ToString();
  EXPECT_EQ(after.results[1].rows[0][0], std::to_string(replica->port())) << "writes resumed on the new primary";
  EXPECT_EQ(after.results[1].rows[0][1], "f");
  auto r = on_replica->Query("SELECT id FROM t ORDER BY id");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->rows.size(), 2u);
  EXPECT_EQ(r->rows[1][0], "3");
}

}  // namespace
}  // namespace plinth::db
