// plinth/expr.h — the expression language of check constraints, partial-index predicates and
// row policies: a small, safe subset of SQL, parsed by plinth into a checked AST and rendered
// per dialect. Nothing written in a schema is pasted into SQL as text.
//
// Grammar (case-insensitive keywords; precedence from loosest to tightest):
//   expr      := or
//   or        := and ('or' and)*
//   and       := not ('and' not)*
//   not       := 'not' not | predicate
//   predicate := additive ( cmp additive
//                         | 'is' ['not'] 'null'
//                         | ['not'] 'in' '(' expr (',' expr)* ')'
//                         | ['not'] ('like'|'ilike') additive
//                         | ['not'] 'between' additive 'and' additive )?
//   cmp       := '=' | '<>' | '!=' | '<' | '<=' | '>' | '>='
//   additive  := multiplicative (('+'|'-'|'||') multiplicative)*
//   multiplicative := unary (('*'|'/'|'%') unary)*
//   unary     := '-' unary | primary
//   primary   := literal | column | call | '(' expr ')' | exists
//   literal   := 'null' | 'true' | 'false' | integer | decimal | 'string' ('' escapes a quote)
//   column    := ident | ident '.' ident          (qualified by a table name or an alias)
//   call      := ident '(' [expr (',' expr)*] ')' | 'auth' '.' ident '(' [args] ')'
//   exists    := ['not'] 'exists' '(' 'select' '1' 'from' ident [['as'] ident]
//                                     'where' expr ')'
//   ident     := [A-Za-z_][A-Za-z0-9_]* | "quoted"
// Functions: length(text), lower(text), upper(text), trim(text), abs(number),
// coalesce(a, b, …), now() (policies only); auth.tenant_id(), auth.user_id(), auth.role(),
// auth.has_role('name'), auth.has_permission('resource', 'action') (policies only).
// `exists` is allowed in policies only.
//
// Thread-safety: all functions are reentrant; Node trees are plain values.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "plinth/diagnostic.h"
#include "plinth/schema.h"
#include "plinth/status.h"

namespace plinth::expr {

enum class NodeKind : unsigned char {
  kLiteral,  // lit, text
  kColumn,   // text = column name, qualifier = table/alias ("" when unqualified)
  kUnary,    // uop, children[0]
  kBinary,   // bop, children[0..1]
  kIsNull,   // negated, children[0]
  kIn,       // negated, children[0] = needle, children[1..] = list
  kLike,     // negated, case_insensitive, children[0..1]
  kBetween,  // negated, children[0..2]
  kCall,     // text = function name ("length", "auth.user_id"), children = args
  kExists,   // negated, text = table, qualifier = alias (may be ""), children[0] = condition
};

enum class LiteralKind : unsigned char { kNull, kBool, kInteger, kDecimal, kString };
enum class UnaryOp : unsigned char { kNot, kNeg };
enum class BinaryOp : unsigned char {
  kOr, kAnd, kEq, kNe, kLt, kLe, kGt, kGe, kAdd, kSub, kMul, kDiv, kMod, kConcat,
};

// Static type of a node after checking.
enum class ValueKind : unsigned char {
  kUnknown, kNull, kBool, kInteger, kDecimal, kText, kUuid, kTimestamp, kDate, kJson, kBytes,
  kEnum,
};

struct Node {
  NodeKind kind = NodeKind::kLiteral;
  LiteralKind lit = LiteralKind::kNull;
  UnaryOp uop = UnaryOp::kNot;
  BinaryOp bop = BinaryOp::kEq;
  bool negated = false;
  bool case_insensitive = false;
  std::string text;       // literal value (unquoted), column name, function name, exists table
  std::string qualifier;  // column qualifier or exists alias
  std::vector<Node> children;
  // Absolute position in the file (see ParseOptions::origin) of the node's operator or keyword
  // (`=`, `and`, `is`, `in`, `like`, `between`, `not`, `-`, `exists`), or of its first token for
  // literals, columns and calls.
  SourcePos pos;
  // kColumn: position of the column name (after the qualifier); kExists: of the table name.
  SourcePos name_pos;

  // Filled by Check():
  ValueKind value = ValueKind::kUnknown;  // a string literal takes the type it is compared with
  std::string enum_name;   // when value == kEnum
  std::string column_table;  // kColumn: the table the column resolved to
  // kColumn: which table in scope the column resolved to: 0 = the main table, n = the table of
  // the n-th enclosing `exists` counted from the outermost (1 = the outermost exists).
  int scope = 0;
};

// Where an expression appears decides what it may use.
enum class Context : unsigned char {
  kCheck,           // a check constraint: columns of its own table, no auth.*, now(), exists
  kIndexPredicate,  // a partial index predicate: same as kCheck
  kPolicy,          // a row policy: everything
};

struct ParseOptions {
  std::string file;   // for diagnostics
  SourcePos origin;   // position of the expression's first character in the file
  // When the expression is a TOML string, the offset from `origin` is counted in characters of
  // the string value: multi-line basic strings keep line breaks, so lines/columns stay right.
};

// Parses `text`. On failure records diagnostics (with positions) and returns an error.
Result<Node> Parse(std::string_view text, const ParseOptions& opts, Diagnostics& diags);

// Resolves columns against `table` (and, inside exists, the named related table) in `schema`,
// checks function use for `ctx`, and computes types. Type mismatches (comparing a uuid with an
// integer, `like` on a number, a string literal that is not a value of the column's enum, a
// non-boolean at the top) are diagnostics. Returns true when no error was found.
bool Check(Node& node, const schema::Schema& schema, const schema::Table& table, Context ctx,
           const std::string& file, Diagnostics& diags);

// Canonical text: lower-case keywords, single spaces, string literals in single quotes,
// identifiers unquoted unless needed, the minimum parentheses. Parse(Canonical(n)) yields an
// equal tree, and two spellings of the same expression have the same canonical text.
std::string Canonical(const Node& node);

enum class Dialect : unsigned char { kPostgres, kSqlite };

// How to render the parts of an expression that depend on where it is used.
struct RenderOptions {
  Dialect dialect = Dialect::kPostgres;
  // Prefix for column references of the main table ("" = unqualified; e.g. "t" → t."col").
  std::string table_alias;
  // Renders auth.* calls. Default: PostgreSQL `(SELECT auth.user_id())` form (evaluated once per
  // statement); on SQLite the default renders calls of the functions that plinth registers on
  // each connection: plinth_auth('user_id'), plinth_has_role('x'), plinth_has_permission(r, a).
  std::function<std::string(const Node& call, const RenderOptions& opts)> render_auth;
  // Column types are needed to render some operators per dialect (ilike on SQLite, booleans);
  // set by the caller from the checked tree, no schema lookup happens here.
};

// SQL text for the dialect. Requires a checked tree (value kinds filled in).
std::string Render(const Node& node, const RenderOptions& opts);

// Convenience: parse + check + canonical. Used by the schema loader for every expression.
Result<std::string> CanonicalizeChecked(std::string_view text, const ParseOptions& opts,
                                        const schema::Schema& schema, const schema::Table& table,
                                        Context ctx, Diagnostics& diags);

// Parses and checks an already-canonical expression stored in a model or migration (positions
// are not meaningful). Errors are returned, not recorded.
Result<Node> ParseStored(std::string_view canonical_text, const schema::Schema& schema,
                         const schema::Table& table, Context ctx);

// Collects the names of the columns of the main table that the expression references.
std::vector<std::string> ReferencedColumns(const Node& node);

}  // namespace plinth::expr
