// expr/syntax.h — spelling rules shared by the parser, the canonical printer and the renderer
// (internal): keywords, identifier and string quoting, operator names, UTF-8 checks.
//
// Thread-safety: reentrant.
#pragma once

#include <string>
#include <string_view>

#include "plinth/expr.h"

namespace plinth::expr {

// Keywords of the expression language (lower-case). A bare identifier spelled like one of
// them is the keyword; a column with such a name must be written "quoted".
bool IsKeyword(std::string_view lower_word);

// True when `name` can be written bare in canonical text: [a-z_][a-z0-9_]* and not a keyword.
bool IsBareIdentifier(std::string_view name);

// Canonical spelling of an identifier: bare when possible, else "double-quoted" ("" escapes).
std::string CanonicalIdent(std::string_view name);

// SQL spelling of an identifier: always "double-quoted" with "" escaping.
std::string SqlIdent(std::string_view name);

// A string literal in single quotes with '' escaping (the same in canonical text and in SQL).
std::string QuoteString(std::string_view value);

// Canonical operator spelling: "or", "and", "=", "<>", "<", "+", "||", …
std::string_view BinaryOpText(BinaryOp op);
bool IsComparison(BinaryOp op);  // = <> < <= > >=
bool IsOrdering(BinaryOp op);    // < <= > >=
bool IsArithmetic(BinaryOp op);  // + - * / %

// True when `s` is well-formed UTF-8.
bool IsValidUtf8(std::string_view s);

// Position of the leftmost token of a node (its start in the file).
SourcePos StartPos(const Node& node);

}  // namespace plinth::expr

namespace plinth::expr {

// kInvalidArgument status summarising the errors recorded in `diags` from index `first` on:
// "<what>: file:line:column: message (and N more errors)".
Status ErrorsSince(const Diagnostics& diags, size_t first, std::string_view what);

// Deepest nesting a tree may have; deeper input is refused by Parse so that the recursive
// checker, printer and renderer stay within a small stack.
inline constexpr int kMaxTreeDepth = 400;

}  // namespace plinth::expr

namespace plinth::expr {

// Binding strength of a node in the grammar, loosest first. An operand binds at least as
// tightly as its operator requires or is parenthesised.
enum class Level : int {
  kOr = 1,
  kAnd = 2,
  kNot = 3,
  kPredicate = 4,       // comparisons, is null, in, like, between
  kAdditive = 5,        // + - ||
  kMultiplicative = 6,  // * / %
  kUnaryMinus = 7,
  kPrimary = 8,         // literals, columns, calls, [not] exists, parenthesised expressions
};
Level LevelOf(const Node& node);
inline bool operator<(Level a, Level b) { return static_cast<int>(a) < static_cast<int>(b); }
inline bool operator<=(Level a, Level b) { return static_cast<int>(a) <= static_cast<int>(b); }

}  // namespace plinth::expr
