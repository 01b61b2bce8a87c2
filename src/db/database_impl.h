// db/database_impl.h — the two Database implementations behind db::OpenDatabase, and what
// they share (internal).
//
// Thread-safety: see plinth/database.h.
#pragma once

#include <memory>

#include "plinth/database.h"

namespace plinth::db {

Result<std::unique_ptr<Database>> OpenPostgresDatabase(asio::io_context& io, const Url& url,
                                                       const PoolOptions& options);
Result<std::unique_ptr<Database>> OpenSqliteDatabase(asio::io_context& io, const Url& url,
                                                     const PoolOptions& options);

namespace detail {

// kInvalidArgument naming the first statement of `batch` that a pooled connection refuses
// (statement_check.h), with outcome.failed_index set; OK otherwise.
Status CheckBatch(Backend backend, const std::vector<Stmt>& statements, size_t* failed_index);

// The outcome of a batch that did not run: `status`, attempts, failed_index 0.
BatchOutcome FailedOutcome(Status status, int attempts = 1);

// Options that cannot work (size < 1, negative overflow or waiters …): kInvalidArgument.
Status ValidateOptions(const PoolOptions& options);

}  // namespace detail
}  // namespace plinth::db
