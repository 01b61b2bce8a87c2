// The SQLite connection: sqlite3 in WAL mode with foreign keys enforced.
#include <sqlite3.h>

#include <string>

#include "db/drivers.h"
#include "db/sqlite_common.h"

namespace plinth::db {
namespace {

using sqlite::OnlyTrivia;
using sqlite::SqliteError;

class SqliteConnection final : public Connection {
 public:
  SqliteConnection(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}
  ~SqliteConnection() override { sqlite3_close_v2(db_); }
  SqliteConnection(const SqliteConnection&) = delete;
  SqliteConnection& operator=(const SqliteConnection&) = delete;

  Backend backend() const override { return Backend::kSqlite; }

  Status Exec(std::string_view sql) override {
    std::string text(sql);
    char* err = nullptr;
    int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &err);
    if (rc == SQLITE_OK) return Status::Ok();
    std::string message = err ? err : sqlite3_errstr(rc);
    if (err) sqlite3_free(err);
    return SqliteError(sqlite3_extended_errcode(db_), message);
  }

  Result<QueryResult> Query(std::string_view sql, const Params& params) override {
    sqlite3_stmt* raw = nullptr;
    const char* tail = nullptr;
    int rc = sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &raw, &tail);
    std::unique_ptr<sqlite3_stmt, decltype(&sqlite3_finalize)> stmt(raw, &sqlite3_finalize);
    if (rc != SQLITE_OK) return SqliteError(sqlite3_extended_errcode(db_), sqlite3_errmsg(db_));
    if (tail != nullptr && !OnlyTrivia(std::string_view(tail, sql.data() + sql.size() - tail))) {
      return Status(Code::kInvalidArgument,
                    "Query runs one statement; use Exec for several: " + std::string(sql));
    }
    QueryResult out;
    if (!stmt) {  // empty statement (only comments)
      if (!params.empty()) return ParamCountError(0, params.size());
      return out;
    }
    int expected = sqlite3_bind_parameter_count(stmt.get());
    if (static_cast<size_t>(expected) != params.size()) return ParamCountError(expected, params.size());
    for (size_t i = 0; i < params.size(); ++i) {
      int index = static_cast<int>(i) + 1;
      rc = params[i] ? sqlite3_bind_text64(stmt.get(), index, params[i]->data(), params[i]->size(),
                                           SQLITE_TRANSIENT, SQLITE_UTF8)
                     : sqlite3_bind_null(stmt.get(), index);
      if (rc != SQLITE_OK) return SqliteError(sqlite3_extended_errcode(db_), sqlite3_errmsg(db_));
    }
    int ncols = sqlite3_column_count(stmt.get());
    out.columns.reserve(ncols);
    for (int c = 0; c < ncols; ++c) out.columns.emplace_back(sqlite3_column_name(stmt.get(), c));
    for (;;) {
      rc = sqlite3_step(stmt.get());
      if (rc == SQLITE_DONE) break;
      if (rc != SQLITE_ROW) return SqliteError(sqlite3_extended_errcode(db_), sqlite3_errmsg(db_));
      Row row;
      row.reserve(ncols);
      for (int c = 0; c < ncols; ++c) {
        if (sqlite3_column_type(stmt.get(), c) == SQLITE_NULL) {
          row.emplace_back(std::nullopt);
          continue;
        }
        // column_blob for BLOBs keeps the raw bytes; column_text renders numbers.
        const void* data = sqlite3_column_type(stmt.get(), c) == SQLITE_BLOB
                               ? sqlite3_column_blob(stmt.get(), c)
                               : static_cast<const void*>(sqlite3_column_text(stmt.get(), c));
        int size = sqlite3_column_bytes(stmt.get(), c);
        row.emplace_back(data ? std::string(static_cast<const char*>(data), size) : std::string());
      }
      out.rows.push_back(std::move(row));
    }
    return out;
  }

  bool InTransaction() const override { return sqlite3_get_autocommit(db_) == 0; }
  int ServerPid() const override { return 0; }

 private:
  static Status ParamCountError(int expected, size_t given) {
    return Status(Code::kInvalidArgument, "the statement has " + std::to_string(expected) +
                                              " parameter(s) but " + std::to_string(given) +
                                              " value(s) were given");
  }

  sqlite3* db_;
  std::string path_;
};

}  // namespace

Result<std::unique_ptr<Connection>> ConnectSqlite(const Url& url, const ConnectOptions& opts) {
  // FULL rather than NORMAL: see db.h (administrative work must survive a power cut).
  sqlite::OpenOptions open;
  open.create = opts.create;
  open.busy_timeout_ms = opts.timeout_ms;
  open.synchronous = opts.sqlite_synchronous_full ? sqlite::Synchronous::kFull : sqlite::Synchronous::kNormal;
  PLINTH_ASSIGN_OR_RETURN(sqlite3 * db, sqlite::Open(url.path, open));
  return std::unique_ptr<Connection>(std::make_unique<SqliteConnection>(db, url.path));
}

}  // namespace plinth::db
