// db/drivers.h — the two Connection implementations behind db::Connect (internal).
//
// Thread-safety: see plinth/db.h.
#pragma once

#include <memory>

#include "plinth/db.h"

namespace plinth::db {

Result<std::unique_ptr<Connection>> ConnectSqlite(const Url& url, const ConnectOptions& opts);
Result<std::unique_ptr<Connection>> ConnectPostgres(const Url& url, const ConnectOptions& opts);

}  // namespace plinth::db
