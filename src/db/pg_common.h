// db/pg_common.h — libpq helpers shared by the synchronous connection (postgres.cc) and the
// asynchronous driver (pg_connection.cc) (internal): connection parameters, the Status of a
// failed result or connection attempt, and small facts about a connection.
//
// Thread-safety: the functions are reentrant; a ConnectParams is a plain value.
#pragma once

#include <libpq-fe.h>

#include <string>
#include <string_view>
#include <vector>

#include "plinth/db.h"
#include "plinth/status.h"

namespace plinth::db::pg {

// SQLSTATE 08P01: on a live connection it is our request's fault (a parameter count that does
// not match the statement), not an outage.
inline constexpr std::string_view kProtocolViolation = "08P01";

// libpq messages end with a newline and may span lines (one per host tried): one line.
std::string OneLine(std::string_view text);

// Why a connection attempt failed, from libpq's message: the code (kUnavailable,
// kUnauthenticated, kNotFound) and a sentence that says what to check, naming the target with
// its password redacted.
Status ConnectError(std::string_view libpq_message, const Url& url);

// The keyword/value arrays for PQconnectdbParams / PQconnectStartParams: connect_timeout
// (from timeout_ms, when neither the URL nor PGCONNECT_TIMEOUT sets one), client_encoding=UTF8,
// fallback_application_name=plinth, then the URL's conninfo expanded as "dbname" (so the URL
// wins over the defaults). Pass expand_dbname=1.
class ConnectParams {
 public:
  ConnectParams(const Url& url, int timeout_ms);
  ConnectParams(const ConnectParams&) = delete;
  ConnectParams& operator=(const ConnectParams&) = delete;
  const char* const* keywords() const { return keywords_.data(); }
  const char* const* values() const { return values_.data(); }

 private:
  std::string conninfo_;
  std::string timeout_;
  std::vector<const char*> keywords_;
  std::vector<const char*> values_;
};

// The Status of a failed result: code from CodeForSqlState (08P01 → kInvalidArgument, no
// SQLSTATE → kInternal), the primary message with detail, hint and statement position, the
// SQLSTATE, and the object (constraint, else table, column, data type). `res` may be null (the
// connection's error message is used). Does not look at whether the connection was lost.
Status ResultError(const PGresult* res, PGconn* conn);

// "commit", "end", "commit transaction" … (case-insensitive, trailing semicolons ignored).
bool IsCommit(std::string_view sql);

// "15.18" from PQserverVersion (150018), "" when unknown.
std::string ServerVersion(const PGconn* conn);

// A notice processor that drops server notices (warnings are not errors; plinth logs none).
void IgnoreNotice(void* arg, const char* message);

}  // namespace plinth::db::pg
