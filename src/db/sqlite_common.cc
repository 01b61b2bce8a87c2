// sqlite3 helpers shared by the synchronous connection and the request-path pool.
#include "db/sqlite_common.h"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <memory>
#include <system_error>
#include <thread>

#include "common/strings.h"

namespace plinth::db::sqlite {
namespace {

// Sleeps between attempts to configure a connection whose file another connection has locked.
constexpr std::chrono::milliseconds kMaxConfigureSleep{50};

// Runs a one-value statement (a PRAGMA) and returns its first column, lower-cased.
Result<std::string> PragmaValue(sqlite3* db, const char* sql) {
  sqlite3_stmt* raw = nullptr;
  int rc = sqlite3_prepare_v2(db, sql, -1, &raw, nullptr);
  std::unique_ptr<sqlite3_stmt, decltype(&sqlite3_finalize)> stmt(raw, &sqlite3_finalize);
  if (rc != SQLITE_OK) return SqliteError(sqlite3_extended_errcode(db), sqlite3_errmsg(db), sql);
  rc = sqlite3_step(stmt.get());
  if (rc == SQLITE_DONE) return std::string();
  if (rc != SQLITE_ROW) return SqliteError(sqlite3_extended_errcode(db), sqlite3_errmsg(db), sql);
  const unsigned char* text = sqlite3_column_text(stmt.get(), 0);
  return ToLower(text ? reinterpret_cast<const char*>(text) : "");
}

Status Exec(sqlite3* db, const char* sql) {
  char* err = nullptr;
  int rc = sqlite3_exec(db, sql, nullptr, nullptr, &err);
  if (rc == SQLITE_OK) return Status::Ok();
  std::string message = err ? err : sqlite3_errstr(rc);
  if (err) sqlite3_free(err);
  return SqliteError(sqlite3_extended_errcode(db), message, sql);
}

Status Configure(sqlite3* db, const std::string& path, const OpenOptions& opts) {
  if (path != kMemoryPath) {
    PLINTH_ASSIGN_OR_RETURN(std::string mode,
                            PragmaValue(db, opts.set_wal ? "PRAGMA journal_mode=WAL" : "PRAGMA journal_mode"));
    if (mode != "wal") {
      return Status(Code::kUnavailable,
                    "the SQLite database " + path + " cannot use write-ahead logging (journal_mode is " +
                        mode + "); plinth needs WAL: use a local file system");
    }
  }
  PLINTH_RETURN_IF_ERROR(Exec(db, opts.synchronous == Synchronous::kFull ? "PRAGMA synchronous=FULL"
                                                                         : "PRAGMA synchronous=NORMAL"));
  PLINTH_RETURN_IF_ERROR(Exec(db, "PRAGMA foreign_keys=ON"));
  PLINTH_ASSIGN_OR_RETURN(std::string fk, PragmaValue(db, "PRAGMA foreign_keys"));
  if (fk != "1") {
    return Status(Code::kUnavailable,
                  "this SQLite library does not enforce foreign keys (PRAGMA foreign_keys reads back " +
                      (fk.empty() ? std::string("nothing") : fk) +
                      "); plinth needs a build without SQLITE_OMIT_FOREIGN_KEY");
  }
  if (opts.query_only) PLINTH_RETURN_IF_ERROR(Exec(db, "PRAGMA query_only=1"));
  return Status::Ok();
}

}  // namespace

std::string SqliteState(int extended) { return "sqlite:" + std::to_string(extended); }

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

Status SqliteError(int extended, std::string_view message, std::string_view context) {
  std::string msg(message);
  if (!context.empty()) msg = std::string(context) + ": " + msg;
  std::string state = SqliteState(extended);
  return Status(CodeForSqlState(state), std::move(msg), state, ObjectFromMessage(message));
}

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

Result<sqlite3*> Open(const std::string& path, const OpenOptions& opts) {
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
    return Status(Code::kUnavailable, "cannot open the SQLite database " + path + ": " + message,
                  SqliteState(extended));
  }
  sqlite3_extended_result_codes(db, 1);
  if (opts.busy_timeout_ms > 0) sqlite3_busy_timeout(db, opts.busy_timeout_ms);
  // While another connection turns a new file to WAL (or recovers its WAL index), `PRAGMA
  // journal_mode` can answer SQLITE_BUSY at once, without the busy handler: Configure is
  // idempotent, so it runs again, with short sleeps, for as long as the busy timeout allows.
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::milliseconds(opts.busy_timeout_ms);
  Status st = Configure(db, path, opts);
  for (int attempt = 0; st.code() == Code::kRetryable && std::chrono::steady_clock::now() < give_up; ++attempt) {
    std::this_thread::sleep_for(std::min(kMaxConfigureSleep, std::chrono::milliseconds(1) * (1 << std::min(attempt, 6))));
    st = Configure(db, path, opts);
  }
  if (st.ok()) return db;
  sqlite3_close_v2(db);
  if (st.sqlstate() == SqliteState(SQLITE_NOTADB)) {
    return Status(Code::kUnavailable, "the file " + path + " is not an SQLite database", st.sqlstate());
  }
  if (st.code() == Code::kRetryable) {
    return Status(Code::kUnavailable,
                  "the SQLite database " + path + " stayed locked by another process for " +
                      std::to_string(opts.busy_timeout_ms) + " ms while connecting: " + st.message(),
                  st.sqlstate());
  }
  return st.WithContext("cannot set up the SQLite database " + path);
}

}  // namespace plinth::db::sqlite
