// The request-path database on SQLite, and the pure logic around it (options, statement
// checks, the statement cache).
#include <gtest/gtest.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <set>
#include <thread>

#include "db/async_runner.h"
#include "db/statement_check.h"
#include "db/stmt_cache.h"
#include "db/temp_dir.h"
#include "plinth/database.h"

namespace plinth::db {
namespace {

using namespace std::chrono_literals;
using plinth::testing::IoRunner;
using plinth::testing::TempDir;

Clock::time_point In(std::chrono::milliseconds ms) { return Clock::now() + ms; }

Batch MakeBatch(BatchMode mode, std::vector<Stmt> statements) {
  Batch b;
  b.mode = mode;
  b.statements = std::move(statements);
  return b;
}

// ---- options ----

class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    const char* old = std::getenv(name);
    if (old) old_ = old;
    ::setenv(name, value, 1);
  }
  ~ScopedEnv() {
    if (old_) ::setenv(name_, old_->c_str(), 1); else ::unsetenv(name_);
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

TEST(PoolOptions, DefaultsWithoutEnvironment) {
  ::unsetenv("DB_POOL_SIZE");
  ::unsetenv("DB_MAX_OVERFLOW");
  auto o = PoolOptions::FromEnvironment();
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  EXPECT_EQ(o->size, 10);
  EXPECT_EQ(o->max_overflow, 20);
}

TEST(PoolOptions, ReadsEveryVariableOverTheGivenDefaults) {
  ScopedEnv a("DB_POOL_SIZE", "4"), b("DB_MAX_OVERFLOW", "0"), c("DB_POOL_RECYCLE", "600"),
      d("DB_POOL_TIMEOUT", "2s"), e("DB_POOL_MAX_WAITERS", "7");
  PoolOptions defaults;
  defaults.statement_cache = 17;
  auto o = PoolOptions::FromEnvironment(defaults);
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  EXPECT_EQ(o->size, 4);
  EXPECT_EQ(o->max_overflow, 0);
  EXPECT_EQ(o->recycle, std::chrono::seconds(600));
  EXPECT_EQ(o->acquire_timeout, std::chrono::milliseconds(2000));
  EXPECT_EQ(o->max_waiters, 7);
  EXPECT_EQ(o->statement_cache, 17u) << "fields without a variable keep the given defaults";
}

TEST(PoolOptions, MalformedValueNamesTheVariable) {
  {
    ScopedEnv a("DB_POOL_SIZE", "ten");
    auto o = PoolOptions::FromEnvironment();
    ASSERT_FALSE(o.ok());
    EXPECT_EQ(o.status().code(), Code::kInvalidArgument);
    EXPECT_NE(o.status().message().find("DB_POOL_SIZE"), std::string::npos) << o.status().message();
  }
  {
    ScopedEnv a("DB_POOL_SIZE", "0");
    auto o = PoolOptions::FromEnvironment();
    ASSERT_FALSE(o.ok());
    EXPECT_NE(o.status().message().find("at least 1"), std::string::npos) << o.status().message();
  }
  {
    ScopedEnv a("DB_POOL_TIMEOUT", "5 minutes");
    auto o = PoolOptions::FromEnvironment();
    ASSERT_FALSE(o.ok());
    EXPECT_NE(o.status().message().find("DB_POOL_TIMEOUT"), std::string::npos);
  }
}

// ---- statement checks ----

TEST(StatementCheck, SessionChangesAreRefusedTransactionScopedOnesAllowed) {
  using detail::CheckPooledStatement;
  EXPECT_TRUE(CheckPooledStatement(Backend::kPostgres, "SET LOCAL plinth.tenant_id = '1'", 0).ok());
  EXPECT_TRUE(CheckPooledStatement(Backend::kPostgres, "set transaction isolation level serializable", 0).ok());
  EXPECT_TRUE(CheckPooledStatement(Backend::kPostgres, "SELECT set_config('a.b', $1, true)", 0).ok());
  EXPECT_TRUE(CheckPooledStatement(Backend::kPostgres, "BEGIN", 0).ok()) << "the SET LOCAL strategy";
  EXPECT_TRUE(CheckPooledStatement(Backend::kPostgres, "SET LOCAL ROLE app_user", 0).ok());
  for (const char* refused : {"SET search_path = x", "  -- c\n set role admin", "SET SESSION AUTHORIZATION x",
                              "RESET ALL", "DISCARD ALL", "DEALLOCATE p1", "LISTEN x", "/* x */ set app.t = 1"}) {
    Status st = CheckPooledStatement(Backend::kPostgres, refused, 3);
    EXPECT_EQ(st.code(), Code::kInvalidArgument) << refused;
    EXPECT_NE(st.message().find("statement 3"), std::string::npos) << st.message();
  }
  EXPECT_FALSE(CheckPooledStatement(Backend::kSqlite, "BEGIN IMMEDIATE", 0).ok());
  EXPECT_FALSE(CheckPooledStatement(Backend::kSqlite, "COMMIT", 0).ok());
  EXPECT_FALSE(CheckPooledStatement(Backend::kSqlite, "PRAGMA foreign_keys = OFF", 0).ok());
  EXPECT_FALSE(CheckPooledStatement(Backend::kSqlite, "ATTACH 'x.db' AS x", 0).ok());
  EXPECT_TRUE(CheckPooledStatement(Backend::kSqlite, "SAVEPOINT a", 0).ok());
  EXPECT_TRUE(CheckPooledStatement(Backend::kSqlite, "ROLLBACK TO a", 0).ok());
  EXPECT_TRUE(CheckPooledStatement(Backend::kSqlite, "PRAGMA foreign_key_check", 0).ok());
}

TEST(StatementCheck, TransactionControlIsRecognised) {
  using detail::ClassifyTxnControl;
  using detail::TxnControl;
  EXPECT_EQ(ClassifyTxnControl("begin isolation level serializable"), TxnControl::kBegin);
  EXPECT_EQ(ClassifyTxnControl("START TRANSACTION"), TxnControl::kBegin);
  EXPECT_EQ(ClassifyTxnControl(" commit;"), TxnControl::kCommit);
  EXPECT_EQ(ClassifyTxnControl("END"), TxnControl::kCommit);
  EXPECT_EQ(ClassifyTxnControl("ROLLBACK"), TxnControl::kRollback);
  EXPECT_EQ(ClassifyTxnControl("ROLLBACK TO SAVEPOINT a"), TxnControl::kSavepoint);
  EXPECT_EQ(ClassifyTxnControl("SELECT 'commit'"), TxnControl::kNone);
  EXPECT_EQ(ClassifyTxnControl("committed_at"), TxnControl::kNone) << "a whole word";
}

TEST(StatementCache, EvictsTheLeastRecentlyUsed) {
  detail::StatementCache<int> cache(2);
  EXPECT_FALSE(cache.Insert("a", 1).second);
  EXPECT_FALSE(cache.Insert("b", 2).second);
  ASSERT_NE(cache.Find("a"), nullptr);  // a is now the most recent
  auto [slot, evicted] = cache.Insert("c", 3);
  ASSERT_TRUE(evicted);
  EXPECT_EQ(*evicted, 2) << "b was the least recently used";
  EXPECT_EQ(*slot, 3);
  EXPECT_EQ(cache.Find("b"), nullptr);
  EXPECT_EQ(*cache.Find("a"), 1);
  EXPECT_EQ(cache.Erase("a").value_or(0), 1);
  EXPECT_EQ(cache.size(), 1u);
}

// ---- SQLite ----

class SqliteDatabaseTest : public ::testing::Test {
 protected:
  void Open(PoolOptions options = {}, const std::string& name = "app.db") {
    auto url = ParseUrl("sqlite://" + dir_ / name);
    ASSERT_TRUE(url.ok()) << url.status().ToString();
    auto db = OpenDatabase(runner_.io(), *url, options);
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    db_ = std::move(db).value();
  }
  BatchOutcome Run(BatchMode mode, std::vector<Stmt> statements, std::chrono::milliseconds limit = 5s) {
    return runner_.Await(db_->Run(MakeBatch(mode, std::move(statements)), In(limit)));
  }
  void Exec(const std::string& sql) {
    BatchOutcome out = Run(BatchMode::kWrite, {{sql, {}}});
    ASSERT_TRUE(out.status.ok()) << sql << ": " << out.status.ToString();
  }
  // Creates t and writes `n` rows of ~2 KB into it, one write batch each (about half a page).
  void InsertPaddedRows(int n) {
    Exec("CREATE TABLE t (id INTEGER PRIMARY KEY, pad TEXT)");
    const std::string pad(2000, 'x');
    for (int i = 0; i < n; ++i) {
      BatchOutcome out = Run(BatchMode::kWrite, {{"INSERT INTO t VALUES (?1, ?2)", {std::to_string(i), pad}}});
      ASSERT_TRUE(out.status.ok()) << out.status.ToString();
    }
  }
  int64_t Count(const std::string& table) {
    BatchOutcome out = Run(BatchMode::kRead, {{"SELECT count(*) FROM " + table, {}}});
    EXPECT_TRUE(out.status.ok()) << out.status.ToString();
    if (!out.status.ok()) return -1;
    return std::stoll(*out.results[0].rows[0][0]);
  }

  IoRunner runner_;
  TempDir dir_;
  std::unique_ptr<Database> db_;
};

TEST_F(SqliteDatabaseTest, RunsABatchAsOneTransactionWithResults) {
  Open();
  Exec("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT, note TEXT)");
  BatchOutcome out = Run(BatchMode::kWrite, {{"INSERT INTO t (id, name, note) VALUES (?1, ?2, ?3)", {"1", "a", std::nullopt}},
                                             {"INSERT INTO t (id, name) VALUES (?1, ?2)", {"2", "b"}},
                                             {"UPDATE t SET note = 'x' WHERE id >= ?1", {"1"}},
                                             {"SELECT id, name, note FROM t ORDER BY id", {}}});
  ASSERT_TRUE(out.status.ok()) << out.status.ToString();
  ASSERT_EQ(out.results.size(), 4u);
  EXPECT_EQ(out.attempts, 1);
  EXPECT_EQ(out.results[0].affected, 1);
  EXPECT_EQ(out.results[2].affected, 2);
  EXPECT_EQ(out.results[3].affected, 0) << "a SELECT changes nothing";
  EXPECT_EQ(out.results[3].columns, (std::vector<std::string>{"id", "name", "note"}));
  ASSERT_EQ(out.results[3].rows.size(), 2u);
  EXPECT_EQ(out.results[3].rows[1][1], "b");
  EXPECT_EQ(out.results[3].rows[0][2], "x");
  BatchOutcome nulls = Run(BatchMode::kRead, {{"SELECT NULL, ?1", {std::nullopt}}});
  ASSERT_TRUE(nulls.status.ok());
  EXPECT_FALSE(nulls.results[0].rows[0][0].has_value());
  EXPECT_FALSE(nulls.results[0].rows[0][1].has_value());
}

TEST_F(SqliteDatabaseTest, AFailingStatementRollsBackTheWholeBatchAndNamesTheConstraint) {
  Open();
  Exec("CREATE TABLE t (id INTEGER PRIMARY KEY, n INTEGER CONSTRAINT n_positive CHECK (n > 0))");
  BatchOutcome out = Run(BatchMode::kWrite, {{"INSERT INTO t VALUES (1, 1)", {}},
                                             {"INSERT INTO t VALUES (2, -1)", {}},
                                             {"INSERT INTO t VALUES (3, 3)", {}}});
  ASSERT_FALSE(out.status.ok());
  EXPECT_EQ(out.status.code(), Code::kConstraintViolation) << out.status.ToString();
  EXPECT_EQ(out.failed_index, 1u);
  EXPECT_EQ(out.status.object(), "n_positive");
  EXPECT_TRUE(out.results.empty());
  EXPECT_EQ(Count("t"), 0) << "statement 0 was rolled back with the batch";
  BatchOutcome dup = Run(BatchMode::kWrite, {{"INSERT INTO t VALUES (1, 1)", {}}, {"INSERT INTO t VALUES (1, 2)", {}}});
  EXPECT_EQ(dup.status.code(), Code::kAlreadyExists);
  EXPECT_EQ(dup.failed_index, 1u);
}

TEST_F(SqliteDatabaseTest, EveryConnectionEnforcesForeignKeysAndUsesWal) {
  PoolOptions o;
  o.sqlite_readers = 3;
  Open(o);
  Exec("CREATE TABLE p (id INTEGER PRIMARY KEY)");
  Exec("CREATE TABLE c (id INTEGER PRIMARY KEY, p INTEGER CONSTRAINT c_p_fkey REFERENCES p(id))");
  BatchOutcome fk = Run(BatchMode::kWrite, {{"INSERT INTO c VALUES (1, 42)", {}}});
  EXPECT_EQ(fk.status.code(), Code::kConstraintViolation) << fk.status.ToString();
  // Lease every reader at once (each Transaction holds one), and ask each.
  std::vector<std::unique_ptr<Transaction>> txs;
  std::set<std::string> seen;
  for (int i = 0; i < o.sqlite_readers; ++i) {
    auto tx = runner_.Await(db_->Begin(BatchMode::kRead, In(5s)));
    ASSERT_TRUE(tx.ok()) << tx.status().ToString();
    BatchOutcome r = runner_.Await((*tx)->Run({{"PRAGMA foreign_keys", {}}, {"PRAGMA journal_mode", {}},
                                               {"PRAGMA query_only", {}}}));
    ASSERT_TRUE(r.status.ok()) << r.status.ToString();
    EXPECT_EQ(r.results[0].rows[0][0], "1") << "reader " << i;
    EXPECT_EQ(r.results[1].rows[0][0], "wal") << "reader " << i;
    EXPECT_EQ(r.results[2].rows[0][0], "1") << "readers are query_only";
    txs.push_back(std::move(tx).value());
  }
  EXPECT_EQ(db_->Stats().in_use, o.sqlite_readers);
  EXPECT_EQ(db_->Stats().max, o.sqlite_readers + 1);
  // The writer is still free meanwhile.
  BatchOutcome w = Run(BatchMode::kWrite, {{"PRAGMA foreign_keys", {}}, {"INSERT INTO p VALUES (1)", {}}});
  ASSERT_TRUE(w.status.ok()) << w.status.ToString();
  EXPECT_EQ(w.results[0].rows[0][0], "1") << "writer";
  for (auto& tx : txs) runner_.Await(tx->Rollback());
}

TEST_F(SqliteDatabaseTest, ReadBatchesCannotWrite) {
  Open();
  Exec("CREATE TABLE t (id INTEGER PRIMARY KEY)");
  BatchOutcome out = Run(BatchMode::kRead, {{"INSERT INTO t VALUES (1)", {}}});
  ASSERT_FALSE(out.status.ok());
  EXPECT_EQ(out.status.code(), Code::kPermissionDenied) << out.status.ToString();
}

TEST_F(SqliteDatabaseTest, PlinthRaiseFailsTheStatementWithItsSqlstate) {
  Open();
  Exec("CREATE TABLE docs (id INTEGER PRIMARY KEY, owner TEXT)");
  // The data layer's pattern: the policy CHECK in a RETURNING clause, evaluated on the new row.
  const std::string insert =
      "INSERT INTO docs (id, owner) VALUES (?1, ?2) RETURNING id, "
      "CASE WHEN owner = ?3 THEN 1 ELSE plinth_raise('42501', 'policy owner_writes refused the row', "
      "'owner_writes') END";
  BatchOutcome ok = Run(BatchMode::kWrite, {{insert, {"1", "alice", "alice"}}});
  ASSERT_TRUE(ok.status.ok()) << ok.status.ToString();
  BatchOutcome refused = Run(BatchMode::kWrite, {{"INSERT INTO docs VALUES (2, 'alice')", {}}, {insert, {"3", "bob", "alice"}}});
  ASSERT_FALSE(refused.status.ok());
  EXPECT_EQ(refused.status.code(), Code::kPolicyViolation);
  EXPECT_EQ(refused.status.sqlstate(), "42501");
  EXPECT_EQ(refused.status.message(), "policy owner_writes refused the row");
  EXPECT_EQ(refused.status.object(), "owner_writes");
  EXPECT_EQ(refused.failed_index, 1u);
  EXPECT_EQ(Count("docs"), 1) << "the refused row and the batch's other row are rolled back";
  BatchOutcome other = Run(BatchMode::kRead, {{"SELECT plinth_raise('23514', 'a check')", {}}});
  EXPECT_EQ(other.status.code(), Code::kConstraintViolation);
  BatchOutcome bad = Run(BatchMode::kRead, {{"SELECT plinth_raise('x', 'y')", {}}});
  EXPECT_EQ(bad.status.code(), Code::kInvalidArgument) << bad.status.ToString();
}

TEST_F(SqliteDatabaseTest, ReadersRunWhileTheWriterIsBusy) {
  PoolOptions o;
  o.sqlite_readers = 2;
  Open(o);
  Exec("CREATE TABLE t (id INTEGER PRIMARY KEY)");
  Exec("INSERT INTO t VALUES (1)");
  // A write that keeps the writer busy until its deadline interrupts it.
  std::atomic<bool> write_done{false};
  auto write = std::async(std::launch::async, [&] {
    BatchOutcome out = Run(BatchMode::kWrite,
                           {{"INSERT INTO t VALUES (2)", {}},
                            {"WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c", {}}},
                           1500ms);
    write_done = true;
    return out;
  });
  // Reads complete meanwhile, on the readers, and see the last committed state.
  for (int i = 0; i < 20; ++i) {
    BatchOutcome r = Run(BatchMode::kRead, {{"SELECT count(*) FROM t", {}}});
    ASSERT_TRUE(r.status.ok()) << r.status.ToString();
    EXPECT_EQ(r.results[0].rows[0][0], "1");
  }
  EXPECT_FALSE(write_done) << "twenty reads finished while the write still ran";
  BatchOutcome w = write.get();
  EXPECT_EQ(w.status.code(), Code::kDeadlineExceeded) << w.status.ToString();
  EXPECT_EQ(Count("t"), 1) << "the interrupted write was rolled back";
}

TEST_F(SqliteDatabaseTest, AQueuedBatchFailsAtItsDeadlineBehindALongOne) {
  PoolOptions o;
  o.sqlite_readers = 1;
  Open(o);
  auto long_read = std::async(std::launch::async, [&] {
    return Run(BatchMode::kRead,
               {{"WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c", {}}}, 2000ms);
  });
  // Wait until the long read occupies the only reader.
  for (int i = 0; i < 2000 && db_->Stats().in_use == 0; ++i) std::this_thread::sleep_for(1ms);
  ASSERT_EQ(db_->Stats().in_use, 1);
  const auto start = Clock::now();
  BatchOutcome queued = Run(BatchMode::kRead, {{"SELECT 1", {}}}, 200ms);
  const auto waited = Clock::now() - start;
  EXPECT_EQ(queued.status.code(), Code::kDeadlineExceeded) << queued.status.ToString();
  EXPECT_LT(waited, 1500ms) << "the caller got its answer at its own deadline, not when the reader freed up";
  EXPECT_EQ(long_read.get().status.code(), Code::kDeadlineExceeded);
}

TEST_F(SqliteDatabaseTest, WritesWaitForAnotherProcessesLockThenProceed) {
  PoolOptions o;
  o.sqlite_busy_timeout = 3000ms;
  Open(o);
  Exec("CREATE TABLE t (id INTEGER PRIMARY KEY)");
  auto url = ParseUrl("sqlite://" + dir_ / "app.db");
  auto other = Connect(*url);
  ASSERT_TRUE(other.ok());
  ASSERT_TRUE((*other)->Exec("BEGIN IMMEDIATE; INSERT INTO t VALUES (1)").ok());
  auto release = std::async(std::launch::async, [&] {
    std::this_thread::sleep_for(300ms);
    return (*other)->Exec("COMMIT");
  });
  BatchOutcome out = Run(BatchMode::kWrite, {{"INSERT INTO t VALUES (2)", {}}});
  EXPECT_TRUE(out.status.ok()) << out.status.ToString();
  EXPECT_EQ(out.attempts, 1) << "the busy handler waited; no retry was needed";
  EXPECT_TRUE(release.get().ok());
  EXPECT_EQ(Count("t"), 2);
}

TEST_F(SqliteDatabaseTest, AWriteBlockedPastItsDeadlineFailsInTime) {
  PoolOptions o;
  o.sqlite_busy_timeout = 10000ms;
  Open(o);
  Exec("CREATE TABLE t (id INTEGER PRIMARY KEY)");
  auto url = ParseUrl("sqlite://" + dir_ / "app.db");
  auto other = Connect(*url);
  ASSERT_TRUE(other.ok());
  ASSERT_TRUE((*other)->Exec("BEGIN IMMEDIATE").ok());
  const auto start = Clock::now();
  BatchOutcome out = Run(BatchMode::kWrite, {{"INSERT INTO t VALUES (2)", {}}}, 300ms);
  EXPECT_LT(Clock::now() - start, 2000ms);
  EXPECT_EQ(out.status.code(), Code::kDeadlineExceeded) << out.status.ToString();
  ASSERT_TRUE((*other)->Exec("ROLLBACK").ok());
  EXPECT_EQ(Count("t"), 0);
}

TEST_F(SqliteDatabaseTest, InteractiveTransactionsCommitAndRollBack) {
  Open();
  Exec("CREATE TABLE t (id INTEGER PRIMARY KEY)");
  {
    auto tx = runner_.Await(db_->Begin(BatchMode::kWrite, In(5s)));
    ASSERT_TRUE(tx.ok()) << tx.status().ToString();
    ASSERT_TRUE(runner_.Await((*tx)->Run({{"INSERT INTO t VALUES (1)", {}}})).status.ok());
    BatchOutcome inside = runner_.Await((*tx)->Run({{"SELECT count(*) FROM t", {}}}));
    ASSERT_TRUE(inside.status.ok());
    EXPECT_EQ(inside.results[0].rows[0][0], "1");
    EXPECT_EQ(Count("t"), 0) << "readers do not see uncommitted rows";
    EXPECT_TRUE(runner_.Await((*tx)->Commit()).ok());
  }
  EXPECT_EQ(Count("t"), 1);
  {
    auto tx = runner_.Await(db_->Begin(BatchMode::kWrite, In(5s)));
    ASSERT_TRUE(tx.ok());
    ASSERT_TRUE(runner_.Await((*tx)->Run({{"INSERT INTO t VALUES (2)", {}}})).status.ok());
    runner_.Await((*tx)->Rollback());
  }
  {
    auto tx = runner_.Await(db_->Begin(BatchMode::kWrite, In(5s)));
    ASSERT_TRUE(tx.ok());
    ASSERT_TRUE(runner_.Await((*tx)->Run({{"INSERT INTO t VALUES (3)", {}}})).status.ok());
    BatchOutcome dup = runner_.Await((*tx)->Run({{"INSERT INTO t VALUES (1)", {}}}));
    EXPECT_EQ(dup.status.code(), Code::kAlreadyExists);
    EXPECT_EQ(runner_.Await((*tx)->Run({{"SELECT 1", {}}})).status.code(), Code::kFailedPrecondition);
    EXPECT_EQ(runner_.Await((*tx)->Commit()).code(), Code::kFailedPrecondition);
    // Dropped without Rollback: rolled back before the writer is reused.
  }
  EXPECT_EQ(Count("t"), 1);
  BatchOutcome after = Run(BatchMode::kWrite, {{"INSERT INTO t VALUES (4)", {}}});
  EXPECT_TRUE(after.status.ok()) << after.status.ToString();
  EXPECT_EQ(Count("t"), 2);
}

TEST_F(SqliteDatabaseTest, TransactionControlInABatchIsRefused) {
  Open();
  BatchOutcome out = Run(BatchMode::kWrite, {{"SELECT 1", {}}, {"COMMIT", {}}});
  EXPECT_EQ(out.status.code(), Code::kInvalidArgument);
  EXPECT_EQ(out.failed_index, 1u);
}

TEST_F(SqliteDatabaseTest, InMemoryDatabaseKeepsItsDataAcrossBatches) {
  auto url = ParseUrl("sqlite::memory:");
  ASSERT_TRUE(url.ok());
  auto db = OpenDatabase(runner_.io(), *url, PoolOptions{});
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  db_ = std::move(db).value();
  Exec("CREATE TABLE t (id INTEGER PRIMARY KEY)");
  Exec("INSERT INTO t VALUES (1)");
  EXPECT_EQ(Count("t"), 1) << "reads run on the same (single) connection";
  EXPECT_EQ(db_->Stats().max, 1);
}

TEST_F(SqliteDatabaseTest, ListenDeliversNotificationsInProcess) {
  Open();
  std::mutex mu;
  std::vector<std::string> got;
  std::promise<void> two;
  db_->Listen("keys", [&](const std::string& payload) {
    std::lock_guard lock(mu);
    got.push_back(payload);
    if (got.size() == 2) two.set_value();
  });
  EXPECT_TRUE(runner_.Await(db_->Notify("keys", "revoked:42")).ok());
  ASSERT_EQ(two.get_future().wait_for(5s), std::future_status::ready);
  std::lock_guard lock(mu);
  EXPECT_EQ(got[0], "") << "subscribed";
  EXPECT_EQ(got[1], "revoked:42");
}

TEST_F(SqliteDatabaseTest, CheckReportsTheVersionAndCloseRefusesWork) {
  Open();
  Ping ping = runner_.Await(db_->Check(In(5s)));
  EXPECT_TRUE(ping.connected) << ping.status.ToString();
  EXPECT_EQ(ping.server_version, sqlite3_libversion());
  runner_.Await(db_->Close(In(5s)));
  BatchOutcome out = Run(BatchMode::kRead, {{"SELECT 1", {}}});
  EXPECT_EQ(out.status.code(), Code::kUnavailable);
}

TEST_F(SqliteDatabaseTest, MaxWaitersBoundsTheQueue) {
  PoolOptions o;
  o.sqlite_readers = 1;
  o.max_waiters = 1;
  Open(o);
  const std::string slow = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c";
  auto busy = std::async(std::launch::async, [&] { return Run(BatchMode::kRead, {{slow, {}}}, 1500ms); });
  for (int i = 0; i < 2000 && db_->Stats().in_use == 0; ++i) std::this_thread::sleep_for(1ms);
  auto queued = std::async(std::launch::async, [&] { return Run(BatchMode::kRead, {{"SELECT 1", {}}}, 3000ms); });
  for (int i = 0; i < 2000 && db_->Stats().waiting == 0; ++i) std::this_thread::sleep_for(1ms);
  ASSERT_EQ(db_->Stats().waiting, 1);
  BatchOutcome refused = Run(BatchMode::kRead, {{"SELECT 2", {}}}, 3000ms);
  EXPECT_EQ(refused.status.code(), Code::kUnavailable);
  EXPECT_NE(refused.status.message().find("max_waiters"), std::string::npos) << refused.status.message();
  EXPECT_EQ(busy.get().status.code(), Code::kDeadlineExceeded);
  EXPECT_TRUE(queued.get().status.ok()) << "the one waiter was served";
}

// A child process acknowledges writes (synchronous=NORMAL, WAL) and is killed with SIGKILL:
// every acknowledged write is in the file afterwards.
// Holds the writer with an interactive transaction, queues `batches` behind it (each from its
// own thread, in order), waits until all are queued, then lets the writer go: it takes the first and
// commits the rest with it in one transaction (group commit).
std::vector<BatchOutcome> RunQueuedBehindTheWriter(IoRunner& runner, Database& db, std::vector<std::vector<Stmt>> batches,
                                                   std::vector<std::chrono::milliseconds> limits = {}) {
  auto tx = runner.Await(db.Begin(BatchMode::kWrite, Clock::now() + 10s));
  EXPECT_TRUE(tx.ok()) << tx.status().ToString();
  if (!tx.ok()) return {};
  std::vector<std::future<BatchOutcome>> futures;
  for (size_t i = 0; i < batches.size(); ++i) {
    const auto limit = i < limits.size() ? limits[i] : 5000ms;
    futures.push_back(std::async(std::launch::async, [&runner, &db, b = std::move(batches[i]), limit]() mutable {
      return runner.Await(db.Run(Batch{BatchMode::kWrite, std::move(b)}, Clock::now() + limit));
    }));
    // One at a time, so that the queue holds them in the order given.
    for (int w = 0; w < 5000 && db.Stats().waiting < static_cast<int>(futures.size()); ++w) std::this_thread::sleep_for(1ms);
  }
  EXPECT_EQ(db.Stats().waiting, static_cast<int>(futures.size()));
  EXPECT_TRUE(runner.Await((*tx)->Commit()).ok());
  std::vector<BatchOutcome> outs;
  for (auto& f : futures) outs.push_back(f.get());
  return outs;
}

TEST_F(SqliteDatabaseTest, GroupCommitCommitsQueuedWritesTogetherAndAFailingOneRollsBackAlone) {
  Open();
  Exec("CREATE TABLE t (id INTEGER PRIMARY KEY, n INTEGER CONSTRAINT n_positive CHECK (n > 0))");
  std::vector<std::vector<Stmt>> batches;
  for (int i = 0; i < 8; ++i) {
    const std::string a = std::to_string(10 * i), b = std::to_string(10 * i + 1);
    // Batch 3's second statement breaks the check: its first row must go with it.
    batches.push_back({{"INSERT INTO t VALUES (?1, 1)", {a}}, {"INSERT INTO t VALUES (?1, ?2)", {b, i == 3 ? "-1" : "1"}},
                       {"SELECT count(*) FROM t WHERE id = ?1", {a}}});
  }
  const uint64_t groups_before = db_->Stats().group_commits;
  std::vector<BatchOutcome> outs = RunQueuedBehindTheWriter(runner_, *db_, std::move(batches));
  ASSERT_EQ(outs.size(), 8u);
  for (size_t i = 0; i < outs.size(); ++i) {
    if (i == 3) {
      EXPECT_EQ(outs[i].status.code(), Code::kConstraintViolation) << outs[i].status.ToString();
      EXPECT_EQ(outs[i].failed_index, 1u);
      EXPECT_EQ(outs[i].status.object(), "n_positive");
      EXPECT_TRUE(outs[i].results.empty());
      continue;
    }
    ASSERT_TRUE(outs[i].status.ok()) << i << ": " << outs[i].status.ToString();
    ASSERT_EQ(outs[i].results.size(), 3u);
    EXPECT_EQ(outs[i].results[0].affected, 1);
    EXPECT_EQ(outs[i].results[2].rows[0][0], "1") << "each batch sees its own writes";
  }
  EXPECT_EQ(Count("t"), 14) << "seven batches of two rows; batch 3 left nothing";
  EXPECT_EQ(Count("t WHERE id IN (30, 31)"), 0);
  EXPECT_GT(db_->Stats().group_commits, groups_before) << "the queued batches shared a transaction";
}

TEST_F(SqliteDatabaseTest, GroupCommitOffRunsEachBatchInItsOwnTransaction) {
  PoolOptions o;
  o.sqlite_group_commit = 1;
  Open(o);
  Exec("CREATE TABLE t (id INTEGER PRIMARY KEY)");
  std::vector<std::vector<Stmt>> batches;
  for (int i = 0; i < 6; ++i) batches.push_back({{"INSERT INTO t VALUES (?1)", {std::to_string(i)}}});
  batches.push_back({{"INSERT INTO t VALUES (0)", {}}});  // a duplicate: fails alone
  std::vector<BatchOutcome> outs = RunQueuedBehindTheWriter(runner_, *db_, std::move(batches));
  ASSERT_EQ(outs.size(), 7u);
  for (size_t i = 0; i < 6; ++i) EXPECT_TRUE(outs[i].status.ok()) << outs[i].status.ToString();
  EXPECT_EQ(outs[6].status.code(), Code::kAlreadyExists);
  EXPECT_EQ(Count("t"), 6);
  EXPECT_EQ(db_->Stats().group_commits, 0u);
}

TEST_F(SqliteDatabaseTest, AWriteInterruptedAtItsDeadlineInAGroupDoesNotUndoTheOthers) {
  // An interrupted write makes SQLite roll back the whole transaction, taking the batches that
  // ran before it in the group along: they must run again and commit.
  Open();
  Exec("CREATE TABLE t (id INTEGER PRIMARY KEY)");
  Exec("CREATE TABLE big (n INTEGER)");
  std::vector<std::vector<Stmt>> batches = {
      {{"INSERT INTO t VALUES (1)", {}}},
      {{"INSERT INTO t VALUES (2)", {}}},
      {{"INSERT INTO big WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT x FROM c", {}}},
      {{"INSERT INTO t VALUES (3)", {}}},
  };
  std::vector<BatchOutcome> outs =
      RunQueuedBehindTheWriter(runner_, *db_, std::move(batches), {5000ms, 5000ms, 1500ms, 5000ms});
  ASSERT_EQ(outs.size(), 4u);
  EXPECT_TRUE(outs[0].status.ok()) << outs[0].status.ToString();
  EXPECT_TRUE(outs[1].status.ok()) << outs[1].status.ToString();
  EXPECT_EQ(outs[2].status.code(), Code::kDeadlineExceeded) << outs[2].status.ToString();
  EXPECT_TRUE(outs[3].status.ok()) << outs[3].status.ToString();
  EXPECT_EQ(Count("t"), 3) << "the rows of the batches before the interrupted one were written again";
  EXPECT_EQ(Count("big"), 0);
}

TEST_F(SqliteDatabaseTest, ABatchGroupedBehindASlowWriteIsAnsweredAtItsOwnDeadline) {
  // The writer takes both into one group; the second's turn would come only after the first's
  // 2 s, but its caller's 300 ms deadline answers it while it waits, as in the queue.
  Open();
  Exec("CREATE TABLE t (id INTEGER PRIMARY KEY)");
  Exec("CREATE TABLE big (n INTEGER)");
  auto tx = runner_.Await(db_->Begin(BatchMode::kWrite, In(10s)));
  ASSERT_TRUE(tx.ok()) << tx.status().ToString();
  auto slow = std::async(std::launch::async, [&] {
    return Run(BatchMode::kWrite,
               {{"INSERT INTO big WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT x FROM c", {}}}, 2000ms);
  });
  for (int i = 0; i < 5000 && db_->Stats().waiting < 1; ++i) std::this_thread::sleep_for(1ms);
  std::chrono::steady_clock::duration waited{};
  auto quick = std::async(std::launch::async, [&] {
    const auto start = Clock::now();
    BatchOutcome out = Run(BatchMode::kWrite, {{"INSERT INTO t VALUES (1)", {}}}, 300ms);
    waited = Clock::now() - start;
    return out;
  });
  for (int i = 0; i < 5000 && db_->Stats().waiting < 2; ++i) std::this_thread::sleep_for(1ms);
  ASSERT_EQ(db_->Stats().waiting, 2);
  ASSERT_TRUE(runner_.Await((*tx)->Commit()).ok());
  BatchOutcome q = quick.get();
  EXPECT_EQ(q.status.code(), Code::kDeadlineExceeded) << q.status.ToString();
  EXPECT_LT(waited, 1500ms) << "answered at its own deadline, not after the slow batch ahead of it";
  EXPECT_EQ(slow.get().status.code(), Code::kDeadlineExceeded);
  EXPECT_EQ(Count("t"), 0) << "an abandoned batch never runs";
  EXPECT_EQ(Count("big"), 0);
  EXPECT_TRUE(Run(BatchMode::kWrite, {{"INSERT INTO t VALUES (2)", {}}}).status.ok()) << "the writer goes on";
}

TEST_F(SqliteDatabaseTest, ABackgroundThreadCheckpointsTheWal) {
  PoolOptions o;
  o.sqlite_checkpoint_pages = 64;
  Open(o);
  ASSERT_NO_FATAL_FAILURE(InsertPaddedRows(2000));
  // ~1,000 pages of rows went through a WAL that is checkpointed every 64 (on a loaded machine
  // the checkpointing thread may lag: the writer's own fallback keeps the bound below).
  for (int i = 0; i < 5000 && db_->Stats().checkpoints == 0; ++i) std::this_thread::sleep_for(1ms);
  const PoolStats st = db_->Stats();
  EXPECT_GT(st.checkpoints, 0u) << "the checkpointing thread ran";
  const auto wal = std::filesystem::file_size(dir_ / "app.db-wal");
  EXPECT_LT(wal, (64u * 16u + 16u) * (4096u + 24u) + 32u) << "the WAL stays within the writer's fallback bound (+ one commit)";
  EXPECT_EQ(Count("t"), 2000);
}

TEST_F(SqliteDatabaseTest, WithoutTheCheckpointerTheWriterCheckpointsAsSqliteDoes) {
  PoolOptions o;
  o.sqlite_checkpoint_pages = 0;
  Open(o);
  ASSERT_NO_FATAL_FAILURE(InsertPaddedRows(300));
  EXPECT_EQ(db_->Stats().checkpoints, 0u);
  EXPECT_EQ(Count("t"), 300);
}

TEST(SqliteDurability, AcknowledgedWritesSurviveKillNine) {
  TempDir dir;
  const std::string path = dir / "durable.db";
  {
    auto url = ParseUrl("sqlite://" + path);
    auto conn = Connect(*url);
    ASSERT_TRUE(conn.ok());
    ASSERT_TRUE((*conn)->Exec("CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT)").ok());
  }
  int pipefd[2];
  ASSERT_EQ(::pipe(pipefd), 0);
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::close(pipefd[0]);
    {
      IoRunner runner(1);
      auto url = ParseUrl("sqlite://" + path);
      auto db = OpenDatabase(runner.io(), *url, PoolOptions{});
      if (!db.ok()) ::_exit(2);
      for (int i = 1;; ++i) {
        BatchOutcome out = runner.Await((*db)->Run(
            MakeBatch(BatchMode::kWrite, {{"INSERT INTO t VALUES (?1, ?2)", {std::to_string(i), std::string(200, 'x')}}}),
            In(5s)));
        if (!out.status.ok()) ::_exit(3);
        if (::write(pipefd[1], &i, sizeof i) != sizeof i) ::_exit(4);
      }
    }
  }
  ::close(pipefd[1]);
  constexpr int kAcks = 300;
  int last = 0;
  for (int n = 0; n < kAcks; ++n) {
    ASSERT_EQ(::read(pipefd[0], &last, sizeof last), static_cast<ssize_t>(sizeof last)) << "child stopped early";
  }
  ::kill(child, SIGKILL);
  int wstatus = 0;
  ::waitpid(child, &wstatus, 0);
  ::close(pipefd[0]);
  ASSERT_TRUE(WIFSIGNALED(wstatus));
  auto url = ParseUrl("sqlite://" + path);
  auto conn = Connect(*url);
  ASSERT_TRUE(conn.ok()) << conn.status().ToString();
  auto r = (*conn)->Query("SELECT count(*), coalesce(min(id), 0) FROM t WHERE id <= ?1", {std::to_string(last)});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->rows[0][0], std::to_string(last)) << "every acknowledged write is in the file";
  EXPECT_EQ(r->rows[0][1], "1");
}

}  // namespace
}  // namespace plinth::db
