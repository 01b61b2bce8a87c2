// One asynchronous PostgreSQL connection: libpq non-blocking pipeline mode on an Asio strand.
#include "db/pg_connection.h"

#include <poll.h>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <atomic>
#include <charconv>
#include <cstring>
#include <thread>

#include "db/pg_common.h"
#include "db/statement_check.h"

namespace plinth::db::pg {
namespace {

using ResultPtr = std::unique_ptr<PGresult, decltype(&PQclear)>;
using ErrorCode = boost::system::error_code;

// Cancel requests in flight on their own threads (PQcancel blocks while it connects). Beyond
// this many, a deadline only discards the connection: the server notices the closed socket.
constexpr int kMaxCancelThreads = 16;
std::atomic<int> cancel_threads{0};

// Idle-time reads before Alive() gives up reading (a FATAL message, then the EOF).
constexpr int kMaxIdleReads = 4;

constexpr std::string_view kStalePlanState = "0A000";
constexpr std::string_view kStalePlanText = "cached plan must not change result type";
constexpr std::string_view kQueryCanceled = "57014";

double MillisSince(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

int64_t ParseCount(const char* text) {
  int64_t v = 0;
  if (text == nullptr || *text == '\0') return 0;
  std::from_chars(text, text + std::strlen(text), v);
  return v;
}

// The connection ended without an answer: the message libpq has, on one line.
std::string LostMessage(PGconn* conn) {
  std::string m = OneLine(PQerrorMessage(conn));
  return m.empty() ? "the server closed the connection" : m;
}

// Whether a server-reported failure means the server is ending this session (the batch was
// aborted by it, the connection will not be usable).
bool SessionEnding(const Status& st) {
  const std::string& s = st.sqlstate();
  return s.rfind("08", 0) == 0 || s == "57P01" || s == "57P02" || s == "57P03" || s == "25006";
}

}  // namespace

StmtResult ConvertResult(const PGresult* res) {
  StmtResult out;
  const int ncols = PQnfields(res);
  const int nrows = PQntuples(res);
  out.columns.reserve(ncols);
  for (int c = 0; c < ncols; ++c) out.columns.emplace_back(PQfname(res, c));
  out.rows.reserve(nrows);
  for (int r = 0; r < nrows; ++r) {
    Row row;
    row.reserve(ncols);
    for (int c = 0; c < ncols; ++c) {
      if (PQgetisnull(res, r, c)) {
        row.emplace_back(std::nullopt);
      } else {
        row.emplace_back(std::in_place, PQgetvalue(res, r, c), static_cast<size_t>(PQgetlength(res, r, c)));
      }
    }
    out.rows.push_back(std::move(row));
  }
  const char* tag = PQcmdStatus(const_cast<PGresult*>(res));
  if (tag == nullptr || std::strncmp(tag, "SELECT", 6) != 0) {
    out.affected = ParseCount(PQcmdTuples(const_cast<PGresult*>(res)));
  }
  return out;
}

PgConnection::PgConnection(asio::io_context& io, ConnOptions options)
    : io_(io),
      strand_(asio::make_strand(io.get_executor())),
      socket_(io.get_executor()),
      deadline_timer_(io.get_executor()),
      options_(options),
      cache_(options.statement_cache) {}

PgConnection::~PgConnection() {
  ErrorCode ignored;
  deadline_timer_.cancel();
  if (socket_.is_open()) socket_.release();
  if (conn_ != nullptr) PQfinish(conn_);
}

void PgConnection::OnNotice(void* arg, const PGresult* res) {
  auto* self = static_cast<PgConnection*>(arg);
  const char* severity = PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED);
  // While idle, libpq hands an error message to the notice hook: a FATAL means the server is
  // about to close the session (shutdown, pg_terminate_backend, idle timeout).
  if (severity != nullptr && (std::strcmp(severity, "FATAL") == 0 || std::strcmp(severity, "PANIC") == 0)) {
    self->server_closing_ = true;
  }
}

void PgConnection::AssignSocket() {
  if (socket_.is_open()) socket_.release();
  int fd = PQsocket(conn_);
  if (fd < 0) return;
  ErrorCode ec;
  socket_.assign(fd, ec);
}

void PgConnection::ArmDeadline(Clock::time_point deadline) { deadline_ = deadline; }

void PgConnection::DisarmDeadline() { deadline_ = Clock::time_point::max(); }

// One wait in flight: the socket wait(s), the deadline timer and Interrupt race to decide it.
// The first to set `decided` wins and records the outcome; the other completions touch nothing
// but this state. A completion may arrive on another io thread while StartWait is still arming
// the rest, so the I/O objects are cancelled and the coroutine resumed only by whichever of
// the two — StartWait done arming, the winner done deciding — comes last (`gate`).
struct PgConnection::WaitState {
  // Constructed in place: Boost 1.81's any_completion_handler move-assignment recurses.
  template <typename Handler>
  explicit WaitState(Handler&& h, asio::any_io_executor fallback)
      : executor(asio::get_associated_executor(h, fallback)), handler(std::forward<Handler>(h)) {}
  std::atomic<bool> decided{false};
  std::atomic<int> gate{2};
  WaitOutcome outcome = WaitOutcome::kReady;  // written by the winner before its gate release
  asio::any_io_executor executor;              // the waiting coroutine's executor
  asio::any_completion_handler<void(WaitOutcome)> handler;
};

// The winner (`decided` won) records its outcome and, when StartWait is done arming, completes.
void PgConnection::Decide(const std::shared_ptr<WaitState>& state, WaitOutcome outcome) {
  state->outcome = outcome;
  if (state->gate.fetch_sub(1, std::memory_order_acq_rel) == 1) Complete(state, /*from_initiation=*/false);
}

// Cancels the losers and resumes the coroutine. From inside the initiation the handler must
// not run inline: it is posted.
void PgConnection::Complete(const std::shared_ptr<WaitState>& state, bool from_initiation) {
  deadline_timer_.cancel();
  ErrorCode ignored;
  socket_.cancel(ignored);
  auto h = std::move(state->handler);
  auto ex = state->executor;
  const WaitOutcome outcome = state->outcome;
  auto resume = [h = std::move(h), outcome]() mutable { std::move(h)(outcome); };
  if (from_initiation) {
    asio::post(ex, std::move(resume));
  } else {
    asio::dispatch(ex, std::move(resume));
  }
}

void PgConnection::Interrupt() {
  interrupted_ = true;
  if (auto state = current_wait_.lock()) {
    if (!state->decided.exchange(true)) Decide(state, WaitOutcome::kInterrupted);
  }
}

template <typename Handler>
void PgConnection::StartWait(Handler&& handler, Interest interest) {
  auto state = std::make_shared<WaitState>(std::forward<Handler>(handler), socket_.get_executor());
  current_wait_ = state;
  auto on_socket = [this, state](const ErrorCode& ec) {
    if (state->decided.exchange(true)) return;
    Decide(state, ec && ec != asio::error::operation_aborted ? WaitOutcome::kFailed : WaitOutcome::kReady);
  };
  if (interest != Interest::kWrite) socket_.async_wait(asio::posix::descriptor_base::wait_read, on_socket);
  if (interest != Interest::kRead) socket_.async_wait(asio::posix::descriptor_base::wait_write, on_socket);
  if (deadline_ != Clock::time_point::max()) {
    deadline_timer_.expires_at(deadline_);
    deadline_timer_.async_wait([this, state](const ErrorCode& ec) {
      if (ec || state->decided.exchange(true)) return;
      Decide(state, WaitOutcome::kDeadline);
    });
  }
  // No look at the socket is needed here: Asio starts every wait with EPOLL_CTL_MOD, which
  // re-evaluates readiness, so data that arrived since libpq's last read completes the wait.
  if (state->gate.fetch_sub(1, std::memory_order_acq_rel) == 1) Complete(state, /*from_initiation=*/true);
}

asio::awaitable<WaitOutcome> PgConnection::Wait(Interest interest) {
  if (interrupted_.exchange(false)) co_return WaitOutcome::kInterrupted;
  if (Clock::now() >= deadline_) co_return WaitOutcome::kDeadline;
  if (!socket_.is_open()) co_return WaitOutcome::kFailed;
  WaitOutcome outcome = co_await asio::async_initiate<const asio::use_awaitable_t<>&, void(WaitOutcome)>(
      [this, interest](auto handler) { StartWait(std::move(handler), interest); }, asio::use_awaitable);
  if (outcome == WaitOutcome::kInterrupted) interrupted_ = false;
  co_return outcome;
}

namespace {

// Sends a cancel request for whatever `conn`'s backend is running, on a short-lived thread.
void StartCancel(PGconn* conn) {
  PGcancel* cancel = PQgetCancel(conn);
  if (cancel == nullptr) return;
  if (cancel_threads.fetch_add(1) >= kMaxCancelThreads) {
    cancel_threads.fetch_sub(1);
    PQfreeCancel(cancel);
    return;
  }
  std::thread([cancel] {
    char error[256];
    PQcancel(cancel, error, sizeof error);
    PQfreeCancel(cancel);
    cancel_threads.fetch_sub(1);
  }).detach();
}

}  // namespace

void PgConnection::SendCancel() {
  if (cancel_sent_) return;
  cancel_sent_ = true;
  StartCancel(conn_);
}

// ---- connecting ----

asio::awaitable<Result<std::shared_ptr<PgConnection>>> PgConnection::Open(asio::io_context& io, const Url& url,
                                                                          ConnOptions options,
                                                                          Clock::time_point deadline) {
  auto conn = std::make_shared<PgConnection>(io, options);
  Status st = co_await conn->OpenImpl(url, deadline);
  if (!st.ok()) co_return st;
  co_return conn;
}

asio::awaitable<Status> PgConnection::OpenImpl(const Url& url, Clock::time_point deadline) {
  ConnectParams params(url, options_.connect_timeout_ms);
  conn_ = PQconnectStartParams(params.keywords(), params.values(), /*expand_dbname=*/1);
  if (conn_ == nullptr) co_return Status(Code::kInternal, "libpq could not allocate a connection");
  if (PQstatus(conn_) == CONNECTION_BAD) co_return ConnectError(PQerrorMessage(conn_), url);
  PQsetNoticeReceiver(conn_, &PgConnection::OnNotice, this);
  ArmDeadline(deadline);
  PostgresPollingStatusType poll = PGRES_POLLING_WRITING;
  while (poll != PGRES_POLLING_OK) {
    if (poll == PGRES_POLLING_FAILED) {
      DisarmDeadline();
      co_return ConnectError(PQerrorMessage(conn_), url);
    }
    // libpq opens a new socket for each host and address it tries: register the current one.
    AssignSocket();
    WaitOutcome w = co_await Wait(poll == PGRES_POLLING_READING ? Interest::kRead : Interest::kWrite);
    if (w == WaitOutcome::kDeadline) {
      DisarmDeadline();
      std::string detail = OneLine(PQerrorMessage(conn_));
      co_return Status(Code::kUnavailable, "cannot connect to PostgreSQL at " + url.Redacted() +
                                               ": the connection timed out; check the host, the port "
                                               "and any firewall" +
                                               (detail.empty() ? "" : " (" + detail + ")"));
    }
    poll = PQconnectPoll(conn_);
  }
  DisarmDeadline();
  AssignSocket();
  if (PQsetnonblocking(conn_, 1) != 0) {
    co_return Status(Code::kInternal, "cannot put the PostgreSQL connection in non-blocking mode: " +
                                          LostMessage(conn_));
  }
  pid_ = PQbackendPID(conn_);
  server_version_ = ServerVersion(conn_);
  const char* auth = PQparameterStatus(conn_, "session_authorization");
  session_authorization_ = auth ? auth : "";
  const char* scs = PQparameterStatus(conn_, "standard_conforming_strings");
  if (scs == nullptr || std::string_view(scs) != "on") {
    Status st = co_await SimpleQuery("SET standard_conforming_strings = on", deadline);
    if (!st.ok()) co_return st.WithContext("cannot set up the PostgreSQL connection");
  }
  if (options_.pipeline && PQenterPipelineMode(conn_) != 1) {
    co_return Status(Code::kInternal, "cannot enter libpq pipeline mode: " + LostMessage(conn_));
  }
  opened_at = Clock::now();
  idle_since = opened_at;
  co_return Status::Ok();
}

asio::awaitable<Status> PgConnection::SimpleQuery(const std::string& sql, Clock::time_point deadline) {
  ArmDeadline(deadline);
  Status result;
  if (PQsendQuery(conn_, sql.c_str()) != 1) {
    DisarmDeadline();
    co_return Status(Code::kUnavailable, "the connection to PostgreSQL was lost: " + LostMessage(conn_));
  }
  if (co_await Flush() != ReadOutcome::kGot) {
    DisarmDeadline();
    co_return Status(Code::kUnavailable, "could not send \"" + sql + "\" to PostgreSQL: " + LostMessage(conn_));
  }
  // An Interrupt() meant for the caller's own wait is kept for it.
  bool interrupted = false;
  struct KeepInterrupt {
    PgConnection* c;
    bool& flag;
    ~KeepInterrupt() {
      if (flag) c->interrupted_ = true;
    }
  } keep{this, interrupted};
  for (;;) {
    while (PQisBusy(conn_)) {
      WaitOutcome w = co_await Wait(Interest::kRead);
      if (w == WaitOutcome::kDeadline) {
        DisarmDeadline();
        co_return Status(Code::kDeadlineExceeded, "\"" + sql + "\" did not finish in time");
      }
      if (w == WaitOutcome::kInterrupted) {
        interrupted = true;
        continue;
      }
      if (w == WaitOutcome::kFailed || PQconsumeInput(conn_) != 1) {
        DisarmDeadline();
        co_return Status(Code::kUnavailable, "the connection to PostgreSQL was lost: " + LostMessage(conn_));
      }
    }
    ResultPtr res(PQgetResult(conn_), &PQclear);
    if (!res) break;
    ExecStatusType st = PQresultStatus(res.get());
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK && st != PGRES_EMPTY_QUERY && result.ok()) {
      result = ResultError(res.get(), conn_);
    }
  }
  DisarmDeadline();
  co_return result;
}

// ---- idle checks ----

bool PgConnection::Alive() {
  if (conn_ == nullptr || PQstatus(conn_) != CONNECTION_OK || server_closing_) return false;
  const int fd = PQsocket(conn_);
  for (int i = 0; i < kMaxIdleReads; ++i) {
    pollfd p{};
    p.fd = fd;
    p.events = POLLIN | POLLRDHUP;
    int n = ::poll(&p, 1, 0);
    if (n == 0) return true;  // nothing arrived while idle: the common case, one syscall
    if (n < 0) return false;
    if (p.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL)) return false;
    if (PQconsumeInput(conn_) != 1 || PQstatus(conn_) != CONNECTION_OK || server_closing_) return false;
    while (PGnotify* note = PQnotifies(conn_)) PQfreemem(note);
  }
  return PQstatus(conn_) == CONNECTION_OK && !server_closing_;
}

// ---- batches ----

asio::awaitable<ExecResult> PgConnection::Execute(ExecRequest request) {
  std::shared_ptr<PgConnection> self = shared_from_this();  // alive while the batch runs
  co_return co_await self->ExecuteImpl(request);
}

void PgConnection::BindParams(const Params& params) {
  values_.clear();
  lengths_.clear();
  for (const auto& p : params) {
    values_.push_back(p ? p->c_str() : nullptr);
    lengths_.push_back(p ? static_cast<int>(p->size()) : 0);
  }
}

bool PgConnection::SendUnnamed(const char* sql, const Params& params) {
  BindParams(params);
  return PQsendQueryParams(conn_, sql, static_cast<int>(params.size()), nullptr, values_.data(),
                           lengths_.data(), nullptr, 0) == 1;
}

// Queues one statement: unnamed when it has no parameters (or there is no cache), else its
// Prepare on a cache miss (the name is cached at once: what is queued after it may use it; an
// evicted name is DEALLOCATEd after the next Sync) and the execution of the prepared statement.
bool PgConnection::QueueStatement(const Stmt& stmt, bool& prepared_now, uint64_t& prepares) {
  prepared_now = false;
  if (stmt.params.empty() || cache_.capacity() == 0) return SendUnnamed(stmt.sql.c_str(), stmt.params);
  Prepared* prepared = cache_.Find(stmt.sql);
  if (prepared == nullptr) {
    std::string name = "plinth_" + std::to_string(++statement_counter_);
    if (PQsendPrepare(conn_, name.c_str(), stmt.sql.c_str(), 0, nullptr) != 1) return false;
    prepared_now = true;
    auto [inserted, evicted] = cache_.Insert(stmt.sql, Prepared{std::move(name)});
    if (evicted) evicted_.push_back(std::move(evicted->name));
    prepared = inserted;
    ++prepares;
  }
  BindParams(stmt.params);
  return PQsendQueryPrepared(conn_, prepared->name.c_str(), static_cast<int>(stmt.params.size()), values_.data(),
                             lengths_.data(), nullptr, 0) == 1;
}

bool PgConnection::SendStatement(size_t index, const Stmt& stmt, ExecResult& out) {
  bool prepared_now = false;
  const bool queued = QueueStatement(stmt, prepared_now, out.prepares);
  if (prepared_now) entries_.push_back({EntryKind::kPrepare, index});
  if (queued) entries_.push_back({EntryKind::kExec, index});
  return queued;
}

asio::awaitable<PgConnection::ReadOutcome> PgConnection::Flush() {
  for (;;) {
    int r = PQflush(conn_);
    if (r == 0) co_return ReadOutcome::kGot;
    if (r < 0) co_return ReadOutcome::kLost;
    // More to send: wait until the socket takes more, reading meanwhile so that a server
    // blocked on sending results cannot deadlock us.
    WaitOutcome w = co_await Wait(Interest::kReadWrite);
    if (w == WaitOutcome::kDeadline) co_return ReadOutcome::kDeadline;
    if (w == WaitOutcome::kFailed) co_return ReadOutcome::kLost;
    if (PQconsumeInput(conn_) != 1) co_return ReadOutcome::kLost;
  }
}

asio::awaitable<PgConnection::ReadOutcome> PgConnection::NextResult(PGresult** out) {
  for (;;) {
    if (!PQisBusy(conn_)) {
      *out = PQgetResult(conn_);
      co_return ReadOutcome::kGot;
    }
    WaitOutcome w = co_await Wait(Interest::kRead);
    if (w == WaitOutcome::kReady || w == WaitOutcome::kInterrupted) {
      if (PQconsumeInput(conn_) != 1) co_return ReadOutcome::kLost;
      continue;
    }
    if (w == WaitOutcome::kFailed) co_return ReadOutcome::kLost;
    // The deadline passed while the server works: ask it to cancel, and give its answer
    // cancel_grace to arrive.
    if (!cancel_sent_) {
      SendCancel();
      ArmDeadline(Clock::now() + options_.cancel_grace);
      continue;
    }
    co_return ReadOutcome::kDeadline;
  }
}

asio::awaitable<bool> PgConnection::RollbackOpenTransaction(Clock::time_point deadline) {
  static const Params kNoParams;
  ArmDeadline(deadline);
  if (!SendUnnamed("ROLLBACK", kNoParams) || PQpipelineSync(conn_) != 1) co_return false;
  if (co_await Flush() != ReadOutcome::kGot) co_return false;
  bool synced = false;
  while (!synced) {
    PGresult* raw = nullptr;
    if (co_await NextResult(&raw) != ReadOutcome::kGot) co_return false;
    ResultPtr res(raw, &PQclear);
    if (res && PQresultStatus(res.get()) == PGRES_PIPELINE_SYNC) synced = true;
    if (PQstatus(conn_) != CONNECTION_OK) co_return false;
  }
  co_return PQtransactionStatus(conn_) == PQTRANS_IDLE;
}

asio::awaitable<ExecResult> PgConnection::ExecuteImpl(ExecRequest req) {
  ExecResult out;
  const std::vector<Stmt>& stmts = *req.statements;
  const bool write = req.mode == BatchMode::kWrite;
  cancel_sent_ = false;
  entries_.clear();

  if (Clock::now() >= req.deadline) {
    out.status = Status(Code::kDeadlineExceeded, "the deadline passed before the batch was sent");
    co_return out;
  }
  ArmDeadline(req.deadline);
  struct Disarm {
    PgConnection* c;
    ~Disarm() { c->DisarmDeadline(); }
  } disarm{this};

  // An explicit COMMIT inside the batch commits before the Sync: a batch that holds one may
  // have committed even when its Sync never reached the server.
  bool holds_commit = false;
  commit_flags_.assign(stmts.size(), 0);
  for (size_t i = 0; i < stmts.size(); ++i) {
    if (detail::ClassifyTxnControl(stmts[i].sql) == detail::TxnControl::kCommit) {
      commit_flags_[i] = 1;
      holds_commit = true;
    }
  }

  auto lost_before_answer = [&](std::string why) {
    out.discard = true;
    out.connection_lost = true;
    if (holds_commit && write) {
      out.delivery = Delivery::kUnknown;
      out.status = Status(Code::kCommitUnknown,
                          "the connection to PostgreSQL was lost while sending a write batch that "
                          "holds a COMMIT; it may or may not have committed: " + why);
    } else {
      out.delivery = Delivery::kNotSent;
      out.status = Status(Code::kUnavailable,
                          "the connection to PostgreSQL was lost before the batch reached the server "
                          "(nothing was committed): " + why);
    }
  };

  // 1. Queue every message: [BEGIN] (Prepare? Execute)* Sync [DEALLOCATE* Sync].
  static const Params kNoParams;
  bool queued = true;
  if (req.prefix != nullptr) {
    queued = SendUnnamed(req.prefix, kNoParams);
    if (queued) entries_.push_back({EntryKind::kHidden, 0});
  }
  for (size_t i = 0; queued && i < stmts.size(); ++i) queued = SendStatement(i, stmts[i], out);
  if (queued) {
    queued = PQpipelineSync(conn_) == 1;
    entries_.push_back({EntryKind::kSync, 0});
  }
  if (queued && !evicted_.empty()) {
    for (const std::string& name : evicted_) {
      std::string sql = "DEALLOCATE " + name;
      queued = queued && SendUnnamed(sql.c_str(), kNoParams);
      entries_.push_back({EntryKind::kTail, 0});
    }
    queued = queued && PQpipelineSync(conn_) == 1;
    entries_.push_back({EntryKind::kTailSync, 0});
    evicted_.clear();
  }
  if (!queued) {
    if (PQstatus(conn_) != CONNECTION_OK) {
      lost_before_answer(LostMessage(conn_));
    } else {
      out.discard = true;  // the pipeline holds a partial batch
      out.status = Status(Code::kInvalidArgument, "libpq refused the batch: " + LostMessage(conn_));
    }
    co_return out;
  }

  // 2. One flush: the whole batch leaves in one write (more only when it exceeds the socket
  // buffer).
  const Clock::time_point sent_at = Clock::now();
  ReadOutcome flushed = co_await Flush();
  if (flushed == ReadOutcome::kLost) {
    lost_before_answer(LostMessage(conn_));
    co_return out;
  }
  if (flushed == ReadOutcome::kDeadline) {
    SendCancel();
    out.cancelled = true;
    out.discard = true;
    if (holds_commit && write) {
      out.delivery = Delivery::kUnknown;
      out.status = Status(Code::kCommitUnknown,
                          "the deadline passed while a write batch holding a COMMIT was being sent; it "
                          "may or may not have committed");
    } else {
      out.delivery = Delivery::kNotSent;
      out.status = Status(Code::kDeadlineExceeded,
                          "the deadline passed while the batch was being sent (nothing was committed)");
    }
    co_return out;
  }

  // 3. Read every result in order.
  Status first_error;
  bool failed = false;
  size_t failed_index = 0;
  bool synced = false;
  bool explicit_commit_done = false;
  bool lost = false;
  bool timed_out = false;
  bool unsupported = false;
  out.results.resize(stmts.size());

  auto record_failure = [&](const PGresult* res, size_t index) {
    if (failed) return;
    failed = true;
    failed_index = index;
    first_error = ResultError(res, conn_);
  };

  for (size_t e = 0; e < entries_.size() && !lost && !timed_out; ++e) {
    const Entry entry = entries_[e];
    if (entry.kind == EntryKind::kSync || entry.kind == EntryKind::kTailSync) {
      // Results until the Sync's: an error here is a failure at commit time (deferred
      // constraint, serialization failure detected at commit).
      int nulls = 0;
      constexpr int kMaxNullsBeforeSync = 2;
      for (;;) {
        PGresult* raw = nullptr;
        ReadOutcome r = co_await NextResult(&raw);
        if (r == ReadOutcome::kLost) { lost = true; break; }
        if (r == ReadOutcome::kDeadline) { timed_out = true; break; }
        if (raw == nullptr) {
          if (PQstatus(conn_) != CONNECTION_OK || ++nulls > kMaxNullsBeforeSync) { lost = true; break; }
          continue;
        }
        ResultPtr res(raw, &PQclear);
        ExecStatusType st = PQresultStatus(raw);
        if (st == PGRES_PIPELINE_SYNC) {
          if (entry.kind == EntryKind::kSync) {
            synced = true;
            out.round_trip_ms = MillisSince(sent_at);
          }
          break;
        }
        if (st == PGRES_FATAL_ERROR && entry.kind == EntryKind::kSync) record_failure(raw, stmts.size());
        if (PQstatus(conn_) != CONNECTION_OK) { lost = true; break; }
      }
      continue;
    }
    PGresult* raw = nullptr;
    ReadOutcome r = co_await NextResult(&raw);
    if (r == ReadOutcome::kLost) { lost = true; break; }
    if (r == ReadOutcome::kDeadline) { timed_out = true; break; }
    if (raw == nullptr) {  // no result where one was due: the connection broke
      lost = true;
      break;
    }
    ResultPtr res(raw, &PQclear);
    const ExecStatusType st = PQresultStatus(raw);
    const size_t index = entry.index;
    switch (st) {
      case PGRES_COMMAND_OK:
      case PGRES_TUPLES_OK:
      case PGRES_EMPTY_QUERY:
        if (entry.kind == EntryKind::kExec && !failed) {
          out.results[index] = ConvertResult(raw);
          if (commit_flags_[index]) explicit_commit_done = true;
        }
        break;
      case PGRES_PIPELINE_ABORTED:
        if (entry.kind == EntryKind::kPrepare) cache_.Erase(stmts[index].sql);
        break;
      case PGRES_COPY_IN:
      case PGRES_COPY_OUT:
      case PGRES_COPY_BOTH:
        unsupported = true;
        lost = true;  // the protocol is in COPY state: give the connection up
        if (!failed) {
          failed = true;
          failed_index = index;
          first_error = Status(Code::kInvalidArgument, "COPY is not supported in a batch");
        }
        break;
      default:  // PGRES_FATAL_ERROR, PGRES_BAD_RESPONSE, PGRES_NONFATAL_ERROR
        if (entry.kind == EntryKind::kPrepare) cache_.Erase(stmts[index].sql);
        if (entry.kind != EntryKind::kTail) {
          const bool from_server = PQresultErrorField(raw, PG_DIAG_SQLSTATE) != nullptr;
          if (from_server || PQstatus(conn_) == CONNECTION_OK) {
            record_failure(raw, entry.kind == EntryKind::kHidden ? 0 : index);
          }
        }
        break;
    }
    if (lost) break;
    if (PQstatus(conn_) != CONNECTION_OK) {
      lost = true;
      break;
    }
    // Each statement's results end with a null result.
    for (;;) {
      PGresult* extra = nullptr;
      ReadOutcome r2 = co_await NextResult(&extra);
      if (r2 == ReadOutcome::kLost) { lost = true; break; }
      if (r2 == ReadOutcome::kDeadline) { timed_out = true; break; }
      if (extra == nullptr) break;
      PQclear(extra);
    }
  }
  out.cancelled = cancel_sent_;

  const bool server_aborted = failed && !first_error.sqlstate().empty() && !explicit_commit_done;
  if (lost || timed_out) {
    out.discard = true;
    out.connection_lost = lost;
    if (synced) {
      // The outcome arrived; only the DEALLOCATE tail was lost.
      out.delivery = Delivery::kCompleted;
    } else if (server_aborted || (failed && unsupported)) {
      out.delivery = Delivery::kAborted;
      out.failed_index = failed_index;
      out.status = first_error;
      co_return out;
    } else if (lost) {
      out.delivery = Delivery::kUnknown;
      if (write) {
        out.status = Status(Code::kCommitUnknown,
                            "the connection to PostgreSQL was lost after a write batch was sent and before "
                            "its outcome arrived; it may or may not have committed: " + LostMessage(conn_));
      } else {
        out.status = Status(Code::kUnavailable,
                            "the connection to PostgreSQL was lost during a read batch: " + LostMessage(conn_));
      }
      co_return out;
    } else {
      out.delivery = Delivery::kUnknown;
      if (write) {
        out.status = Status(Code::kCommitUnknown,
                            "the deadline passed while a write batch was running; it was cancelled but no "
                            "answer arrived within " + std::to_string(options_.cancel_grace.count()) +
                                " ms, so it may or may not have committed");
      } else {
        out.status = Status(Code::kDeadlineExceeded,
                            "the deadline passed while the batch was running; it was cancelled");
      }
      co_return out;
    }
  } else {
    out.delivery = failed ? Delivery::kAborted : Delivery::kCompleted;
  }

  // 4. The connection goes back clean: no transaction left open by an explicit BEGIN (Run),
  // the session's role unchanged.
  if (!out.discard) {
    PGTransactionStatusType ts = PQtransactionStatus(conn_);
    if (req.scope == TxnScope::kImplicit && ts != PQTRANS_IDLE) {
      const Clock::time_point rollback_deadline =
          std::max(req.deadline, Clock::now() + options_.cancel_grace);
      if (!co_await RollbackOpenTransaction(rollback_deadline)) out.discard = true;
    }
    const char* auth = PQparameterStatus(conn_, "session_authorization");
    if (auth == nullptr || session_authorization_ != auth) out.discard = true;
  }

  if (!failed) {
    out.status = Status::Ok();
    co_return out;
  }
  out.results.clear();
  out.failed_index = failed_index;
  if (cancel_sent_ && first_error.sqlstate() == kQueryCanceled) {
    out.status = Status(Code::kDeadlineExceeded,
                        "the batch ran past its deadline and was cancelled by the server (nothing was "
                        "committed)",
                        first_error.sqlstate());
  } else {
    out.status = first_error;
  }
  if (first_error.sqlstate() == kStalePlanState &&
      first_error.message().find(kStalePlanText) != std::string::npos && failed_index < stmts.size()) {
    if (auto stale = cache_.Erase(stmts[failed_index].sql)) evicted_.push_back(std::move(stale->name));
    out.stale_statement = true;
  }
  if (SessionEnding(first_error)) out.discard = true;
  co_return out;
}


// ---- shared mode ----

struct PgConnection::SharedEntry {
  EntryKind kind;
  size_t index;             // statement index (kPrepare, kExec)
  std::string prepare_sql;  // kPrepare: the cached text, forgotten when the Prepare fails
  const std::string* sql = nullptr;  // kExec: the caller's text (valid while it waits)
};

struct PgConnection::SharedBatch {
  std::vector<SharedEntry> entries;
  size_t pos = 0;               // the entry whose answer comes next
  bool after_result = false;    // its result arrived; the null that ends it is due
  int nulls_before_sync = 0;
  bool failed = false;
  Status first_error;
  size_t failed_index = 0;
  bool abandoned = false;       // its caller's deadline passed: the answer is dropped
  bool cancel_sent = false;
  Clock::time_point sent_at;
  ExecResult out;
  detail::OneShot<ExecResult> done;
};

PgConnection::SharedLoad PgConnection::shared_load() const {
  SharedLoad load;
  load.usable = load_usable_.load(std::memory_order_acquire);
  load.in_flight = load_in_flight_.load(std::memory_order_relaxed);
  load.oldest_sent = Clock::time_point(Clock::duration(load_oldest_sent_.load(std::memory_order_relaxed)));
  return load;
}

void PgConnection::PublishSharedLoad() {
  std::lock_guard lock(shared_mu_);
  PublishSharedLoadLocked();
}

void PgConnection::PublishSharedLoadLocked() {
  load_in_flight_.store(shared_queue_.size(), std::memory_order_relaxed);
  load_oldest_sent_.store(shared_queue_.empty() ? Clock::time_point::max().time_since_epoch().count()
                                                : shared_queue_.front()->sent_at.time_since_epoch().count(),
                          std::memory_order_relaxed);
  load_usable_.store(!shared_broken_ && conn_ != nullptr && PQstatus(conn_) == CONNECTION_OK && !server_closing_,
                     std::memory_order_release);
}

// Queues [DEALLOCATE* Sync] (Prepare? Execute)* Sync for one batch.
bool PgConnection::QueueSharedLocked(const std::vector<Stmt>& stmts, SharedBatch& b) {
  static const Params kNoParams;
  if (!evicted_.empty()) {
    for (const std::string& name : evicted_) {
      std::string sql = "DEALLOCATE " + name;
      if (!SendUnnamed(sql.c_str(), kNoParams)) return false;
      b.entries.push_back({EntryKind::kTail, 0, {}});
    }
    evicted_.clear();
    if (PQpipelineSync(conn_) != 1) return false;
    b.entries.push_back({EntryKind::kTailSync, 0, {}});
  }
  for (size_t i = 0; i < stmts.size(); ++i) {
    // Batches queued after this one use a name prepared here at once: they run after the
    // Prepare. An evicted statement is deallocated after a later Sync, so batches already in
    // the pipeline that use it run first.
    bool prepared_now = false;
    const bool queued = QueueStatement(stmts[i], prepared_now, b.out.prepares);
    if (prepared_now) b.entries.push_back({EntryKind::kPrepare, i, stmts[i].sql});
    if (!queued) return false;
    b.entries.push_back({EntryKind::kExec, i, {}, &stmts[i].sql});
  }
  if (PQpipelineSync(conn_) != 1) return false;  // libpq flushes here
  b.entries.push_back({EntryKind::kSync, 0, {}});
  return true;
}

void PgConnection::ArmSharedReadLocked() {
  if (shared_read_armed_) return;
  shared_read_armed_ = true;
  socket_.async_wait(asio::posix::descriptor_base::wait_read,
                     [self = shared_from_this()](const ErrorCode& ec) { self->OnSharedReady(ec, false); });
}

void PgConnection::ArmSharedWriteLocked() {
  if (shared_write_armed_) return;
  shared_write_armed_ = true;
  socket_.async_wait(asio::posix::descriptor_base::wait_write,
                     [self = shared_from_this()](const ErrorCode& ec) { self->OnSharedReady(ec, true); });
}

asio::awaitable<ExecResult> PgConnection::ExecuteShared(ExecRequest req) {
  std::shared_ptr<PgConnection> self = shared_from_this();
  auto batch = std::make_shared<SharedBatch>();
  const std::vector<Stmt>& stmts = *req.statements;
  if (Clock::now() >= req.deadline) {
    batch->out.status = Status(Code::kDeadlineExceeded, "the deadline passed before the batch was sent");
    co_return std::move(batch->out);
  }
  std::vector<SharedBatchPtr> finished;
  bool queued = false;
  {
    std::lock_guard lock(shared_mu_);
    if (!shared_broken_ && PQstatus(conn_) == CONNECTION_OK) {
      batch->out.results.resize(stmts.size());
      if (QueueSharedLocked(stmts, *batch)) {
        queued = true;
        batch->sent_at = Clock::now();
        shared_queue_.push_back(batch);
        const int flushed = PQflush(conn_);
        if (flushed < 0) {
          BreakSharedLocked(LostMessage(conn_), finished);
        } else {
          if (flushed == 1) ArmSharedWriteLocked();
          ArmSharedReadLocked();
        }
      } else {
        // Part of a batch may sit in libpq's buffer: nothing more can go after it.
        BreakSharedLocked(LostMessage(conn_), finished);
      }
    }
    PublishSharedLoadLocked();
  }
  DeliverShared(finished);
  if (!queued) {
    ExecResult out;
    out.discard = true;
    out.connection_lost = true;
    out.delivery = Delivery::kNotSent;
    out.status = Status(Code::kUnavailable,
                        "the shared connection to PostgreSQL is unusable; the batch was not sent (nothing was "
                        "committed)");
    co_return out;
  }
  asio::steady_timer timer(co_await asio::this_coro::executor);
  timer.expires_at(req.deadline);
  timer.async_wait([batch, weak = weak_from_this()](const ErrorCode& ec) {
    if (ec) return;
    ExecResult out;
    out.delivery = Delivery::kUnknown;
    out.cancelled = true;
    out.status = Status(Code::kDeadlineExceeded, "the deadline passed while the batch was running; it was cancelled");
    if (!batch->done.Set(std::move(out))) return;
    if (auto conn = weak.lock()) conn->AbandonShared(batch);
  });
  ExecResult result = co_await batch->done.Wait();
  timer.cancel();
  co_return result;
}

void PgConnection::AbandonShared(const SharedBatchPtr& batch) {
  std::lock_guard lock(shared_mu_);
  batch->abandoned = true;
  CancelHeadIfAbandonedLocked();
}

// The batch the server is running (or about to) was abandoned: cancel it, once.
void PgConnection::CancelHeadIfAbandonedLocked() {
  if (shared_queue_.empty() || shared_broken_) return;
  SharedBatch& head = *shared_queue_.front();
  if (!head.abandoned || head.cancel_sent) return;
  head.cancel_sent = true;
  StartCancel(conn_);
}

void PgConnection::OnSharedReady(const ErrorCode& ec, bool write) {
  std::vector<SharedBatchPtr> finished;
  {
    std::lock_guard lock(shared_mu_);
    (write ? shared_write_armed_ : shared_read_armed_) = false;
    if (!shared_broken_) {
      if (ec && ec != asio::error::operation_aborted) {
        BreakSharedLocked(ec.message(), finished);
      } else if (write) {
        const int flushed = PQflush(conn_);  // reads meanwhile, so it cannot deadlock
        if (flushed < 0) BreakSharedLocked(LostMessage(conn_), finished);
        else if (flushed == 1) ArmSharedWriteLocked();
      } else if (PQconsumeInput(conn_) != 1) {
        BreakSharedLocked(LostMessage(conn_), finished);
      }
      if (!shared_broken_) ProcessSharedLocked(finished);
      if (!shared_broken_ && !shared_queue_.empty()) ArmSharedReadLocked();
    }
    PublishSharedLoadLocked();
  }
  DeliverShared(finished);
}

// Hands out every answer that has arrived, in pipeline order.
void PgConnection::ProcessSharedLocked(std::vector<SharedBatchPtr>& finished) {
  constexpr int kMaxNullsBeforeSync = 2;
  while (!shared_queue_.empty() && !shared_broken_) {
    if (PQisBusy(conn_)) {
      if (PQstatus(conn_) != CONNECTION_OK) BreakSharedLocked(LostMessage(conn_), finished);
      return;
    }
    SharedBatch& b = *shared_queue_.front();
    if (b.pos >= b.entries.size()) {
      BreakSharedLocked("an answer arrived for no statement of the pipeline", finished);
      return;
    }
    const SharedEntry& entry = b.entries[b.pos];
    const bool sync = entry.kind == EntryKind::kSync || entry.kind == EntryKind::kTailSync;
    PGresult* raw = PQgetResult(conn_);
    if (raw == nullptr) {
      if (PQstatus(conn_) != CONNECTION_OK) {
        BreakSharedLocked(LostMessage(conn_), finished);
        return;
      }
      if (b.after_result) {  // the end of one statement's results
        b.after_result = false;
        ++b.pos;
        continue;
      }
      if (sync && ++b.nulls_before_sync <= kMaxNullsBeforeSync) continue;
      BreakSharedLocked("the pipeline lost its place (no result where one was due)", finished);
      return;
    }
    ResultPtr res(raw, &PQclear);
    const ExecStatusType st = PQresultStatus(raw);
    if (sync) {
      if (st == PGRES_PIPELINE_SYNC) {
        b.nulls_before_sync = 0;
        ++b.pos;
        if (entry.kind == EntryKind::kSync) FinishHeadLocked(finished);
        continue;
      }
      // An error before the Sync's answer is a failure at commit time.
      if (st == PGRES_FATAL_ERROR && entry.kind == EntryKind::kSync && !b.failed) {
        b.failed = true;
        b.failed_index = b.out.results.size();
        b.first_error = ResultError(raw, conn_);
      }
      continue;
    }
    if (st == PGRES_PIPELINE_SYNC) {
      BreakSharedLocked("the pipeline lost its place (a Sync answered a statement)", finished);
      return;
    }
    b.after_result = true;
    switch (st) {
      case PGRES_COMMAND_OK:
      case PGRES_TUPLES_OK:
      case PGRES_EMPTY_QUERY:
        if (entry.kind == EntryKind::kExec && !b.failed) b.out.results[entry.index] = ConvertResult(raw);
        break;
      case PGRES_PIPELINE_ABORTED:
        if (entry.kind == EntryKind::kPrepare) cache_.Erase(entry.prepare_sql);
        break;
      case PGRES_COPY_IN:
      case PGRES_COPY_OUT:
      case PGRES_COPY_BOTH:
        BreakSharedLocked("COPY is not supported in a batch", finished);
        return;
      default:  // PGRES_FATAL_ERROR, PGRES_BAD_RESPONSE, PGRES_NONFATAL_ERROR
        if (entry.kind == EntryKind::kPrepare) cache_.Erase(entry.prepare_sql);
        if (entry.kind != EntryKind::kTail && !b.failed) {
          b.failed = true;
          b.failed_index = entry.index;
          b.first_error = ResultError(raw, conn_);
        }
        break;
    }
  }
}

// The head batch's Sync answered: its outcome goes to its caller (unless abandoned).
void PgConnection::FinishHeadLocked(std::vector<SharedBatchPtr>& finished) {
  SharedBatchPtr b = std::move(shared_queue_.front());
  shared_queue_.pop_front();
  ExecResult& out = b->out;
  out.round_trip_ms = MillisSince(b->sent_at);
  out.cancelled = b->cancel_sent;
  if (!b->failed) {
    out.status = Status::Ok();
    out.delivery = Delivery::kCompleted;
  } else {
    const std::string& state = b->first_error.sqlstate();
    out.results.clear();
    out.delivery = Delivery::kAborted;
    out.failed_index = b->failed_index;
    out.status = b->first_error;
    // Cancelled although its own deadline had not passed: the cancel was meant for the batch
    // before it. Missing prepared statement: another batch's Prepare was aborted.
    if ((state == kQueryCanceled && !b->abandoned) || state == "26000") out.retry_now = true;
    if (state == kStalePlanState && b->first_error.message().find(kStalePlanText) != std::string::npos) {
      // The statement's text is the caller's, alive while it waits (not when it gave up: then
      // the next batch to use the statement meets the same error and mends it).
      for (const SharedEntry& e : b->entries) {
        if (e.kind != EntryKind::kExec || e.index != b->failed_index || e.sql == nullptr || b->abandoned) continue;
        if (auto stale = cache_.Erase(*e.sql)) evicted_.push_back(std::move(stale->name));
        break;
      }
      out.stale_statement = true;
    }
  }
  const bool session_ending = b->failed && SessionEnding(b->first_error);
  if (session_ending) out.discard = true;  // RetryDecision: aborted by a session's end → run again
  // (PQTRANS_ACTIVE while later batches are in flight: libpq reports the pipeline as busy.)
  const PGTransactionStatusType ts = PQtransactionStatus(conn_);
  if ((ts == PQTRANS_INTRANS || ts == PQTRANS_INERROR) && !shared_broken_) {
    BreakSharedLocked("a batch left a transaction open on the shared connection", finished);
  }
  const char* auth = PQparameterStatus(conn_, "session_authorization");
  if ((auth == nullptr || session_authorization_ != auth) && !shared_broken_) {
    BreakSharedLocked("a batch changed the session's role on the shared connection", finished);
  }
  finished.push_back(std::move(b));
  // The server is ending the session (shutdown, pg_terminate_backend, a failover's read-only
  // primary): the batches after this one fail with it, as lost reads.
  if (session_ending && !shared_broken_) BreakSharedLocked("the server is ending the session", finished);
  CancelHeadIfAbandonedLocked();
}

// The connection cannot carry on: every batch in flight fails (reads: nothing committed, and
// they may be run again).
void PgConnection::BreakSharedLocked(const std::string& why, std::vector<SharedBatchPtr>& finished) {
  shared_broken_ = true;
  for (SharedBatchPtr& b : shared_queue_) {
    ExecResult& out = b->out;
    out.results.clear();
    out.discard = true;
    out.connection_lost = true;
    out.delivery = Delivery::kUnknown;
    out.status = Status(Code::kUnavailable, "the connection to PostgreSQL was lost during a read batch: " + why);
    finished.push_back(std::move(b));
  }
  shared_queue_.clear();
  ErrorCode ignored;
  socket_.cancel(ignored);  // the armed waits end (operation_aborted) and find it broken
}

void PgConnection::DeliverShared(std::vector<SharedBatchPtr>& finished) {
  for (SharedBatchPtr& b : finished) b->done.Set(std::move(b->out));
  finished.clear();
}

}  // namespace plinth::db::pg
