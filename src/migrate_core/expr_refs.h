// migrate_core/expr_refs.h — what a stored (canonical) expression refers to, and renaming
// tables and columns inside it (internal to the migrate_core layer).
//
// Check constraints, partial-index predicates and policies are stored as canonical expression
// text (expr.h). Replaying a migration must know which columns and tables an expression uses
// (a column used by a policy cannot be dropped) and must follow renames the way the database
// does (PostgreSQL stores expressions as trees, so renaming a column renames it inside every
// policy). This unit does that with a token-level reading of the expression: no type checking
// and no schema of its own, so it works on any replayed state.
//
// Name resolution follows SQL: inside `exists (select 1 from T [as] A where …)` a qualified
// name `A.col` (or `T.col` when there is no alias) refers to T; an unqualified name refers to
// the innermost table in scope that has such a column, else to the main table. Function names
// (`length(`, `auth.user_id(`) are never columns.
//
// Thread-safety: reentrant.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "plinth/status.h"

namespace plinth::migrate::internal {

// Whether `table` has a column named `column` in the state being examined.
using HasColumnFn = std::function<bool(std::string_view table, std::string_view column)>;

struct ColumnRef {
  std::string table;
  std::string column;
  bool operator==(const ColumnRef& o) const = default;
};

struct ExprRefs {
  std::vector<ColumnRef> columns;   // in order of appearance, repeated as often as written
  std::vector<std::string> tables;  // tables named by `exists (select 1 from T …)`
};

// Reads the references of `expr`, an expression on table `main_table`. Errors when the text is
// not an expression this layer can read (an unbalanced parenthesis, a malformed exists, an
// unterminated string).
Result<ExprRefs> CollectRefs(std::string_view expr, std::string_view main_table, const HasColumnFn& has_column);

// `expr` (on `main_table`) with every reference to table `from` renamed to `to`: the table in
// `exists (… from T …)` and qualifiers naming the table. `main_table` and `has_column` describe
// the state before the rename.
Result<std::string> RenameTableInExpr(std::string_view expr, std::string_view main_table,
                                      const HasColumnFn& has_column, std::string_view from, std::string_view to);

// `expr` (on `main_table`) with every reference to column `table`.`from` renamed to `to`.
// `has_column` describes the state before the rename. Errors when the new name would be
// captured by another table in scope (the expression would change meaning).
Result<std::string> RenameColumnInExpr(std::string_view expr, std::string_view main_table,
                                       const HasColumnFn& has_column, std::string_view table,
                                       std::string_view from, std::string_view to);

}  // namespace plinth::migrate::internal
