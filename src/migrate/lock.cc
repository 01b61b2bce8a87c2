// The PostgreSQL migration lock: a session advisory lock taken by polling
// pg_try_advisory_lock from a dedicated connection that stays idle (no transaction, no
// snapshot) while the migrations run on another connection.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <random>
#include <thread>

#include "common/strings.h"
#include "migrate/internal.h"

namespace plinth::runner::internal {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr milliseconds kFirstDelay{50};
constexpr milliseconds kMaxDelay{1000};
constexpr double kBackoffFactor = 1.6;
constexpr double kJitter = 0.3;  // ±30 %
constexpr int kMillisPerSecond = 1000;
constexpr uint64_t kLow32 = 0xffffffffULL;
constexpr int kHalfBits = 32;

std::string KeyText() { return std::to_string(MigrationLockKey()); }

ScriptStatement LockStatement(std::string sql) {
  ScriptStatement s;
  s.kind = StatementKind::kLock;
  s.sql = std::move(sql);
  return s;
}

// Who holds the lock, as a sentence fragment ("pid 123 (plinth, 10.0.0.5, connected since …)").
std::string Holder(db::Connection& conn, const RunOptions& opts) {
  const uint64_t key = static_cast<uint64_t>(MigrationLockKey());
  ScriptStatement s = LockStatement(
      "SELECT a.pid, coalesce(nullif(a.application_name, ''), '?'), coalesce(host(a.client_addr), 'local socket'), "
      "to_char(a.backend_start AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS \"UTC\"'), coalesce(a.state, '?') "
      "FROM pg_catalog.pg_locks l JOIN pg_catalog.pg_stat_activity a ON a.pid = l.pid "
      "WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 "
      "AND l.database = (SELECT oid FROM pg_catalog.pg_database WHERE datname = current_database()) "
      "AND l.classid = " + std::to_string(key >> kHalfBits) + "::oid AND l.objid = " +
      std::to_string(key & kLow32) + "::oid");
  auto r = TracedQuery(conn, s, opts);
  if (!r.ok() || r->rows.empty()) return "another session";
  const db::Row& row = r->rows[0];
  return "pid " + row[0].value_or("?") + " (" + row[1].value_or("?") + ", " + row[2].value_or("?") +
         ", connected since " + row[3].value_or("?") + ", " + row[4].value_or("?") + ")";
}

}  // namespace

PgLock::PgLock(std::unique_ptr<db::Connection> conn, const RunOptions& opts) : conn_(std::move(conn)), opts_(opts) {}

PgLock::~PgLock() { Release(); }

void PgLock::Release() {
  if (!conn_) return;
  ScriptStatement s = LockStatement("SELECT pg_advisory_unlock(" + KeyText() + ")");
  auto r = TracedQuery(*conn_, s, opts_);
  if ((!r.ok() || r->rows.empty() || r->rows[0][0] != "t") && opts_.progress) {
    opts_.progress("warning: the migration lock was not held at release (its connection was interrupted?)");
  }
  conn_.reset();
}

Result<std::unique_ptr<PgLock>> PgLock::Acquire(const db::Url& url, const RunOptions& opts) {
  db::ConnectOptions copts;
  copts.timeout_ms = static_cast<int>(opts.connect_timeout.count());
  PLINTH_ASSIGN_OR_RETURN(std::unique_ptr<db::Connection> conn, db::Connect(url, copts));
  const auto deadline = Clock::now() + opts.lock_timeout;
  std::mt19937_64 rng(std::random_device{}());
  std::uniform_real_distribution<double> jitter(1.0 - kJitter, 1.0 + kJitter);
  milliseconds delay = kFirstDelay;
  bool reported = false;
  const ScriptStatement attempt = LockStatement("SELECT pg_try_advisory_lock(" + KeyText() + ")");
  for (;;) {
    auto r = TracedQuery(*conn, attempt, opts);
    if (!r.ok()) return r.status().WithContext("cannot take the migration lock");
    if (!r->rows.empty() && r->rows[0][0] == "t") {
      return std::unique_ptr<PgLock>(new PgLock(std::move(conn), opts));
    }
    const auto now = Clock::now();
    if (now >= deadline) {
      const auto secs = std::chrono::duration_cast<milliseconds>(opts.lock_timeout).count() / double(kMillisPerSecond);
      char buf[32];
      std::snprintf(buf, sizeof buf, "%g", secs);
      return Status(Code::kDeadlineExceeded,
                    "timed out after " + std::string(buf) + " s waiting for the migration lock (advisory lock " +
                        KeyText() + "), held by " + Holder(*conn, opts) +
                        ". Another `plinth migrate` is running; if it is gone but its session is not, end the "
                        "session with SELECT pg_terminate_backend(pid). Use --lock-timeout to wait longer.");
    }
    if (!reported && opts.progress) {
      opts.progress("waiting for the migration lock, held by " + Holder(*conn, opts));
      reported = true;
    }
    auto sleep = milliseconds(static_cast<int64_t>(static_cast<double>(delay.count()) * jitter(rng)));
    const auto left = std::chrono::duration_cast<milliseconds>(deadline - now);
    std::this_thread::sleep_for(std::min(sleep, left));
    delay = std::min(kMaxDelay, milliseconds(static_cast<int64_t>(static_cast<double>(delay.count()) * kBackoffFactor)));
  }
}

}  // namespace plinth::runner::internal
