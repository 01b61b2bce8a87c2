// The PostgreSQL request-path database: the connection pool, retries, interactive
// transactions and LISTEN/NOTIFY, over pg::PgConnection.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <atomic>
#include <deque>
#include <map>
#include <mutex>

#include "db/async_util.h"
#include "db/database_impl.h"
#include "db/pg_common.h"
#include "db/pg_connection.h"
#include "db/statement_check.h"

namespace plinth::db {
namespace {

using pg::PgConnection;
using ConnPtr = std::shared_ptr<PgConnection>;
using Ms = std::chrono::milliseconds;

// How often the pool looks after itself: refills to `size`, closes connections past their
// lifetime and overflow connections idle longer than overflow_idle_timeout.
constexpr Ms kMaintenanceInterval{1000};

std::string Plural(size_t n, const char* what) {
  return std::to_string(n) + " " + what + (n == 1 ? "" : "s");
}

int64_t MillisUntil(Clock::time_point t) {
  return std::max<int64_t>(0, std::chrono::duration_cast<Ms>(t - Clock::now()).count());
}

// Reconnect throttling after failures: while it is active, callers that would need a new
// connection fail at once (kUnavailable) instead of piling onto a server that is down; one
// attempt at a time probes whether it is back.
class ReconnectBackoff {
 public:
  explicit ReconnectBackoff(const PoolOptions& o) : initial_(o.backoff_initial), max_(o.backoff_max) {}

  // Whether a connection attempt may start now; `generation` identifies the failure count the
  // attempt started under (see Failed).
  bool MayConnect(Clock::time_point now, int* generation) {
    *generation = failures_;
    if (failures_ == 0) return true;
    if (probing_ || now < retry_at_) return false;
    probing_ = true;
    return true;
  }
  void Succeeded() {
    failures_ = 0;
    probing_ = false;
  }
  // Several attempts that started together fail together: only the first one backs off
  // further.
  void Failed(Clock::time_point now, int generation, const Status& why) {
    last_error_ = why;
    if (generation != failures_) return;
    ++failures_;
    probing_ = false;
    retry_at_ = now + detail::Backoff(initial_, failures_ - 1, max_);
  }
  bool active() const { return failures_ > 0; }
  Status FailFast(const Url& url) const {
    return Status(Code::kUnavailable,
                  "PostgreSQL at " + url.Redacted() + " is unavailable; reconnecting is paused for " +
                      std::to_string(MillisUntil(retry_at_)) + " ms after " + Plural(failures_, "failed attempt") +
                      (last_error_.ok() ? "" : " (last: " + last_error_.message() + ")"));
  }

 private:
  Ms initial_;
  Ms max_;
  int failures_ = 0;
  bool probing_ = false;
  Clock::time_point retry_at_;
  Status last_error_;
};

// What a waiting caller receives.
struct Grant {
  ConnPtr conn;       // a connection to use, or
  bool slot = false;  // the right to open one (already counted in total_), or
  Status error;       // a failure
};

struct Waiter {
  detail::OneShot<Grant> done;
};

class PgPool : public std::enable_shared_from_this<PgPool> {
 public:
  PgPool(asio::io_context& io, Url url, PoolOptions options)
      : io_(io),
        url_(std::move(url)),
        options_(options),
        strand_(asio::make_strand(io.get_executor())),
        maintenance_timer_(strand_),
        backoff_(options_) {
    conn_options_.statement_cache = options_.statement_cache;
    conn_options_.cancel_grace = options_.cancel_grace;
    conn_options_.connect_timeout_ms = static_cast<int>(options_.connect_timeout.count());
    max_ = options_.size + options_.max_overflow;
  }

  void Start() {
    asio::co_spawn(strand_, MaintenanceLoop(weak_from_this()), asio::detached);
  }

  const Url& url() const { return url_; }
  const PoolOptions& options() const { return options_; }
  asio::io_context& io() { return io_; }

  // A connection for exclusive use, by `deadline` (and within acquire_timeout). `mode` says
  // whether a connection the server closed while it sat idle would cost more than a retry:
  // for writes it is always probed first (an unnoticed dead connection would turn the write
  // into kCommitUnknown); for reads only after the pool has seen a connection lost since this
  // one's last use (a read on a dead connection is simply run again).
  asio::awaitable<Result<ConnPtr>> Acquire(Clock::time_point deadline, BatchMode mode) {
    const Clock::time_point limit = std::min(deadline, Clock::now() + options_.acquire_timeout);
    for (;;) {
      ConnPtr conn;
      bool may_open = false;
      int generation = 0;
      std::shared_ptr<Waiter> waiter;
      std::vector<ConnPtr> to_close;
      {
        std::lock_guard lock(mu_);
        if (closed_) co_return ClosedError();
        const Clock::time_point now = Clock::now();
        TrimIdleLocked(now, to_close);
        if (!idle_.empty()) {
          conn = std::move(idle_.back());
          idle_.pop_back();
          ++in_use_;
        } else if (total_ < max_) {
          if (!backoff_.MayConnect(now, &generation)) {
            ++timeouts_;
            co_return backoff_.FailFast(url_);
          }
          ++total_;
          ++in_use_;
          may_open = true;
        } else if (waiters_.size() >= static_cast<size_t>(options_.max_waiters)) {
          ++timeouts_;
          co_return Status(Code::kUnavailable,
                           "the PostgreSQL pool is exhausted: " + Plural(in_use_, "connection") + " in use and " +
                               Plural(waiters_.size(), "caller") + " already waiting (max_waiters " +
                               std::to_string(options_.max_waiters) + ")");
        } else {
          waiter = std::make_shared<Waiter>();
          waiters_.push_back(waiter);
        }
      }
      to_close.clear();

      if (waiter) {
        asio::steady_timer timer(co_await asio::this_coro::executor);
        timer.expires_at(limit);
        const bool caller_deadline = limit == deadline;
        timer.async_wait([weak = weak_from_this(), waiter, caller_deadline](const boost::system::error_code& ec) {
          if (ec) return;
          if (auto pool = weak.lock()) pool->ExpireWaiter(waiter, caller_deadline);
        });
        Grant grant = co_await waiter->done.Wait();
        timer.cancel();
        if (!grant.error.ok()) co_return grant.error;
        if (grant.slot) {
          std::lock_guard lock(mu_);
          if (closed_ || !backoff_.MayConnect(Clock::now(), &generation)) {
            Status why = closed_ ? ClosedError() : backoff_.FailFast(url_);
            ReleaseSlotLocked();
            ++timeouts_;
            co_return why;
          }
          may_open = true;
        } else {
          conn = std::move(grant.conn);
        }
      }

      if (may_open) co_return co_await OpenReserved(limit, generation);

      // An existing connection: retire it at the end of its lifetime, make sure the server did
      // not close it while it sat idle, and ping it only when it sat idle long.
      const Clock::time_point now = Clock::now();
      if (conn->expires_at <= now) {
        Retire(std::move(conn), Retirement::kRecycled);
        continue;
      }
      const bool probe = mode == BatchMode::kWrite ||
                         conn->loss_generation != loss_generation_.load(std::memory_order_relaxed);
      if (probe && !conn->Alive()) {
        loss_generation_.fetch_add(1, std::memory_order_relaxed);
        Retire(std::move(conn), Retirement::kDiscarded);
        continue;
      }
      if (now - conn->idle_since > options_.validate_idle_after) {
        static const std::vector<Stmt> kNoStatements;
        pg::ExecRequest ping;
        ping.statements = &kNoStatements;
        ping.deadline = std::min(limit, now + options_.connect_timeout);
        pg::ExecResult r = co_await conn->Execute(ping);
        if (!r.status.ok() || r.discard) {
          Retire(std::move(conn), Retirement::kDiscarded);
          continue;
        }
      }
      co_return conn;
    }
  }

  // A shared connection (pg_connection.h, shared mode) for a read batch, or null when none is
  // fit to take one more (the caller then takes a connection of its own): the least loaded of
  // the usable ones that carry fewer than shared_depth batches and whose oldest batch has run
  // for less than shared_stall. While fewer than shared_connections exist and every one is
  // busy, another is opened in the background from the pool's capacity (at most half of it).
  // Shared connections count as in use; broken or expired ones leave the pool here and close
  // when their last batch has answered.
  ConnPtr AcquireShared() {
    ConnPtr best;
    std::vector<std::pair<ConnPtr, bool>> retired;  // (connection, reusable)
    bool open = false;
    {
      std::lock_guard lock(mu_);
      if (closed_ || options_.shared_connections <= 0) return nullptr;
      const Clock::time_point now = Clock::now();
      size_t best_load = 0;
      for (auto it = shared_.begin(); it != shared_.end();) {
        const PgConnection::SharedLoad load = (*it)->shared_load();
        if (!load.usable || (*it)->expires_at <= now) {
          retired.emplace_back(std::move(*it), load.usable);
          it = shared_.erase(it);
          continue;
        }
        const bool full = load.in_flight >= static_cast<size_t>(options_.shared_depth);
        const bool stalled = load.in_flight > 0 && now - load.oldest_sent > options_.shared_stall;
        if (!full && !stalled && (!best || load.in_flight < best_load)) {
          best = *it;
          best_load = load.in_flight;
        }
        ++it;
      }
      // At most half the pool's capacity is shared, so that writes and transactions always
      // find connections of their own (a pool of one never shares).
      const size_t lanes = static_cast<size_t>(std::min(options_.shared_connections, max_ / 2));
      if ((!best || best_load > 0) && !opening_shared_ && shared_.size() < lanes && total_ < max_) {
        opening_shared_ = true;
        open = true;
      }
    }
    for (auto& [conn, reusable] : retired) Release(std::move(conn), reusable);
    if (open) asio::co_spawn(strand_, OpenShared(weak_from_this()), asio::detached);
    return best;
  }

  // Opens one more shared connection, taken from the pool like any other.
  static asio::awaitable<void> OpenShared(std::weak_ptr<PgPool> weak) {
    auto self = weak.lock();
    if (!self) co_return;
    Result<ConnPtr> conn = co_await self->Acquire(Clock::now() + self->options_.acquire_timeout, BatchMode::kRead);
    std::lock_guard lock(self->mu_);
    self->opening_shared_ = false;
    if (!conn.ok()) co_return;
    if (self->closed_) {
      self->ReleaseSlotLocked();
      co_return;
    }
    (*conn)->PublishSharedLoad();
    self->shared_.push_back(std::move(conn).value());
  }

  // Gives a connection back after a batch. `result` (optional) feeds the statistics.
  void Release(ConnPtr conn, bool reusable, const pg::ExecResult* result = nullptr) {
    ConnPtr to_close;
    {
      std::lock_guard lock(mu_);
      if (result) {
        CountBatch(*result);
        if (result->connection_lost) loss_generation_.fetch_add(1, std::memory_order_relaxed);
      }
      conn->loss_generation = loss_generation_.load(std::memory_order_relaxed);
      const Clock::time_point now = Clock::now();
      if (!reusable || closed_ || conn->expires_at <= now) {
        if (!reusable) ++discarded_; else if (!closed_) ++recycled_;
        to_close = std::move(conn);
        ReleaseSlotLocked();
      } else if (!waiters_.empty()) {
        auto w = std::move(waiters_.front());
        waiters_.pop_front();
        w->done.Set(Grant{std::move(conn), false, {}});
      } else {
        conn->idle_since = now;
        idle_.push_back(std::move(conn));
        --in_use_;
      }
    }
  }

  // A shared batch's figures, without mu_ (both I/O threads answer shared batches).
  void Record(const pg::ExecResult& result) {
    CountBatch(result);
    if (result.connection_lost) loss_generation_.fetch_add(1, std::memory_order_relaxed);
  }

  void CountRetry() { retries_.fetch_add(1, std::memory_order_relaxed); }

  PoolStats Stats() const {
    std::lock_guard lock(mu_);
    PoolStats s;
    s.in_use = in_use_ - warming_;
    s.idle = static_cast<int>(idle_.size());
    s.shared = static_cast<int>(shared_.size());
    s.waiting = static_cast<int>(waiters_.size());
    s.max = max_;
    s.opened = opened_;
    s.discarded = discarded_;
    s.recycled = recycled_;
    s.timeouts = timeouts_;
    const uint64_t batches = batches_.load(std::memory_order_relaxed);
    s.batches = batches;
    s.retries = retries_.load(std::memory_order_relaxed);
    s.prepares = prepares_.load(std::memory_order_relaxed);
    s.cancels = cancels_.load(std::memory_order_relaxed);
    s.connect_failures = connect_failures_;
    s.commit_unknown = commit_unknown_.load(std::memory_order_relaxed);
    s.backing_off = backoff_.active();
    s.round_trip_ms_avg =
        batches ? static_cast<double>(round_trip_us_sum_.load(std::memory_order_relaxed)) / 1000.0 / static_cast<double>(batches)
                : 0;
    return s;
  }

  // Stops accepting work; fails the waiters, closes idle connections. In-use connections are
  // closed when they come back.
  void Shutdown() {
    std::deque<std::shared_ptr<Waiter>> waiters;
    std::deque<ConnPtr> idle;
    {
      std::lock_guard lock(mu_);
      if (closed_) return;
      closed_ = true;
      waiters.swap(waiters_);
      idle.swap(idle_);
      total_ -= static_cast<int>(idle.size());
      // Shared connections close when their last batch has answered.
      for (size_t i = 0; i < shared_.size(); ++i) ReleaseSlotLocked();
      shared_.clear();
    }
    for (auto& w : waiters) w->done.Set(Grant{nullptr, false, ClosedError()});
    asio::post(strand_, [weak = weak_from_this()] {
      if (auto self = weak.lock()) self->maintenance_timer_.cancel();
    });
  }

  asio::awaitable<void> Close(Clock::time_point deadline) {
    Shutdown();
    std::shared_ptr<detail::OneShot<bool>> drained;
    {
      std::lock_guard lock(mu_);
      if (in_use_ == 0) co_return;
      if (!drained_) drained_ = std::make_shared<detail::OneShot<bool>>();
      drained = drained_;
    }
    asio::steady_timer timer(co_await asio::this_coro::executor);
    timer.expires_at(deadline);
    timer.async_wait([drained](const boost::system::error_code& ec) {
      if (!ec) drained->Set(false);
    });
    co_await drained->Wait();
    timer.cancel();
  }

  Status ClosedError() const {
    return Status(Code::kUnavailable, "the database pool for " + url_.Redacted() + " is closed");
  }

 private:
  enum class Retirement : unsigned char { kRecycled, kDiscarded };

  // A slot (counted in total_ and in_use_) is given up: passed to the first waiter, which
  // may open a connection in it, or freed.
  void ReleaseSlotLocked() {
    if (!closed_ && !waiters_.empty() && total_ <= max_) {
      auto w = std::move(waiters_.front());
      waiters_.pop_front();
      w->done.Set(Grant{nullptr, true, {}});
      return;
    }
    --total_;
    --in_use_;
    if (closed_ && in_use_ == 0 && drained_) drained_->Set(true);
  }

  void Retire(ConnPtr conn, Retirement why) {
    std::lock_guard lock(mu_);
    if (why == Retirement::kRecycled) ++recycled_; else ++discarded_;
    ReleaseSlotLocked();
    // `conn` is closed when it goes out of scope, after the lock.
  }

  void ExpireWaiter(const std::shared_ptr<Waiter>& waiter, bool caller_deadline) {
    std::lock_guard lock(mu_);
    auto it = std::find(waiters_.begin(), waiters_.end(), waiter);
    if (it == waiters_.end()) return;  // granted meanwhile
    waiters_.erase(it);
    ++timeouts_;
    std::string state = Plural(in_use_, "connection") + " in use, " + Plural(waiters_.size(), "other caller") +
                        " waiting";
    Status why = caller_deadline
                     ? Status(Code::kDeadlineExceeded,
                              "no PostgreSQL connection became free before the deadline (" + state + ")")
                     : Status(Code::kUnavailable,
                              "the PostgreSQL pool is exhausted: no connection became free within " +
                                  std::to_string(options_.acquire_timeout.count()) + " ms (" + state + ")");
    waiter->done.Set(Grant{nullptr, false, std::move(why)});
  }

  // Opens a connection in a slot already counted in total_ and in_use_.
  asio::awaitable<Result<ConnPtr>> OpenReserved(Clock::time_point limit, int generation) {
    const Clock::time_point deadline = std::min(limit, Clock::now() + options_.connect_timeout);
    Result<ConnPtr> opened = co_await PgConnection::Open(io_, url_, conn_options_, deadline);
    std::lock_guard lock(mu_);
    if (!opened.ok()) {
      ++connect_failures_;
      backoff_.Failed(Clock::now(), generation, opened.status());
      ReleaseSlotLocked();
      co_return Status(Code::kUnavailable, opened.status().message());
    }
    backoff_.Succeeded();
    ++opened_;
    ConnPtr conn = std::move(opened).value();
    SetLifetime(*conn);
    if (closed_) {
      ReleaseSlotLocked();
      co_return ClosedError();
    }
    co_return conn;
  }

  void SetLifetime(PgConnection& conn) {
    if (options_.recycle.count() == 0) return;
    const double factor = detail::Jitter(options_.recycle_jitter);
    conn.expires_at = conn.opened_at + std::chrono::duration_cast<Clock::duration>(
                                           std::chrono::duration<double>(options_.recycle) * factor);
  }

  // Under the lock: idle connections past their lifetime, and overflow connections idle
  // longer than overflow_idle_timeout, move to `out` (closed by the caller after unlocking).
  void TrimIdleLocked(Clock::time_point now, std::vector<ConnPtr>& out) {
    for (auto it = idle_.begin(); it != idle_.end();) {
      if ((*it)->expires_at <= now) {
        out.push_back(std::move(*it));
        it = idle_.erase(it);
        --total_;
        ++recycled_;
      } else {
        ++it;
      }
    }
    while (!idle_.empty() && total_ > options_.size &&
           now - idle_.front()->idle_since > options_.overflow_idle_timeout) {
      out.push_back(std::move(idle_.front()));
      idle_.pop_front();
      --total_;
    }
  }

  // A batch's figures, lock-free (mu_ held or not).
  void CountBatch(const pg::ExecResult& r) {
    batches_.fetch_add(1, std::memory_order_relaxed);
    round_trip_us_sum_.fetch_add(static_cast<uint64_t>(std::max(0.0, r.round_trip_ms) * 1000.0), std::memory_order_relaxed);
    prepares_.fetch_add(static_cast<uint64_t>(r.prepares), std::memory_order_relaxed);
    if (r.cancelled) cancels_.fetch_add(1, std::memory_order_relaxed);
    if (r.status.code() == Code::kCommitUnknown) commit_unknown_.fetch_add(1, std::memory_order_relaxed);
  }

  // Keeps `size` connections open (one at a time, in the background) and trims the idle ones.
  static asio::awaitable<void> MaintenanceLoop(std::weak_ptr<PgPool> weak) {
    for (;;) {
      {
        auto self = weak.lock();
        if (!self) co_return;
        Clock::time_point next = Clock::now() + kMaintenanceInterval;
        for (;;) {
          std::vector<ConnPtr> to_close;
          int generation = 0;
          bool open = false;
          {
            std::lock_guard lock(self->mu_);
            if (self->closed_) co_return;
            const Clock::time_point now = Clock::now();
            self->TrimIdleLocked(now, to_close);
            if (self->total_ < self->options_.size && self->backoff_.MayConnect(now, &generation)) {
              ++self->total_;
              ++self->in_use_;
              ++self->warming_;
              open = true;
            }
          }
          to_close.clear();
          if (!open) break;
          Result<ConnPtr> conn = co_await self->OpenReserved(Clock::now() + self->options_.connect_timeout, generation);
          {
            std::lock_guard lock(self->mu_);
            --self->warming_;
          }
          if (!conn.ok()) break;
          self->Release(std::move(conn).value(), true);
        }
        self->maintenance_timer_.expires_at(next);
      }
      // Wait without holding the pool alive.
      boost::system::error_code ec;
      auto timer_owner = weak.lock();
      if (!timer_owner) co_return;
      asio::steady_timer& timer = timer_owner->maintenance_timer_;
      timer_owner.reset();
      co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      if (ec == asio::error::operation_aborted) {
        auto self = weak.lock();
        if (!self || self->closed_) co_return;
      }
    }
  }

  asio::io_context& io_;
  const Url url_;
  const PoolOptions options_;
  pg::ConnOptions conn_options_;
  pg::Strand strand_;
  asio::steady_timer maintenance_timer_;
  int max_ = 0;

  mutable std::mutex mu_;
  std::deque<ConnPtr> idle_;  // back = most recently used
  std::deque<std::shared_ptr<Waiter>> waiters_;
  std::vector<ConnPtr> shared_;  // connections in shared mode (counted in total_ and in_use_)
  bool opening_shared_ = false;
  int total_ = 0;   // open, opening or reserved connections
  int in_use_ = 0;  // checked out (opening included)
  int warming_ = 0; // of in_use_: opened in the background to keep `size` connections
  bool closed_ = false;
  std::shared_ptr<detail::OneShot<bool>> drained_;
  ReconnectBackoff backoff_;
  std::atomic<uint64_t> loss_generation_{0};  // connections found lost so far
  uint64_t opened_ = 0, discarded_ = 0, recycled_ = 0, timeouts_ = 0, connect_failures_ = 0;
  // Counted per batch, without mu_ (Record).
  std::atomic<uint64_t> batches_{0}, retries_{0}, prepares_{0}, cancels_{0}, commit_unknown_{0};
  std::atomic<uint64_t> round_trip_us_sum_{0};
};

// ---- retries ----

enum class Retry : unsigned char { kNo, kNow, kAfterBackoff };

Retry RetryDecision(const pg::ExecResult& r, BatchMode mode) {
  if (r.stale_statement || r.retry_now) return Retry::kNow;
  const std::string& state = r.status.sqlstate();
  if (state == "40001" || state == "40P01") return Retry::kAfterBackoff;
  if (r.delivery == pg::Delivery::kNotSent && r.connection_lost) return Retry::kNow;
  // The server ended the session and said so in a statement's answer (shutdown, failover to
  // read-only): the transaction did not commit.
  if (r.delivery == pg::Delivery::kAborted && r.discard &&
      (state.rfind("08", 0) == 0 || state == "57P01" || state == "57P02" || state == "57P03" ||
       state == "25006")) {
    return Retry::kAfterBackoff;
  }
  if (mode == BatchMode::kRead && r.delivery == pg::Delivery::kUnknown && r.connection_lost) return Retry::kNow;
  return Retry::kNo;
}

// Whether a read batch may share a connection with other callers' batches: it must be one
// implicit transaction, with no transaction control of its own (session-changing statements
// are refused for every batch by CheckBatch).
bool Shareable(const std::vector<Stmt>& statements) {
  for (const Stmt& st : statements) {
    if (detail::ClassifyTxnControl(st.sql) != detail::TxnControl::kNone) return false;
  }
  return true;
}

// ---- interactive transactions ----

class PgTransaction final : public Transaction {
 public:
  PgTransaction(std::shared_ptr<PgPool> pool, ConnPtr conn, BatchMode mode, Clock::time_point deadline)
      : pool_(std::move(pool)), conn_(std::move(conn)), mode_(mode), deadline_(deadline) {}

  ~PgTransaction() override {
    if (!conn_) return;
    if (state_ == State::kNotStarted) {
      pool_->Release(std::move(conn_), true);
      return;
    }
    // Roll back before the connection is reused, without making the destructor wait.
    asio::co_spawn(pool_->io(), RollbackAndRelease(pool_, std::move(conn_)), asio::detached);
  }

  asio::awaitable<BatchOutcome> Run(std::vector<Stmt> statements) override {
    if (!conn_ || state_ == State::kFailed || state_ == State::kDone) {
      co_return detail::FailedOutcome(Status(Code::kFailedPrecondition,
                                             state_ == State::kDone
                                                 ? "the transaction has already ended"
                                                 : "the transaction failed; only Rollback is allowed"));
    }
    size_t bad = 0;
    Status st = detail::CheckBatch(Backend::kPostgres, statements, &bad);
    for (size_t i = 0; st.ok() && i < statements.size(); ++i) {
      detail::TxnControl t = detail::ClassifyTxnControl(statements[i].sql);
      if (t == detail::TxnControl::kBegin || t == detail::TxnControl::kCommit || t == detail::TxnControl::kRollback) {
        bad = i;
        st = Status(Code::kInvalidArgument, "statement " + std::to_string(i) +
                                                " controls the transaction; use Transaction::Commit or Rollback");
      }
    }
    if (!st.ok()) {
      BatchOutcome out = detail::FailedOutcome(st);
      out.failed_index = bad;
      co_return out;
    }
    if (!conn_->Alive()) {
      state_ = State::kFailed;
      pool_->Release(std::move(conn_), false);
      conn_.reset();
      co_return detail::FailedOutcome(Status(Code::kUnavailable,
                                             "the connection to PostgreSQL was lost inside the transaction; "
                                             "nothing was committed"));
    }
    pg::ExecRequest req;
    req.statements = &statements;
    req.prefix = state_ == State::kNotStarted ? "BEGIN" : nullptr;
    req.scope = pg::TxnScope::kExplicit;
    req.mode = mode_;
    req.deadline = deadline_;
    pg::ExecResult r = co_await conn_->Execute(req);
    pool_->Record(r);
    BatchOutcome out;
    out.status = r.status;
    out.failed_index = r.failed_index;
    out.results = std::move(r.results);
    state_ = r.status.ok() ? State::kOpen : State::kFailed;
    if (!r.status.ok() && r.status.code() == Code::kCommitUnknown) {
      // Inside an explicit transaction nothing commits before COMMIT.
      out.status = r.connection_lost
                       ? Status(Code::kUnavailable,
                                "the connection to PostgreSQL was lost inside the transaction; nothing was committed")
                       : Status(Code::kDeadlineExceeded,
                                "the transaction's deadline passed while its statements ran; it was abandoned "
                                "(nothing was committed)");
    }
    if (r.discard) {
      pool_->Release(std::move(conn_), false);
      conn_.reset();
    }
    co_return out;
  }

  asio::awaitable<Status> Commit() override {
    if (state_ == State::kDone) co_return Status(Code::kFailedPrecondition, "the transaction has already ended");
    if (state_ == State::kFailed) {
      co_return Status(Code::kFailedPrecondition, "the transaction failed; roll it back (nothing was committed)");
    }
    if (state_ == State::kNotStarted) {
      state_ = State::kDone;
      if (conn_) pool_->Release(std::move(conn_), true);
      co_return Status::Ok();
    }
    state_ = State::kDone;
    if (!conn_->Alive()) {
      pool_->Release(std::move(conn_), false);
      co_return Status(Code::kUnavailable,
                       "the connection to PostgreSQL was lost before COMMIT was sent; the transaction "
                       "did not commit");
    }
    static const std::vector<Stmt> kCommit{Stmt{"COMMIT", {}}};
    pg::ExecRequest req;
    req.statements = &kCommit;
    req.mode = mode_;
    req.deadline = deadline_;
    pg::ExecResult r = co_await conn_->Execute(req);
    Status st = r.status;
    if (!st.ok() && st.code() != Code::kCommitUnknown && r.delivery == pg::Delivery::kNotSent) {
      st = Status(Code::kUnavailable, st.message() + " (the transaction did not commit)");
    }
    pool_->Release(std::move(conn_), !r.discard, &r);
    co_return st;
  }

  asio::awaitable<void> Rollback() override {
    if (!conn_) {
      state_ = State::kDone;
      co_return;
    }
    const bool started = state_ != State::kNotStarted;
    state_ = State::kDone;
    if (!started) {
      pool_->Release(std::move(conn_), true);
      co_return;
    }
    co_await RollbackAndRelease(pool_, std::move(conn_));
  }

 private:
  enum class State : unsigned char { kNotStarted, kOpen, kFailed, kDone };

  static asio::awaitable<void> RollbackAndRelease(std::shared_ptr<PgPool> pool, ConnPtr conn) {
    static const std::vector<Stmt> kRollback{Stmt{"ROLLBACK", {}}};
    if (!conn->Alive()) {
      pool->Release(std::move(conn), false);
      co_return;
    }
    pg::ExecRequest req;
    req.statements = &kRollback;
    req.mode = BatchMode::kRead;
    req.deadline = Clock::now() + pool->options().connect_timeout;
    pg::ExecResult r = co_await conn->Execute(req);
    const bool clean = r.status.ok() && !r.discard && conn->transaction_status() == PQTRANS_IDLE;
    pool->Release(std::move(conn), clean);
  }

  std::shared_ptr<PgPool> pool_;
  ConnPtr conn_;
  BatchMode mode_;
  Clock::time_point deadline_;
  State state_ = State::kNotStarted;
};

// ---- LISTEN ----

// One dedicated connection (not pooled, not pipelined) that LISTENs on every channel anyone
// subscribed to; reconnects with backoff and, whenever a subscription (re)starts, gives every
// callback of the channel an empty payload (what was sent meanwhile is lost).
class PgListener : public std::enable_shared_from_this<PgListener> {
 public:
  using Callback = std::function<void(const std::string&)>;

  PgListener(asio::io_context& io, Url url, PoolOptions options)
      : io_(io), url_(std::move(url)), options_(options) {
    conn_options_.pipeline = false;
    conn_options_.statement_cache = 0;
    conn_options_.connect_timeout_ms = static_cast<int>(options_.connect_timeout.count());
  }

  void Add(const std::string& channel, Callback cb) {
    std::lock_guard lock(mu_);
    if (stopped_) return;
    auto& list = subscribers_[channel];
    list.push_back(std::move(cb));
    if (list.size() == 1) pending_.push_back(channel);
    if (!started_) {
      started_ = true;
      asio::co_spawn(io_, Loop(shared_from_this()), asio::detached);
    } else if (conn_) {
      asio::post(conn_->strand(), [c = conn_] { c->Interrupt(); });
    }
  }

  void Stop() {
    std::lock_guard lock(mu_);
    stopped_ = true;
    if (conn_) asio::post(conn_->strand(), [c = conn_] { c->Interrupt(); });
    if (wait_timer_) asio::post(io_, [t = wait_timer_] { t->cancel(); });
  }

 private:
  static asio::awaitable<void> Loop(std::shared_ptr<PgListener> self) {
    int failures = 0;
    for (;;) {
      {
        std::lock_guard lock(self->mu_);
        if (self->stopped_) co_return;
      }
      Result<ConnPtr> opened = co_await PgConnection::Open(self->io_, self->url_, self->conn_options_,
                                                           Clock::now() + self->options_.connect_timeout);
      if (opened.ok()) {
        failures = 0;
        ConnPtr conn = std::move(opened).value();
        {
          std::lock_guard lock(self->mu_);
          if (self->stopped_) co_return;
          self->conn_ = conn;
        }
        co_await asio::co_spawn(conn->strand(), Session(self, conn), asio::use_awaitable);
        std::lock_guard lock(self->mu_);
        self->conn_.reset();
        if (self->stopped_) co_return;
      } else {
        ++failures;
      }
      // Back off before reconnecting.
      auto timer = std::make_shared<asio::steady_timer>(self->io_);
      timer->expires_after(failures == 0 ? self->options_.backoff_initial
                                         : detail::Backoff(self->options_.backoff_initial, failures - 1,
                                                           self->options_.backoff_max));
      {
        std::lock_guard lock(self->mu_);
        if (self->stopped_) co_return;
        self->wait_timer_ = timer;
      }
      boost::system::error_code ec;
      co_await timer->async_wait(asio::redirect_error(asio::use_awaitable, ec));
      std::lock_guard lock(self->mu_);
      self->wait_timer_.reset();
    }
  }

  // Runs on the connection's strand until the connection fails or the listener stops.
  static asio::awaitable<void> Session(std::shared_ptr<PgListener> self, ConnPtr conn) {
    std::vector<std::string> channels;
    {
      std::lock_guard lock(self->mu_);
      for (auto& [name, cbs] : self->subscribers_) channels.push_back(name);
      self->pending_.clear();
    }
    for (;;) {
      for (const std::string& channel : channels) {
        Status st = co_await conn->SimpleQuery("LISTEN " + QuoteIdent(channel),
                                               Clock::now() + self->options_.connect_timeout);
        if (!st.ok()) co_return;
        self->Deliver(channel, std::string());
      }
      self->DrainNotifications(*conn);
      channels.clear();
      pg::WaitOutcome w = co_await conn->Wait(pg::Interest::kRead);
      {
        std::lock_guard lock(self->mu_);
        if (self->stopped_) co_return;
        channels.swap(self->pending_);
      }
      if (w == pg::WaitOutcome::kFailed || w == pg::WaitOutcome::kDeadline) co_return;
      if (w == pg::WaitOutcome::kReady && PQconsumeInput(conn->raw()) != 1) co_return;
      if (PQstatus(conn->raw()) != CONNECTION_OK) co_return;
      self->DrainNotifications(*conn);
    }
  }

  void DrainNotifications(PgConnection& conn) {
    while (PGnotify* n = PQnotifies(conn.raw())) {
      Deliver(n->relname, n->extra ? n->extra : "");
      PQfreemem(n);
    }
  }

  void Deliver(const std::string& channel, const std::string& payload) {
    std::vector<Callback> cbs;
    {
      std::lock_guard lock(mu_);
      auto it = subscribers_.find(channel);
      if (it == subscribers_.end()) return;
      cbs = it->second;
    }
    for (auto& cb : cbs) asio::post(io_, [cb, payload] { cb(payload); });
  }

  asio::io_context& io_;
  const Url url_;
  const PoolOptions options_;
  pg::ConnOptions conn_options_;
  std::mutex mu_;
  std::map<std::string, std::vector<Callback>> subscribers_;
  std::vector<std::string> pending_;  // channels subscribed since the session's last LISTEN
  bool started_ = false;
  bool stopped_ = false;
  ConnPtr conn_;
  std::shared_ptr<asio::steady_timer> wait_timer_;
};

// ---- the Database ----

class PgDatabase final : public Database {
 public:
  PgDatabase(asio::io_context& io, const Url& url, const PoolOptions& options)
      : url_(url),
        options_(options),
        pool_(std::make_shared<PgPool>(io, url, options)),
        listener_(std::make_shared<PgListener>(io, url, options)) {
    pool_->Start();
  }
  ~PgDatabase() override {
    listener_->Stop();
    pool_->Shutdown();
  }

  Backend backend() const override { return Backend::kPostgres; }
  const Url& url() const override { return url_; }

  asio::awaitable<BatchOutcome> Run(Batch batch, Clock::time_point deadline) override {
    std::shared_ptr<PgPool> pool = pool_;
    size_t bad = 0;
    if (Status st = detail::CheckBatch(Backend::kPostgres, batch.statements, &bad); !st.ok()) {
      BatchOutcome out = detail::FailedOutcome(st);
      out.failed_index = bad;
      co_return out;
    }
    const bool shareable = batch.mode == BatchMode::kRead && batch.shareable && Shareable(batch.statements);
    for (int attempt = 1;; ++attempt) {
      pg::ExecRequest req;
      req.statements = &batch.statements;
      req.mode = batch.mode;
      req.deadline = deadline;
      pg::ExecResult r;
      ConnPtr shared = shareable ? pool->AcquireShared() : nullptr;
      if (shared) {
        r = co_await shared->ExecuteShared(req);
        pool->Record(r);
      } else {
        Result<ConnPtr> conn = co_await pool->Acquire(deadline, batch.mode);
        if (!conn.ok()) co_return detail::FailedOutcome(conn.status(), attempt);
        r = co_await (*conn)->Execute(req);
        pool->Release(std::move(conn).value(), !r.discard, &r);
      }
      if (r.status.ok()) {
        BatchOutcome out;
        out.results = std::move(r.results);
        out.attempts = attempt;
        co_return out;
      }
      const Retry retry = RetryDecision(r, batch.mode);
      if (retry != Retry::kNo && attempt <= options_.retry_attempts) {
        const Ms delay = retry == Retry::kNow ? Ms(0)
                                              : detail::Backoff(options_.retry_backoff, attempt - 1, options_.backoff_max);
        if (Clock::now() + delay < deadline) {
          pool->CountRetry();
          if (delay.count() > 0) {
            asio::steady_timer timer(co_await asio::this_coro::executor);
            timer.expires_after(delay);
            boost::system::error_code ec;
            co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
          }
          continue;
        }
      }
      BatchOutcome out;
      out.status = std::move(r.status);
      out.failed_index = r.failed_index;
      out.attempts = attempt;
      co_return out;
    }
  }

  asio::awaitable<Result<std::unique_ptr<Transaction>>> Begin(BatchMode mode, Clock::time_point deadline) override {
    std::shared_ptr<PgPool> pool = pool_;
    Result<ConnPtr> conn = co_await pool->Acquire(deadline, BatchMode::kWrite);
    if (!conn.ok()) co_return conn.status();
    co_return std::unique_ptr<Transaction>(
        std::make_unique<PgTransaction>(pool, std::move(conn).value(), mode, deadline));
  }

  asio::awaitable<Ping> Check(Clock::time_point deadline) override {
    std::shared_ptr<PgPool> pool = pool_;
    Ping ping;
    Result<ConnPtr> conn = co_await pool->Acquire(deadline, BatchMode::kRead);
    if (!conn.ok()) {
      ping.status = conn.status();
      co_return ping;
    }
    static const std::vector<Stmt> kSelectOne{Stmt{"SELECT 1", {}}};
    pg::ExecRequest req;
    req.statements = &kSelectOne;
    req.deadline = deadline;
    pg::ExecResult r = co_await (*conn)->Execute(req);
    ping.server_version = (*conn)->server_version();
    pool->Release(std::move(conn).value(), !r.discard, &r);
    ping.connected = r.status.ok();
    ping.latency_ms = r.round_trip_ms;
    ping.status = std::move(r.status);
    co_return ping;
  }

  PoolStats Stats() const override { return pool_->Stats(); }

  void Listen(const std::string& channel, std::function<void(const std::string&)> cb) override {
    listener_->Add(channel, std::move(cb));
  }

  asio::awaitable<Status> Notify(const std::string& channel, const std::string& payload) override {
    Batch batch;
    batch.mode = BatchMode::kWrite;
    batch.statements.push_back(Stmt{"SELECT pg_notify($1, $2)", {channel, payload}});
    BatchOutcome out = co_await Run(std::move(batch), Clock::now() + options_.acquire_timeout);
    co_return out.status;
  }

  asio::awaitable<void> Close(Clock::time_point deadline) override {
    listener_->Stop();
    std::shared_ptr<PgPool> pool = pool_;
    co_await pool->Close(deadline);
  }

 private:
  const Url url_;
  const PoolOptions options_;
  std::shared_ptr<PgPool> pool_;
  std::shared_ptr<PgListener> listener_;
};

}  // namespace

Result<std::unique_ptr<Database>> OpenPostgresDatabase(asio::io_context& io, const Url& url,
                                                       const PoolOptions& options) {
  if (url.backend != Backend::kPostgres) return Status(Code::kInternal, "not a PostgreSQL URL");
  return std::unique_ptr<Database>(std::make_unique<PgDatabase>(io, url, options));
}

}  // namespace plinth::db
