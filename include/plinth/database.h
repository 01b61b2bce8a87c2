// plinth/database.h — the request-path database: an asynchronous, pooled connection to
// PostgreSQL (libpq in non-blocking pipeline mode, driven by Boost.Asio) or SQLite (a writer
// connection and a pool of reader connections on worker threads), behind one interface.
//
// The unit of work is a Batch: statements that run as ONE transaction. On PostgreSQL a batch
// is sent pipelined, followed by one Sync, in a single flush: one network round trip, and the
// statements form one implicit transaction, so transaction-local settings
// (set_config(…, true)) made by its first statement live exactly as long as the batch and can
// never leak to the next user of the pooled connection (docs/architecture.md, decision 1).
// A batch may also carry explicit BEGIN … COMMIT statements (the SET LOCAL strategy for Citus):
// the driver ends any transaction left open by a failed batch with ROLLBACK before the
// connection is reused. On SQLite a batch runs inside BEGIN (kRead, on a reader connection) or
// BEGIN IMMEDIATE (kWrite, on the single writer connection) … COMMIT, ROLLBACK on failure.
//
// Statements are dialect-specific text (PostgreSQL `$1`, SQLite `?1` placeholders) written by
// the layer above; values are always bound as text parameters, never spliced. Every statement
// with parameters is prepared once per connection and cached by its text (LRU of
// `statement_cache` entries; on PostgreSQL a first use sends the Prepare in the same flush as
// the execution, and an evicted statement is DEALLOCATEd after the next batch's Sync, in the
// same flush). One Stmt holds one statement. Results are text; StmtResult::affected is 0 for a
// SELECT on both databases.
//
// Statements that would change the session of a pooled connection beyond its transaction are
// refused before anything is sent (kInvalidArgument, failed_index naming it), so that nothing
// can leak to the connection's next user and cached prepared statements stay valid:
// PostgreSQL SET without LOCAL (SET LOCAL, SET TRANSACTION, SET CONSTRAINTS and
// set_config(…, true) are fine), SET ROLE / SET SESSION AUTHORIZATION (plinth never changes
// roles on pooled connections; SET LOCAL ROLE is transaction-scoped and allowed — PostgreSQL
// re-plans a cached statement for the current role), RESET, DISCARD, DEALLOCATE, PREPARE,
// LISTEN, UNLISTEN, LOAD; SQLite ATTACH, DETACH, VACUUM, PRAGMA assignments, and BEGIN /
// COMMIT / ROLLBACK (the pool brackets every batch; SAVEPOINT is fine). The check reads the
// leading keywords: it guards against mistakes, it is not a sandbox.
//
// Every SQLite connection of the pool has the SQL function plinth_raise(sqlstate, message
// [, object]): it fails the statement that evaluates it (the statement's changes are undone,
// the batch rolls back), and the outcome's Status carries CodeForSqlState(sqlstate) —
// PostgreSQL codes, so plinth_raise('42501', 'policy … refused the row') is kPolicyViolation
// on both databases — with that sqlstate, message and object. The data layer uses it to
// enforce policy CHECKs on SQLite (e.g. in a RETURNING clause, which SQLite evaluates on the
// new row). A sqlstate that is not five characters fails the statement with kInvalidArgument.
//
// Failures are values (BatchOutcome::status) whose Code comes from db::CodeForSqlState:
// kUnavailable (cannot connect / connection lost before the outcome could matter; every
// connection failure is kUnavailable here, the message says why: refused, timed out,
// authentication, no writable host…), kDeadlineExceeded (the deadline passed: waiting for a
// connection, or the batch was cancelled — see Deadlines), kRetryable only after the retry
// budget is spent, kCommitUnknown (the connection was lost, or the deadline passed without an
// answer, after a write batch was flushed and before its outcome arrived: it may or may not
// have committed; never retried), kConstraintViolation / kAlreadyExists / kPolicyViolation
// with the constraint named in Status::object. failed_index is the failing statement's index,
// or statements.size() for a failure at commit time (a deferred constraint, a serialization
// failure detected at COMMIT).
//
// Deadlines: every call takes one and returns by it. On PostgreSQL, when a batch's deadline
// passes while it runs, a cancel request is sent (PQcancel, on a short-lived thread since it
// blocks) and the server's answer is awaited for `cancel_grace`: the server cancelling the
// batch gives kDeadlineExceeded ("nothing was committed") and the connection is kept; no
// answer within the grace gives kDeadlineExceeded for a kRead batch and kCommitUnknown for a
// kWrite batch, and the connection is discarded. A deadline that passes while the batch is
// still being sent discards the connection (kDeadlineExceeded: without its Sync nothing
// commits). On SQLite a queued batch fails at its deadline; a running statement is
// interrupted (progress handler); waiting for another process's lock stops at the deadline.
//
// Retries (inside Run): a batch that failed with serialization failure (40001) or deadlock
// (40P01) — SQLite: SQLITE_BUSY/LOCKED (kRetryable) — is re-run with jittered exponential
// backoff while the retry budget and the deadline allow; so is any batch whose connection
// failed before a byte of it was sent, a batch the server aborted while ending the session
// (57P01/57P02/57P03, 08xxx, 25006 read-only after a failover: reported in a statement's
// answer, so nothing committed; the connection is discarded), a batch whose cached statement
// went stale (0A000 "cached plan must not change result type": prepared again), and a kRead
// batch whose connection was lost at any point (reads have no effect to duplicate). kRead
// batches must therefore not write: SQLite refuses (readers are query_only:
// kPermissionDenied), PostgreSQL does not check.
//
// Pool (PostgreSQL): `size` connections kept (opened in the background), up to `max_overflow`
// more opened under load and closed after `overflow_idle_timeout` idle; a caller waits at most
// until its deadline (and at most `acquire_timeout`: then kUnavailable "pool exhausted") for a
// connection, with at most `max_waiters` waiting (more fail at once with kUnavailable: "pool
// exhausted"), never hangs. A connection is closed and replaced after `recycle` (±jitter, only
// when it is not in use), is validated with a Sync-only round trip only when it sat idle longer
// than `validate_idle_after`, is probed without a round trip (a non-blocking read of what the
// server sent while it was idle) before every write batch and, after the pool saw any
// connection lost, before reads too, and is discarded after any protocol or connection error.
// Reconnects back off exponentially with jitter from `backoff_initial` to `backoff_max`;
// while the pool backs off, callers that need a new connection fail at once (kUnavailable)
// and one attempt at a time probes the server. Multi-host URLs with
// target_session_attrs=read-write follow a failover: new connections go to whichever host
// libpq finds writable. On SQLite the pool is `sqlite_readers` reader threads plus the writer
// (size, overflow, recycle and validation do not apply; max_waiters bounds each queue).
//
// Thread-safety: a Database is safe to use from any thread and any number of coroutines at
// once; `io` may be run by several threads. Completions resume on the executor of the
// awaiting coroutine. A Transaction is used by one coroutine at a time. Destroy a Database
// before its io_context.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "plinth/db.h"
#include "plinth/status.h"

namespace plinth::db {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

struct Stmt {
  std::string sql;  // dialect-specific text, one statement
  Params params;    // text values; nullopt = NULL
};

enum class BatchMode : unsigned char {
  kRead,   // no writes: PostgreSQL implicit transaction; SQLite a reader connection
  kWrite,  // writes: PostgreSQL implicit transaction; SQLite the writer, BEGIN IMMEDIATE
};

struct Batch {
  BatchMode mode = BatchMode::kRead;
  std::vector<Stmt> statements;  // empty: a round trip that runs nothing
  // PostgreSQL: a read may be pipelined on a shared connection among other callers' reads
  // (PoolOptions::shared_connections). A shared connection answers in order, so a read that
  // runs long delays every read queued behind it: clear this for reads whose cost grows with
  // the table rather than with the rows they return (the runtime: lists with an exact count or
  // an offset); lookups by key and bounded pages keep it. Ignored by SQLite.
  bool shareable = true;
};

struct StmtResult {
  std::vector<std::string> columns;
  std::vector<Row> rows;
  int64_t affected = 0;  // rows inserted/updated/deleted (PQcmdTuples / sqlite3_changes); 0 for SELECT
};

struct BatchOutcome {
  Status status;               // OK when every statement ran and the transaction committed
  size_t failed_index = 0;     // when !status.ok() and a statement failed: its index
                               // (statements.size(): the failure came at commit time)
  std::vector<StmtResult> results;  // one per statement when OK
  int attempts = 1;            // how many times the batch ran (retries + 1)
};

struct PoolOptions {
  int size = 10;                                           // DB_POOL_SIZE
  int max_overflow = 20;                                   // DB_MAX_OVERFLOW
  int max_waiters = 1024;                                  // DB_POOL_MAX_WAITERS
  std::chrono::milliseconds acquire_timeout{5'000};        // DB_POOL_TIMEOUT (ms)
  std::chrono::seconds recycle{3'600};                     // DB_POOL_RECYCLE (s); 0 = never
  double recycle_jitter = 0.1;                             // ± fraction of recycle
  std::chrono::milliseconds validate_idle_after{30'000};   // ping only connections idle longer
  std::chrono::milliseconds connect_timeout{5'000};
  std::chrono::milliseconds backoff_initial{100};          // reconnect backoff, doubled per failure
  std::chrono::milliseconds backoff_max{5'000};
  int retry_attempts = 3;                                  // re-runs of a retryable batch
  std::chrono::milliseconds retry_backoff{10};             // first retry delay, doubled, jittered
  size_t statement_cache = 256;                            // prepared statements per connection
  std::chrono::milliseconds cancel_grace{250};             // wait for a cancelled batch's answer
  std::chrono::milliseconds overflow_idle_timeout{10'000}; // close overflow connections idle longer
  // PostgreSQL reads (batches without transaction control) share connections: each of these
  // carries up to shared_depth callers' batches in one pipeline, each its own transaction.
  int shared_connections = 4;                              // DB_POOL_SHARED; 0 = never share
  int shared_depth = 16;                                   // DB_POOL_SHARED_DEPTH
  std::chrono::milliseconds shared_stall{50};              // pass over one whose oldest batch ran longer
  // SQLite only.
  int sqlite_readers = 4;                                  // reader connections (threads)
  std::chrono::milliseconds sqlite_busy_timeout{5'000};
  bool sqlite_synchronous_full = false;                    // NORMAL survives kill -9 in WAL mode
  // Group commit: the writer runs up to this many queued write batches in one transaction,
  // each in its own SAVEPOINT (a failing batch rolls back alone), answered after one COMMIT.
  int sqlite_group_commit = 64;                            // SQLITE_GROUP_COMMIT; 1 = off
  // WAL pages after which a background thread checkpoints (PASSIVE), off the writer's path.
  int sqlite_checkpoint_pages = 1000;                      // SQLITE_CHECKPOINT_PAGES; 0 = the writer
                                                           // checkpoints itself (SQLite's default)

  // Reads DB_POOL_SIZE, DB_MAX_OVERFLOW, DB_POOL_RECYCLE, DB_POOL_TIMEOUT, DB_POOL_MAX_WAITERS,
  // DB_POOL_SHARED, DB_POOL_SHARED_DEPTH over the defaults. Durations may carry a unit ("5s", "500ms"; plain numbers are in the
  // unit noted above). A malformed or out-of-range value is kInvalidArgument naming the
  // variable (Status::object). Two overloads: a default argument of the class's own type
  // cannot be written inside it.
  static Result<PoolOptions> FromEnvironment();
  static Result<PoolOptions> FromEnvironment(PoolOptions defaults);
};

struct PoolStats {
  int in_use = 0;           // checked out by callers (background warm-up not counted)
  int idle = 0;
  int shared = 0;           // PostgreSQL: connections carrying many callers' reads (in in_use)
  int waiting = 0;          // callers waiting for a connection (SQLite: queued batches)
  int max = 0;              // size + max_overflow (SQLite: readers + 1)
  uint64_t opened = 0;      // connections opened since start
  uint64_t discarded = 0;   // closed after an error
  uint64_t recycled = 0;    // closed at end of lifetime
  uint64_t timeouts = 0;    // acquisitions that ran out of time or were refused
  uint64_t batches = 0;     // batches run
  uint64_t retries = 0;     // batch re-runs
  uint64_t prepares = 0;    // statements prepared (statement-cache misses; PostgreSQL)
  uint64_t cancels = 0;     // batches cancelled at their deadline (PostgreSQL)
  uint64_t connect_failures = 0;  // connection attempts that failed (PostgreSQL)
  uint64_t commit_unknown = 0;    // write batches whose outcome was lost with the connection
  uint64_t group_commits = 0;     // SQLite: writer transactions that committed several batches
  uint64_t checkpoints = 0;       // SQLite: WAL checkpoints run by the checkpointing thread
  uint64_t writer_checkpoints = 0;  // SQLite: short ones the writer ran itself (see sqlite_database.cc)
  bool backing_off = false;       // reconnects are paused after failures (callers fail fast)
  double round_trip_ms_avg = 0;   // mean wall time of a batch on its connection, flush to Sync
                                  // (SQLite: on its worker thread)
};

struct Ping {
  bool connected = false;
  double latency_ms = 0;       // PostgreSQL: the SELECT 1 round trip; SQLite: the batch
  std::string server_version;  // "15.18" / "3.40.1"
  Status status;
};

// A connection held for a multi-step transaction (read, decide, write). BEGIN is sent with the
// first Run, in the same flush. The deadline given to Begin bounds every Run and Commit of the
// transaction. Nothing is retried: on kRetryable the caller runs the whole transaction again.
// Destroying an uncommitted Transaction rolls it back (asynchronously) before the connection
// is reused. On SQLite a kWrite transaction holds the writer (other writes queue behind it
// until their deadlines), a kRead transaction one reader.
class Transaction {
 public:
  virtual ~Transaction() = default;
  // Runs statements inside the transaction (pipelined, one round trip on PostgreSQL). After a
  // failure the transaction is aborted: only Rollback is allowed (Run and Commit are
  // kFailedPrecondition). Transaction control statements are refused (kInvalidArgument): use
  // Commit and Rollback. A connection lost here is kUnavailable: nothing was committed.
  virtual asio::awaitable<BatchOutcome> Run(std::vector<Stmt> statements) = 0;
  // kCommitUnknown when the connection is lost while COMMIT is in flight; kUnavailable when it
  // was lost before COMMIT was sent (nothing committed). SQLite: COMMIT is not bounded by the
  // deadline (an acknowledged COMMIT never turns into a timeout).
  virtual asio::awaitable<Status> Commit() = 0;
  virtual asio::awaitable<void> Rollback() = 0;
};

class Database {
 public:
  virtual ~Database() = default;
  virtual Backend backend() const = 0;
  virtual const Url& url() const = 0;

  // Runs the batch as one transaction (see the file comment), retrying within the budget.
  virtual asio::awaitable<BatchOutcome> Run(Batch batch, Clock::time_point deadline) = 0;

  // Holds one connection for an interactive transaction.
  virtual asio::awaitable<Result<std::unique_ptr<Transaction>>> Begin(BatchMode mode,
                                                                      Clock::time_point deadline) = 0;

  // A round trip on a pooled connection (SELECT 1), with its latency and the server version.
  virtual asio::awaitable<Ping> Check(Clock::time_point deadline) = 0;

  virtual PoolStats Stats() const = 0;

  // Notifications (API key revocation): PostgreSQL LISTEN on a dedicated connection that
  // reconnects by itself; SQLite delivers in-process. Whenever a subscription becomes active —
  // the first time, and again after a reconnect — the callback receives an empty payload:
  // notifications sent before may have been missed, caches should be flushed. The callback runs
  // on the database's executor and must not block.
  virtual void Listen(const std::string& channel, std::function<void(const std::string& payload)> cb) = 0;
  // NOTIFY channel, payload (PostgreSQL: pg_notify on a pooled connection, delivered when its
  // batch commits; SQLite in-process, at once).
  virtual asio::awaitable<Status> Notify(const std::string& channel, const std::string& payload) = 0;

  // Stops accepting work, waits for in-flight batches (and open transactions) up to
  // `deadline`, closes every idle connection (the others as they come back). Run afterwards
  // fails with kUnavailable.
  virtual asio::awaitable<void> Close(Clock::time_point deadline) = 0;
};

// Opens the pool (PostgreSQL connections are opened lazily; `size` of them are warmed in the
// background). `io` runs the PostgreSQL sockets and the completions; it may be run by several
// threads. Fails only for a URL or options that cannot work (SQLite file that cannot be opened
// is reported here — every connection is opened and configured: WAL, foreign_keys=ON read
// back, synchronous NORMAL or FULL, busy handling; PostgreSQL unreachability by the first Run /
// Check). SQLite "sqlite::memory:" is one private database per connection, so it runs on a
// single connection: reads queue on the writer thread.
Result<std::unique_ptr<Database>> OpenDatabase(asio::io_context& io, const Url& url,
                                               const PoolOptions& options);

}  // namespace plinth::db
