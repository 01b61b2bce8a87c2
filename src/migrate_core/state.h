// migrate_core/state.h — helpers on schema states shared by replay, the differ, the inverse
// and the linter (internal to the migrate_core layer).
//
// Thread-safety: reentrant.
#pragma once

#include <set>
#include <string>
#include <string_view>

#include "plinth/migrate.h"
#include "plinth/schema.h"

namespace plinth::migrate::internal {

// PostgreSQL's identifier limit (NAMEDATALEN - 1), also the limit of an enum label.
inline constexpr size_t kMaxIdentifierBytes = 63;

// [a-z_][a-z0-9_]*, at most 63 bytes: the names plinth gives database objects.
bool IsIdentifier(std::string_view name);

// The support components a state holds or needs: `support` ∪ schema::RequiredSupport.
std::set<std::string> EffectiveSupport(const schema::Schema& s);

// The first difference in stored state between `a` and `b` ("" when they are the same):
// enums (values in order), tables, columns (by name: column order is ignored), constraints,
// indexes, policies, table options and effective support. File-only attributes and the app
// configuration are ignored.
std::string StateDifference(const schema::Schema& a, const schema::Schema& b);

// Whether `t` has a key — primary key, unique constraint or unique index without predicate —
// over exactly the column set `cols` (what a foreign key may reference).
bool HasKeyOn(const schema::Table& t, const std::vector<std::string>& cols);

// A table definition as an operation carries it: stored attributes only (positions, comments,
// hints and API exposure cleared), indexes and policies left out.
schema::Table StoredTableDef(const schema::Table& t);
schema::Column StoredColumn(const schema::Column& c);
schema::Constraint StoredConstraint(const schema::Constraint& c);
schema::Index StoredIndex(const schema::Index& i);
schema::Policy StoredPolicy(const schema::Policy& p);
schema::Enum StoredEnum(const schema::Enum& e);

// Whether changing a column from `from` to `to` can lose data: narrowing a text length, a
// decimal's scale or integer digits, bigint → integer, a change of type kind other than
// integer → bigint and uuid/enum → a text long enough for every value, a change of enum type,
// and turning encryption on or off. `state` gives the enum values (for enum → text(n)).
bool ColumnChangeLosesData(const schema::Column& from, const schema::Column& to, const schema::Schema& state);

// Whether `op`, applied to `before`, destroys data (the rule behind Op::data_loss):
// drop_table, drop_column, replace_enum removing values, alter_column per
// ColumnChangeLosesData.
bool OpLosesData(const schema::Schema& before, const Op& op);

// The inverse of `op` against `before` (Invert without the check that `op` applies: the
// caller guarantees it). Fails only for raw_sql.
Result<Op> InverseOf(const schema::Schema& before, const Op& op);

// Whether changing a column's type from `from` to `to` rewrites the table on PostgreSQL ≥ 12.
// Widening varchar(n) (or removing the limit) and widening numeric precision at the same scale
// are binary-compatible and do not.
bool TypeChangeRewrites(const schema::Type& from, const schema::Type& to);

}  // namespace plinth::migrate::internal
