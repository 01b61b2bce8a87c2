// db/statement_check.h — what the request-path database needs to know about a statement's
// text before it sends it (internal): transaction control, and statements that would change
// the session of a pooled connection (refused).
//
// Thread-safety: reentrant.
#pragma once

#include <string>
#include <string_view>

#include "plinth/db.h"
#include "plinth/status.h"

namespace plinth::db::detail {

enum class TxnControl : unsigned char {
  kNone,
  kBegin,      // BEGIN / START TRANSACTION
  kCommit,     // COMMIT / END (also COMMIT AND CHAIN)
  kRollback,   // ROLLBACK / ABORT (not ROLLBACK TO)
  kSavepoint,  // SAVEPOINT / RELEASE / ROLLBACK TO
};

// The first two keywords of `sql`, lower-cased, after whitespace, comments and opening
// parentheses ("set" "local", "select" ""). Longer words are cut (they match nothing checked).
// No allocation: it runs for every statement of every batch.
struct Keywords {
  static constexpr size_t kMax = 24;
  char first_buf[kMax];
  char second_buf[kMax];
  size_t first_len = 0;
  size_t second_len = 0;
  std::string_view first() const { return {first_buf, first_len}; }
  std::string_view second() const { return {second_buf, second_len}; }
};
Keywords LeadingKeywords(std::string_view sql);

TxnControl ClassifyTxnControl(std::string_view sql);

// kInvalidArgument when the statement would change the state of a pooled connection beyond
// its transaction, so that it could leak to the next user (PostgreSQL: SET without LOCAL,
// SET ROLE / SESSION AUTHORIZATION, RESET, DISCARD, DEALLOCATE, PREPARE, LISTEN, UNLISTEN,
// LOAD; SQLite: ATTACH, DETACH, VACUUM, PRAGMA assignments, and transaction control, since the
// pool brackets every batch itself). `index` names the statement in the message.
Status CheckPooledStatement(Backend backend, std::string_view sql, size_t index);

}  // namespace plinth::db::detail
