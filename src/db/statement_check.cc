// Leading-keyword checks of statements sent through the request-path database.
#include "db/statement_check.h"

#include <cctype>

namespace plinth::db::detail {
namespace {

// Skips whitespace, `-- …` and `/* … */` comments (nested, as PostgreSQL allows) and
// opening parentheses.
size_t SkipTrivia(std::string_view s, size_t i) {
  while (i < s.size()) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (std::isspace(c) || c == '(') {
      ++i;
    } else if (s.substr(i, 2) == "--") {
      size_t nl = s.find('\n', i);
      i = nl == std::string_view::npos ? s.size() : nl + 1;
    } else if (s.substr(i, 2) == "/*") {
      int depth = 1;
      i += 2;
      while (i < s.size() && depth > 0) {
        if (s.substr(i, 2) == "/*") {
          ++depth;
          i += 2;
        } else if (s.substr(i, 2) == "*/") {
          --depth;
          i += 2;
        } else {
          ++i;
        }
      }
    } else {
      break;
    }
  }
  return i;
}

// Whether the first keyword can be one of `letters` (lower case): most statements are
// SELECT / INSERT / UPDATE / WITH and leave after one character.
bool MayStartWith(std::string_view sql, std::string_view letters) {
  size_t i = SkipTrivia(sql, 0);
  if (i >= sql.size()) return false;
  const char c = static_cast<char>(sql[i] | 0x20);
  return letters.find(c) != std::string_view::npos;
}

Status Refuse(size_t index, std::string_view what, std::string_view instead) {
  return Status(Code::kInvalidArgument,
                "statement " + std::to_string(index) + " (" + std::string(what) +
                    ") would change the session of a pooled connection, which would leak to its "
                    "next user; " + std::string(instead));
}

}  // namespace

Keywords LeadingKeywords(std::string_view sql) {
  Keywords k;
  size_t i = 0;
  for (int w = 0; w < 2; ++w) {
    i = SkipTrivia(sql, i);
    char* out = w == 0 ? k.first_buf : k.second_buf;
    size_t& len = w == 0 ? k.first_len : k.second_len;
    while (i < sql.size()) {
      char c = sql[i];
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
      if (!((c >= 'a' && c <= 'z') || c == '_')) break;
      if (len < Keywords::kMax) out[len++] = c;
      ++i;
    }
    if (len == 0) break;
  }
  return k;
}

TxnControl ClassifyTxnControl(std::string_view sql) {
  if (!MayStartWith(sql, "abcers")) return TxnControl::kNone;
  Keywords kw = LeadingKeywords(sql);
  const std::string_view first = kw.first(), second = kw.second();
  if (first == "begin") return TxnControl::kBegin;
  if (first == "start" && second == "transaction") return TxnControl::kBegin;
  if (first == "commit" || first == "end") return TxnControl::kCommit;
  if (first == "savepoint" || first == "release") return TxnControl::kSavepoint;
  if (first == "rollback" || first == "abort") {
    if (second == "to") return TxnControl::kSavepoint;
    if (second == "prepared") return TxnControl::kNone;
    return TxnControl::kRollback;
  }
  return TxnControl::kNone;
}

Status CheckPooledStatement(Backend backend, std::string_view sql, size_t index) {
  if (!MayStartWith(sql, "abcdelpruvs")) return Status::Ok();
  Keywords kw = LeadingKeywords(sql);
  const std::string_view first = kw.first(), second = kw.second();
  if (backend == Backend::kPostgres) {
    if (first == "set") {
      if (second == "local" || second == "transaction" || second == "constraints") return Status::Ok();
      if (second == "role" || second == "session") {
        return Refuse(index, "SET " + std::string(second) + " …",
                      "plinth never changes roles on pooled connections; use SET LOCAL ROLE inside the batch");
      }
      return Refuse(index, "SET without LOCAL", "use SET LOCAL or set_config(…, true) inside the batch");
    }
    if (first == "reset" || first == "discard") {
      return Refuse(index, std::string(first), "the pool resets transaction-local state itself");
    }
    if (first == "deallocate" || first == "prepare") {
      return Refuse(index, std::string(first), "the driver prepares and caches statements itself");
    }
    if (first == "listen" || first == "unlisten") {
      return Refuse(index, std::string(first), "use Database::Listen, which has its own connection");
    }
    if (first == "load") return Refuse(index, "LOAD", "load libraries through the server configuration");
    return Status::Ok();
  }
  // SQLite: the pool runs every batch between its own BEGIN and COMMIT.
  TxnControl txn = ClassifyTxnControl(sql);
  if (txn == TxnControl::kBegin || txn == TxnControl::kCommit || txn == TxnControl::kRollback) {
    return Status(Code::kInvalidArgument,
                  "statement " + std::to_string(index) + " (" + std::string(first) +
                      ") controls the transaction, which the SQLite pool does itself around every "
                      "batch; use SAVEPOINT for nested work");
  }
  if (first == "attach" || first == "detach" || first == "vacuum") {
    return Refuse(index, std::string(first), "do this through an administrative connection");
  }
  if (first == "pragma" && sql.find('=') != std::string_view::npos) {
    return Refuse(index, "PRAGMA assignment", "the pool configures its connections itself");
  }
  return Status::Ok();
}

}  // namespace plinth::db::detail
