// Database URLs: parsing (sqlite forms, libpq URIs and keyword/value strings) and redaction.
#include <libpq-fe.h>

#include <cctype>
#include <filesystem>
#include <memory>
#include <system_error>

#include "common/strings.h"
#include "plinth/db.h"

namespace plinth::db {
namespace {

constexpr std::string_view kSqlitePrefix = "sqlite:";
constexpr std::string_view kMemory = ":memory:";
constexpr std::string_view kRedactedMark = "***";
constexpr std::string_view kExpectedForms =
    "expected sqlite:///absolute/path.db, sqlite://relative/path.db, sqlite::memory:, "
    "postgresql://user@host:port/database or a libpq key=value string such as "
    "\"host=localhost dbname=app\"";

bool IsUriScheme(std::string_view text, std::string_view scheme) {
  return text.size() > scheme.size() + 3 && ToLower(text.substr(0, scheme.size())) == scheme &&
         text.substr(scheme.size(), 3) == "://";
}

bool IsPostgresUri(std::string_view text) {
  return IsUriScheme(text, "postgresql") || IsUriScheme(text, "postgres");
}

// A libpq keyword/value string starts with a keyword followed by '='.
bool LooksLikeKeywordValue(std::string_view text) {
  size_t i = 0;
  while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
  size_t start = i;
  while (i < text.size() && (std::isalnum(static_cast<unsigned char>(text[i])) || text[i] == '_')) ++i;
  if (i == start) return false;
  while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
  return i < text.size() && text[i] == '=';
}

// Validates a PostgreSQL conninfo with libpq's own parser, so the error is libpq's.
Status ValidateConninfo(const std::string& conninfo) {
  char* err = nullptr;
  PQconninfoOption* opts = PQconninfoParse(conninfo.c_str(), &err);
  if (opts == nullptr) {
    std::string why = err ? Trim(err) : "out of memory";
    if (err) PQfreemem(err);
    return Status(Code::kInvalidArgument, "invalid PostgreSQL connection string: " + why);
  }
  PQconninfoFree(opts);
  return Status::Ok();
}

Result<Url> ParseSqlite(std::string_view text) {
  std::string_view rest = text.substr(kSqlitePrefix.size());
  if (StartsWith(rest, "//")) rest.remove_prefix(2);
  if (rest.empty()) {
    return Status(Code::kInvalidArgument,
                  "the SQLite URL \"" + std::string(text) + "\" has no file path; " +
                      std::string(kExpectedForms));
  }
  if (rest.find('?') != std::string_view::npos) {
    return Status(Code::kInvalidArgument,
                  "the SQLite URL \"" + std::string(text) +
                      "\" has query parameters, which plinth does not support; write the file "
                      "path only (plinth sets WAL, foreign_keys and busy_timeout itself)");
  }
  Url url;
  url.backend = Backend::kSqlite;
  url.original = std::string(text);
  if (rest == kMemory) {
    url.path = std::string(kMemory);
    return url;
  }
  std::error_code ec;
  std::filesystem::path p = std::filesystem::absolute(std::filesystem::path(std::string(rest)), ec);
  if (ec) {
    return Status(Code::kInvalidArgument, "cannot resolve the SQLite path \"" + std::string(rest) +
                                              "\" against the working directory: " + ec.message());
  }
  url.path = p.lexically_normal().string();
  if (EndsWith(url.path, "/")) {
    return Status(Code::kInvalidArgument,
                  "the SQLite URL \"" + std::string(text) + "\" names a directory; expected a file path");
  }
  return url;
}

// Redacts the password of a libpq keyword/value string, keeping everything else verbatim.
std::string RedactKeywordValue(std::string_view s) {
  std::string out;
  size_t i = 0;
  const size_t n = s.size();
  while (i < n) {
    // Whitespace between pairs.
    while (i < n && std::isspace(static_cast<unsigned char>(s[i]))) out.push_back(s[i++]);
    if (i >= n) break;
    size_t key_start = i;
    while (i < n && s[i] != '=' && !std::isspace(static_cast<unsigned char>(s[i]))) ++i;
    std::string key = ToLower(s.substr(key_start, i - key_start));
    out.append(s.substr(key_start, i - key_start));
    while (i < n && std::isspace(static_cast<unsigned char>(s[i]))) out.push_back(s[i++]);
    if (i >= n || s[i] != '=') continue;  // malformed; libpq rejects it anyway
    out.push_back(s[i++]);
    while (i < n && std::isspace(static_cast<unsigned char>(s[i]))) out.push_back(s[i++]);
    // The value: single-quoted with backslash escapes, or up to whitespace (backslash escapes).
    size_t value_start = i;
    if (i < n && s[i] == '\'') {
      ++i;
      while (i < n && s[i] != '\'') {
        if (s[i] == '\\' && i + 1 < n) ++i;
        ++i;
      }
      if (i < n) ++i;  // closing quote
    } else {
      while (i < n && !std::isspace(static_cast<unsigned char>(s[i]))) {
        if (s[i] == '\\' && i + 1 < n) ++i;
        ++i;
      }
    }
    if (key == "password") {
      out.append(kRedactedMark);
    } else {
      out.append(s.substr(value_start, i - value_start));
    }
  }
  return out;
}

// Redacts the user-info password and any password= query parameter of a URI.
std::string RedactUri(std::string_view s) {
  std::string out(s);
  size_t scheme_end = out.find("://");
  if (scheme_end == std::string::npos) return out;
  size_t auth_start = scheme_end + 3;
  size_t auth_end = out.find_first_of("/?", auth_start);
  if (auth_end == std::string::npos) auth_end = out.size();
  size_t at = out.rfind('@', auth_end == 0 ? 0 : auth_end - 1);
  if (at != std::string::npos && at >= auth_start) {
    size_t colon = out.find(':', auth_start);
    if (colon != std::string::npos && colon < at) {
      out.replace(colon + 1, at - colon - 1, kRedactedMark);
    }
  }
  size_t query = out.find('?');
  if (query == std::string::npos) return out;
  size_t pos = query + 1;
  while (pos <= out.size()) {
    size_t amp = out.find('&', pos);
    if (amp == std::string::npos) amp = out.size();
    std::string_view param(out.data() + pos, amp - pos);
    size_t eq = param.find('=');
    if (eq != std::string_view::npos && ToLower(param.substr(0, eq)) == "password") {
      size_t value_start = pos + eq + 1;
      out.replace(value_start, amp - value_start, kRedactedMark);
      amp = value_start + kRedactedMark.size();
    }
    pos = amp + 1;
  }
  return out;
}

}  // namespace

std::string_view BackendName(Backend b) {
  switch (b) {
    case Backend::kSqlite: return "sqlite";
    case Backend::kPostgres: return "postgresql";
  }
  return "unknown";
}

std::string Url::Redacted() const {
  if (backend == Backend::kSqlite) return original;
  if (IsPostgresUri(original)) return RedactUri(original);
  return RedactKeywordValue(original);
}

Result<Url> ParseUrl(std::string_view raw) {
  std::string trimmed = Trim(raw);
  std::string_view text = trimmed;
  if (text.empty()) {
    return Status(Code::kInvalidArgument,
                  "no database URL given; set --database-url or DATABASE_URL (" +
                      std::string(kExpectedForms) + ")");
  }
  if (ToLower(text.substr(0, kSqlitePrefix.size())) == kSqlitePrefix) return ParseSqlite(text);
  if (IsPostgresUri(text) || LooksLikeKeywordValue(text)) {
    Url url;
    url.backend = Backend::kPostgres;
    url.original = std::string(text);
    url.conninfo = url.original;
    if (IsPostgresUri(text)) {
      // URI schemes are case-insensitive (RFC 3986); libpq only knows the lower-case ones.
      size_t scheme_end = url.conninfo.find("://");
      for (size_t i = 0; i < scheme_end; ++i) {
        url.conninfo[i] = static_cast<char>(std::tolower(static_cast<unsigned char>(url.conninfo[i])));
      }
    }
    PLINTH_RETURN_IF_ERROR(ValidateConninfo(url.conninfo).WithContext(
        "in the database URL \"" + url.Redacted() + "\""));
    return url;
  }
  size_t colon = text.find(':');
  std::string what = colon == std::string_view::npos
                         ? "\"" + std::string(text) + "\" is not a database URL"
                         : "unsupported database URL scheme \"" + std::string(text.substr(0, colon)) + "\"";
  return Status(Code::kInvalidArgument, what + "; " + std::string(kExpectedForms));
}

}  // namespace plinth::db
