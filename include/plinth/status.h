// plinth/status.h — the one error model for expected failures.
//
// A Status is either OK or carries a Code, a message a user can act on, and optionally the
// database's SQLSTATE and the name of the object involved (a constraint, a table, a field).
// Result<T> holds either a value or a non-OK Status. Exceptions are reserved for situations
// where nothing can go on (programming errors, allocation failure).
//
// Thread-safety: Status and Result are plain values; distinct objects may be used from
// distinct threads freely, a single object needs external synchronisation for mutation.
#pragma once

#include <cassert>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace plinth {

// What kind of failure this is: callers branch on the code, users read the message.
enum class Code : unsigned char {
  kOk = 0,
  kInvalidArgument,      // bad input: a schema, a flag, a request body
  kNotFound,             // the thing asked for does not exist (or is not visible)
  kAlreadyExists,        // unique key taken
  kFailedPrecondition,   // the system is not in a state that allows this (drift, tampered file…)
  kConstraintViolation,  // the database refused a row: check, foreign key, not null
  kPolicyViolation,      // a row policy refused a write (SQLSTATE 42501 on PostgreSQL)
  kPermissionDenied,     // the principal may not do this
  kUnauthenticated,      // no or bad credentials
  kUnavailable,          // the database (or another dependency) cannot be reached now
  kDeadlineExceeded,     // the operation ran out of time
  kRetryable,            // serialization failure or deadlock: the transaction may be retried
  kCommitUnknown,        // the connection was lost while COMMIT was in flight
  kDataLoss,             // an operation would lose data and was not allowed to
  kIoError,              // file system failure
  kInternal,             // a bug in plinth
};

// Stable lower-case name of a code ("invalid_argument"), for logs and JSON.
std::string_view CodeName(Code code);

class [[nodiscard]] Status {
 public:
  Status() = default;  // OK
  Status(Code code, std::string message, std::string sqlstate = {}, std::string object = {});
  Status(const Status& other);
  Status& operator=(const Status& other);
  Status(Status&&) noexcept = default;
  Status& operator=(Status&&) noexcept = default;

  static Status Ok() { return Status(); }

  bool ok() const { return rep_ == nullptr; }
  Code code() const { return rep_ ? rep_->code : Code::kOk; }
  // Empty for OK.
  const std::string& message() const;
  // Five-character SQLSTATE when the failure came from a database, else empty.
  const std::string& sqlstate() const;
  // The object involved (constraint, table, column, field), when known.
  const std::string& object() const;

  // "invalid_argument: message [sqlstate 23505] (object)"
  std::string ToString() const;

  // Returns a copy whose message is "context: message".
  Status WithContext(std::string_view context) const;

 private:
  struct Rep {
    Code code;
    std::string message;
    std::string sqlstate;
    std::string object;
  };
  std::unique_ptr<Rep> rep_;
};

// Either a T or a non-OK Status.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT(google-explicit-constructor)
  Result(Status status) : v_(std::move(status)) {  // NOLINT(google-explicit-constructor)
    assert(!std::get<Status>(v_).ok() && "Result constructed from an OK Status");
  }

  bool ok() const { return std::holds_alternative<T>(v_); }
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<Status>(v_);
  }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T* operator->() { return &std::get<T>(v_); }
  const T* operator->() const { return &std::get<T>(v_); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  // The value, or `fallback` when this holds an error.
  template <typename U>
  T value_or(U&& fallback) const& { return ok() ? value() : static_cast<T>(std::forward<U>(fallback)); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace plinth

// Returns the Status of `expr` from the enclosing function when it is not OK.
#define PLINTH_RETURN_IF_ERROR(expr)               \
  do {                                              \
    ::plinth::Status plinth_status_ = (expr);       \
    if (!plinth_status_.ok()) return plinth_status_; \
  } while (0)

#define PLINTH_CONCAT_INNER_(a, b) a##b
#define PLINTH_CONCAT_(a, b) PLINTH_CONCAT_INNER_(a, b)
// PLINTH_ASSIGN_OR_RETURN(auto x, MakeX()); — declares x from a Result or returns its Status.
#define PLINTH_ASSIGN_OR_RETURN(lhs, rexpr) \
  PLINTH_ASSIGN_OR_RETURN_IMPL_(PLINTH_CONCAT_(plinth_result_, __LINE__), lhs, rexpr)
#define PLINTH_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, rexpr) \
  auto tmp = (rexpr);                                   \
  if (!tmp.ok()) return tmp.status();                   \
  lhs = std::move(tmp).value()
