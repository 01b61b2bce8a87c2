// plinth/db.h — database URLs and the synchronous connection used by the CLI and the
// migration runner (PostgreSQL through libpq, SQLite through sqlite3).
//
// The request path uses the asynchronous runtime (pipelined libpq on Asio, pooled SQLite);
// this interface is for administrative work: migrations, checks, seeding, introspection.
//
// Errors are Status values. A failure the database reported carries its SQLSTATE
// (PostgreSQL: the five-character code; SQLite: "sqlite:<extended result code>", e.g.
// "sqlite:2067" for SQLITE_CONSTRAINT_UNIQUE) and, when the server names it, the object
// involved in Status::object (PostgreSQL: the constraint, else the table or column; SQLite:
// the constraint name of a CHECK, the "table.column" list of UNIQUE / NOT NULL, the table or
// column of "no such table/column"). The code comes from CodeForSqlState.
//
// Thread-safety: a Connection is used by one thread at a time. Distinct connections are
// independent. The free functions are reentrant.
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
  // SQLite: the file path (relative paths are resolved against the working directory when
  // the URL is parsed, so this is absolute), or ":memory:".
  std::string path;
  // PostgreSQL: the libpq connection URI or keyword/value string, passed to libpq unchanged
  // (multi-host URIs and target_session_attrs included).
  std::string conninfo;

  // The URL with any password replaced by "***": the user-info password of a URI
  // (postgresql://user:***@host/db), a `password=` query parameter, and a `password=`
  // keyword of a keyword/value string (quoted or not).
  std::string Redacted() const;
};

// Accepts:
//   sqlite:///abs/path.db       absolute path
//   sqlite://relative/path.db   relative to the working directory
//   sqlite:relative.db, sqlite:/abs/path.db
//   sqlite::memory:             (also sqlite://:memory:) a private in-memory database
//   postgresql://…, postgres://…   libpq connection URIs (validated by libpq)
//   host=… dbname=… …           a libpq keyword/value connection string
// Errors (kInvalidArgument) name what was expected.
Result<Url> ParseUrl(std::string_view text);

// A row of text values (NULL = nullopt), as the database renders them (PostgreSQL text
// format; SQLite: integers and reals as sqlite3_column_text renders them, BLOBs as raw bytes).
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
  // sqlite3_exec on SQLite). Stops at the first failing statement.
  virtual Status Exec(std::string_view sql) = 0;
  // Runs one statement with text parameters ($1… on PostgreSQL, ?1… on SQLite) and returns
  // its rows. Parameters are bound, never spliced into the text. The number of parameters
  // must match the statement's.
  virtual Result<QueryResult> Query(std::string_view sql, const Params& params = {}) = 0;
  // True when a transaction is open (also when it has failed and awaits ROLLBACK).
  virtual bool InTransaction() const = 0;
  // PostgreSQL backend pid / SQLite 0; for diagnostics and fault tests.
  virtual int ServerPid() const = 0;
};

struct ConnectOptions {
  // SQLite: busy_timeout in milliseconds; PostgreSQL: connect_timeout (seconds, rounded up)
  // when neither the URL nor PGCONNECT_TIMEOUT sets one.
  int timeout_ms = 5000;
  // SQLite: create the file (and its directory) when missing. When false, a missing file is
  // kNotFound.
  bool create = true;
  // SQLite: synchronous=FULL (see Connect). A connection that works beside the request path's
  // pool (the server's audit sealer) takes the pool's setting instead: with FULL, each of its
  // commits would fsync, under the write lock, the WAL the pool's writer filled unsynced.
  bool sqlite_synchronous_full = true;
};

// Opens a connection.
//
// SQLite: journal_mode=WAL (a file database that cannot use WAL is refused), foreign_keys=ON
// (read back; a build that cannot enforce foreign keys is refused), busy_timeout, and
// synchronous=FULL. FULL rather than NORMAL because this connection does administrative
// work: when `migrate up` reports a migration applied, the schema change and its history row
// must survive a power cut (in WAL mode NORMAL may lose the last commits), and a deploy
// pipeline acts on that report. The cost, one fsync per commit, does not matter at migration
// rates; the request path configures its own pool.
//
// PostgreSQL: the conninfo as given, plus connect_timeout when absent,
// fallback_application_name=plinth (the URL's application_name wins) and
// client_encoding=UTF8; standard_conforming_strings is turned on if the server has it off
// (QuoteLiteral relies on it). Server notices are not printed.
//
// Errors say why the connection failed and what to check: kUnavailable (host name not
// resolved, connection refused, timeout, server shutting down, SQLite file that cannot be
// opened or is not a database), kUnauthenticated (password or pg_hba rejection),
// kNotFound (the PostgreSQL database or, with create=false, the SQLite file does not exist).
// The message names the target with its password redacted.
Result<std::unique_ptr<Connection>> Connect(const Url& url, const ConnectOptions& opts = {});

// Maps a PostgreSQL SQLSTATE (or an SQLite extended result code rendered as "sqlite:NNNN") to
// plinth's error code:
//   PostgreSQL: 23505 → kAlreadyExists, other 23xxx → kConstraintViolation, 42501 →
//   kPolicyViolation, 40xxx (40001, 40P01) and 55P03 (lock timeout) → kRetryable, 08xxx,
//   57P0x and 53xxx → kUnavailable, 57014 → kDeadlineExceeded, 28xxx → kUnauthenticated,
//   3D000 → kNotFound, 58xxx → kIoError, XXxxx → kInternal, everything else (syntax,
//   undefined object, data exceptions) → kInvalidArgument.
//   SQLite: CONSTRAINT_UNIQUE/PRIMARYKEY → kAlreadyExists, other CONSTRAINT_* →
//   kConstraintViolation, BUSY/LOCKED → kRetryable, CANTOPEN/NOTADB → kUnavailable,
//   READONLY/PERM/AUTH → kPermissionDenied, IOERR/FULL → kIoError, INTERRUPT →
//   kDeadlineExceeded, CORRUPT/NOMEM/INTERNAL/MISUSE → kInternal, others → kInvalidArgument.
//   Anything unparseable → kInternal.
Code CodeForSqlState(std::string_view sqlstate);

// Quotes an identifier for either dialect ("name", doubling embedded quotes).
std::string QuoteIdent(std::string_view ident);
// Quotes a string literal ('it''s'). Backslashes are literal (standard_conforming_strings,
// which Connect guarantees on PostgreSQL).
std::string QuoteLiteral(std::string_view text);

}  // namespace plinth::db
