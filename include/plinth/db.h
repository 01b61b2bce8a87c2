// plinth/db.h — database URLs and the synchronous connection used by the CLI and the
// migration runner (PostgreSQL through libpq, SQLite through sqlite3).
//
// The request path uses the asynchronous runtime (pipelined libpq on Asio, pooled SQLite);
// this interface is for administrative work: migrations, checks, seeding, introspection.
//
// Thread-safety: a Connection is used by one thread at a time. Distinct connections are
// independent.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "plinth/status.h"

namespace plinth::db {

enum class Backend : unsigned char { kSqlite, kPostgres };
std::string_view BackendName(Backend b);  // "sqlite", "postgresql"

struct Url {
  Backend backend = Backend::kSqlite;
  std::string original;  // as given
  // SQLite: the file path, or ":memory:".
  std::string path;
  // PostgreSQL: the libpq connection URI or keyword/value string, passed to libpq unchanged
  // (multi-host URIs and target_session_attrs included).
  std::string conninfo;

  // The URL with any password replaced by "***".
  std::string Redacted() const;
};

// Accepts sqlite:///abs/path.db, sqlite://relative/path.db, sqlite:relative.db,
// sqlite::memory:, postgresql://… and postgres://… . Errors name what was expected.
Result<Url> ParseUrl(std::string_view text);

// A row of text values (NULL = nullopt), as the database renders them.
using Row = std::vector<std::optional<std::string>>;

struct QueryResult {
  std::vector<std::string> columns;
  std::vector<Row> rows;
};

using Params = std::vector<std::optional<std::string>>;

class Connection {
 public:
  virtual ~Connection() = default;
  virtual Backend backend() const = 0;

  // Runs one or more statements without parameters (simple query protocol on PostgreSQL,
  // sqlite3_exec on SQLite).
  virtual Status Exec(std::string_view sql) = 0;
  // Runs one statement with text parameters ($1… on PostgreSQL, ?1… on SQLite) and returns
  // its rows.
  virtual Result<QueryResult> Query(std::string_view sql, const Params& params = {}) = 0;
  // True when a transaction is open.
  virtual bool InTransaction() const = 0;
  // PostgreSQL backend pid / SQLite 0; for diagnostics and fault tests.
  virtual int ServerPid() const = 0;
};

struct ConnectOptions {
  // SQLite: busy_timeout in milliseconds; PostgreSQL: connect_timeout (seconds, rounded up)
  // when the URL does not set one.
  int timeout_ms = 5000;
  // SQLite: create the file (and its directory) when missing.
  bool create = true;
};

// Opens a connection. SQLite connections are set to WAL, foreign_keys=ON (verified),
// busy_timeout. Errors are kUnavailable with the reason (file, host, authentication).
Result<std::unique_ptr<Connection>> Connect(const Url& url, const ConnectOptions& opts = {});

// Maps a PostgreSQL SQLSTATE (or an SQLite extended result code rendered as "sqlite:NNNN") to
// plinth's error code: 23xxx → kConstraintViolation (23505 → kAlreadyExists), 42501 →
// kPolicyViolation, 40001/40P01 → kRetryable, 08xxx/57P0x → kUnavailable, 57014 →
// kDeadlineExceeded, others kInvalidArgument/kInternal.
Code CodeForSqlState(std::string_view sqlstate);

// Quotes an identifier for either dialect ("name", doubling embedded quotes).
std::string QuoteIdent(std::string_view ident);
// Quotes a string literal ('it''s'). Backslashes are literal (standard_conforming_strings).
std::string QuoteLiteral(std::string_view text);

}  // namespace plinth::db
