// The request-path database on PostgreSQL (the shared test cluster): pipelined batches, the
// statement cache, transaction-local settings, errors, the pool, deadlines, retries,
// interactive transactions, LISTEN/NOTIFY, and faults injected by a TCP proxy.
#include <gtest/gtest.h>

#include <fstream>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_future.hpp>

#include <future>
#include <mutex>

#include "db/async_runner.h"
#include "db/pg_fixture.h"
#include "db/pg_test_support.h"
#include "db/tcp_proxy.h"
#include "plinth/database.h"

namespace plinth::db {
namespace {

using namespace std::chrono_literals;
using plinth::testing::Eventually;
using plinth::testing::HostPortOf;
using plinth::testing::In;
using plinth::testing::IoRunner;
using plinth::testing::MakeBatch;
using plinth::testing::TcpProxy;
using plinth::testing::TestDatabase;

PoolOptions SmallPool(int size = 1) {
  PoolOptions o;
  o.size = size;
  o.max_overflow = 0;
  o.backoff_initial = 20ms;
  o.backoff_max = 200ms;
  return o;
}

class PgDatabaseTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(test_db_.ok());
    admin_ = test_db_.Connect();
    ASSERT_TRUE(admin_);
  }

  std::unique_ptr<Database> Open(const PoolOptions& o, const std::string& url_text) {
    auto url = ParseUrl(url_text);
    EXPECT_TRUE(url.ok()) << url.status().ToString();
    auto db = OpenDatabase(runner_.io(), *url, o);
    EXPECT_TRUE(db.ok()) << db.status().ToString();
    return db.ok() ? std::move(db).value() : nullptr;
  }
  void Open(const PoolOptions& o = SmallPool()) {
    db_ = Open(o, test_db_.url());
    ASSERT_TRUE(db_);
  }
  // The test database's URL through `proxy`.
  std::string ProxiedUrl(const TcpProxy& proxy) const {
    return "postgresql://postgres@127.0.0.1:" + std::to_string(proxy.port()) + "/" + test_db_.name() +
           "?sslmode=disable";
  }
  TcpProxy MakeProxy() const {
    auto hp = HostPortOf(test_db_.url());
    return TcpProxy(hp.host, hp.port);
  }

  BatchOutcome Run(Database& db, BatchMode mode, std::vector<Stmt> statements, std::chrono::milliseconds limit = 10s) {
    return runner_.Await(db.Run(MakeBatch(mode, std::move(statements)), In(limit)));
  }
  BatchOutcome Run(BatchMode mode, std::vector<Stmt> statements, std::chrono::milliseconds limit = 10s) {
    return Run(*db_, mode, std::move(statements), limit);
  }
  std::string One(const std::string& sql, const Params& params = {}) {
    auto r = admin_->Query(sql, params);
    EXPECT_TRUE(r.ok()) << sql << ": " << r.status().ToString();
    if (!r.ok() || r->rows.empty() || !r->rows[0][0]) return "<null>";
    return *r->rows[0][0];
  }
  std::string Pid(Database& db) {
    BatchOutcome out = Run(db, BatchMode::kRead, {{"SELECT pg_backend_pid()", {}}});
    EXPECT_TRUE(out.status.ok()) << out.status.ToString();
    return out.status.ok() ? *out.results[0].rows[0][0] : "";
  }

  IoRunner runner_;
  TestDatabase test_db_;
  std::unique_ptr<Connection> admin_;
  std::unique_ptr<Database> db_;
};

TEST_F(PgDatabaseTest, RunsABatchWithTextResults) {
  Open();
  ASSERT_TRUE(admin_->Exec("CREATE TABLE t (id int PRIMARY KEY, name text, note text)").ok());
  BatchOutcome out = Run(BatchMode::kWrite, {{"INSERT INTO t VALUES ($1, $2, $3)", {"1", "a", std::nullopt}},
                                             {"INSERT INTO t VALUES ($1, $2) RETURNING id, name", {"2", "b"}},
                                             {"UPDATE t SET note = 'x' WHERE id >= $1", {"1"}},
                                             {"SELECT id, name, note, $1::text IS NULL AS n FROM t ORDER BY id", {std::nullopt}}});
  ASSERT_TRUE(out.status.ok()) << out.status.ToString();
  ASSERT_EQ(out.results.size(), 4u);
  EXPECT_EQ(out.results[0].affected, 1);
  EXPECT_EQ(out.results[1].affected, 1);
  EXPECT_EQ(out.results[1].rows[0][1], "b") << "RETURNING rows come back";
  EXPECT_EQ(out.results[2].affected, 2);
  EXPECT_EQ(out.results[3].affected, 0) << "a SELECT changes nothing";
  EXPECT_EQ(out.results[3].columns, (std::vector<std::string>{"id", "name", "note", "n"}));
  ASSERT_EQ(out.results[3].rows.size(), 2u);
  EXPECT_EQ(out.results[3].rows[0][2], "x");
  EXPECT_EQ(out.results[3].rows[0][3], "t");
  BatchOutcome empty = Run(BatchMode::kRead, {});
  EXPECT_TRUE(empty.status.ok()) << "an empty batch is a Sync";
}

TEST_F(PgDatabaseTest, ABatchIsOneRoundTripIncludingItsPrepares) {
  TcpProxy proxy = MakeProxy();
  db_ = Open(SmallPool(), ProxiedUrl(proxy));
  ASSERT_TRUE(db_);
  ASSERT_TRUE(Run(BatchMode::kRead, {{"SELECT 1", {}}}).status.ok());  // connected
  std::vector<Stmt> batch{{"SELECT set_config('plinth.tenant_id', $1, true)", {"t1"}}};
  for (int i = 0; i < 9; ++i) batch.push_back({"SELECT $1::int + " + std::to_string(i), {std::to_string(i)}});
  proxy.ResetCounters();
  const uint64_t prepares_before = db_->Stats().prepares;
  BatchOutcome first = Run(BatchMode::kRead, batch);
  ASSERT_TRUE(first.status.ok()) << first.status.ToString();
  EXPECT_EQ(db_->Stats().prepares - prepares_before, 10u) << "a first use prepares";
  EXPECT_EQ(proxy.client_flights(), 1) << "prepares and executions of 10 statements left in one flight";
  EXPECT_EQ(proxy.syncs_forwarded(), 1);
  BatchOutcome second = Run(BatchMode::kRead, batch);
  ASSERT_TRUE(second.status.ok());
  EXPECT_EQ(db_->Stats().prepares - prepares_before, 10u) << "the second use hits the cache";
  EXPECT_EQ(proxy.client_flights(), 2);
  EXPECT_EQ(*second.results[9].rows[0][0], "16");

  // With 60 ms each way (a 120 ms round trip), ten statements take one round trip, not ten.
  proxy.set_delay(60ms);
  const auto start = Clock::now();
  BatchOutcome slow = Run(BatchMode::kRead, batch);
  const auto elapsed = Clock::now() - start;
  ASSERT_TRUE(slow.status.ok()) << slow.status.ToString();
  EXPECT_GE(elapsed, 120ms);
  EXPECT_LT(elapsed, 360ms) << "ten sequential round trips would take 1.2 s";
}

TEST_F(PgDatabaseTest, TransactionLocalSettingsDoNotLeakToTheNextBatch) {
  Open(SmallPool(1));
  BatchOutcome first = Run(BatchMode::kRead, {{"SELECT set_config('plinth.tenant_id', $1, true)", {"tenant-a"}},
                                              {"SELECT current_setting('plinth.tenant_id', true), pg_backend_pid()", {}}});
  ASSERT_TRUE(first.status.ok()) << first.status.ToString();
  EXPECT_EQ(first.results[1].rows[0][0], "tenant-a");
  BatchOutcome second = Run(BatchMode::kRead, {{"SELECT coalesce(current_setting('plinth.tenant_id', true), ''), pg_backend_pid()", {}}});
  ASSERT_TRUE(second.status.ok()) << second.status.ToString();
  EXPECT_EQ(second.results[0].rows[0][1], first.results[1].rows[0][1]) << "same pooled connection";
  EXPECT_EQ(second.results[0].rows[0][0], "") << "the setting ended with batch 1's transaction";
}

TEST_F(PgDatabaseTest, ExplicitBeginLeftOpenByAFailureIsRolledBackBeforeReuse) {
  Open(SmallPool(1));
  ASSERT_TRUE(admin_->Exec("CREATE TABLE t (id int PRIMARY KEY)").ok());
  // The SET LOCAL strategy (Citus): BEGIN; SET LOCAL …; statements; COMMIT in one flush.
  BatchOutcome ok = Run(BatchMode::kWrite, {{"BEGIN", {}},
                                            {"SET LOCAL plinth.tenant_id = 'a'", {}},
                                            {"INSERT INTO t VALUES ($1)", {"1"}},
                                            {"COMMIT", {}}});
  ASSERT_TRUE(ok.status.ok()) << ok.status.ToString();
  BatchOutcome bad = Run(BatchMode::kWrite, {{"BEGIN", {}},
                                             {"INSERT INTO t VALUES ($1)", {"2"}},
                                             {"INSERT INTO t VALUES ($1)", {"1"}},
                                             {"COMMIT", {}}});
  EXPECT_EQ(bad.status.code(), Code::kAlreadyExists);
  EXPECT_EQ(bad.failed_index, 2u);
  BatchOutcome next = Run(BatchMode::kRead, {{"SELECT count(*), current_setting('transaction_isolation') FROM t", {}}});
  ASSERT_TRUE(next.status.ok()) << "the connection was rolled back, not left in a failed transaction: "
                                << next.status.ToString();
  EXPECT_EQ(next.results[0].rows[0][0], "1");
  EXPECT_EQ(db_->Stats().discarded, 0u);
}

TEST_F(PgDatabaseTest, ErrorsNameTheFailedStatementAndConstraintAndCommitNothing) {
  Open();
  ASSERT_TRUE(admin_->Exec(R"(
      CREATE TABLE parents (id int PRIMARY KEY, email text CONSTRAINT parents_email_key UNIQUE);
      CREATE TABLE children (id int PRIMARY KEY,
                             parent_id int CONSTRAINT children_parent_id_fkey REFERENCES parents(id));
      INSERT INTO parents VALUES (1, 'a@example.com');)").ok());
  BatchOutcome fk = Run(BatchMode::kWrite, {{"INSERT INTO children VALUES ($1, $2)", {"1", "1"}},
                                            {"INSERT INTO children VALUES ($1, $2)", {"2", "99"}},
                                            {"INSERT INTO children VALUES ($1, $2)", {"3", "1"}}});
  ASSERT_FALSE(fk.status.ok());
  EXPECT_EQ(fk.status.code(), Code::kConstraintViolation);
  EXPECT_EQ(fk.status.sqlstate(), "23503");
  EXPECT_EQ(fk.status.object(), "children_parent_id_fkey");
  EXPECT_EQ(fk.failed_index, 1u);
  EXPECT_TRUE(fk.results.empty());
  EXPECT_EQ(One("SELECT count(*) FROM children"), "0") << "statement 0 was rolled back with the batch";
  BatchOutcome dup = Run(BatchMode::kWrite, {{"INSERT INTO parents VALUES ($1, $2)", {"2", "a@example.com"}}});
  EXPECT_EQ(dup.status.code(), Code::kAlreadyExists);
  EXPECT_EQ(dup.status.object(), "parents_email_key");
  BatchOutcome syntax = Run(BatchMode::kRead, {{"SELECT 1", {}}, {"SELEKT $1", {"x"}}});
  EXPECT_EQ(syntax.status.code(), Code::kInvalidArgument);
  EXPECT_EQ(syntax.failed_index, 1u) << "a failed Prepare is reported on its statement";
  BatchOutcome params = Run(BatchMode::kRead, {{"SELECT $1::int + $2::int", {"1"}}});
  EXPECT_EQ(params.status.code(), Code::kInvalidArgument) << params.status.ToString();
  EXPECT_TRUE(Run(BatchMode::kRead, {{"SELECT 1", {}}}).status.ok()) << "the connection is still fine";
}

TEST_F(PgDatabaseTest, PreparedStatementsAreCachedPerConnectionAndEvicted) {
  PoolOptions o = SmallPool(1);
  o.statement_cache = 2;
  Open(o);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(Run(BatchMode::kRead, {{"SELECT $1::int + 1", {"1"}}}).status.ok());
  EXPECT_EQ(db_->Stats().prepares, 1u);
  BatchOutcome listed = Run(BatchMode::kRead, {{"SELECT statement FROM pg_prepared_statements", {}}});
  ASSERT_TRUE(listed.status.ok());
  ASSERT_EQ(listed.results[0].rows.size(), 1u);
  EXPECT_EQ(listed.results[0].rows[0][0], "SELECT $1::int + 1");
  for (int i = 2; i <= 5; ++i) {
    ASSERT_TRUE(Run(BatchMode::kRead, {{"SELECT $1::int + " + std::to_string(i), {"1"}}}).status.ok());
  }
  BatchOutcome count = Run(BatchMode::kRead, {{"SELECT count(*) FROM pg_prepared_statements", {}}});
  ASSERT_TRUE(count.status.ok());
  EXPECT_EQ(count.results[0].rows[0][0], "2") << "evicted statements were deallocated on the server";
  EXPECT_EQ(db_->Stats().prepares, 5u);
}

TEST_F(PgDatabaseTest, StaleCachedPlanIsPreparedAgainAndRetried) {
  Open(SmallPool(1));
  ASSERT_TRUE(admin_->Exec("CREATE TABLE s (id int, a int); INSERT INTO s VALUES (1, 10)").ok());
  ASSERT_TRUE(Run(BatchMode::kRead, {{"SELECT * FROM s WHERE id = $1", {"1"}}}).status.ok());
  ASSERT_TRUE(admin_->Exec("ALTER TABLE s ADD COLUMN b int").ok());
  BatchOutcome out = Run(BatchMode::kRead, {{"SELECT * FROM s WHERE id = $1", {"1"}}});
  ASSERT_TRUE(out.status.ok()) << out.status.ToString();
  EXPECT_EQ(out.results[0].columns.size(), 3u);
  EXPECT_EQ(out.attempts, 2);
}

TEST_F(PgDatabaseTest, RolesNeverChangeOnPooledConnectionsAndCachedPlansFollowTheRole) {
  Open(SmallPool(1));
  const std::string a = test_db_.name() + "_a", b = test_db_.name() + "_b";
  ASSERT_TRUE(admin_->Exec("CREATE ROLE " + QuoteIdent(a) + "; CREATE ROLE " + QuoteIdent(b) + ";"
                           "CREATE TABLE notes (owner name, body text);"
                           "ALTER TABLE notes ENABLE ROW LEVEL SECURITY; ALTER TABLE notes FORCE ROW LEVEL SECURITY;"
                           "CREATE POLICY own ON notes USING (owner = current_user);"
                           "GRANT SELECT ON notes TO " + QuoteIdent(a) + ", " + QuoteIdent(b) + ";"
                           "INSERT INTO notes VALUES (" + QuoteLiteral(a) + ", 'a1'), (" + QuoteLiteral(a) +
                           ", 'a2'), (" + QuoteLiteral(b) + ", 'b1')").ok());
  // Session-level role changes are refused before anything is sent.
  for (const std::string& sql : {"SET ROLE " + QuoteIdent(a), std::string("SET SESSION AUTHORIZATION DEFAULT"),
                                  std::string("RESET ROLE")}) {
    BatchOutcome refused = Run(BatchMode::kRead, {{"SELECT 1", {}}, {sql, {}}});
    EXPECT_EQ(refused.status.code(), Code::kInvalidArgument) << sql;
    EXPECT_EQ(refused.failed_index, 1u);
  }
  // Prepared once (as the first role), executed under another: PostgreSQL re-plans for the
  // role (T10), and the role ends with the transaction.
  const std::string count = "SELECT count(*), current_user FROM notes WHERE body LIKE $1";
  BatchOutcome as_a = Run(BatchMode::kRead, {{"SET LOCAL ROLE " + QuoteIdent(a), {}}, {count, {"%"}}});
  ASSERT_TRUE(as_a.status.ok()) << as_a.status.ToString();
  const uint64_t prepares = db_->Stats().prepares;
  BatchOutcome as_b = Run(BatchMode::kRead, {{"SET LOCAL ROLE " + QuoteIdent(b), {}}, {count, {"%"}}});
  ASSERT_TRUE(as_b.status.ok()) << as_b.status.ToString();
  EXPECT_EQ(db_->Stats().prepares, prepares) << "the cached statement was reused";
  EXPECT_EQ(as_a.results[1].rows[0][0], "2");
  EXPECT_EQ(as_a.results[1].rows[0][1], a);
  EXPECT_EQ(as_b.results[1].rows[0][0], "1");
  EXPECT_EQ(as_b.results[1].rows[0][1], b);
  BatchOutcome after = Run(BatchMode::kRead, {{"SELECT current_user, session_user", {}}});
  ASSERT_TRUE(after.status.ok());
  EXPECT_EQ(after.results[0].rows[0][0], "postgres");
  EXPECT_EQ(after.results[0].rows[0][1], "postgres");
  db_.reset();
  ASSERT_TRUE(admin_->Exec("DROP TABLE notes; DROP ROLE " + QuoteIdent(a) + "; DROP ROLE " + QuoteIdent(b)).ok());
}

TEST_F(PgDatabaseTest, PoolExhaustionFailsWithinTheDeadline) {
  PoolOptions o = SmallPool(1);
  o.acquire_timeout = 5s;
  Open(o);
  auto held = runner_.Await(db_->Begin(BatchMode::kWrite, In(30s)));
  ASSERT_TRUE(held.ok()) << held.status().ToString();
  ASSERT_TRUE(runner_.Await((*held)->Run({{"SELECT 1", {}}})).status.ok());
  // Five callers wait at once; each gets its answer at its own deadline.
  constexpr int kWaiters = 5;
  const auto start = Clock::now();
  std::vector<std::future<BatchOutcome>> waiting;
  for (int i = 0; i < kWaiters; ++i) {
    waiting.push_back(boost::asio::co_spawn(
        runner_.io(), db_->Run(MakeBatch(BatchMode::kRead, {{"SELECT 1", {}}}), start + 200ms + i * 50ms),
        boost::asio::use_future));
  }
  for (int i = 0; i < kWaiters; ++i) {
    ASSERT_EQ(waiting[i].wait_for(5s), std::future_status::ready);
    BatchOutcome out = waiting[i].get();
    const auto waited = Clock::now() - start;
    EXPECT_EQ(out.status.code(), Code::kDeadlineExceeded) << out.status.ToString();
    EXPECT_GE(waited, 200ms + i * 50ms - 20ms) << "caller " << i;
    EXPECT_LT(waited, 1000ms + i * 50ms) << "caller " << i;
  }
  EXPECT_EQ(db_->Stats().waiting, 0);
  runner_.Await((*held)->Rollback());
  EXPECT_TRUE(Run(BatchMode::kRead, {{"SELECT 1", {}}}).status.ok());
  EXPECT_GE(db_->Stats().timeouts, static_cast<uint64_t>(kWaiters));
}

TEST_F(PgDatabaseTest, AcquireTimeoutShorterThanTheDeadlineIsPoolExhausted) {
  PoolOptions o = SmallPool(1);
  o.acquire_timeout = 100ms;
  Open(o);
  auto held = runner_.Await(db_->Begin(BatchMode::kRead, In(30s)));
  ASSERT_TRUE(held.ok());
  ASSERT_TRUE(runner_.Await((*held)->Run({{"SELECT 1", {}}})).status.ok());
  auto start = Clock::now();
  BatchOutcome out = Run(BatchMode::kRead, {{"SELECT 1", {}}}, 10s);
  EXPECT_LT(Clock::now() - start, 1000ms);
  EXPECT_EQ(out.status.code(), Code::kUnavailable);
  EXPECT_NE(out.status.message().find("exhausted"), std::string::npos) << out.status.message();
}

TEST_F(PgDatabaseTest, MaxWaitersRefusesTheNextCallerAtOnceAndServesTheOthers) {
  PoolOptions o = SmallPool(1);
  o.max_waiters = 2;
  Open(o);
  auto held = runner_.Await(db_->Begin(BatchMode::kRead, In(30s)));
  ASSERT_TRUE(held.ok());
  ASSERT_TRUE(runner_.Await((*held)->Run({{"SELECT 1", {}}})).status.ok());
  std::vector<std::future<BatchOutcome>> waiting;
  for (int i = 0; i < 2; ++i) {
    waiting.push_back(boost::asio::co_spawn(
        runner_.io(), db_->Run(MakeBatch(BatchMode::kRead, {{"SELECT 1", {}}}), In(10s)), boost::asio::use_future));
  }
  ASSERT_TRUE(Eventually([&] { return db_->Stats().waiting == 2; }, 5s));
  auto start = Clock::now();
  BatchOutcome refused = Run(BatchMode::kRead, {{"SELECT 1", {}}}, 10s);
  EXPECT_LT(Clock::now() - start, 200ms) << "refused at once, not after waiting";
  EXPECT_EQ(refused.status.code(), Code::kUnavailable);
  EXPECT_NE(refused.status.message().find("max_waiters"), std::string::npos) << refused.status.message();
  runner_.Await((*held)->Rollback());
  for (auto& f : waiting) {
    ASSERT_EQ(f.wait_for(10s), std::future_status::ready);
    EXPECT_TRUE(f.get().status.ok());
  }
}

TEST_F(PgDatabaseTest, ConnectionsAreRecycledAtTheEndOfTheirLifetime) {
  PoolOptions o = SmallPool(1);
  o.recycle = 1s;
  o.recycle_jitter = 0;
  Open(o);
  const std::string first = Pid(*db_);
  std::this_thread::sleep_for(1100ms);  // let the lifetime pass
  const std::string second = Pid(*db_);
  EXPECT_NE(first, second);
  EXPECT_GE(db_->Stats().recycled, 1u);
  EXPECT_EQ(db_->Stats().discarded, 0u);
}

TEST_F(PgDatabaseTest, OnlyConnectionsIdleLongerThanTheThresholdAreValidated) {
  TcpProxy proxy = MakeProxy();
  PoolOptions o = SmallPool(1);
  o.validate_idle_after = 300ms;
  db_ = Open(o, ProxiedUrl(proxy));
  ASSERT_TRUE(db_);
  ASSERT_TRUE(Run(BatchMode::kRead, {{"SELECT 1", {}}}).status.ok());
  proxy.ResetCounters();
  ASSERT_TRUE(Run(BatchMode::kRead, {{"SELECT 1", {}}}).status.ok());
  EXPECT_EQ(proxy.client_flights(), 1) << "a recently used connection is not pinged";
  std::this_thread::sleep_for(400ms);  // idle past the threshold
  ASSERT_TRUE(Run(BatchMode::kRead, {{"SELECT 1", {}}}).status.ok());
  EXPECT_EQ(proxy.client_flights(), 3) << "one validation round trip, then the batch";
}

TEST_F(PgDatabaseTest, ABatchPastItsDeadlineIsCancelledAndTheConnectionKept) {
  PoolOptions o = SmallPool(1);
  o.cancel_grace = 3s;  // generous on a loaded machine; the answer normally takes milliseconds
  Open(o);
  ASSERT_TRUE(admin_->Exec("CREATE TABLE t (id int)").ok());
  const std::string pid = Pid(*db_);
  auto start = Clock::now();
  BatchOutcome out = Run(BatchMode::kWrite, {{"INSERT INTO t VALUES ($1)", {"1"}}, {"SELECT pg_sleep(30)", {}}}, 300ms);
  auto elapsed = Clock::now() - start;
  EXPECT_EQ(out.status.code(), Code::kDeadlineExceeded) << out.status.ToString();
  EXPECT_NE(out.status.message().find("nothing was committed"), std::string::npos) << out.status.message();
  EXPECT_GE(elapsed, 300ms);
  EXPECT_LT(elapsed, 3000ms);
  EXPECT_EQ(db_->Stats().cancels, 1u);
  EXPECT_EQ(One("SELECT count(*) FROM t"), "0");
  EXPECT_EQ(Pid(*db_), pid) << "the cancelled connection answered and was kept";
  EXPECT_EQ(db_->Stats().discarded, 0u);
}

TEST_F(PgDatabaseTest, SerializationFailureIsRetriedAndCounted) {
  Open(SmallPool(2));
  ASSERT_TRUE(admin_->Exec("CREATE TABLE acct (id int PRIMARY KEY, v int); INSERT INTO acct VALUES (1, 0)").ok());
  auto tx = runner_.Await(db_->Begin(BatchMode::kWrite, In(30s)));
  ASSERT_TRUE(tx.ok());
  ASSERT_TRUE(runner_.Await((*tx)->Run({{"UPDATE acct SET v = v + 1 WHERE id = $1", {"1"}}})).status.ok());
  // A serializable batch takes its snapshot, then waits for the row the transaction holds.
  auto conflicting = boost::asio::co_spawn(
      runner_.io(),
      db_->Run(MakeBatch(BatchMode::kWrite, {{"SET TRANSACTION ISOLATION LEVEL SERIALIZABLE", {}},
                                             {"UPDATE acct SET v = v + 10 WHERE id = $1 RETURNING v", {"1"}}}),
               In(30s)),
      boost::asio::use_future);
  ASSERT_TRUE(Eventually(
      [&] {
        return One("SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND wait_event_type = 'Lock'",
                   {test_db_.name()}) == "1";
      },
      10s))
      << "the batch never waited for the lock";
  ASSERT_TRUE(runner_.Await((*tx)->Commit()).ok());
  ASSERT_EQ(conflicting.wait_for(30s), std::future_status::ready);
  BatchOutcome out = conflicting.get();
  ASSERT_TRUE(out.status.ok()) << out.status.ToString();
  EXPECT_EQ(out.attempts, 2) << "40001 on the first run, then a fresh snapshot";
  EXPECT_EQ(out.results[1].rows[0][0], "11");
  EXPECT_EQ(db_->Stats().retries, 1u);
}

// A real deadlock: the batch's own detector (deadlock_timeout 1s, the transaction's 1 min)
// picks the batch as the victim; Run retries it after a backoff and it succeeds.
TEST_F(PgDatabaseTest, ADeadlockVictimIsRetriedAndSucceeds) {
  Open(SmallPool(2));
  ASSERT_TRUE(admin_->Exec("CREATE TABLE acct (id int PRIMARY KEY, v int); INSERT INTO acct VALUES (1, 0), (2, 0)").ok());
  auto tx = runner_.Await(db_->Begin(BatchMode::kWrite, In(30s)));
  ASSERT_TRUE(tx.ok()) << tx.status().ToString();
  ASSERT_TRUE(runner_.Await((*tx)->Run({{"SET LOCAL deadlock_timeout = '1min'", {}},
                                        {"UPDATE acct SET v = v + 1 WHERE id = $1", {"1"}}}))
                  .status.ok());
  // The batch locks row 2, then waits for row 1 (held by the transaction).
  auto victim = boost::asio::co_spawn(
      runner_.io(),
      db_->Run(MakeBatch(BatchMode::kWrite, {{"SET LOCAL deadlock_timeout = '1s'", {}},
                                             {"UPDATE acct SET v = v + 10 WHERE id = $1", {"2"}},
                                             {"UPDATE acct SET v = v + 10 WHERE id = $1 RETURNING v", {"1"}}}),
               In(30s)),
      boost::asio::use_future);
  ASSERT_TRUE(Eventually(
      [&] {
        return One("SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND wait_event_type = 'Lock'",
                   {test_db_.name()}) == "1";
      },
      10s))
      << "the batch never waited for the lock";
  // The transaction now waits for row 2: a cycle, which the batch's detector finds first.
  std::vector<Stmt> second = {{"UPDATE acct SET v = v + 1 WHERE id = $1", {"2"}}};
  auto closing = boost::asio::co_spawn(runner_.io(), (*tx)->Run(second), boost::asio::use_future);
  ASSERT_EQ(closing.wait_for(20s), std::future_status::ready) << "the deadlock was not broken";
  BatchOutcome closed = closing.get();
  ASSERT_TRUE(closed.status.ok()) << "the transaction is not the victim: " << closed.status.ToString();
  ASSERT_TRUE(runner_.Await((*tx)->Commit()).ok());
  ASSERT_EQ(victim.wait_for(20s), std::future_status::ready);
  BatchOutcome out = victim.get();
  ASSERT_TRUE(out.status.ok()) << out.status.ToString();
  EXPECT_EQ(out.attempts, 2) << "40P01 on the first run, then a clean second run";
  EXPECT_EQ(out.results[2].rows[0][0], "11");
  EXPECT_EQ(One("SELECT string_agg(v::text, ',' ORDER BY id) FROM acct"), "11,11") << "each update applied once";
  EXPECT_EQ(db_->Stats().retries, 1u);
}

// Failures injected by the server itself (RAISE … USING ERRCODE, counted by a sequence, which
// no rollback resets): retried while the budget and the deadline allow, then reported.
TEST_F(PgDatabaseTest, RetriesStayWithinTheBudgetAndTheDeadline) {
  PoolOptions o = SmallPool(1);
  o.retry_attempts = 3;
  o.retry_backoff = 5ms;
  Open(o);
  ASSERT_TRUE(admin_->Exec("CREATE TABLE t (id int PRIMARY KEY); CREATE SEQUENCE runs; "
                           "CREATE FUNCTION flaky(fail_first bigint, code text) RETURNS int LANGUAGE plpgsql AS $$ "
                           "BEGIN IF nextval('runs') <= fail_first THEN RAISE EXCEPTION 'injected %', code USING ERRCODE = code; "
                           "END IF; RETURN 1; END $$")
                  .ok());
  // Two deadlocks, then success: the whole batch ran three times and its insert committed once.
  BatchOutcome healed = Run(BatchMode::kWrite, {{"INSERT INTO t VALUES ($1)", {"1"}}, {"SELECT flaky($1, '40P01')", {"2"}}});
  ASSERT_TRUE(healed.status.ok()) << healed.status.ToString();
  EXPECT_EQ(healed.attempts, 3);
  EXPECT_EQ(db_->Stats().retries, 2u);
  EXPECT_EQ(One("SELECT count(*) FROM t WHERE id = 1"), "1");

  // Never healing: 1 + retry_attempts runs, then the serialization failure itself, kRetryable.
  ASSERT_TRUE(admin_->Exec("ALTER SEQUENCE runs RESTART").ok());
  BatchOutcome spent = Run(BatchMode::kWrite, {{"INSERT INTO t VALUES ($1)", {"2"}}, {"SELECT flaky($1, '40001')", {"100"}}});
  EXPECT_EQ(spent.status.code(), Code::kRetryable) << spent.status.ToString();
  EXPECT_EQ(spent.status.sqlstate(), "40001");
  EXPECT_EQ(spent.failed_index, 1u);
  EXPECT_EQ(spent.attempts, 1 + o.retry_attempts);
  EXPECT_EQ(One("SELECT last_value FROM runs"), std::to_string(1 + o.retry_attempts));
  EXPECT_EQ(One("SELECT count(*) FROM t WHERE id = 2"), "0") << "nothing of a failed run committed";

  // Other errors are not retried.
  ASSERT_TRUE(admin_->Exec("ALTER SEQUENCE runs RESTART").ok());
  BatchOutcome other = Run(BatchMode::kWrite, {{"SELECT flaky($1, '23505')", {"100"}}});
  EXPECT_EQ(other.status.code(), Code::kAlreadyExists) << other.status.ToString();
  EXPECT_EQ(other.attempts, 1);
}

TEST_F(PgDatabaseTest, NoRetryIsStartedThatTheDeadlineCannotHold) {
  PoolOptions o = SmallPool(1);
  o.retry_attempts = 5;
  o.retry_backoff = 2s;  // the first backoff alone (≥ 1 s with jitter) outlasts the deadline
  o.backoff_max = 5s;    // (retry delays are capped by it too)
  Open(o);
  ASSERT_TRUE(admin_->Exec("CREATE FUNCTION always(code text) RETURNS int LANGUAGE plpgsql AS $$ "
                           "BEGIN RAISE EXCEPTION 'injected' USING ERRCODE = code; END $$")
                  .ok());
  const auto start = Clock::now();
  BatchOutcome out = Run(BatchMode::kWrite, {{"SELECT always($1)", {"40P01"}}}, 500ms);
  EXPECT_LT(Clock::now() - start, 500ms) << "returned at once instead of sleeping past the deadline";
  EXPECT_EQ(out.status.code(), Code::kRetryable) << out.status.ToString();
  EXPECT_EQ(out.attempts, 1);
}

// The server terminates the backend while the batch runs (pg_terminate_backend, as a failover
// or an operator would): it says so in the statement's answer (57P01), so nothing committed
// and the batch runs again on a new connection — exactly once more.
TEST_F(PgDatabaseTest, ABackendKilledMidBatchCommitsNothingAndTheBatchRunsAgain) {
  Open(SmallPool(1));
  ASSERT_TRUE(admin_->Exec("CREATE TABLE t (id int PRIMARY KEY); CREATE SEQUENCE runs").ok());
  auto running = boost::asio::co_spawn(
      runner_.io(),
      db_->Run(MakeBatch(BatchMode::kWrite,
                         {{"INSERT INTO t VALUES ($1)", {"1"}},
                          // The first run sleeps (and is killed there); the second does not.
                          {"SELECT pg_sleep(CASE WHEN nextval('runs') = 1 THEN 30 ELSE 0 END)", {}},
                          {"INSERT INTO t VALUES ($1)", {"2"}}}),
               In(20s)),
      boost::asio::use_future);
  std::string pid;
  ASSERT_TRUE(Eventually(
      [&] {
        pid = One("SELECT coalesce(max(pid), 0) FROM pg_stat_activity WHERE datname = $1 AND wait_event = 'PgSleep'",
                  {test_db_.name()});
        return pid != "0";
      },
      10s))
      << "the batch never reached its sleep";
  EXPECT_EQ(One("SELECT count(*) FROM t"), "0") << "the first insert is not visible before the batch commits";
  EXPECT_EQ(One("SELECT pg_terminate_backend($1)", {pid}), "t");
  ASSERT_EQ(running.wait_for(20s), std::future_status::ready);
  BatchOutcome out = running.get();
  ASSERT_TRUE(out.status.ok()) << out.status.ToString();
  EXPECT_EQ(out.attempts, 2);
  EXPECT_EQ(One("SELECT string_agg(id::text, ',' ORDER BY id) FROM t"), "1,2") << "each row once: the killed run left nothing";
  EXPECT_EQ(One("SELECT last_value FROM runs"), "2");
  EXPECT_GE(db_->Stats().discarded, 1u);
  EXPECT_NE(Pid(*db_), pid);
}

TEST_F(PgDatabaseTest, InteractiveTransactions) {
  Open(SmallPool(1));
  ASSERT_TRUE(admin_->Exec("CREATE TABLE t (id int PRIMARY KEY)").ok());
  {
    auto tx = runner_.Await(db_->Begin(BatchMode::kWrite, In(10s)));
    ASSERT_TRUE(tx.ok()) << tx.status().ToString();
    ASSERT_TRUE(runner_.Await((*tx)->Run({{"INSERT INTO t VALUES ($1)", {"1"}}})).status.ok());
    BatchOutcome inside = runner_.Await((*tx)->Run({{"SELECT count(*) FROM t", {}}}));
    ASSERT_TRUE(inside.status.ok());
    EXPECT_EQ(inside.results[0].rows[0][0], "1");
    EXPECT_EQ(One("SELECT count(*) FROM t"), "0") << "not committed yet";
    EXPECT_TRUE(runner_.Await((*tx)->Commit()).ok());
  }
  EXPECT_EQ(One("SELECT count(*) FROM t"), "1");
  {
    auto tx = runner_.Await(db_->Begin(BatchMode::kWrite, In(10s)));
    ASSERT_TRUE(tx.ok());
    ASSERT_TRUE(runner_.Await((*tx)->Run({{"INSERT INTO t VALUES ($1)", {"2"}}})).status.ok());
    BatchOutcome dup = runner_.Await((*tx)->Run({{"INSERT INTO t VALUES ($1)", {"1"}}}));
    EXPECT_EQ(dup.status.code(), Code::kAlreadyExists);
    EXPECT_EQ(runner_.Await((*tx)->Run({{"SELECT 1", {}}})).status.code(), Code::kFailedPrecondition);
    EXPECT_EQ(runner_.Await((*tx)->Commit()).code(), Code::kFailedPrecondition);
    runner_.Await((*tx)->Rollback());
  }
  {
    auto tx = runner_.Await(db_->Begin(BatchMode::kWrite, In(10s)));
    ASSERT_TRUE(tx.ok());
    ASSERT_TRUE(runner_.Await((*tx)->Run({{"INSERT INTO t VALUES ($1)", {"3"}}})).status.ok());
    BatchOutcome refused = runner_.Await((*tx)->Run({{"COMMIT", {}}}));
    EXPECT_EQ(refused.status.code(), Code::kInvalidArgument) << "Commit() commits";
    // Dropped without Commit: rolled back before the (only) connection is reused.
  }
  BatchOutcome after = Run(BatchMode::kRead, {{"SELECT count(*) FROM t", {}}});
  ASSERT_TRUE(after.status.ok()) << after.status.ToString();
  EXPECT_EQ(after.results[0].rows[0][0], "1");
}

TEST_F(PgDatabaseTest, TerminatingTheBackendMidTransactionCommitsNothing) {
  Open(SmallPool(1));
  ASSERT_TRUE(admin_->Exec("CREATE TABLE t (id int PRIMARY KEY)").ok());
  auto tx = runner_.Await(db_->Begin(BatchMode::kWrite, In(10s)));
  ASSERT_TRUE(tx.ok());
  BatchOutcome first = runner_.Await((*tx)->Run({{"INSERT INTO t VALUES ($1)", {"1"}}, {"SELECT pg_backend_pid()", {}}}));
  ASSERT_TRUE(first.status.ok()) << first.status.ToString();
  const std::string pid = *first.results[1].rows[0][0];
  EXPECT_EQ(One("SELECT pg_terminate_backend($1)", {pid}), "t");
  ASSERT_TRUE(Eventually([&] { return One("SELECT count(*) FROM pg_stat_activity WHERE pid = $1", {pid}) == "0"; }, 10s));
  BatchOutcome second = runner_.Await((*tx)->Run({{"INSERT INTO t VALUES ($1)", {"2"}}}));
  EXPECT_FALSE(second.status.ok());
  EXPECT_EQ(second.status.code(), Code::kUnavailable) << second.status.ToString();
  EXPECT_EQ(runner_.Await((*tx)->Commit()).code(), Code::kFailedPrecondition);
  tx->reset();
  EXPECT_EQ(One("SELECT count(*) FROM t"), "0") << "no partial commit";
  EXPECT_TRUE(Run(BatchMode::kRead, {{"SELECT 1", {}}}).status.ok()) << "the pool replaced the connection";
}

// True once the (local) process `pid` has exited or is a zombie: its sockets are closed then.
// A backend leaves pg_stat_activity during its shutdown, before it exits and its socket closes,
// so a client looking right after can still find the connection open.
static bool ProcessGone(const std::string& pid) {
  std::ifstream stat("/proc/" + pid + "/stat");
  std::string line;
  if (!std::getline(stat, line)) return true;
  const size_t paren = line.rfind(')');
  return paren != std::string::npos && paren + 2 < line.size() && (line[paren + 2] == 'Z' || line[paren + 2] == 'X');
}

TEST_F(PgDatabaseTest, AnIdleConnectionKilledByTheServerIsReplacedWithoutAnError) {
  Open(SmallPool(1));
  const std::string pid = Pid(*db_);
  EXPECT_EQ(One("SELECT pg_terminate_backend($1)", {pid}), "t");
  ASSERT_TRUE(Eventually([&] { return One("SELECT count(*) FROM pg_stat_activity WHERE pid = $1", {pid}) == "0"; }, 10s));
  // The test cluster runs on this machine (scripts/pg.sh): wait for the backend's socket to close,
  // which is what the pool's liveness check on checkout can see.
  ASSERT_TRUE(Eventually([&] { return ProcessGone(pid); }, 10s)) << "backend " << pid << " did not exit";
  ASSERT_TRUE(admin_->Exec("CREATE TABLE t (id int)").ok());
  BatchOutcome out = Run(BatchMode::kWrite, {{"INSERT INTO t VALUES ($1)", {"1"}}});
  ASSERT_TRUE(out.status.ok()) << "a write on a dead idle connection must not become commit-unknown: "
                               << out.status.ToString();
  EXPECT_EQ(out.attempts, 1);
  EXPECT_NE(Pid(*db_), pid);
  EXPECT_GE(db_->Stats().discarded, 1u);
}

TEST_F(PgDatabaseTest, ConnectionLostAfterAWriteWasFlushedIsCommitUnknownAndNotRetried) {
  TcpProxy proxy = MakeProxy();
  db_ = Open(SmallPool(1), ProxiedUrl(proxy));
  ASSERT_TRUE(db_);
  ASSERT_TRUE(admin_->Exec("CREATE TABLE t (id int)").ok());
  ASSERT_TRUE(Run(BatchMode::kRead, {{"SELECT 1", {}}}).status.ok());
  proxy.ArmDropAfterSync();
  BatchOutcome out = Run(BatchMode::kWrite, {{"INSERT INTO t VALUES ($1)", {"1"}}});
  EXPECT_EQ(out.status.code(), Code::kCommitUnknown) << out.status.ToString();
  EXPECT_EQ(out.attempts, 1) << "never retried";
  EXPECT_EQ(proxy.drops_after_sync(), 1);
  EXPECT_TRUE(Eventually([&] { return One("SELECT count(*) FROM t") == "1"; }, 5s))
      << "the server did commit it: the outcome really was unknown to the client";
  EXPECT_EQ(db_->Stats().commit_unknown, 1u);
  // A read that loses its connection the same way is simply run again.
  proxy.ArmDropAfterSync();
  BatchOutcome read = Run(BatchMode::kRead, {{"SELECT count(*) FROM t", {}}});
  ASSERT_TRUE(read.status.ok()) << read.status.ToString();
  EXPECT_EQ(read.attempts, 2);
  EXPECT_EQ(read.results[0].rows[0][0], "1");
}

TEST_F(PgDatabaseTest, ASilentNetworkFailsAtTheDeadlinePlusTheCancelGrace) {
  TcpProxy proxy = MakeProxy();
  PoolOptions o = SmallPool(1);
  o.cancel_grace = 200ms;
  db_ = Open(o, ProxiedUrl(proxy));
  ASSERT_TRUE(db_);
  ASSERT_TRUE(admin_->Exec("CREATE TABLE t (id int)").ok());
  ASSERT_TRUE(Run(BatchMode::kRead, {{"SELECT 1", {}}}).status.ok());
  proxy.set_stall(true);
  auto start = Clock::now();
  BatchOutcome read = Run(BatchMode::kRead, {{"SELECT 1", {}}}, 300ms);
  auto elapsed = Clock::now() - start;
  EXPECT_EQ(read.status.code(), Code::kDeadlineExceeded) << read.status.ToString();
  EXPECT_GE(elapsed, 500ms - 20ms) << "the cancel's answer was awaited for cancel_grace";
  EXPECT_LT(elapsed, 1500ms);
  proxy.set_stall(false);
  ASSERT_TRUE(Run(BatchMode::kRead, {{"SELECT 1", {}}}).status.ok()) << "a new connection";
  // A write in the same situation may have committed: the caller is told so.
  proxy.set_stall(true);
  start = Clock::now();
  BatchOutcome write = Run(BatchMode::kWrite, {{"INSERT INTO t VALUES ($1)", {"1"}}}, 300ms);
  elapsed = Clock::now() - start;
  EXPECT_LT(elapsed, 1500ms);
  EXPECT_EQ(write.status.code(), Code::kCommitUnknown) << write.status.ToString();
  EXPECT_EQ(write.attempts, 1);
  proxy.set_stall(false);
  BatchOutcome after = Run(BatchMode::kRead, {{"SELECT 1", {}}});
  EXPECT_TRUE(after.status.ok()) << "the stalled connection was discarded and replaced: " << after.status.ToString();
}

TEST_F(PgDatabaseTest, ConnectingToASilentServerTimesOut) {
  TcpProxy proxy = MakeProxy();
  proxy.set_blackhole(true);
  PoolOptions o = SmallPool(1);
  o.connect_timeout = 300ms;
  db_ = Open(o, ProxiedUrl(proxy));
  ASSERT_TRUE(db_);
  auto start = Clock::now();
  BatchOutcome out = Run(BatchMode::kRead, {{"SELECT 1", {}}}, 10s);
  EXPECT_LT(Clock::now() - start, 1500ms);
  EXPECT_EQ(out.status.code(), Code::kUnavailable);
  EXPECT_NE(out.status.message().find("timed out"), std::string::npos) << out.status.message();
}

TEST_F(PgDatabaseTest, UnreachableServerFailsFastDuringBackoff) {
  PoolOptions o = SmallPool(2);
  o.backoff_initial = 2000ms;
  o.backoff_max = 4000ms;
  db_ = Open(o, "postgresql://postgres@127.0.0.1:1/postgres");
  ASSERT_TRUE(db_);
  BatchOutcome first = Run(BatchMode::kRead, {{"SELECT 1", {}}}, 5s);
  EXPECT_EQ(first.status.code(), Code::kUnavailable) << first.status.ToString();
  auto start = Clock::now();
  for (int i = 0; i < 20; ++i) {
    BatchOutcome again = Run(BatchMode::kRead, {{"SELECT 1", {}}}, 5s);
    EXPECT_EQ(again.status.code(), Code::kUnavailable);
  }
  EXPECT_LT(Clock::now() - start, 500ms) << "twenty callers failed fast instead of each trying to connect";
  PoolStats s = db_->Stats();
  EXPECT_TRUE(s.backing_off);
  EXPECT_LE(s.connect_failures, 3u) << "no thundering herd of connection attempts";
  Ping ping = runner_.Await(db_->Check(In(1s)));
  EXPECT_FALSE(ping.connected);
  EXPECT_EQ(ping.status.code(), Code::kUnavailable);
}

TEST_F(PgDatabaseTest, CheckReportsLatencyAndVersion) {
  Open();
  Ping ping = runner_.Await(db_->Check(In(5s)));
  ASSERT_TRUE(ping.connected) << ping.status.ToString();
  EXPECT_GT(ping.latency_ms, 0);
  EXPECT_EQ(ping.server_version.rfind("15.", 0), 0u) << ping.server_version;
  PoolStats s = db_->Stats();
  EXPECT_EQ(s.max, 1);
  EXPECT_GE(s.opened, 1u);
  EXPECT_GT(s.round_trip_ms_avg, 0);
}

TEST_F(PgDatabaseTest, ListenReceivesNotifications) {
  Open();
  std::mutex mu;
  std::vector<std::string> got;
  std::promise<void> subscribed, delivered;
  db_->Listen("plinth_keys", [&](const std::string& payload) {
    std::lock_guard lock(mu);
    got.push_back(payload);
    if (got.size() == 1) subscribed.set_value();
    if (got.size() == 2) delivered.set_value();
  });
  ASSERT_EQ(subscribed.get_future().wait_for(10s), std::future_status::ready) << "LISTEN never became active";
  ASSERT_TRUE(runner_.Await(db_->Notify("plinth_keys", "revoked:7")).ok());
  ASSERT_EQ(delivered.get_future().wait_for(10s), std::future_status::ready);
  std::lock_guard lock(mu);
  EXPECT_EQ(got[0], "");
  EXPECT_EQ(got[1], "revoked:7");
}

TEST_F(PgDatabaseTest, CloseWaitsForInFlightWorkThenRefusesMore) {
  Open(SmallPool(1));
  auto slow = boost::asio::co_spawn(
      runner_.io(), db_->Run(MakeBatch(BatchMode::kRead, {{"SELECT pg_sleep(0.3)", {}}}), In(10s)),
      boost::asio::use_future);
  ASSERT_TRUE(Eventually(
      [&] {
        return One("SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND query LIKE 'SELECT pg_sleep%'",
                   {test_db_.name()}) == "1";
      },
      5s));
  EXPECT_EQ(db_->Stats().in_use, 1);
  runner_.Await(db_->Close(In(5s)));
  ASSERT_EQ(slow.wait_for(1s), std::future_status::ready) << "Close returned before the batch finished";
  BatchOutcome slow_out = slow.get();
  EXPECT_TRUE(slow_out.status.ok()) << slow_out.status.ToString();
  BatchOutcome after = Run(BatchMode::kRead, {{"SELECT 1", {}}});
  EXPECT_EQ(after.status.code(), Code::kUnavailable);
}

}  // namespace
}  // namespace plinth::db
