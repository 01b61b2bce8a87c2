// auth/internal.h — helpers shared by the auth layer's sources (internal): SQL fragments per
// backend, canonical timestamps, uuids, JSON string arrays.
//
// Thread-safety: reentrant functions over plain values.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "plinth/auth.h"
#include "plinth/db.h"
#include "plinth/status.h"

namespace plinth::auth::internal {

using db::Backend;

inline std::string Q(std::string_view ident) { return db::QuoteIdent(ident); }

// "$n" (PostgreSQL) or "?n" (SQLite).
std::string P(Backend b, int n);
// A parameter compared with / stored into a column of `kind` ("uuid", "timestamptz",
// "jsonb", "boolean", "integer", "bigint", or "" for text): "$n::uuid" on PostgreSQL, "?n" on
// SQLite (which stores canonical text, booleans as 0/1).
std::string PT(Backend b, int n, std::string_view pg_type);
// The column rendered as canonical text: timestamps RFC 3339 UTC with microseconds.
std::string TimestampOut(Backend b, const std::string& column_sql);
// "now" as a stored value expression.
std::string NowSql(Backend b);
// Boolean literal for the backend.
std::string BoolSql(Backend b, bool v);

// Canonical text of a time: 2026-12-01T20:00:00.000000Z.
std::string FormatTimestamp(std::chrono::system_clock::time_point t);
// Parses the canonical form (and PostgreSQL's "2026-12-01 20:00:00.123+00" variants are not
// needed: every read goes through TimestampOut). nullopt when malformed.
std::optional<std::chrono::system_clock::time_point> ParseTimestamp(std::string_view text);

// True for "t", "true", "1" (PostgreSQL and SQLite renderings).
bool ParseBool(const std::optional<std::string>& v);

// A random (v4) uuid in canonical lower-case form.
std::string NewUuid();
bool IsUuid(std::string_view s);

// ["a", "b"] → {"a", "b"}; kInvalidArgument when not an array of strings. NULL/empty → {}.
Result<std::vector<std::string>> ParseStringArray(const std::optional<std::string>& json);
std::string StringArrayJson(const std::vector<std::string>& values);

// The pg type name of a schema column for PT().
std::string PgTypeOf(const schema::Column& c);

// Runs `sql` and returns its rows; errors carry `what` as context.
Result<db::QueryResult> Query(db::Connection& conn, std::string_view what, std::string_view sql,
                              const db::Params& params = {});

}  // namespace plinth::auth::internal
