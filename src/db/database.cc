// The request-path database: options from the environment, and OpenDatabase.
#include <charconv>
#include <cstdlib>
#include <limits>
#include <string>

#include "common/strings.h"
#include "db/database_impl.h"
#include "db/statement_check.h"

namespace plinth::db {
namespace {

enum class Unit : unsigned char { kMilliseconds, kSeconds, kCount };

// An integer, optionally with a unit suffix ("500ms", "5s") where the variable is a duration.
// Returns the value in the variable's documented unit.
Result<int64_t> ParseEnvInteger(const char* name, std::string_view raw, Unit unit, int64_t min) {
  std::string text = Trim(raw);
  int64_t scale_num = 1;
  int64_t scale_den = 1;
  std::string_view digits = text;
  if (unit != Unit::kCount) {
    constexpr int64_t kMsPerSecond = 1000;
    if (EndsWith(digits, "ms")) {
      digits.remove_suffix(2);
      if (unit == Unit::kSeconds) scale_den = kMsPerSecond;
    } else if (EndsWith(digits, "s")) {
      digits.remove_suffix(1);
      if (unit == Unit::kMilliseconds) scale_num = kMsPerSecond;
    }
  }
  int64_t value = 0;
  auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  std::string expected = unit == Unit::kCount          ? "an integer"
                         : unit == Unit::kSeconds      ? "a number of seconds (e.g. 3600 or 3600s)"
                                                       : "a number of milliseconds (e.g. 5000 or 5s)";
  if (digits.empty() || ec != std::errc() || ptr != digits.data() + digits.size()) {
    return Status(Code::kInvalidArgument,
                  std::string(name) + "=\"" + text + "\" is not " + expected, {}, name);
  }
  if (value > std::numeric_limits<int32_t>::max() / scale_num) {
    return Status(Code::kInvalidArgument, std::string(name) + "=\"" + text + "\" is too large", {}, name);
  }
  value = value * scale_num / scale_den;
  if (value < min) {
    return Status(Code::kInvalidArgument,
                  std::string(name) + "=\"" + text + "\" must be at least " + std::to_string(min), {}, name);
  }
  return value;
}

// Reads `name` into `out` when set; keeps `out` otherwise.
Status ReadEnv(const char* name, Unit unit, int64_t min, int64_t& out) {
  const char* raw = std::getenv(name);
  if (raw == nullptr || *raw == '\0') return Status::Ok();
  PLINTH_ASSIGN_OR_RETURN(out, ParseEnvInteger(name, raw, unit, min));
  return Status::Ok();
}

}  // namespace

Result<PoolOptions> PoolOptions::FromEnvironment() { return FromEnvironment(PoolOptions()); }

Result<PoolOptions> PoolOptions::FromEnvironment(PoolOptions defaults) {
  PoolOptions o = defaults;
  int64_t size = o.size, overflow = o.max_overflow, waiters = o.max_waiters;
  int64_t recycle = o.recycle.count(), timeout = o.acquire_timeout.count();
  int64_t shared = o.shared_connections, depth = o.shared_depth;
  PLINTH_RETURN_IF_ERROR(ReadEnv("DB_POOL_SIZE", Unit::kCount, 1, size));
  PLINTH_RETURN_IF_ERROR(ReadEnv("DB_MAX_OVERFLOW", Unit::kCount, 0, overflow));
  PLINTH_RETURN_IF_ERROR(ReadEnv("DB_POOL_MAX_WAITERS", Unit::kCount, 0, waiters));
  PLINTH_RETURN_IF_ERROR(ReadEnv("DB_POOL_RECYCLE", Unit::kSeconds, 0, recycle));
  PLINTH_RETURN_IF_ERROR(ReadEnv("DB_POOL_TIMEOUT", Unit::kMilliseconds, 1, timeout));
  PLINTH_RETURN_IF_ERROR(ReadEnv("DB_POOL_SHARED", Unit::kCount, 0, shared));
  PLINTH_RETURN_IF_ERROR(ReadEnv("DB_POOL_SHARED_DEPTH", Unit::kCount, 1, depth));
  o.size = static_cast<int>(size);
  o.max_overflow = static_cast<int>(overflow);
  o.max_waiters = static_cast<int>(waiters);
  o.recycle = std::chrono::seconds(recycle);
  o.acquire_timeout = std::chrono::milliseconds(timeout);
  o.shared_connections = static_cast<int>(shared);
  o.shared_depth = static_cast<int>(depth);
  PLINTH_RETURN_IF_ERROR(detail::ValidateOptions(o));
  return o;
}

namespace detail {

Status ValidateOptions(const PoolOptions& o) {
  auto bad = [](const std::string& what) {
    return Status(Code::kInvalidArgument, "invalid database pool option: " + what);
  };
  if (o.size < 1) return bad("size must be at least 1 (DB_POOL_SIZE)");
  if (o.max_overflow < 0) return bad("max_overflow must not be negative (DB_MAX_OVERFLOW)");
  if (o.max_waiters < 0) return bad("max_waiters must not be negative (DB_POOL_MAX_WAITERS)");
  if (o.acquire_timeout.count() <= 0) return bad("acquire_timeout must be positive (DB_POOL_TIMEOUT)");
  if (o.recycle.count() < 0) return bad("recycle must not be negative (DB_POOL_RECYCLE)");
  if (o.recycle_jitter < 0 || o.recycle_jitter >= 1) return bad("recycle_jitter must be in [0, 1)");
  if (o.connect_timeout.count() <= 0) return bad("connect_timeout must be positive");
  if (o.backoff_initial.count() <= 0 || o.backoff_max < o.backoff_initial) {
    return bad("backoff_initial must be positive and at most backoff_max");
  }
  if (o.retry_attempts < 0) return bad("retry_attempts must not be negative");
  if (o.retry_backoff.count() < 0) return bad("retry_backoff must not be negative");
  if (o.cancel_grace.count() < 0) return bad("cancel_grace must not be negative");
  if (o.shared_connections < 0) return bad("shared_connections must not be negative (DB_POOL_SHARED)");
  if (o.shared_depth < 1) return bad("shared_depth must be at least 1 (DB_POOL_SHARED_DEPTH)");
  if (o.shared_stall.count() <= 0) return bad("shared_stall must be positive");
  if (o.sqlite_readers < 0) return bad("sqlite_readers must not be negative");
  if (o.sqlite_group_commit < 1) return bad("sqlite_group_commit must be at least 1");
  if (o.sqlite_checkpoint_pages < 0) return bad("sqlite_checkpoint_pages must not be negative");
  if (o.sqlite_busy_timeout.count() < 0) return bad("sqlite_busy_timeout must not be negative");
  return Status::Ok();
}

Status CheckBatch(Backend backend, const std::vector<Stmt>& statements, size_t* failed_index) {
  for (size_t i = 0; i < statements.size(); ++i) {
    Status st = CheckPooledStatement(backend, statements[i].sql, i);
    if (!st.ok()) {
      if (failed_index) *failed_index = i;
      return st;
    }
  }
  return Status::Ok();
}

BatchOutcome FailedOutcome(Status status, int attempts) {
  BatchOutcome out;
  out.status = std::move(status);
  out.attempts = attempts;
  return out;
}

}  // namespace detail

Result<std::unique_ptr<Database>> OpenDatabase(asio::io_context& io, const Url& url,
                                               const PoolOptions& options) {
  PLINTH_RETURN_IF_ERROR(detail::ValidateOptions(options));
  switch (url.backend) {
    case Backend::kPostgres: return OpenPostgresDatabase(io, url, options);
    case Backend::kSqlite: return OpenSqliteDatabase(io, url, options);
  }
  return Status(Code::kInternal, "unknown database backend");
}

}  // namespace plinth::db
