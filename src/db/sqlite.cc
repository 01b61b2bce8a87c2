// The SQLite connection: sqlite3 in WAL mode with foreign keys enforced.
#include <sqlite3.h>

#include <filesystem>
#include <string>
#include <system_error>

#include "common/strings.h"
#include "db/drivers.h"

namespace plinth::db {
namespace {

constexpr std::string_view kMemoryPath = ":memory:";

// Extended result code as the SQLSTATE-like string of db.h: "sqlite:2067".
std::string SqliteState(int extended) { return "sqlite:" + std::to_string(extended); }

// The object an SQLite error message names, when it names one.
std::string ObjectFromMessage(std::string_view message) {
  static constexpr std::string_view kMarkers[] = {
      "constraint failed: ", "no such table: ", "no such column: ", "no such index: ",
      "no such trigger: ",   "no such view: ",
  };
  for (std::string_view marker : kMarkers) {
    size_t p = message.find(marker);
    if (p != std::string_view::npos) return Trim(message.substr(p + marker.size()));
  }
  // "table x already exists", "index x already exists"
  for (std::string_view kind : {"table ", "index ", "trigger ", "view "}) {
    if (StartsWith(message, kind) && EndsWith(message, " already exists")) {
      std::string_view rest = message.substr(kind.size());
      return std::string(rest.substr(0, rest.size() - std::string_view(" already exists").size()));
    }
  }
  return {};
}

Status SqliteError(int extended, std::string_view message, std::string_view context = {}) {
  std::string msg(message);
  if (!context.empty()) msg = std::string(context) + ": " + msg;
  std::string state = SqliteState(extended);
  return Status(CodeForSqlState(state), std::move(msg), state, ObjectFromMessage(message));
}

// True when only whitespace, semicolons and comments remain.
bool OnlyTrivia(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    char c = s[i];
    if (c == ';' || c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      ++i;
    } else if (s.substr(i, 2) == "--") {
      size_t nl = s.find('\n', i);
      if (nl == std::string_view::npos) return true;
      i = nl + 1;
    } else if (s.substr(i, 2) == "/*") {
      size_t end = s.find("*/", i + 2);
      if (end == std::string_view::npos) return true;
      i = end + 2;
    } else {
      return false;
    }
  }
  return true;
}

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

// Runs a PRAGMA and returns its first value, lower-cased.
Result<std::string> PragmaValue(Connection& conn, std::string_view pragma) {
  PLINTH_ASSIGN_OR_RETURN(QueryResult r, conn.Query(pragma));
  if (r.rows.empty() || r.rows[0].empty() || !r.rows[0][0]) return std::string();
  return ToLower(*r.rows[0][0]);
}

Status Configure(Connection& conn, const std::string& path) {
  if (path != kMemoryPath) {
    PLINTH_ASSIGN_OR_RETURN(std::string mode, PragmaValue(conn, "PRAGMA journal_mode=WAL"));
    if (mode != "wal") {
      return Status(Code::kUnavailable,
                    "the SQLite database " + path + " cannot use write-ahead logging (journal_mode is " +
                        mode + "); plinth needs WAL: use a local file system");
    }
  }
  PLINTH_RETURN_IF_ERROR(conn.Exec("PRAGMA synchronous=FULL"));
  PLINTH_RETURN_IF_ERROR(conn.Exec("PRAGMA foreign_keys=ON"));
  PLINTH_ASSIGN_OR_RETURN(std::string fk, PragmaValue(conn, "PRAGMA foreign_keys"));
  if (fk != "1") {
    return Status(Code::kUnavailable,
                  "this SQLite library does not enforce foreign keys (PRAGMA foreign_keys reads back " +
                      (fk.empty() ? std::string("nothing") : fk) +
                      "); plinth needs a build without SQLITE_OMIT_FOREIGN_KEY");
  }
  return Status::Ok();
}

}  // namespace

Result<std::unique_ptr<Connection>> ConnectSqlite(const Url& url, const ConnectOptions& opts) {
  const std::string& path = url.path;
  if (path.empty()) return Status(Code::kInvalidArgument, "the SQLite URL has no file path");
  if (path != kMemoryPath) {
    std::error_code ec;
    bool exists = std::filesystem::exists(path, ec);
    if (!exists && !opts.create) {
      return Status(Code::kNotFound, "the SQLite database file " + path + " does not exist");
    }
    if (!exists) {
      std::filesystem::path parent = std::filesystem::path(path).parent_path();
      if (!parent.empty()) {
        std::filesystem::create_directories(parent, ec);
        if (ec) {
          return Status(Code::kUnavailable, "cannot create the directory " + parent.string() +
                                                " for the SQLite database: " + ec.message());
        }
      }
    }
  }
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE;
  if (opts.create) flags |= SQLITE_OPEN_CREATE;
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db, flags, nullptr);
  if (rc != SQLITE_OK) {
    std::string message = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    int extended = db ? sqlite3_extended_errcode(db) : rc;
    sqlite3_close_v2(db);
    std::string state = SqliteState(extended);
    return Status(Code::kUnavailable, "cannot open the SQLite database " + path + ": " + message, state);
  }
  sqlite3_extended_result_codes(db, 1);
  sqlite3_busy_timeout(db, opts.timeout_ms);
  auto conn = std::make_unique<SqliteConnection>(db, path);
  Status st = Configure(*conn, path);
  if (!st.ok()) {
    if (st.sqlstate() == SqliteState(SQLITE_NOTADB)) {
      return Status(Code::kUnavailable, "the file " + path + " is not an SQLite database", st.sqlstate());
    }
    if (st.code() == Code::kRetryable) {
      return Status(Code::kUnavailable,
                    "the SQLite database " + path + " stayed locked by another process for " +
                        std::to_string(opts.timeout_ms) + " ms while connecting: " + st.message(),
                    st.sqlstate());
    }
    return st.WithContext("cannot set up the SQLite database " + path);
  }
  return std::unique_ptr<Connection>(std::move(conn));
}

}  // namespace plinth::db
