// db/sqlite_common.h — sqlite3 helpers shared by the synchronous connection (sqlite.cc) and
// the request-path pool (sqlite_database.cc) (internal): error Status values, opening a
// connection with plinth's settings, statement-text checks.
//
// Thread-safety: the functions are reentrant; an sqlite3 handle passed in is used by the
// calling thread only.
#pragma once

#include <sqlite3.h>

#include <string>
#include <string_view>

#include "plinth/db.h"
#include "plinth/status.h"

namespace plinth::db::sqlite {

inline constexpr std::string_view kMemoryPath = ":memory:";

// Extended result code as the SQLSTATE-like string of db.h: "sqlite:2067".
std::string SqliteState(int extended);

// The object an SQLite error message names, when it names one ("constraint failed: t.c",
// "no such table: t", "table t already exists" …).
std::string ObjectFromMessage(std::string_view message);

// The Status of an SQLite failure: CodeForSqlState("sqlite:<extended>"), the message (with
// `context:` in front when given), the state, the object from the message.
Status SqliteError(int extended, std::string_view message, std::string_view context = {});

// True when only whitespace, semicolons and comments remain.
bool OnlyTrivia(std::string_view s);

enum class Synchronous : unsigned char { kNormal, kFull };

struct OpenOptions {
  bool create = true;             // create the file (and its directory) when missing
  int busy_timeout_ms = 5000;     // sqlite3_busy_timeout; 0 = leave the handler alone
  Synchronous synchronous = Synchronous::kFull;
  bool set_wal = true;            // PRAGMA journal_mode=WAL (else: verify it is already WAL)
  bool query_only = false;        // PRAGMA query_only=1 (reader connections)
};

// Opens `path` (":memory:" allowed) with SQLITE_OPEN_NOMUTEX and extended result codes, then
// configures it: journal_mode=WAL (a file database that cannot use WAL is refused),
// synchronous, foreign_keys=ON read back (refused when the build cannot enforce them),
// query_only. Errors are kNotFound (missing file with create=false) or kUnavailable with a
// message naming the file; the handle is closed on failure.
Result<sqlite3*> Open(const std::string& path, const OpenOptions& opts);

}  // namespace plinth::db::sqlite
