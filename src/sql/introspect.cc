// Introspect: a live database → Catalog, in the vocabulary Expected() produces.
//
// One catalog query per object kind (never per table), so a schema of hundreds of tables reads
// in a handful of round trips.
#include <algorithm>
#include <cctype>

#include "common/strings.h"
#include "sql/internal.h"

namespace plinth::sql {
namespace internal {
namespace {

bool IsTrue(const std::optional<std::string>& v) {
  return v && (*v == "t" || *v == "true" || *v == "1" || *v == "on");
}

const std::string& Text(const std::optional<std::string>& v) {
  static const std::string kEmpty;
  return v ? *v : kEmpty;
}

// pg_get_indexdef(…, column, true) quotes names that need it.
std::string Unquote(std::string s) {
  if (s.size() >= 2 && s.front() == '"' && s.back() == '"') {
    std::string out;
    for (size_t i = 1; i + 1 < s.size(); ++i) {
      out.push_back(s[i]);
      if (s[i] == '"' && s[i + 1] == '"') ++i;
    }
    return out;
  }
  return s;
}

Result<db::QueryResult> Run(db::Connection& conn, std::string_view what, std::string_view sql) {
  Result<db::QueryResult> r = conn.Query(sql);
  if (!r.ok()) return r.status().WithContext("reading " + std::string(what) + " from the database catalog");
  return r;
}

// Tables in `public` that plinth manages: not its own support tables (the reserved plinth_
// prefix: history, audit log, audit chain and seals, keyring canaries).
constexpr std::string_view kPgTableFilter =
    "n.nspname = 'public' AND c.relkind IN ('r', 'p') AND c.relname NOT LIKE 'plinth\\_%'";

std::string PgQuery(std::string_view select_from, std::string_view extra_where = {},
                    std::string_view order = {}) {
  std::string sql(select_from);
  sql += " WHERE " + std::string(kPgTableFilter);
  if (!extra_where.empty()) sql += " AND " + std::string(extra_where);
  if (!order.empty()) sql += " ORDER BY " + std::string(order);
  return sql;
}

std::string PolicyCommand(std::string_view polcmd) {
  if (polcmd == "r") return "select";
  if (polcmd == "a") return "insert";
  if (polcmd == "w") return "update";
  if (polcmd == "d") return "delete";
  return "all";
}

}  // namespace

Result<Catalog> IntrospectPostgres(db::Connection& conn) {
  Catalog cat;
  PLINTH_ASSIGN_OR_RETURN(
      db::QueryResult tables,
      Run(conn, "tables",
          PgQuery("SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity FROM pg_catalog.pg_class c "
                  "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace")));
  for (const auto& r : tables.rows) {
    CatalogTable& t = cat.tables[Text(r[0])];
    t.row_security = IsTrue(r[1]);
    t.force_row_security = IsTrue(r[2]);
  }

  PLINTH_ASSIGN_OR_RETURN(
      db::QueryResult columns,
      Run(conn, "columns",
          PgQuery("SELECT c.relname, a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod), a.attnotnull "
                  "FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_class c ON c.oid = a.attrelid "
                  "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace",
                  "a.attnum > 0 AND NOT a.attisdropped")));
  for (const auto& r : columns.rows) {
    cat.tables[Text(r[0])].columns[Text(r[1])] = CatalogColumn{Text(r[2]), IsTrue(r[3])};
  }

  PLINTH_ASSIGN_OR_RETURN(
      db::QueryResult constraints,
      Run(conn, "constraints",
          PgQuery("SELECT c.relname, con.conname, con.contype FROM pg_catalog.pg_constraint con "
                  "JOIN pg_catalog.pg_class c ON c.oid = con.conrelid "
                  "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace",
                  "con.contype IN ('p', 'u', 'c', 'f', 'x')")));
  for (const auto& r : constraints.rows) {
    const std::string& type = Text(r[2]);
    std::string kind = type == "p" ? "primary key"
                       : type == "u" ? "unique"
                       : type == "c" ? "check"
                       : type == "f" ? "foreign key"
                                     : "exclusion";
    cat.tables[Text(r[0])].constraints[Text(r[1])] = kind;
  }

  // Indexes that do not back a primary key, unique or exclusion constraint.
  PLINTH_ASSIGN_OR_RETURN(
      db::QueryResult indexes,
      Run(conn, "indexes",
          PgQuery("SELECT ic.relname, c.relname, i.indisunique, i.indpred IS NOT NULL, "
                  "pg_catalog.pg_get_indexdef(i.indexrelid, k.n, true), (i.indoption[k.n - 1] & 1) = 1 "
                  "FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid "
                  "JOIN pg_catalog.pg_class c ON c.oid = i.indrelid "
                  "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
                  "CROSS JOIN LATERAL generate_series(1, i.indnkeyatts) AS k(n)",
                  "NOT EXISTS (SELECT 1 FROM pg_catalog.pg_constraint con WHERE con.conindid = i.indexrelid "
                  "AND con.conrelid = i.indrelid AND con.contype IN ('p', 'u', 'x'))",
                  "ic.relname, k.n")));
  for (const auto& r : indexes.rows) {
    CatalogIndex& idx = cat.indexes[Text(r[0])];
    idx.table = Text(r[1]);
    idx.unique = IsTrue(r[2]);
    idx.partial = IsTrue(r[3]);
    idx.columns.push_back(Unquote(Text(r[4])) + (IsTrue(r[5]) ? " desc" : ""));
  }

  PLINTH_ASSIGN_OR_RETURN(
      db::QueryResult triggers,
      Run(conn, "triggers",
          PgQuery("SELECT c.relname, t.tgname FROM pg_catalog.pg_trigger t "
                  "JOIN pg_catalog.pg_class c ON c.oid = t.tgrelid "
                  "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace",
                  // Not the auth support's notification triggers (plinth seed installs them, not a
                  // migration): their functions live in schema plinth_auth.
                  "NOT t.tgisinternal AND t.tgfoid NOT IN (SELECT p.oid FROM pg_catalog.pg_proc p JOIN "
                  "pg_catalog.pg_namespace pn ON pn.oid = p.pronamespace WHERE pn.nspname = 'plinth_auth')",
                  "c.relname, t.tgname")));
  for (const auto& r : triggers.rows) cat.tables[Text(r[0])].triggers.push_back(Text(r[1]));

  PLINTH_ASSIGN_OR_RETURN(
      db::QueryResult policies,
      Run(conn, "policies",
          PgQuery("SELECT c.relname, p.polname, p.polpermissive, p.polcmd FROM pg_catalog.pg_policy p "
                  "JOIN pg_catalog.pg_class c ON c.oid = p.polrelid "
                  "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace")));
  for (const auto& r : policies.rows) {
    cat.tables[Text(r[0])].policies[Text(r[1])] =
        std::string(IsTrue(r[2]) ? "permissive " : "restrictive ") + PolicyCommand(Text(r[3]));
  }

  PLINTH_ASSIGN_OR_RETURN(
      db::QueryResult enums,
      Run(conn, "enums",
          "SELECT t.typname, e.enumlabel FROM pg_catalog.pg_type t "
          "JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace "
          "LEFT JOIN pg_catalog.pg_enum e ON e.enumtypid = t.oid "
          "WHERE n.nspname = 'public' AND t.typtype = 'e' ORDER BY t.typname, e.enumsortorder"));
  for (const auto& r : enums.rows) {
    std::vector<std::string>& values = cat.enums[Text(r[0])];
    if (r[1]) values.push_back(*r[1]);
  }

  PLINTH_ASSIGN_OR_RETURN(
      db::QueryResult functions,
      Run(conn, "functions",
          "SELECT DISTINCT n.nspname || '.' || p.proname FROM pg_catalog.pg_proc p "
          "JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace "
          "WHERE n.nspname IN ('plinth', 'auth') ORDER BY 1"));
  for (const auto& r : functions.rows) cat.functions.push_back(Text(r[0]));
  return cat;
}

namespace {

// Tables plinth manages: not SQLite's own, not plinth's support tables (the reserved plinth_
// prefix: history, audit log, audit chain and seals, keyring canaries), not a rebuild in progress.
constexpr std::string_view kSqliteTableFilter =
    "m.type = 'table' AND m.name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND m.name NOT LIKE 'plinth\\_%' ESCAPE '\\' "
    "AND m.name NOT LIKE '\\_plinth\\_%' ESCAPE '\\'";

struct Token {
  enum class Kind : unsigned char { kWord, kIdent, kString, kPunct } kind;
  std::string text;
};

// Tokens of an SQLite statement: words, quoted identifiers ("x", `x`, [x]) unquoted, strings,
// punctuation; comments dropped.
std::vector<Token> Tokenize(std::string_view sql) {
  std::vector<Token> out;
  size_t i = 0;
  auto quoted = [&](char close) {
    std::string text;
    ++i;
    while (i < sql.size()) {
      if (sql[i] == close) {
        if (close != ']' && i + 1 < sql.size() && sql[i + 1] == close) {
          text.push_back(close);
          i += 2;
          continue;
        }
        ++i;
        break;
      }
      text.push_back(sql[i++]);
    }
    return text;
  };
  while (i < sql.size()) {
    const char ch = sql[i];
    if (std::isspace(static_cast<unsigned char>(ch))) {
      ++i;
    } else if (ch == '-' && i + 1 < sql.size() && sql[i + 1] == '-') {
      while (i < sql.size() && sql[i] != '\n') ++i;
    } else if (ch == '/' && i + 1 < sql.size() && sql[i + 1] == '*') {
      size_t end = sql.find("*/", i + 2);
      i = end == std::string_view::npos ? sql.size() : end + 2;
    } else if (ch == '\'') {
      out.push_back({Token::Kind::kString, quoted('\'')});
    } else if (ch == '"' || ch == '`') {
      out.push_back({Token::Kind::kIdent, quoted(ch)});
    } else if (ch == '[') {
      out.push_back({Token::Kind::kIdent, quoted(']')});
    } else if (std::isalnum(static_cast<unsigned char>(ch)) || ch == '_' || static_cast<unsigned char>(ch) >= 0x80) {
      size_t start = i;
      while (i < sql.size() && (std::isalnum(static_cast<unsigned char>(sql[i])) || sql[i] == '_' || sql[i] == '$' ||
                                static_cast<unsigned char>(sql[i]) >= 0x80)) {
        ++i;
      }
      out.push_back({Token::Kind::kWord, std::string(sql.substr(start, i - start))});
    } else {
      out.push_back({Token::Kind::kPunct, std::string(1, ch)});
      ++i;
    }
  }
  return out;
}

bool IsWord(const Token& t, std::string_view upper) {
  return t.kind == Token::Kind::kWord && ToLower(t.text) == ToLower(upper);
}

}  // namespace

std::vector<std::pair<std::string, std::string>> SqliteNamedConstraints(std::string_view create_sql) {
  std::vector<std::pair<std::string, std::string>> out;
  std::vector<Token> tokens = Tokenize(create_sql);
  for (size_t i = 0; i + 2 < tokens.size(); ++i) {
    if (!IsWord(tokens[i], "constraint")) continue;
    const Token& name = tokens[i + 1];
    if (name.kind != Token::Kind::kWord && name.kind != Token::Kind::kIdent && name.kind != Token::Kind::kString) continue;
    const Token& kind = tokens[i + 2];
    std::string k;
    if (IsWord(kind, "primary")) k = "primary key";
    else if (IsWord(kind, "unique")) k = "unique";
    else if (IsWord(kind, "check")) k = "check";
    else if (IsWord(kind, "foreign") || IsWord(kind, "references")) k = "foreign key";
    else continue;  // a named NOT NULL, DEFAULT or COLLATE: not a constraint plinth names
    out.emplace_back(name.text, k);
  }
  return out;
}

Result<Catalog> IntrospectSqlite(db::Connection& conn) {
  Catalog cat;
  const std::string filter(kSqliteTableFilter);
  PLINTH_ASSIGN_OR_RETURN(db::QueryResult tables,
                          Run(conn, "tables", "SELECT m.name, m.sql FROM sqlite_master m WHERE " + filter));
  for (const auto& r : tables.rows) {
    CatalogTable& t = cat.tables[Text(r[0])];
    for (auto& [name, kind] : SqliteNamedConstraints(Text(r[1]))) t.constraints[name] = kind;
  }

  PLINTH_ASSIGN_OR_RETURN(
      db::QueryResult columns,
      Run(conn, "columns",
          "SELECT m.name, p.name, p.type, p.\"notnull\", p.hidden FROM sqlite_master m "
          "JOIN pragma_table_xinfo(m.name) p WHERE " + filter));
  for (const auto& r : columns.rows) {
    if (Text(r[4]) == "1") continue;  // virtual table hidden columns
    // Reported as declared: a primary-key column without NOT NULL may hold NULL in SQLite, which
    // is why plinth declares NOT NULL on key columns.
    cat.tables[Text(r[0])].columns[Text(r[1])] = CatalogColumn{Text(r[2]), IsTrue(r[3])};
  }

  PLINTH_ASSIGN_OR_RETURN(
      db::QueryResult indexes,
      Run(conn, "indexes",
          "SELECT m.name, il.name, il.\"unique\", il.partial, ix.name, ix.\"desc\" FROM sqlite_master m "
          "JOIN pragma_index_list(m.name) il JOIN pragma_index_xinfo(il.name) ix WHERE " + filter +
              " AND il.origin = 'c' AND ix.key = 1 ORDER BY il.name, ix.seqno"));
  for (const auto& r : indexes.rows) {
    CatalogIndex& idx = cat.indexes[Text(r[1])];
    idx.table = Text(r[0]);
    idx.unique = IsTrue(r[2]);
    idx.partial = IsTrue(r[3]);
    idx.columns.push_back((r[4] ? *r[4] : std::string("<expression>")) + (IsTrue(r[5]) ? " desc" : ""));
  }

  PLINTH_ASSIGN_OR_RETURN(
      db::QueryResult triggers,
      Run(conn, "triggers", "SELECT tbl_name, name FROM sqlite_master WHERE type = 'trigger' ORDER BY tbl_name, name"));
  for (const auto& r : triggers.rows) {
    auto it = cat.tables.find(Text(r[0]));
    if (it != cat.tables.end()) it->second.triggers.push_back(Text(r[1]));
  }
  return cat;
}

}  // namespace internal

Result<Catalog> Introspect(db::Connection& conn) {
  return conn.backend() == db::Backend::kPostgres ? internal::IntrospectPostgres(conn)
                                                  : internal::IntrospectSqlite(conn);
}

}  // namespace plinth::sql
