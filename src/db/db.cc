// Error-code mapping, quoting, and the Connect dispatcher.
#include <sqlite3.h>

#include <charconv>

#include "common/strings.h"
#include "db/drivers.h"
#include "plinth/db.h"

namespace plinth::db {
namespace {

constexpr std::string_view kSqliteStatePrefix = "sqlite:";
constexpr int kSqlitePrimaryMask = 0xff;  // extended code → primary result code

Code CodeForSqliteResult(int extended) {
  switch (extended) {
    case SQLITE_CONSTRAINT_UNIQUE:
    case SQLITE_CONSTRAINT_PRIMARYKEY:
      return Code::kAlreadyExists;
    default:
      break;
  }
  switch (extended & kSqlitePrimaryMask) {
    case SQLITE_CONSTRAINT: return Code::kConstraintViolation;
    case SQLITE_BUSY:
    case SQLITE_LOCKED: return Code::kRetryable;
    case SQLITE_CANTOPEN:
    case SQLITE_NOTADB: return Code::kUnavailable;
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_AUTH: return Code::kPermissionDenied;
    case SQLITE_IOERR:
    case SQLITE_FULL: return Code::kIoError;
    case SQLITE_INTERRUPT: return Code::kDeadlineExceeded;
    case SQLITE_CORRUPT:
    case SQLITE_NOMEM:
    case SQLITE_INTERNAL:
    case SQLITE_MISUSE: return Code::kInternal;
    default: return Code::kInvalidArgument;
  }
}

}  // namespace

Code CodeForSqlState(std::string_view state) {
  if (StartsWith(state, kSqliteStatePrefix)) {
    std::string_view digits = state.substr(kSqliteStatePrefix.size());
    int extended = 0;
    auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), extended);
    if (ec != std::errc() || ptr != digits.data() + digits.size()) return Code::kInternal;
    return CodeForSqliteResult(extended);
  }
  if (state.size() != 5) return Code::kInternal;
  if (state == "23505") return Code::kAlreadyExists;
  if (state == "42501") return Code::kPolicyViolation;
  if (state == "40001" || state == "40P01") return Code::kRetryable;
  if (state == "57014") return Code::kDeadlineExceeded;
  if (state == "3D000") return Code::kNotFound;
  if (state == "55P03") return Code::kRetryable;  // lock_not_available (lock_timeout)
  std::string_view cls = state.substr(0, 2);
  if (cls == "23") return Code::kConstraintViolation;
  if (cls == "08") return Code::kUnavailable;
  if (cls == "57" && state.substr(0, 4) == "57P0") return Code::kUnavailable;
  if (cls == "28") return Code::kUnauthenticated;
  if (cls == "53") return Code::kUnavailable;  // insufficient resources
  if (cls == "58") return Code::kIoError;      // system error (I/O)
  if (cls == "40") return Code::kRetryable;    // transaction rollback
  if (cls == "XX") return Code::kInternal;
  return Code::kInvalidArgument;
}

std::string QuoteIdent(std::string_view ident) {
  std::string out;
  out.reserve(ident.size() + 2);
  out.push_back('"');
  for (char c : ident) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

std::string QuoteLiteral(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 2);
  out.push_back('\'');
  for (char c : text) {
    if (c == '\'') out.push_back('\'');
    out.push_back(c);
  }
  out.push_back('\'');
  return out;
}

Result<std::unique_ptr<Connection>> Connect(const Url& url, const ConnectOptions& opts) {
  switch (url.backend) {
    case Backend::kSqlite: return ConnectSqlite(url, opts);
    case Backend::kPostgres: return ConnectPostgres(url, opts);
  }
  return Status(Code::kInternal, "unknown database backend");
}

}  // namespace plinth::db
