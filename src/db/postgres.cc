// The PostgreSQL connection: libpq, blocking, text format.
#include <libpq-fe.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "common/strings.h"
#include "db/drivers.h"

namespace plinth::db {
namespace {

constexpr int kMillisPerSecond = 1000;
// libpq treats connect_timeout values below 2 as 2.
constexpr int kMinConnectTimeoutSeconds = 2;
constexpr std::string_view kProtocolViolation = "08P01";

using ResultPtr = std::unique_ptr<PGresult, decltype(&PQclear)>;

// libpq messages end with a newline and may span lines (one per host tried).
std::string OneLine(std::string_view text) {
  std::string out;
  for (const std::string& line : Split(Trim(text), '\n')) {
    std::string t = Trim(line);
    if (t.empty()) continue;
    if (!out.empty()) out += "; ";
    out += t;
  }
  return out;
}

bool Contains(std::string_view haystack, std::string_view needle) {
  return haystack.find(needle) != std::string_view::npos;
}

// Why a connection attempt failed, from libpq's message: the code and a sentence that says
// what to check.
Status ConnectError(std::string_view libpq_message, const Url& url) {
  std::string detail = OneLine(libpq_message);
  Code code = Code::kUnavailable;
  std::string reason;
  if (Contains(detail, "could not translate host name")) {
    reason = "the host name could not be resolved (DNS); check the host in the URL";
  } else if (Contains(detail, "Connection refused")) {
    reason = "connection refused; no server is listening at that host and port";
  } else if (Contains(detail, "timeout expired")) {
    reason = "the connection timed out; check the host, the port and any firewall";
  } else if (Contains(detail, "No such file or directory") && Contains(detail, "socket")) {
    reason = "no server socket at that path; is PostgreSQL running locally?";
  } else if (Contains(detail, "password authentication failed") ||
             Contains(detail, "no password supplied") || Contains(detail, "pg_hba.conf") ||
             Contains(detail, "authentication failed") ||
             (Contains(detail, "role \"") && Contains(detail, "does not exist"))) {
    code = Code::kUnauthenticated;
    reason = "authentication failed; check the user name and password";
  } else if (Contains(detail, "database \"") && Contains(detail, "does not exist")) {
    code = Code::kNotFound;
    reason = "the database does not exist; create it first";
  } else if (Contains(detail, "starting up") || Contains(detail, "shutting down") ||
             Contains(detail, "in recovery mode")) {
    reason = "the server is not accepting connections now";
  } else if (Contains(detail, "too many") && Contains(detail, "connections")) {
    reason = "the server has no free connection slots";
  } else {
    reason = "the server could not be reached";
  }
  return Status(code, "cannot connect to PostgreSQL at " + url.Redacted() + ": " + reason + " (" + detail + ")");
}

bool IsCommit(std::string_view sql) {
  std::string s = ToLower(Trim(sql));
  while (!s.empty() && s.back() == ';') s.pop_back();
  s = Trim(s);
  return s == "commit" || s == "end" || StartsWith(s, "commit ") || s == "commit transaction";
}

void IgnoreNotice(void*, const char*) {}

class PostgresConnection final : public Connection {
 public:
  explicit PostgresConnection(PGconn* conn) : conn_(conn) {}
  ~PostgresConnection() override { PQfinish(conn_); }
  PostgresConnection(const PostgresConnection&) = delete;
  PostgresConnection& operator=(const PostgresConnection&) = delete;

  Backend backend() const override { return Backend::kPostgres; }

  Status Exec(std::string_view sql) override {
    std::string text(sql);
    ResultPtr res(PQexec(conn_, text.c_str()), &PQclear);
    return Check(res.get(), sql);
  }

  Result<QueryResult> Query(std::string_view sql, const Params& params) override {
    std::string text(sql);
    std::vector<const char*> values;
    std::vector<int> lengths;
    values.reserve(params.size());
    lengths.reserve(params.size());
    for (const auto& p : params) {
      values.push_back(p ? p->c_str() : nullptr);
      lengths.push_back(p ? static_cast<int>(p->size()) : 0);
    }
    ResultPtr res(PQexecParams(conn_, text.c_str(), static_cast<int>(params.size()), nullptr,
                               values.data(), lengths.data(), nullptr, 0),
                  &PQclear);
    PLINTH_RETURN_IF_ERROR(Check(res.get(), sql));
    QueryResult out;
    int ncols = PQnfields(res.get());
    int nrows = PQntuples(res.get());
    out.columns.reserve(ncols);
    for (int c = 0; c < ncols; ++c) out.columns.emplace_back(PQfname(res.get(), c));
    out.rows.reserve(nrows);
    for (int r = 0; r < nrows; ++r) {
      Row row;
      row.reserve(ncols);
      for (int c = 0; c < ncols; ++c) {
        if (PQgetisnull(res.get(), r, c)) {
          row.emplace_back(std::nullopt);
        } else {
          row.emplace_back(std::string(PQgetvalue(res.get(), r, c), PQgetlength(res.get(), r, c)));
        }
      }
      out.rows.push_back(std::move(row));
    }
    return out;
  }

  bool InTransaction() const override {
    PGTransactionStatusType t = PQtransactionStatus(conn_);
    return t == PQTRANS_INTRANS || t == PQTRANS_INERROR || t == PQTRANS_ACTIVE;
  }

  int ServerPid() const override { return PQbackendPID(conn_); }

 private:
  Status Check(PGresult* res, std::string_view sql) {
    ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK || st == PGRES_EMPTY_QUERY) return Status::Ok();
    if (res && (st == PGRES_COPY_IN || st == PGRES_COPY_OUT || st == PGRES_COPY_BOTH)) {
      return Status(Code::kInvalidArgument, "COPY is not supported on this connection");
    }
    const bool lost = PQstatus(conn_) == CONNECTION_BAD;
    auto field = [res](int code) -> std::string {
      const char* v = res ? PQresultErrorField(res, code) : nullptr;
      return v ? v : "";
    };
    std::string sqlstate = field(PG_DIAG_SQLSTATE);
    std::string message = field(PG_DIAG_MESSAGE_PRIMARY);
    if (message.empty()) message = OneLine(PQerrorMessage(conn_));
    std::string detail = field(PG_DIAG_MESSAGE_DETAIL);
    std::string hint = field(PG_DIAG_MESSAGE_HINT);
    std::string position = field(PG_DIAG_STATEMENT_POSITION);
    if (!detail.empty()) message += ": " + detail;
    if (!hint.empty()) message += " (hint: " + hint + ")";
    if (!position.empty()) message += " (at character " + position + " of the statement)";
    std::string object = field(PG_DIAG_CONSTRAINT_NAME);
    if (object.empty()) object = field(PG_DIAG_TABLE_NAME);
    if (object.empty()) object = field(PG_DIAG_COLUMN_NAME);
    if (object.empty()) object = field(PG_DIAG_DATATYPE_NAME);
    if (lost) {
      if (IsCommit(sql)) {
        return Status(Code::kCommitUnknown,
                      "the connection to PostgreSQL was lost while COMMIT was in flight; the "
                      "transaction may or may not have committed: " + message,
                      sqlstate, object);
      }
      return Status(Code::kUnavailable, "the connection to PostgreSQL was lost: " + message, sqlstate, object);
    }
    Code code = sqlstate.empty() ? Code::kInternal : CodeForSqlState(sqlstate);
    // A protocol violation on a live connection is our request's fault (e.g. a parameter
    // count that does not match the statement), not an outage.
    if (sqlstate == kProtocolViolation) code = Code::kInvalidArgument;
    return Status(code, std::move(message), std::move(sqlstate), std::move(object));
  }

  PGconn* conn_;
};

// Whether the conninfo (or the environment) already sets connect_timeout.
bool HasConnectTimeout(const std::string& conninfo) {
  const char* env = std::getenv("PGCONNECT_TIMEOUT");
  if (env != nullptr && *env != '\0') return true;
  PQconninfoOption* opts = PQconninfoParse(conninfo.c_str(), nullptr);
  if (opts == nullptr) return false;
  bool found = false;
  for (PQconninfoOption* o = opts; o->keyword != nullptr; ++o) {
    if (std::string_view(o->keyword) == "connect_timeout" && o->val != nullptr && *o->val != '\0') {
      found = true;
    }
  }
  PQconninfoFree(opts);
  return found;
}

}  // namespace

Result<std::unique_ptr<Connection>> ConnectPostgres(const Url& url, const ConnectOptions& opts) {
  // Parameters placed before "dbname" are defaults: the expanded conninfo overrides them.
  std::vector<const char*> keywords;
  std::vector<const char*> values;
  std::string timeout;
  if (!HasConnectTimeout(url.conninfo)) {
    int seconds = (opts.timeout_ms + kMillisPerSecond - 1) / kMillisPerSecond;
    if (seconds < kMinConnectTimeoutSeconds) seconds = kMinConnectTimeoutSeconds;
    timeout = std::to_string(seconds);
    keywords.push_back("connect_timeout");
    values.push_back(timeout.c_str());
  }
  keywords.push_back("client_encoding");
  values.push_back("UTF8");
  keywords.push_back("fallback_application_name");
  values.push_back("plinth");
  keywords.push_back("dbname");
  values.push_back(url.conninfo.c_str());
  keywords.push_back(nullptr);
  values.push_back(nullptr);

  PGconn* raw = PQconnectdbParams(keywords.data(), values.data(), /*expand_dbname=*/1);
  if (raw == nullptr) return Status(Code::kInternal, "libpq could not allocate a connection");
  if (PQstatus(raw) != CONNECTION_OK) {
    Status st = ConnectError(PQerrorMessage(raw), url);
    PQfinish(raw);
    return st;
  }
  PQsetNoticeProcessor(raw, &IgnoreNotice, nullptr);
  auto conn = std::make_unique<PostgresConnection>(raw);
  const char* scs = PQparameterStatus(raw, "standard_conforming_strings");
  if (scs == nullptr || std::string_view(scs) != "on") {
    PLINTH_RETURN_IF_ERROR(conn->Exec("SET standard_conforming_strings = on"));
  }
  return std::unique_ptr<Connection>(std::move(conn));
}

}  // namespace plinth::db
