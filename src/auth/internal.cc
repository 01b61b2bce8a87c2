// Shared helpers of the auth layer (see internal.h).
#include "auth/internal.h"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <ctime>

#include "plinth/crypto.h"

namespace plinth::auth::internal {

std::string P(Backend b, int n) { return (b == Backend::kPostgres ? "$" : "?") + std::to_string(n); }

std::string PT(Backend b, int n, std::string_view pg_type) {
  if (b == Backend::kSqlite || pg_type.empty()) return P(b, n);
  return P(b, n) + "::" + std::string(pg_type);
}

std::string TimestampOut(Backend b, const std::string& column_sql) {
  if (b == Backend::kSqlite) return column_sql;
  return "to_char(" + column_sql + " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')";
}

std::string NowSql(Backend b) {
  if (b == Backend::kPostgres) return "now()";
  return "strftime('%Y-%m-%dT%H:%M:%f000Z', 'now')";
}

std::string BoolSql(Backend b, bool v) {
  if (b == Backend::kPostgres) return v ? "true" : "false";
  return v ? "1" : "0";
}

std::string FormatTimestamp(std::chrono::system_clock::time_point t) {
  using namespace std::chrono;
  const auto us = duration_cast<microseconds>(t.time_since_epoch()).count();
  std::time_t secs = static_cast<std::time_t>(us / 1'000'000);
  long frac = static_cast<long>(us % 1'000'000);
  if (frac < 0) {
    frac += 1'000'000;
    --secs;
  }
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[40];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
  return buf;
}

std::optional<std::chrono::system_clock::time_point> ParseTimestamp(std::string_view text) {
  // YYYY-MM-DDTHH:MM:SS[.ffffff]Z
  if (text.size() < 20) return std::nullopt;
  int Y, M, D, h, m, s;
  char t, z;
  if (std::sscanf(std::string(text.substr(0, 19)).c_str(), "%4d-%2d-%2d%c%2d:%2d:%2d", &Y, &M, &D, &t, &h, &m, &s) != 7)
    return std::nullopt;
  if (t != 'T' && t != ' ') return std::nullopt;
  long frac = 0;
  size_t i = 19;
  if (i < text.size() && text[i] == '.') {
    ++i;
    int digits = 0;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
      if (digits < 6) {
        frac = frac * 10 + (text[i] - '0');
        ++digits;
      }
      ++i;
    }
    while (digits < 6) {
      frac *= 10;
      ++digits;
    }
  }
  if (i >= text.size()) return std::nullopt;
  z = text[i];
  if (z != 'Z' || i + 1 != text.size()) return std::nullopt;
  std::tm tm{};
  tm.tm_year = Y - 1900;
  tm.tm_mon = M - 1;
  tm.tm_mday = D;
  tm.tm_hour = h;
  tm.tm_min = m;
  tm.tm_sec = s;
  std::time_t secs = timegm(&tm);
  return std::chrono::system_clock::time_point(std::chrono::seconds(secs)) + std::chrono::microseconds(frac);
}

bool ParseBool(const std::optional<std::string>& v) {
  if (!v) return false;
  return *v == "t" || *v == "true" || *v == "1";
}

std::string NewUuid() {
  std::string b = crypto::RandomBytes(16);
  b[6] = static_cast<char>((b[6] & 0x0f) | 0x40);
  b[8] = static_cast<char>((b[8] & 0x3f) | 0x80);
  std::string hex = crypto::HexEncode(b);
  return hex.substr(0, 8) + "-" + hex.substr(8, 4) + "-" + hex.substr(12, 4) + "-" + hex.substr(16, 4) + "-" +
         hex.substr(20, 12);
}

bool IsUuid(std::string_view s) {
  if (s.size() != 36) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (c != '-') return false;
    } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
      return false;
    }
  }
  return true;
}

Result<std::vector<std::string>> ParseStringArray(const std::optional<std::string>& json) {
  std::vector<std::string> out;
  if (!json || json->empty()) return out;
  nlohmann::json j = nlohmann::json::parse(*json, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_array()) return Status(Code::kInvalidArgument, "expected a JSON array of strings");
  for (const auto& e : j) {
    if (!e.is_string()) return Status(Code::kInvalidArgument, "expected a JSON array of strings");
    out.push_back(e.get<std::string>());
  }
  return out;
}

std::string StringArrayJson(const std::vector<std::string>& values) { return nlohmann::json(values).dump(); }

std::string PgTypeOf(const schema::Column& c) {
  using schema::TypeKind;
  switch (c.type.kind) {
    case TypeKind::kUuid: return "uuid";
    case TypeKind::kInteger: return "integer";
    case TypeKind::kBigint: return "bigint";
    case TypeKind::kBoolean: return "boolean";
    case TypeKind::kDecimal: return "numeric";
    case TypeKind::kTimestamp: return "timestamptz";
    case TypeKind::kDate: return "date";
    case TypeKind::kJson: return "jsonb";
    case TypeKind::kBytes: return "bytea";
    case TypeKind::kEnum: return db::QuoteIdent(c.type.enum_name);
    case TypeKind::kText: return "";
  }
  return "";
}

Result<db::QueryResult> Query(db::Connection& conn, std::string_view what, std::string_view sql, const db::Params& params) {
  auto r = conn.Query(sql, params);
  if (!r.ok()) return r.status().WithContext(what);
  return r;
}

}  // namespace plinth::auth::internal
