// The history table: existence, reading, and traced queries.
#include <algorithm>
#include <charconv>

#include "common/strings.h"
#include "migrate/internal.h"

namespace plinth::runner {
namespace internal {
namespace {

Result<int64_t> ParseInt(const std::optional<std::string>& text, std::string_view column) {
  int64_t v = 0;
  if (!text) return int64_t{0};
  auto [ptr, ec] = std::from_chars(text->data(), text->data() + text->size(), v);
  if (ec != std::errc() || ptr != text->data() + text->size()) {
    return Status(Code::kFailedPrecondition, std::string(kHistoryTable) + "." + std::string(column) +
                                                 " holds \"" + *text + "\", which is not an integer");
  }
  return v;
}

bool IsTrue(const std::optional<std::string>& v) {
  if (!v) return false;
  std::string s = ToLower(*v);
  return s == "t" || s == "true" || s == "1";
}

}  // namespace

Result<db::QueryResult> TracedQuery(db::Connection& conn, const ScriptStatement& s, const RunOptions& opts) {
  if (opts.trace) opts.trace(s);
  return conn.Query(s.sql);
}

Result<bool> HistoryTableExists(db::Connection& conn, const RunOptions& opts) {
  ScriptStatement s;
  s.kind = StatementKind::kRead;
  s.sql = conn.backend() == db::Backend::kPostgres
              ? "SELECT to_regclass(" + db::QuoteLiteral(kHistoryTable) + ") IS NOT NULL"
              : "SELECT count(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = " +
                    db::QuoteLiteral(kHistoryTable);
  PLINTH_ASSIGN_OR_RETURN(db::QueryResult r, TracedQuery(conn, s, opts));
  return !r.rows.empty() && !r.rows[0].empty() && IsTrue(r.rows[0][0]);
}

Result<std::vector<HistoryRow>> ReadHistoryRows(db::Connection& conn, const RunOptions& opts) {
  PLINTH_ASSIGN_OR_RETURN(bool exists, HistoryTableExists(conn, opts));
  if (!exists) return std::vector<HistoryRow>{};
  ScriptStatement s;
  s.kind = StatementKind::kRead;
  const std::string applied_at =
      conn.backend() == db::Backend::kPostgres
          ? "to_char(applied_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"
          : "applied_at";
  s.sql = "SELECT version, name, checksum, " + applied_at + ", duration_ms, steps_done, steps_total FROM " +
          std::string(kHistoryTable);
  PLINTH_ASSIGN_OR_RETURN(db::QueryResult r, TracedQuery(conn, s, opts));
  std::vector<HistoryRow> rows;
  rows.reserve(r.rows.size());
  for (const auto& row : r.rows) {
    HistoryRow h;
    h.version = row[0].value_or("");
    h.name = row[1].value_or("");
    h.checksum = row[2].value_or("");
    h.applied_at = row[3].value_or("");
    PLINTH_ASSIGN_OR_RETURN(h.duration_ms, ParseInt(row[4], "duration_ms"));
    PLINTH_ASSIGN_OR_RETURN(int64_t done, ParseInt(row[5], "steps_done"));
    PLINTH_ASSIGN_OR_RETURN(int64_t total, ParseInt(row[6], "steps_total"));
    h.steps_done = static_cast<int>(done);
    h.steps_total = static_cast<int>(total);
    rows.push_back(std::move(h));
  }
  std::sort(rows.begin(), rows.end(),
            [](const HistoryRow& a, const HistoryRow& b) { return VersionLess(a.version, b.version); });
  return rows;
}

}  // namespace internal

Result<std::vector<HistoryRow>> ReadHistory(db::Connection& conn) {
  return internal::ReadHistoryRows(conn, RunOptions{});
}

}  // namespace plinth::runner
