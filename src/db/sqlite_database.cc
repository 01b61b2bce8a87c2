// The SQLite request-path database: one writer connection and N reader connections, each on
// its own worker thread; batches are jobs queued to them and completed on the awaiting
// coroutine's executor.
#include <sqlite3.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>
#include <thread>

#include "db/async_util.h"
#include "db/database_impl.h"
#include "db/sqlite_common.h"
#include "db/stmt_cache.h"

namespace plinth::db {
namespace {

using Ms = std::chrono::milliseconds;

// The progress handler looks at the clock every this many virtual-machine instructions.
constexpr int kProgressInstructions = 1000;
// Busy handler sleeps: 50 µs, 100 µs, 200 µs … doubled, at most 16 ms each. The lock in the
// way is most often the checkpointing thread's, held for well under a millisecond; a coarse
// first sleep (SQLite's own handler starts at 1 ms) would stall every write queued behind.
constexpr std::chrono::microseconds kFirstBusySleep{50};
constexpr Ms kMaxBusySleep{16};
constexpr int kBusyDoublings = 9;  // 50 µs << 9 = 25.6 ms, past the cap
constexpr int kSqlStateLength = 5;

// ---- one connection, used by one worker thread ----

struct RaisedError {
  std::string sqlstate;
  std::string message;
  std::string object;
};

class SqliteConn {
 public:
  SqliteConn(sqlite3* db, size_t cache_capacity, Ms busy_timeout)
      : db_(db), cache_(std::max<size_t>(cache_capacity, 1)), busy_timeout_(busy_timeout) {
    sqlite3_busy_handler(db_, &SqliteConn::Busy, this);
    sqlite3_progress_handler(db_, kProgressInstructions, &SqliteConn::Progress, this);
    for (int nargs : {2, 3}) {
      sqlite3_create_function_v2(db_, "plinth_raise", nargs, SQLITE_UTF8 | SQLITE_INNOCUOUS, this,
                                 &SqliteConn::Raise, nullptr, nullptr, nullptr);
    }
  }
  ~SqliteConn() {
    cache_.ForEach([](sqlite3_stmt*& s) { sqlite3_finalize(s); });
    sqlite3_close_v2(db_);
  }
  SqliteConn(const SqliteConn&) = delete;
  SqliteConn& operator=(const SqliteConn&) = delete;

  bool InTransaction() const { return sqlite3_get_autocommit(db_) == 0; }
  sqlite3* handle() const { return db_; }

  // Runs `statements`, filling `out`; stops at the first failure (out.status, failed_index).
  void RunStatements(const std::vector<Stmt>& statements, BatchOutcome& out) {
    out.results.reserve(statements.size());
    for (size_t i = 0; i < statements.size(); ++i) {
      StmtResult r;
      Status st = Execute(statements[i].sql, statements[i].params, &r);
      if (!st.ok()) {
        out.status = std::move(st);
        out.failed_index = i;
        out.results.clear();
        return;
      }
      out.results.push_back(std::move(r));
    }
  }

  Status Exec(const char* sql) {
    static const Params kNone;
    return Execute(sql, kNone, nullptr);
  }

  void RollbackIfOpen() {
    if (InTransaction()) {
      Status ignored = Exec("ROLLBACK");
      (void)ignored;
    }
  }

  void set_deadline(Clock::time_point d) { deadline_ = d; }

 private:
  static int Progress(void* arg) {
    auto* self = static_cast<SqliteConn*>(arg);
    return Clock::now() >= self->deadline_ ? 1 : 0;
  }

  // Waits for a lock held by another connection, with growing sleeps, until busy_timeout or the
  // job's deadline, whichever comes first.
  static int Busy(void* arg, int count) {
    auto* self = static_cast<SqliteConn*>(arg);
    const Clock::time_point now = Clock::now();
    if (count == 0) self->busy_started_ = now;
    const Clock::time_point by_timeout = self->busy_started_ + self->busy_timeout_;
    const Clock::time_point limit = std::min(by_timeout, self->deadline_);
    if (now >= limit) {
      self->busy_hit_deadline_ = self->deadline_ <= by_timeout;
      return 0;
    }
    const auto sleep = std::min<Clock::duration>(kMaxBusySleep, kFirstBusySleep * (int64_t{1} << std::min(count, kBusyDoublings)));
    std::this_thread::sleep_for(std::min<Clock::duration>(sleep, limit - now));
    return 1;
  }

  // plinth_raise(sqlstate, message [, object]): fails the statement; the driver reports
  // CodeForSqlState(sqlstate).
  static void Raise(sqlite3_context* ctx, int argc, sqlite3_value** argv) {
    auto* self = static_cast<SqliteConn*>(sqlite3_user_data(ctx));
    auto text = [&](int i) -> std::string {
      const unsigned char* t = i < argc ? sqlite3_value_text(argv[i]) : nullptr;
      return t ? reinterpret_cast<const char*>(t) : "";
    };
    std::string state = text(0);
    if (state.size() != kSqlStateLength) {
      sqlite3_result_error(ctx, "plinth_raise: the first argument must be a five-character SQLSTATE", -1);
      return;
    }
    std::string message = text(1);
    if (message.empty()) message = "refused by plinth_raise";
    self->raised_ = RaisedError{state, message, text(2)};
    sqlite3_result_error(ctx, message.c_str(), -1);
  }

  Result<sqlite3_stmt*> Prepare(const std::string& sql) {
    if (sqlite3_stmt** cached = cache_.Find(sql)) return *cached;
    sqlite3_stmt* stmt = nullptr;
    const char* tail = nullptr;
    int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT, &stmt, &tail);
    if (rc != SQLITE_OK) {
      sqlite3_finalize(stmt);
      return Error(rc);
    }
    if (tail != nullptr && !sqlite::OnlyTrivia(std::string_view(tail, sql.data() + sql.size() - tail))) {
      sqlite3_finalize(stmt);
      return Status(Code::kInvalidArgument, "a Stmt holds one statement; this text holds several: " + sql);
    }
    if (stmt == nullptr) return static_cast<sqlite3_stmt*>(nullptr);  // only comments
    auto [slot, evicted] = cache_.Insert(sql, stmt);
    if (evicted) sqlite3_finalize(*evicted);
    return *slot;
  }

  Status Error(int rc) {
    if (raised_) {
      RaisedError r = std::move(*raised_);
      raised_.reset();
      return Status(CodeForSqlState(r.sqlstate), r.message, r.sqlstate, r.object);
    }
    const int extended = sqlite3_extended_errcode(db_);
    if ((rc & 0xff) == SQLITE_INTERRUPT && Clock::now() >= deadline_) {
      return Status(Code::kDeadlineExceeded, "the statement ran past its deadline and was interrupted",
                    sqlite::SqliteState(extended));
    }
    if (((rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED) && busy_hit_deadline_) {
      busy_hit_deadline_ = false;
      return Status(Code::kDeadlineExceeded,
                    "the SQLite database stayed locked by another connection until the deadline",
                    sqlite::SqliteState(extended));
    }
    return sqlite::SqliteError(extended, sqlite3_errmsg(db_));
  }

  Status Execute(const std::string& sql, const Params& params, StmtResult* out) {
    raised_.reset();
    busy_hit_deadline_ = false;
    PLINTH_ASSIGN_OR_RETURN(sqlite3_stmt * stmt, Prepare(sql));
    if (stmt == nullptr) {
      if (!params.empty()) return ParamCountError(0, params.size());
      return Status::Ok();
    }
    const int expected = sqlite3_bind_parameter_count(stmt);
    if (static_cast<size_t>(expected) != params.size()) return ParamCountError(expected, params.size());
    struct Reset {
      sqlite3_stmt* s;
      ~Reset() {
        sqlite3_reset(s);
        sqlite3_clear_bindings(s);
      }
    } reset{stmt};
    for (size_t i = 0; i < params.size(); ++i) {
      const int index = static_cast<int>(i) + 1;
      int rc = params[i] ? sqlite3_bind_text64(stmt, index, params[i]->data(), params[i]->size(), SQLITE_STATIC,
                                               SQLITE_UTF8)
                         : sqlite3_bind_null(stmt, index);
      if (rc != SQLITE_OK) return Error(rc);
    }
    const int ncols = sqlite3_column_count(stmt);
    if (out) {
      out->columns.reserve(ncols);
      for (int c = 0; c < ncols; ++c) out->columns.emplace_back(sqlite3_column_name(stmt, c));
    }
    const sqlite3_int64 changes_before = sqlite3_total_changes64(db_);
    for (;;) {
      int rc = sqlite3_step(stmt);
      if (rc == SQLITE_DONE) break;
      if (rc != SQLITE_ROW) return Error(rc);
      if (!out) continue;
      Row row;
      row.reserve(ncols);
      for (int c = 0; c < ncols; ++c) {
        const int type = sqlite3_column_type(stmt, c);
        if (type == SQLITE_NULL) {
          row.emplace_back(std::nullopt);
          continue;
        }
        // column_blob keeps a BLOB's raw bytes; column_text renders numbers.
        const void* data = type == SQLITE_BLOB ? sqlite3_column_blob(stmt, c)
                                               : static_cast<const void*>(sqlite3_column_text(stmt, c));
        const int size = sqlite3_column_bytes(stmt, c);
        row.emplace_back(data ? std::string(static_cast<const char*>(data), size) : std::string());
      }
      out->rows.push_back(std::move(row));
    }
    if (out && sqlite3_total_changes64(db_) != changes_before) out->affected = sqlite3_changes64(db_);
    return Status::Ok();
  }

  static Status ParamCountError(int expected, size_t given) {
    return Status(Code::kInvalidArgument, "the statement has " + std::to_string(expected) +
                                              " parameter(s) but " + std::to_string(given) + " value(s) were given");
  }

  sqlite3* db_;
  detail::StatementCache<sqlite3_stmt*> cache_;
  Ms busy_timeout_;
  Clock::time_point deadline_ = Clock::time_point::max();
  Clock::time_point busy_started_;
  bool busy_hit_deadline_ = false;
  std::optional<RaisedError> raised_;
};

// ---- jobs and workers ----

enum class JobKind : unsigned char { kBatch, kLease, kTxnRun, kTxnCommit, kTxnRollback };
enum class JobState : int { kQueued, kRunning, kDone, kAbandoned };

struct Job {
  JobKind kind = JobKind::kBatch;
  BatchMode mode = BatchMode::kRead;
  std::vector<Stmt> statements;
  bool begin_first = false;  // kTxnRun: BEGIN before the statements
  Clock::time_point deadline;
  std::atomic<int> state{static_cast<int>(JobState::kQueued)};
  int worker = -1;  // kLease: the worker that was leased
  detail::OneShot<BatchOutcome> done;
};
using JobPtr = std::shared_ptr<Job>;

struct Worker {
  std::unique_ptr<SqliteConn> conn;
  std::thread thread;
  std::deque<JobPtr> own;  // jobs of the transaction that leased this worker
  std::condition_variable cv;
  int index = 0;
  bool writer = false;
  bool leased = false;
  bool waiting = false;
  bool busy = false;
};

class SqliteCore : public std::enable_shared_from_this<SqliteCore> {
 public:
  SqliteCore(asio::io_context& io, Url url, PoolOptions options) : io_(io), url_(std::move(url)), options_(options) {}

  ~SqliteCore() {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
      closed_ = true;
    }
    for (auto& w : workers_) w->cv.notify_all();
    for (auto& w : workers_) {
      if (w->thread.joinable()) w->thread.join();
    }
    StopCheckpointer();
    // Queued jobs nobody will run.
    for (auto* q : {&write_queue_, &read_queue_}) {
      for (auto& job : *q) FailJob(job, ClosedError());
    }
  }

  Status Open() {
    const bool memory = url_.path == sqlite::kMemoryPath;
    const int readers = memory ? 0 : options_.sqlite_readers;
    const auto sync = options_.sqlite_synchronous_full ? sqlite::Synchronous::kFull : sqlite::Synchronous::kNormal;
    for (int i = 0; i <= readers; ++i) {
      sqlite::OpenOptions open;
      open.create = i == 0;
      open.busy_timeout_ms = 0;  // SqliteConn installs its own busy handler
      open.synchronous = sync;
      open.set_wal = i == 0;
      open.query_only = i > 0;
      Result<sqlite3*> db = sqlite::Open(url_.path, open);
      if (!db.ok()) return db.status();
      auto w = std::make_unique<Worker>();
      w->conn = std::make_unique<SqliteConn>(*db, options_.statement_cache, options_.sqlite_busy_timeout);
      w->writer = i == 0;
      w->index = i;
      workers_.push_back(std::move(w));
      ++opened_;
    }
    if (!memory && options_.sqlite_checkpoint_pages > 0) {
      sqlite::OpenOptions open;
      open.create = false;
      open.busy_timeout_ms = 0;
      open.synchronous = sync;  // the checkpointing connection's setting decides its fsyncs
      open.set_wal = false;
      Result<sqlite3*> db = sqlite::Open(url_.path, open);
      if (!db.ok()) return db.status();
      checkpointer_.db = *db;
      sqlite3_wal_hook(workers_[0]->conn->handle(), &SqliteCore::WalHook, this);
      checkpointer_.thread = std::thread([this] { CheckpointLoop(); });
    }
    for (size_t i = 0; i < workers_.size(); ++i) {
      workers_[i]->thread = std::thread([this, i] { WorkerLoop(*workers_[i]); });
    }
    return Status::Ok();
  }

  // Queues `job` (on the writer or a reader, or on the leased worker `worker`) and waits for
  // it until its deadline.
  asio::awaitable<BatchOutcome> Submit(JobPtr job, int worker = -1) {
    {
      std::lock_guard lock(mu_);
      if (closed_ && worker < 0) co_return detail::FailedOutcome(ClosedError());
      if (worker >= 0) {
        workers_[worker]->own.push_back(job);
      } else {
        auto& queue = QueueFor(job->mode);
        if (queue.size() >= static_cast<size_t>(options_.max_waiters)) {
          ++timeouts_;
          co_return detail::FailedOutcome(Status(
              Code::kUnavailable, "the SQLite pool is exhausted: " + std::to_string(queue.size()) +
                                      " batches already waiting (max_waiters " +
                                      std::to_string(options_.max_waiters) + ")"));
        }
        queue.push_back(job);
      }
      WakeLocked(job->mode, worker);
    }
    asio::steady_timer timer(co_await asio::this_coro::executor);
    timer.expires_at(job->deadline);
    timer.async_wait([weak = weak_from_this(), job](const boost::system::error_code& ec) {
      if (ec) return;
      if (auto self = weak.lock()) self->Abandon(job);
    });
    BatchOutcome out = co_await job->done.Wait();
    timer.cancel();
    co_return out;
  }

  PoolStats Stats() const {
    std::lock_guard lock(mu_);
    PoolStats s;
    for (const auto& w : workers_) {
      if (w->busy || w->leased) ++s.in_use; else ++s.idle;
      s.waiting += static_cast<int>(w->own.size());
    }
    s.waiting += static_cast<int>(write_queue_.size() + read_queue_.size());
    s.max = static_cast<int>(workers_.size());
    s.opened = opened_;
    s.timeouts = timeouts_;
    s.batches = batches_;
    s.retries = retries_;
    s.round_trip_ms_avg = batches_ ? busy_ms_ / static_cast<double>(batches_) : 0;
    s.group_commits = groups_;
    {
      std::lock_guard ck(checkpointer_.mu);
      s.checkpoints = checkpointer_.done;
      s.writer_checkpoints = checkpointer_.by_writer;
    }
    return s;
  }

  void CountRetry() {
    std::lock_guard lock(mu_);
    ++retries_;
  }

  // Refuses new batches, fails the queued ones, and waits (until `deadline`) for the running
  // ones and open transactions.
  asio::awaitable<void> Close(Clock::time_point deadline) {
    std::deque<JobPtr> dropped;
    std::shared_ptr<detail::OneShot<bool>> drained;
    {
      std::lock_guard lock(mu_);
      closed_ = true;
      for (auto* q : {&write_queue_, &read_queue_}) {
        for (auto& j : *q) dropped.push_back(std::move(j));
        q->clear();
      }
      if (!IdleLocked()) {
        if (!drained_) drained_ = std::make_shared<detail::OneShot<bool>>();
        drained = drained_;
      }
    }
    for (auto& j : dropped) FailJob(j, ClosedError());
    if (!drained) co_return;
    asio::steady_timer timer(co_await asio::this_coro::executor);
    timer.expires_at(deadline);
    timer.async_wait([drained](const boost::system::error_code& ec) {
      if (!ec) drained->Set(false);
    });
    co_await drained->Wait();
    timer.cancel();
  }

  Status ClosedError() const {
    return Status(Code::kUnavailable, "the SQLite database " + url_.path + " is closed");
  }

  bool has_readers() const { return workers_.size() > 1; }
  const PoolOptions& options() const { return options_; }

 private:
  std::deque<JobPtr>& QueueFor(BatchMode mode) {
    return mode == BatchMode::kWrite || !has_readers() ? write_queue_ : read_queue_;
  }

  bool IdleLocked() const {
    for (const auto& w : workers_) {
      if (w->busy || w->leased || !w->own.empty()) return false;
    }
    return true;
  }

  void WakeLocked(BatchMode mode, int worker) {
    if (worker >= 0) {
      workers_[worker]->cv.notify_one();
      return;
    }
    if (mode == BatchMode::kWrite || !has_readers()) {
      workers_[0]->cv.notify_one();
      return;
    }
    // A reader that waits and was not woken for another job yet.
    for (size_t i = 1; i < workers_.size(); ++i) {
      if (workers_[i]->waiting && !workers_[i]->leased) {
        workers_[i]->waiting = false;
        workers_[i]->cv.notify_one();
        return;
      }
    }
  }

  void Abandon(const JobPtr& job) {
    int expected = static_cast<int>(JobState::kQueued);
    {
      std::lock_guard lock(mu_);
      if (!job->state.compare_exchange_strong(expected, static_cast<int>(JobState::kAbandoned))) return;
      for (auto* q : {&write_queue_, &read_queue_}) {
        auto it = std::find(q->begin(), q->end(), job);
        if (it != q->end()) q->erase(it);
      }
      for (auto& w : workers_) {
        auto it = std::find(w->own.begin(), w->own.end(), job);
        if (it != w->own.end()) w->own.erase(it);
      }
      ++timeouts_;
    }
    job->done.Set(detail::FailedOutcome(Status(
        Code::kDeadlineExceeded, "the deadline passed while the batch waited for an SQLite connection")));
  }

  static void FailJob(const JobPtr& job, Status st) {
    int expected = static_cast<int>(JobState::kQueued);
    if (job->state.compare_exchange_strong(expected, static_cast<int>(JobState::kAbandoned))) {
      job->done.Set(detail::FailedOutcome(std::move(st)));
    }
  }

  void WorkerLoop(Worker& w) {
    std::unique_lock lock(mu_);
    for (;;) {
      JobPtr job;
      w.cv.wait(lock, [&] {
        const bool ready =
            stopping_ || !w.own.empty() || (!w.leased && !(w.writer ? write_queue_ : read_queue_).empty());
        w.waiting = !ready;
        return ready;
      });
      auto& shared = w.writer ? write_queue_ : read_queue_;
      if (!w.own.empty()) {
        job = std::move(w.own.front());
        w.own.pop_front();
      } else if (!w.leased && !shared.empty()) {
        job = std::move(shared.front());
        shared.pop_front();
      } else {
        break;  // stopping, nothing left
      }
      int expected = static_cast<int>(JobState::kQueued);
      if (!job->state.compare_exchange_strong(expected, static_cast<int>(JobState::kRunning))) continue;
      w.busy = true;
      if (job->kind == JobKind::kLease) w.leased = true;
      if (w.writer && job->kind == JobKind::kBatch && options_.sqlite_group_commit > 1 && !shared.empty() &&
          shared.front()->kind == JobKind::kBatch) {
        RunGroupLocked(w, std::move(job), lock);
        continue;
      }
      lock.unlock();

      const Clock::time_point started = Clock::now();
      BatchOutcome out = RunJob(w, *job);
      const double ms = std::chrono::duration<double, std::milli>(Clock::now() - started).count();

      lock.lock();
      w.busy = false;
      if (job->kind == JobKind::kTxnCommit || job->kind == JobKind::kTxnRollback) w.leased = false;
      if (job->kind != JobKind::kLease) {
        ++batches_;
        busy_ms_ += ms;
      }
      if (closed_ && drained_ && IdleLocked()) drained_->Set(true);
      job->state.store(static_cast<int>(JobState::kDone));
      job->done.Set(std::move(out));
    }
  }

  // Group commit: the writer runs `first` and the batches queued behind it (up to
  // sqlite_group_commit) in one transaction, each inside its own SAVEPOINT, so that a failing
  // batch rolls back alone, and answers them all after the one COMMIT. A transaction of many
  // small inserts writes each shared index page once to the WAL instead of once per batch; what
  // each caller sees is unchanged: its batch ran whole or not at all, after the ones before it.
  // Called with `lock` held (first already kRunning); returns with it held.
  void RunGroupLocked(Worker& w, JobPtr first, std::unique_lock<std::mutex>& lock) {
    std::vector<JobPtr> group;
    group.push_back(std::move(first));
    auto& queue = write_queue_;
    while (group.size() < static_cast<size_t>(options_.sqlite_group_commit) && !queue.empty() &&
           queue.front()->kind == JobKind::kBatch) {
      // Taken off the queue but left kQueued until its turn comes: until then its caller's
      // deadline can still abandon it and answer at once, as if it were queued.
      JobPtr next = std::move(queue.front());
      queue.pop_front();
      if (next->state.load() == static_cast<int>(JobState::kQueued)) group.push_back(std::move(next));
    }
    lock.unlock();

    const Clock::time_point started = Clock::now();
    std::vector<BatchOutcome> outs(group.size());
    std::vector<char> taken(group.size(), 0);  // 1: made kRunning by this group (answered below)
    taken[0] = 1;
    RunGroup(*w.conn, group, outs, taken);
    const double ms = std::chrono::duration<double, std::milli>(Clock::now() - started).count();
    lock.lock();
    w.busy = false;
    batches_ += group.size();
    busy_ms_ += ms;
    if (group.size() > 1) ++groups_;
    if (closed_ && drained_ && IdleLocked()) drained_->Set(true);
    for (size_t i = 0; i < group.size(); ++i) {
      if (!taken[i]) continue;  // abandoned at its deadline before its turn: already answered
      group[i]->state.store(static_cast<int>(JobState::kDone));
      group[i]->done.Set(std::move(outs[i]));
    }
  }

  // Makes group[i] kRunning when its turn comes (true), unless its caller's deadline abandoned
  // it first (false: answered already). Taken once; a batch run again stays taken.
  static bool Take(const std::vector<JobPtr>& group, std::vector<char>& taken, size_t i) {
    if (taken[i]) return true;
    int expected = static_cast<int>(JobState::kQueued);
    if (!group[i]->state.compare_exchange_strong(expected, static_cast<int>(JobState::kRunning))) return false;
    taken[i] = 1;
    return true;
  }

  static void RunGroup(SqliteConn& conn, const std::vector<JobPtr>& group, std::vector<BatchOutcome>& outs,
                       std::vector<char>& taken) {
    // `pending` holds the batches still to run (indices into group). A failure that makes
    // SQLite roll back the whole transaction (an interrupt at a deadline inside a write, an I/O
    // error, a full disk) undoes the batches that ran before it too: they run again in a new
    // transaction; the failing one keeps its error. Every round drops at least that one.
    std::vector<size_t> pending(group.size());
    for (size_t i = 0; i < group.size(); ++i) pending[i] = i;
    // The transaction ended under batch pending[k]: what ran before it and what follows it run again.
    const auto lose = [&](std::vector<size_t>& ran, size_t k) {
      std::vector<size_t> again = std::move(ran);
      again.insert(again.end(), pending.begin() + static_cast<std::ptrdiff_t>(k) + 1, pending.end());
      return again;
    };
    try {
      while (!pending.empty()) {
        std::vector<size_t> ran;    // ran whole in this transaction, waiting for COMMIT
        std::vector<size_t> again;  // to run in a new transaction
        conn.set_deadline(Clock::time_point::max());
        if (Status st = conn.Exec("BEGIN IMMEDIATE"); !st.ok()) {
          conn.RollbackIfOpen();
          for (size_t i : pending) {
            if (Take(group, taken, i)) outs[i] = detail::FailedOutcome(st);
          }
          return;
        }
        bool lost = false;  // the transaction ended under us
        for (size_t k = 0; k < pending.size() && !lost; ++k) {
          const size_t i = pending[k];
          Job& job = *group[i];
          if (!Take(group, taken, i)) continue;
          BatchOutcome& out = outs[i];
          out = BatchOutcome{};
          if (Clock::now() >= job.deadline) {
            out = detail::FailedOutcome(
                Status(Code::kDeadlineExceeded, "the deadline passed while the batch waited for the SQLite writer"));
            continue;
          }
          if (Status st = conn.Exec("SAVEPOINT plinth_group"); !st.ok()) {
            out = detail::FailedOutcome(std::move(st));
            if (!conn.InTransaction()) {
              lost = true;
              again = lose(ran, k);
            }
            continue;
          }
          conn.set_deadline(job.deadline);
          conn.RunStatements(job.statements, out);
          conn.set_deadline(Clock::time_point::max());
          if (conn.InTransaction() && !out.status.ok()) {
            Status rb = conn.Exec("ROLLBACK TO plinth_group");
            (void)rb;
          }
          if (conn.InTransaction()) {
            if (Status st = conn.Exec("RELEASE plinth_group"); !st.ok()) {
              // Never seen: the savepoint's work must not be committed with the others.
              conn.RollbackIfOpen();
              if (out.status.ok()) out = detail::FailedOutcome(std::move(st));
            }
          }
          if (!conn.InTransaction()) {
            // The transaction is gone: the batches that ran before this one are undone.
            lost = true;
            if (out.status.ok()) {
              out = detail::FailedOutcome(Status(Code::kInternal, "SQLite rolled the transaction back without reporting an error"));
            }
            again = lose(ran, k);
            continue;
          }
          if (out.status.ok()) ran.push_back(i);
        }
        if (!lost) {
          if (Status st = conn.Exec("COMMIT"); !st.ok()) {
            conn.RollbackIfOpen();
            for (size_t i : ran) {
              outs[i].status = st;
              outs[i].failed_index = group[i]->statements.size();
              outs[i].results.clear();
            }
          }
        }
        pending = std::move(again);
      }
    } catch (const std::exception& e) {
      conn.RollbackIfOpen();
      for (size_t i : pending) {
        if (Take(group, taken, i)) {
          outs[i] = detail::FailedOutcome(Status(Code::kInternal, std::string("SQLite worker failed: ") + e.what()));
        }
      }
    }
    conn.set_deadline(Clock::time_point::max());
  }

  // ---- checkpoints ----
  // SQLite's own automatic checkpoint runs inside the COMMIT that crosses the threshold: the
  // writer copies the whole WAL back into the database file and fsyncs both while every write
  // batch queues behind it (the tail of the write latency). Here the writer's WAL hook hands
  // the bulk of that work to a checkpointing thread with its own connection, whose PASSIVE
  // checkpoints block neither the writer nor the readers. A WAL restarts from its beginning
  // only after a checkpoint that left nothing behind, which a checkpoint racing the writer
  // never does; so once the checkpointer has caught up to within a few pages, the writer
  // copies those few itself (a short checkpoint) and its next transaction restarts the WAL.
  // Should the WAL still grow to kWriterCheckpointFactor times the threshold (a sustained load
  // that the checkpointer never quite catches up with, or long readers), the writer waits for
  // the checkpointer's run to end and checkpoints itself, as SQLite would.
  static constexpr int kWriterCheckpointFactor = 16;
  static constexpr int kBackgroundBacklogDivisor = 2;  // wake the checkpointer at threshold/2 behind
  static constexpr int kWriterBacklogDivisor = 8;      // the writer finishes at threshold/8 behind

  static int WalHook(void* arg, sqlite3* db, const char* schema, int frames) {
    auto* self = static_cast<SqliteCore*>(arg);
    auto& c = self->checkpointer_;
    const int threshold = self->options_.sqlite_checkpoint_pages;
    std::unique_lock lock(c.mu);
    if (frames < c.last_frames) {  // the WAL restarted: what was backfilled belongs to the old one
      ++c.generation;
      c.backfilled = 0;
    }
    c.last_frames = frames;
    if (frames < threshold) return SQLITE_OK;
    const int backlog = frames - std::min(c.backfilled, frames);
    const bool overgrown = frames >= threshold * kWriterCheckpointFactor;
    if (overgrown) {
      // Under a sustained load the checkpointer never quite catches up (the writer appends while
      // it copies), so the WAL cannot restart: the writer waits for its run to end and finishes
      // the job itself, no write in between, which lets the next transaction restart the WAL.
      c.cv.wait(lock, [&] { return !c.running; });
    }
    if (overgrown || (!c.running && !c.wanted && backlog <= threshold / kWriterBacklogDivisor)) {
      c.running = true;  // the checkpointing thread stays out meanwhile
      lock.unlock();
      int log = 0, copied = 0;
      const int rc = sqlite3_wal_checkpoint_v2(db, schema, SQLITE_CHECKPOINT_PASSIVE, &log, &copied);
      lock.lock();
      c.running = false;
      if (rc == SQLITE_OK) {
        ++c.by_writer;
        c.backfilled = std::max(c.backfilled, copied);
      }
      c.cv.notify_all();
    } else if (!c.running && !c.wanted && backlog >= threshold / kBackgroundBacklogDivisor) {
      c.wanted = true;
      c.cv.notify_all();
    }
    return SQLITE_OK;
  }

  void CheckpointLoop() {
    auto& c = checkpointer_;
    std::unique_lock lock(c.mu);
    for (;;) {
      c.cv.wait(lock, [&] { return (c.wanted && !c.running) || c.stop; });
      if (c.stop) return;
      c.wanted = false;
      c.running = true;
      const uint64_t generation = c.generation;
      lock.unlock();
      int log = 0, copied = 0;
      const int rc = sqlite3_wal_checkpoint_v2(c.db, nullptr, SQLITE_CHECKPOINT_PASSIVE, &log, &copied);
      lock.lock();
      c.running = false;
      if (rc == SQLITE_OK) {
        ++c.done;
        if (generation == c.generation) c.backfilled = std::max(c.backfilled, copied);
      }
      c.cv.notify_all();  // a writer waiting to finish the job
    }
  }

  void StopCheckpointer() {
    {
      std::lock_guard lock(checkpointer_.mu);
      checkpointer_.stop = true;
    }
    checkpointer_.cv.notify_all();
    if (checkpointer_.thread.joinable()) checkpointer_.thread.join();
    if (checkpointer_.db != nullptr) sqlite3_close_v2(checkpointer_.db);
    checkpointer_.db = nullptr;
  }

  BatchOutcome RunJob(Worker& w, Job& job) {
    BatchOutcome out;
    SqliteConn& conn = *w.conn;
    conn.set_deadline(job.deadline);
    const char* begin = job.mode == BatchMode::kWrite ? "BEGIN IMMEDIATE" : "BEGIN";
    try {
      switch (job.kind) {
        case JobKind::kLease:
          job.worker = w.index;
          break;
        case JobKind::kBatch: {
          if (Status st = conn.Exec(begin); !st.ok()) {
            conn.RollbackIfOpen();
            out.status = std::move(st);
            break;
          }
          conn.RunStatements(job.statements, out);
          if (out.status.ok()) {
            if (Status st = conn.Exec("COMMIT"); !st.ok()) {
              out.status = std::move(st);
              out.failed_index = job.statements.size();
              out.results.clear();
            }
          }
          if (!out.status.ok()) conn.RollbackIfOpen();
          break;
        }
        case JobKind::kTxnRun:
          if (job.begin_first) {
            if (Status st = conn.Exec(begin); !st.ok()) {
              out.status = std::move(st);
              break;
            }
          }
          conn.RunStatements(job.statements, out);
          break;
        case JobKind::kTxnCommit:
          if (conn.InTransaction()) {
            if (Status st = conn.Exec("COMMIT"); !st.ok()) {
              out.status = std::move(st);
              conn.RollbackIfOpen();
            }
          }
          break;
        case JobKind::kTxnRollback:
          conn.set_deadline(Clock::time_point::max());
          conn.RollbackIfOpen();
          break;
      }
    } catch (const std::exception& e) {
      conn.RollbackIfOpen();
      out.status = Status(Code::kInternal, std::string("SQLite worker failed: ") + e.what());
    }
    conn.set_deadline(Clock::time_point::max());
    return out;
  }

  asio::io_context& io_;
  const Url url_;
  const PoolOptions options_;
  mutable std::mutex mu_;
  std::vector<std::unique_ptr<Worker>> workers_;  // [0] is the writer
  std::deque<JobPtr> write_queue_;
  std::deque<JobPtr> read_queue_;
  bool closed_ = false;
  bool stopping_ = false;
  std::shared_ptr<detail::OneShot<bool>> drained_;
  uint64_t opened_ = 0, timeouts_ = 0, batches_ = 0, retries_ = 0, groups_ = 0;
  struct {
    sqlite3* db = nullptr;
    std::thread thread;
    mutable std::mutex mu;
    std::condition_variable cv;
    bool wanted = false;
    bool running = false;
    bool stop = false;
    int last_frames = 0;      // the WAL's size at the writer's last commit
    int backfilled = 0;       // frames of the current WAL copied into the database file
    uint64_t generation = 0;  // WAL restarts seen
    uint64_t done = 0;       // checkpoints run by the checkpointing thread
    uint64_t by_writer = 0;  // run by the writer itself (the WAL outgrew the checkpointer)
  } checkpointer_;
  double busy_ms_ = 0;
};

JobPtr MakeJob(JobKind kind, BatchMode mode, Clock::time_point deadline, std::vector<Stmt> statements = {}) {
  auto job = std::make_shared<Job>();
  job->kind = kind;
  job->mode = mode;
  job->deadline = deadline;
  job->statements = std::move(statements);
  return job;
}

// ---- interactive transactions ----

class SqliteTransaction final : public Transaction {
 public:
  SqliteTransaction(asio::io_context& io, std::shared_ptr<SqliteCore> core, int worker, BatchMode mode,
                    Clock::time_point deadline)
      : io_(io), core_(std::move(core)), worker_(worker), mode_(mode), deadline_(deadline) {}

  ~SqliteTransaction() override {
    if (state_ == State::kDone) return;
    // Roll back and give the worker back; nobody waits for the answer.
    JobPtr job = MakeJob(JobKind::kTxnRollback, mode_, Clock::time_point::max());
    asio::co_spawn(io_, Finish(core_, job, worker_), asio::detached);
  }

  asio::awaitable<BatchOutcome> Run(std::vector<Stmt> statements) override {
    if (state_ == State::kFailed || state_ == State::kDone) {
      co_return detail::FailedOutcome(Status(Code::kFailedPrecondition,
                                             state_ == State::kDone ? "the transaction has already ended"
                                                                    : "the transaction failed; only Rollback is allowed"));
    }
    size_t bad = 0;
    if (Status st = detail::CheckBatch(Backend::kSqlite, statements, &bad); !st.ok()) {
      BatchOutcome out = detail::FailedOutcome(st);
      out.failed_index = bad;
      co_return out;
    }
    JobPtr job = MakeJob(JobKind::kTxnRun, mode_, deadline_, std::move(statements));
    job->begin_first = state_ == State::kNotStarted;
    std::shared_ptr<SqliteCore> core = core_;
    BatchOutcome out = co_await core->Submit(job, worker_);
    state_ = out.status.ok() ? State::kOpen : State::kFailed;
    co_return out;
  }

  asio::awaitable<Status> Commit() override {
    if (state_ == State::kDone) co_return Status(Code::kFailedPrecondition, "the transaction has already ended");
    if (state_ == State::kFailed) {
      co_return Status(Code::kFailedPrecondition, "the transaction failed; roll it back (nothing was committed)");
    }
    state_ = State::kDone;
    std::shared_ptr<SqliteCore> core = core_;
    // COMMIT waits for the writer's lock only if it is not ours already: no deadline on it, so
    // that an acknowledged COMMIT never turns into a timeout.
    BatchOutcome out = co_await core->Submit(MakeJob(JobKind::kTxnCommit, mode_, Clock::time_point::max()), worker_);
    co_return out.status;
  }

  asio::awaitable<void> Rollback() override {
    if (state_ == State::kDone) co_return;
    state_ = State::kDone;
    std::shared_ptr<SqliteCore> core = core_;
    co_await core->Submit(MakeJob(JobKind::kTxnRollback, mode_, Clock::time_point::max()), worker_);
  }

 private:
  enum class State : unsigned char { kNotStarted, kOpen, kFailed, kDone };

  static asio::awaitable<void> Finish(std::shared_ptr<SqliteCore> core, JobPtr job, int worker) {
    co_await core->Submit(job, worker);
  }

  asio::io_context& io_;
  std::shared_ptr<SqliteCore> core_;
  int worker_;
  BatchMode mode_;
  Clock::time_point deadline_;
  State state_ = State::kNotStarted;
};

// ---- the Database ----

class SqliteDatabase final : public Database {
 public:
  SqliteDatabase(asio::io_context& io, const Url& url, const PoolOptions& options)
      : io_(io), url_(url), options_(options), core_(std::make_shared<SqliteCore>(io, url, options)) {}

  Status Open() { return core_->Open(); }

  Backend backend() const override { return Backend::kSqlite; }
  const Url& url() const override { return url_; }

  asio::awaitable<BatchOutcome> Run(Batch batch, Clock::time_point deadline) override {
    std::shared_ptr<SqliteCore> core = core_;
    size_t bad = 0;
    if (Status st = detail::CheckBatch(Backend::kSqlite, batch.statements, &bad); !st.ok()) {
      BatchOutcome out = detail::FailedOutcome(st);
      out.failed_index = bad;
      co_return out;
    }
    for (int attempt = 1;; ++attempt) {
      // The statements are moved into the job only for the last possible attempt.
      const bool last = attempt > options_.retry_attempts;
      JobPtr job = MakeJob(JobKind::kBatch, batch.mode, deadline,
                           last ? std::move(batch.statements) : batch.statements);
      BatchOutcome out = co_await core->Submit(job);
      out.attempts = attempt;
      if (out.status.ok() || out.status.code() != Code::kRetryable || last) co_return out;
      const Ms delay = detail::Backoff(options_.retry_backoff, attempt - 1, options_.backoff_max);
      if (Clock::now() + delay >= deadline) co_return out;
      core->CountRetry();
      asio::steady_timer timer(co_await asio::this_coro::executor);
      timer.expires_after(delay);
      boost::system::error_code ec;
      co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
  }

  asio::awaitable<Result<std::unique_ptr<Transaction>>> Begin(BatchMode mode, Clock::time_point deadline) override {
    std::shared_ptr<SqliteCore> core = core_;
    JobPtr lease = MakeJob(JobKind::kLease, mode, deadline);
    BatchOutcome out = co_await core->Submit(lease);
    if (!out.status.ok()) co_return out.status;
    co_return std::unique_ptr<Transaction>(
        std::make_unique<SqliteTransaction>(io_, core, lease->worker, mode, deadline));
  }

  asio::awaitable<Ping> Check(Clock::time_point deadline) override {
    Ping ping;
    Batch batch;
    batch.statements.push_back(Stmt{"SELECT sqlite_version()", {}});
    const Clock::time_point start = Clock::now();
    BatchOutcome out = co_await Run(std::move(batch), deadline);
    ping.latency_ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
    ping.connected = out.status.ok();
    ping.server_version = sqlite3_libversion();
    ping.status = std::move(out.status);
    co_return ping;
  }

  PoolStats Stats() const override { return core_->Stats(); }

  void Listen(const std::string& channel, std::function<void(const std::string&)> cb) override {
    {
      std::lock_guard lock(listen_mu_);
      listeners_[channel].push_back(cb);
    }
    // The subscription is active at once: the empty payload says so (as after a reconnect on
    // PostgreSQL).
    asio::post(io_, [cb] { cb(std::string()); });
  }

  asio::awaitable<Status> Notify(const std::string& channel, const std::string& payload) override {
    std::vector<std::function<void(const std::string&)>> cbs;
    {
      std::lock_guard lock(listen_mu_);
      auto it = listeners_.find(channel);
      if (it != listeners_.end()) cbs = it->second;
    }
    for (auto& cb : cbs) asio::post(io_, [cb, payload] { cb(payload); });
    co_return Status::Ok();
  }

  asio::awaitable<void> Close(Clock::time_point deadline) override {
    std::shared_ptr<SqliteCore> core = core_;
    co_await core->Close(deadline);
  }

 private:
  asio::io_context& io_;
  const Url url_;
  const PoolOptions options_;
  std::shared_ptr<SqliteCore> core_;
  std::mutex listen_mu_;
  std::map<std::string, std::vector<std::function<void(const std::string&)>>> listeners_;
};

}  // namespace

Result<std::unique_ptr<Database>> OpenSqliteDatabase(asio::io_context& io, const Url& url,
                                                     const PoolOptions& options) {
  if (url.backend != Backend::kSqlite) return Status(Code::kInternal, "not an SQLite URL");
  auto db = std::make_unique<SqliteDatabase>(io, url, options);
  PLINTH_RETURN_IF_ERROR(db->Open());
  return std::unique_ptr<Database>(std::move(db));
}

}  // namespace plinth::db
