#include "migrate_core/expr_refs.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <optional>

namespace plinth::migrate::internal {
namespace {

enum class TokKind : unsigned char { kIdent, kString, kNumber, kPunct };

struct Token {
  TokKind kind = TokKind::kPunct;
  std::string text;  // identifiers: the name (unquoted, lower-cased unless quoted); punct: itself
  bool quoted = false;
  size_t begin = 0;  // byte range in the expression
  size_t end = 0;
};

// Keywords of the expression grammar (expr.h). Unquoted, they are never names.
constexpr std::array<std::string_view, 16> kKeywords = {
    "and", "or", "not", "is", "null", "in", "like", "ilike", "between",
    "exists", "select", "from", "where", "as", "true", "false"};

bool IsKeyword(std::string_view word) {
  return std::find(kKeywords.begin(), kKeywords.end(), word) != kKeywords.end();
}

bool IsIdentStart(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; }
bool IsIdentChar(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

Status Malformed(std::string_view expr, std::string_view what) {
  return Status(Code::kInvalidArgument,
                "cannot read stored expression '" + std::string(expr) + "': " + std::string(what));
}

Result<std::vector<Token>> Tokenize(std::string_view s) {
  std::vector<Token> out;
  size_t i = 0;
  while (i < s.size()) {
    char c = s[i];
    if (std::isspace(static_cast<unsigned char>(c))) {
      ++i;
      continue;
    }
    Token t;
    t.begin = i;
    if (c == '\'' || c == '"') {
      const char quote = c;
      ++i;
      std::string body;
      bool closed = false;
      while (i < s.size()) {
        if (s[i] == quote) {
          if (i + 1 < s.size() && s[i + 1] == quote) {
            body.push_back(quote);
            i += 2;
            continue;
          }
          ++i;
          closed = true;
          break;
        }
        body.push_back(s[i++]);
      }
      if (!closed) return Malformed(s, "unterminated quote");
      t.kind = quote == '\'' ? TokKind::kString : TokKind::kIdent;
      t.quoted = quote == '"';
      t.text = std::move(body);
    } else if (IsIdentStart(c)) {
      while (i < s.size() && IsIdentChar(s[i])) ++i;
      t.kind = TokKind::kIdent;
      for (size_t k = t.begin; k < i; ++k) {
        t.text.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(s[k]))));
      }
    } else if (std::isdigit(static_cast<unsigned char>(c))) {
      while (i < s.size() && (std::isdigit(static_cast<unsigned char>(s[i])) || s[i] == '.')) ++i;
      t.kind = TokKind::kNumber;
      t.text = std::string(s.substr(t.begin, i - t.begin));
    } else {
      static constexpr std::array<std::string_view, 5> kTwoChar = {"<=", ">=", "<>", "!=", "||"};
      std::string_view two = s.substr(i, 2);
      t.kind = TokKind::kPunct;
      if (std::find(kTwoChar.begin(), kTwoChar.end(), two) != kTwoChar.end()) {
        t.text = std::string(two);
        i += 2;
      } else if (std::string_view("(),.=<>+-*/%").find(c) != std::string_view::npos) {
        t.text = std::string(1, c);
        ++i;
      } else {
        return Malformed(s, std::string("unexpected character '") + c + "'");
      }
    }
    t.end = i;
    out.push_back(std::move(t));
  }
  return out;
}

bool IsPunct(const std::vector<Token>& toks, size_t i, std::string_view p) {
  return i < toks.size() && toks[i].kind == TokKind::kPunct && toks[i].text == p;
}
bool IsKw(const std::vector<Token>& toks, size_t i, std::string_view kw) {
  return i < toks.size() && toks[i].kind == TokKind::kIdent && !toks[i].quoted && toks[i].text == kw;
}
bool IsName(const std::vector<Token>& toks, size_t i) {
  return i < toks.size() && toks[i].kind == TokKind::kIdent && (toks[i].quoted || !IsKeyword(toks[i].text));
}

// A table in scope: the main table (index 0) or the table of an exists.
struct Scope {
  std::string table;
  std::string alias;  // empty: referred to by the table name
  size_t begin = 0;   // token range the scope covers
  size_t end = 0;
  bool Matches(std::string_view qualifier) const {
    return alias.empty() ? table == qualifier : alias == qualifier;
  }
};

enum class Role : unsigned char { kNone, kTableRef, kQualifier, kColumn };

// One name in the expression and what it refers to.
struct NameUse {
  size_t token = 0;
  Role role = Role::kNone;
  size_t scope = 0;          // kColumn / kQualifier: resolved scope; kTableRef: the scope it opens
  bool qualified = false;    // kColumn written as q.col
  std::vector<size_t> chain;  // kColumn: the scopes enclosing the token, outermost first
};

struct Analysis {
  std::vector<Token> tokens;
  std::vector<Scope> scopes;
  std::vector<NameUse> uses;
};

Result<Analysis> Analyze(std::string_view expr, std::string_view main_table, const HasColumnFn& has_column) {
  Analysis a;
  PLINTH_ASSIGN_OR_RETURN(a.tokens, Tokenize(expr));
  const auto& toks = a.tokens;

  // Matching parentheses.
  std::vector<size_t> match(toks.size(), toks.size());
  std::vector<size_t> open;
  for (size_t i = 0; i < toks.size(); ++i) {
    if (IsPunct(toks, i, "(")) open.push_back(i);
    if (IsPunct(toks, i, ")")) {
      if (open.empty()) return Malformed(expr, "unbalanced ')'");
      match[open.back()] = i;
      open.pop_back();
    }
  }
  if (!open.empty()) return Malformed(expr, "unbalanced '('");

  a.scopes.push_back(Scope{std::string(main_table), "", 0, toks.size()});
  std::vector<Role> roles(toks.size(), Role::kNone);
  std::vector<bool> skip(toks.size(), false);
  std::vector<size_t> table_ref_scope(toks.size(), 0);

  for (size_t i = 0; i < toks.size(); ++i) {
    if (!IsKw(toks, i, "exists")) continue;
    // exists ( select 1 from T [as] [A] where … )
    size_t j = i + 1;
    if (!IsPunct(toks, j, "(") || !IsKw(toks, j + 1, "select") || j + 2 >= toks.size() ||
        toks[j + 2].kind != TokKind::kNumber || !IsKw(toks, j + 3, "from") || !IsName(toks, j + 4)) {
      return Malformed(expr, "expected exists (select 1 from TABLE [alias] where …)");
    }
    Scope scope;
    size_t table_tok = j + 4;
    scope.table = toks[table_tok].text;
    size_t k = table_tok + 1;
    if (IsKw(toks, k, "as")) ++k;
    if (IsName(toks, k)) {
      scope.alias = toks[k].text;
      skip[k] = true;
      ++k;
    }
    if (!IsKw(toks, k, "where")) return Malformed(expr, "expected where after the exists table");
    scope.begin = k + 1;
    scope.end = match[j];
    roles[table_tok] = Role::kTableRef;
    table_ref_scope[table_tok] = a.scopes.size();
    a.scopes.push_back(std::move(scope));
  }

  // Scopes enclosing token i, outermost first (exists scopes nest, later ones start inside).
  auto chain_at = [&](size_t i) {
    std::vector<size_t> chain{0};
    for (size_t s = 1; s < a.scopes.size(); ++s) {
      if (a.scopes[s].begin <= i && i < a.scopes[s].end) chain.push_back(s);
    }
    return chain;
  };

  for (size_t i = 0; i < toks.size(); ++i) {
    if (skip[i] || !IsName(toks, i)) continue;
    if (roles[i] == Role::kTableRef) {
      a.uses.push_back(NameUse{i, Role::kTableRef, table_ref_scope[i], false, {}});
      continue;
    }
    if (IsPunct(toks, i + 1, "(")) continue;  // a function
    if (IsPunct(toks, i + 1, ".") && IsName(toks, i + 2)) {
      skip[i + 2] = true;
      if (IsPunct(toks, i + 3, "(")) continue;  // auth.user_id(…)
      std::vector<size_t> chain = chain_at(i);
      std::optional<size_t> resolved;
      for (auto it = chain.rbegin(); it != chain.rend(); ++it) {
        if (a.scopes[*it].Matches(toks[i].text)) {
          resolved = *it;
          break;
        }
      }
      if (!resolved) {
        return Malformed(expr, "'" + toks[i].text + "' does not name a table in scope");
      }
      a.uses.push_back(NameUse{i, Role::kQualifier, *resolved, false, {}});
      a.uses.push_back(NameUse{i + 2, Role::kColumn, *resolved, true, chain});
      continue;
    }
    std::vector<size_t> chain = chain_at(i);
    size_t resolved = 0;
    for (auto it = chain.rbegin(); it != chain.rend(); ++it) {
      if (*it == 0 || has_column(a.scopes[*it].table, toks[i].text)) {
        resolved = *it;
        break;
      }
    }
    a.uses.push_back(NameUse{i, Role::kColumn, resolved, false, std::move(chain)});
  }
  return a;
}

std::string IdentText(std::string_view name) {
  bool simple = !name.empty() && (std::islower(static_cast<unsigned char>(name[0])) || name[0] == '_') &&
                !IsKeyword(name);
  for (char c : name) {
    if (!(std::islower(static_cast<unsigned char>(c)) || std::isdigit(static_cast<unsigned char>(c)) || c == '_')) {
      simple = false;
    }
  }
  if (simple) return std::string(name);
  std::string out = "\"";
  for (char c : name) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

struct Edit {
  size_t begin, end;
  std::string text;
};

std::string Splice(std::string_view expr, std::vector<Edit> edits) {
  std::sort(edits.begin(), edits.end(), [](const Edit& x, const Edit& y) { return x.begin < y.begin; });
  std::string out;
  size_t pos = 0;
  for (const Edit& e : edits) {
    out.append(expr.substr(pos, e.begin - pos));
    out.append(e.text);
    pos = e.end;
  }
  out.append(expr.substr(pos));
  return out;
}

}  // namespace

Result<ExprRefs> CollectRefs(std::string_view expr, std::string_view main_table, const HasColumnFn& has_column) {
  PLINTH_ASSIGN_OR_RETURN(Analysis a, Analyze(expr, main_table, has_column));
  ExprRefs refs;
  for (const NameUse& u : a.uses) {
    if (u.role == Role::kColumn) {
      refs.columns.push_back(ColumnRef{a.scopes[u.scope].table, a.tokens[u.token].text});
    } else if (u.role == Role::kTableRef) {
      refs.tables.push_back(a.tokens[u.token].text);
    }
  }
  return refs;
}

Result<std::string> RenameTableInExpr(std::string_view expr, std::string_view main_table,
                                      const HasColumnFn& has_column, std::string_view from, std::string_view to) {
  PLINTH_ASSIGN_OR_RETURN(Analysis a, Analyze(expr, main_table, has_column));
  std::vector<Edit> edits;
  for (const NameUse& u : a.uses) {
    const Token& t = a.tokens[u.token];
    bool rename = false;
    if (u.role == Role::kTableRef) rename = t.text == from;
    // A qualifier written as the table's name (not an alias) follows the rename.
    if (u.role == Role::kQualifier) rename = a.scopes[u.scope].alias.empty() && a.scopes[u.scope].table == from;
    if (rename) edits.push_back(Edit{t.begin, t.end, IdentText(to)});
  }
  return Splice(expr, std::move(edits));
}

Result<std::string> RenameColumnInExpr(std::string_view expr, std::string_view main_table,
                                       const HasColumnFn& has_column, std::string_view table,
                                       std::string_view from, std::string_view to) {
  PLINTH_ASSIGN_OR_RETURN(Analysis a, Analyze(expr, main_table, has_column));
  auto captured = [&](std::string_view detail) {
    return Status(Code::kFailedPrecondition,
                  "renaming " + std::string(table) + "." + std::string(from) + " to " + std::string(to) +
                      " would change the meaning of '" + std::string(expr) + "': " + std::string(detail) +
                      "; qualify the reference (alias.column) first");
  };
  std::vector<Edit> edits;
  for (const NameUse& u : a.uses) {
    if (u.role != Role::kColumn) continue;
    const Token& t = a.tokens[u.token];
    const Scope& scope = a.scopes[u.scope];
    // Scopes between the resolved one and the token (inner to the resolution).
    auto inner = [&]() {
      std::vector<size_t> out;
      bool past = false;
      for (size_t s : u.chain) {
        if (past) out.push_back(s);
        if (s == u.scope) past = true;
      }
      return out;
    };
    if (scope.table == table && t.text == from) {
      if (!u.qualified) {
        for (size_t s : inner()) {
          if (has_column(a.scopes[s].table, to)) {
            return captured("'" + std::string(to) + "' is also a column of " + a.scopes[s].table);
          }
        }
      }
      edits.push_back(Edit{t.begin, t.end, IdentText(to)});
    } else if (!u.qualified && t.text == to) {
      for (size_t s : inner()) {
        if (a.scopes[s].table == table) {
          return captured("'" + std::string(to) + "' here refers to " + scope.table + "." + std::string(to));
        }
      }
    }
  }
  return Splice(expr, std::move(edits));
}

}  // namespace plinth::migrate::internal
