// The PostgreSQL connection: libpq, blocking, text format.
#include <libpq-fe.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "common/strings.h"
#include "db/drivers.h"
#include "db/pg_common.h"

namespace plinth::db {
namespace {

using ResultPtr = std::unique_ptr<PGresult, decltype(&PQclear)>;
using pg::ConnectError;
using pg::IgnoreNotice;
using pg::IsCommit;

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
    Status err = pg::ResultError(res, conn_);
    if (lost) {
      if (IsCommit(sql)) {
        return Status(Code::kCommitUnknown,
                      "the connection to PostgreSQL was lost while COMMIT was in flight; the "
                      "transaction may or may not have committed: " + err.message(),
                      err.sqlstate(), err.object());
      }
      return Status(Code::kUnavailable, "the connection to PostgreSQL was lost: " + err.message(),
                    err.sqlstate(), err.object());
    }
    return err;
  }

  PGconn* conn_;
};

}  // namespace

Result<std::unique_ptr<Connection>> ConnectPostgres(const Url& url, const ConnectOptions& opts) {
  pg::ConnectParams params(url, opts.timeout_ms);
  PGconn* raw = PQconnectdbParams(params.keywords(), params.values(), /*expand_dbname=*/1);
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
