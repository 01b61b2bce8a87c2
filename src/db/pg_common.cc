// libpq helpers shared by the synchronous and the asynchronous PostgreSQL drivers.
#include "db/pg_common.h"

#include <cstdlib>

#include "common/strings.h"

namespace plinth::db::pg {
namespace {

constexpr int kMillisPerSecond = 1000;
// libpq treats connect_timeout values below 2 as 2.
constexpr int kMinConnectTimeoutSeconds = 2;
constexpr int kVersionMajorDivisor = 10000;

bool Contains(std::string_view haystack, std::string_view needle) {
  return haystack.find(needle) != std::string_view::npos;
}

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

Status ConnectError(std::string_view libpq_message, const Url& url) {
  std::string detail = OneLine(libpq_message);
  Code code = Code::kUnavailable;
  std::string reason;
  if (Contains(detail, "could not translate host name")) {
    reason = "the host name could not be resolved (DNS); check the host in the URL";
  } else if (Contains(detail, "Connection refused")) {
    reason = "connection refused; no server is listening at that host and port";
  } else if (Contains(detail, "timeout expired") || Contains(detail, "timed out")) {
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
  } else if (Contains(detail, "read-only") || Contains(detail, "hot standby") ||
             Contains(detail, "is not a primary")) {
    reason = "no server in the URL accepts writes (target_session_attrs); a failover may be in progress";
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

ConnectParams::ConnectParams(const Url& url, int timeout_ms) : conninfo_(url.conninfo) {
  // Parameters placed before "dbname" are defaults: the expanded conninfo overrides them.
  if (!HasConnectTimeout(conninfo_)) {
    int seconds = (timeout_ms + kMillisPerSecond - 1) / kMillisPerSecond;
    if (seconds < kMinConnectTimeoutSeconds) seconds = kMinConnectTimeoutSeconds;
    timeout_ = std::to_string(seconds);
    keywords_.push_back("connect_timeout");
    values_.push_back(timeout_.c_str());
  }
  keywords_.push_back("client_encoding");
  values_.push_back("UTF8");
  keywords_.push_back("fallback_application_name");
  values_.push_back("plinth");
  keywords_.push_back("dbname");
  values_.push_back(conninfo_.c_str());
  keywords_.push_back(nullptr);
  values_.push_back(nullptr);
}

Status ResultError(const PGresult* res, PGconn* conn) {
  auto field = [res](int code) -> std::string {
    const char* v = res ? PQresultErrorField(res, code) : nullptr;
    return v ? v : "";
  };
  std::string sqlstate = field(PG_DIAG_SQLSTATE);
  std::string message = field(PG_DIAG_MESSAGE_PRIMARY);
  if (message.empty() && res != nullptr) message = OneLine(PQresultErrorMessage(res));
  if (message.empty() && conn != nullptr) message = OneLine(PQerrorMessage(conn));
  if (message.empty()) message = "unknown PostgreSQL error";
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
  Code code = sqlstate.empty() ? Code::kInternal : CodeForSqlState(sqlstate);
  if (sqlstate == kProtocolViolation) code = Code::kInvalidArgument;
  return Status(code, std::move(message), std::move(sqlstate), std::move(object));
}

bool IsCommit(std::string_view sql) {
  std::string s = ToLower(Trim(sql));
  while (!s.empty() && s.back() == ';') s.pop_back();
  s = Trim(s);
  return s == "commit" || s == "end" || StartsWith(s, "commit ") || StartsWith(s, "end ");
}

std::string ServerVersion(const PGconn* conn) {
  int v = conn ? PQserverVersion(conn) : 0;
  if (v <= 0) return {};
  return std::to_string(v / kVersionMajorDivisor) + "." + std::to_string(v % kVersionMajorDivisor);
}

void IgnoreNotice(void*, const char*) {}

}  // namespace plinth::db::pg
