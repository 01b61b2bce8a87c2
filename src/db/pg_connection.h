// db/pg_connection.h — one asynchronous PostgreSQL connection of the request path (internal):
// libpq in non-blocking pipeline mode, driven by Asio on the connection's own strand.
//
// A batch is sent as Parse/Bind/Execute messages of every statement followed by one Sync, in
// one flush; its results are read back in order (first failure → the rest come back
// PGRES_PIPELINE_ABORTED). Statements with parameters are prepared once per connection and
// cached by text (LRU, `statement_cache` entries); a cache miss sends the Prepare in the same
// flush as the execution; evicted statements are DEALLOCATEd after the batch's Sync, in the
// same flush. When the batch's deadline passes while it runs, a cancel request is sent (on a
// short-lived thread: PQcancel blocks) and the answer is awaited for `cancel_grace`; without an
// answer the connection is marked for discarding and the outcome is kDeadlineExceeded (reads)
// or kCommitUnknown (writes).
//
// Waits: each wait arms the socket wait and, when a deadline is set, the deadline timer; an
// atomic "decided" flag picks exactly one winner among them (and Interrupt), and a two-party
// gate lets the later of "arming done" and "winner decided" cancel the others and resume the
// coroutine (a completion may run on another io thread while the wait is still being armed).
// So a batch runs in its caller's coroutine, on any thread, with no strand.
// Asio's epoll reactor is edge-triggered but starts every wait with EPOLL_CTL_MOD, which
// re-evaluates readiness, so data that arrived since libpq's last read is not missed.
//
// Shared mode (ExecuteShared): one connection carries the read batches of many callers at
// once. Each batch is its own implicit transaction, ended by its own Sync, so its settings
// (set_config(…, true)) end with it and a failure aborts only its own statements; the batches
// follow each other in the pipeline without waiting for each other's answers, and one reader
// hands each caller its results in order. The server runs them back to back, so a busy
// backend reads several in one recv and is not woken per batch: the cost that bounds pgbench
// with one batch in flight per connection. A caller whose deadline passes gets
// kDeadlineExceeded at once; its batch is cancelled when it is the one running (a cancel that
// lands on the next batch instead fails that one with retry_now set: reads are idempotent).
// Only batches without transaction control take this path; writes never do.
//
// Thread-safety: in exclusive mode a connection is driven by one coroutine at a time (the
// pool hands it out exclusively). ExecuteShared may be called from any thread concurrently
// (libpq is driven under shared_mu_); a connection is used in one mode only. Interrupt is for
// the LISTEN connection, whose session coroutine runs on strand(); Interrupt must be called
// on that strand too.
#pragma once

#include <libpq-fe.h>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include <atomic>
#include <chrono>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "db/async_util.h"
#include "db/stmt_cache.h"
#include "plinth/database.h"

namespace plinth::db::pg {

using Strand = asio::strand<asio::io_context::executor_type>;

struct ConnOptions {
  size_t statement_cache = 256;
  std::chrono::milliseconds cancel_grace{250};
  int connect_timeout_ms = 5000;  // for libpq's connect_timeout default (per host)
  bool pipeline = true;           // false for the LISTEN connection
};

// What is known about a batch's effect when it did not complete normally.
enum class Delivery : unsigned char {
  kNotSent,    // it never fully reached the server (and held no COMMIT): nothing committed
  kAborted,    // the server reported a failure before the Sync: nothing committed
  kUnknown,    // lost after the flush, before the Sync's answer: may have committed
  kCompleted,  // the Sync's answer arrived
};

enum class TxnScope : unsigned char {
  kImplicit,  // Database::Run: the batch is one transaction; one left open is rolled back
  kExplicit,  // Transaction: statements inside an explicit transaction that stays open
};

struct ExecRequest {
  const std::vector<Stmt>* statements = nullptr;
  const char* prefix = nullptr;  // sent before the statements, not reported ("BEGIN")
  TxnScope scope = TxnScope::kImplicit;
  BatchMode mode = BatchMode::kRead;
  Clock::time_point deadline;
};

struct ExecResult {
  Status status;
  size_t failed_index = 0;
  std::vector<StmtResult> results;
  Delivery delivery = Delivery::kNotSent;
  bool discard = false;          // the connection must not be reused
  bool stale_statement = false;  // 0A000 "cached plan must not change result type": re-run
  bool cancelled = false;        // a cancel request was sent
  bool connection_lost = false;
  bool retry_now = false;        // shared mode: failed for another batch's sake; run it again
  uint64_t prepares = 0;
  double round_trip_ms = 0;
};

enum class WaitOutcome : unsigned char { kReady, kDeadline, kInterrupted, kFailed };
enum class Interest : unsigned char { kRead, kWrite, kReadWrite };

class PgConnection : public std::enable_shared_from_this<PgConnection> {
 public:
  PgConnection(asio::io_context& io, ConnOptions options);
  ~PgConnection();
  PgConnection(const PgConnection&) = delete;
  PgConnection& operator=(const PgConnection&) = delete;

  // Connects (PQconnectStartParams/PQconnectPoll; multi-host URLs and target_session_attrs are
  // libpq's), by `deadline` at the latest.
  static asio::awaitable<Result<std::shared_ptr<PgConnection>>> Open(asio::io_context& io, const Url& url,
                                                                     ConnOptions options,
                                                                     Clock::time_point deadline);

  // Runs one batch (see the file comment). Never throws for database or network failures.
  asio::awaitable<ExecResult> Execute(ExecRequest request);

  // Runs one read batch in shared mode (see the file comment). Any thread, concurrently.
  asio::awaitable<ExecResult> ExecuteShared(ExecRequest request);
  // What the pool weighs when it picks a shared connection.
  struct SharedLoad {
    bool usable = false;  // not broken
    size_t in_flight = 0;
    Clock::time_point oldest_sent = Clock::time_point::max();  // of the batch in flight longest
  };
  // Lock-free: the figures as the last change to the shared queue published them (the pool
  // reads them for every shared batch it places; a lock here made both I/O threads queue on
  // each connection's mutex while the other sent or read).
  SharedLoad shared_load() const;
  // Publishes the load once before the connection takes its first shared batch.
  void PublishSharedLoad();

  // Reads, without blocking, whatever the server sent while the connection sat idle; false
  // when the server closed it or announced that it would (FATAL while idle).
  bool Alive();

  int pid() const { return pid_; }
  const std::string& server_version() const { return server_version_; }
  PGTransactionStatusType transaction_status() const { return PQtransactionStatus(conn_); }

  // Pool bookkeeping.
  uint64_t loss_generation = 0;  // the pool's count of lost connections when this was last used
  Clock::time_point opened_at;
  Clock::time_point expires_at = Clock::time_point::max();
  Clock::time_point idle_since;

  // For the LISTEN connection (its session runs on strand()).
  Strand& strand() { return strand_; }
  PGconn* raw() { return conn_; }
  // Waits for readiness, until the deadline set by ArmDeadline (none: forever).
  asio::awaitable<WaitOutcome> Wait(Interest interest);
  void Interrupt();  // on strand(): makes the current or next Wait return kInterrupted
  asio::awaitable<Status> SimpleQuery(const std::string& sql, Clock::time_point deadline);

 private:
  enum class EntryKind : unsigned char { kHidden, kPrepare, kExec, kSync, kTail, kTailSync };
  struct Entry {
    EntryKind kind;
    size_t index;  // statement index (kPrepare, kExec)
  };
  struct Prepared {
    std::string name;
  };
  enum class ReadOutcome : unsigned char { kGot, kLost, kDeadline };

  struct WaitState;
  asio::awaitable<Status> OpenImpl(const Url& url, Clock::time_point deadline);
  asio::awaitable<ExecResult> ExecuteImpl(ExecRequest request);
  asio::awaitable<ReadOutcome> NextResult(PGresult** out);
  asio::awaitable<ReadOutcome> Flush();
  asio::awaitable<bool> RollbackOpenTransaction(Clock::time_point deadline);

  template <typename Handler>
  void StartWait(Handler&& handler, Interest interest);
  void Decide(const std::shared_ptr<WaitState>& state, WaitOutcome outcome);
  void Complete(const std::shared_ptr<WaitState>& state, bool from_initiation);
  void ArmDeadline(Clock::time_point deadline);
  void DisarmDeadline();
  void AssignSocket();
  void SendCancel();
  bool SendUnnamed(const char* sql, const Params& params);
  bool QueueStatement(const Stmt& stmt, bool& prepared_now, uint64_t& prepares);
  bool SendStatement(size_t index, const Stmt& stmt, ExecResult& out);
  void BindParams(const Params& params);
  static void OnNotice(void* arg, const PGresult* res);

  // Shared mode; the *Locked functions run under shared_mu_.
  struct SharedEntry;
  struct SharedBatch;
  using SharedBatchPtr = std::shared_ptr<SharedBatch>;
  bool QueueSharedLocked(const std::vector<Stmt>& stmts, SharedBatch& batch);
  void ArmSharedReadLocked();
  void ArmSharedWriteLocked();
  void OnSharedReady(const boost::system::error_code& ec, bool write);
  void ProcessSharedLocked(std::vector<SharedBatchPtr>& finished);
  void FinishHeadLocked(std::vector<SharedBatchPtr>& finished);
  void BreakSharedLocked(const std::string& why, std::vector<SharedBatchPtr>& finished);
  void CancelHeadIfAbandonedLocked();
  void AbandonShared(const SharedBatchPtr& batch);
  static void DeliverShared(std::vector<SharedBatchPtr>& finished);

  asio::io_context& io_;
  Strand strand_;
  asio::posix::stream_descriptor socket_;
  asio::steady_timer deadline_timer_;
  ConnOptions options_;
  PGconn* conn_ = nullptr;
  int pid_ = 0;
  std::string server_version_;
  std::string session_authorization_;

  Clock::time_point deadline_ = Clock::time_point::max();
  std::weak_ptr<WaitState> current_wait_;
  std::atomic<bool> interrupted_{false};
  bool cancel_sent_ = false;
  bool server_closing_ = false;  // a FATAL arrived while idle

  detail::StatementCache<Prepared> cache_;
  uint64_t statement_counter_ = 0;
  std::vector<Entry> entries_;
  std::vector<char> commit_flags_;  // per statement of the batch: an explicit COMMIT
  std::vector<std::string> evicted_;
  std::vector<const char*> values_;
  std::vector<int> lengths_;

  mutable std::mutex shared_mu_;
  std::deque<SharedBatchPtr> shared_queue_;  // sent, in pipeline order, answers pending
  bool shared_read_armed_ = false;
  bool shared_write_armed_ = false;
  bool shared_broken_ = false;
  // shared_load()'s figures, written under shared_mu_ by PublishSharedLoadLocked.
  std::atomic<bool> load_usable_{false};
  std::atomic<size_t> load_in_flight_{0};
  std::atomic<Clock::rep> load_oldest_sent_{Clock::time_point::max().time_since_epoch().count()};
  void PublishSharedLoadLocked();
};

// "SELECT …" results of one statement as text.
StmtResult ConvertResult(const PGresult* res);

}  // namespace plinth::db::pg
