// data/policy.h — the schema's row policies compiled to SQLite predicates with PostgreSQL's
// semantics (docs/policies.md, "SQLite"), internal to the data layer.
//
// For each table and command, exactly what PostgreSQL's rewriter adds (rowsecurity.c):
// - security quals (silent filters of existing rows): AND of the restrictive policies' USING,
//   AND the OR of the permissive policies' USING; no permissive policy → false. UPDATE and
//   DELETE also get the SELECT quals (plinth's statements always read columns).
// - with-check options (errors on a new row): first the OR of the permissive policies' WITH
//   CHECK (USING when a policy has none), then each restrictive policy on its own (so the error
//   names it); the SELECT policies' USING follow as checks because plinth's writes return the
//   row (RETURNING). ON CONFLICT DO UPDATE checks the existing row against the UPDATE and
//   SELECT USING as errors ("(USING expression)").
// - `exists (select … from r …)` inside a policy is a sub-select on r as the same user: r's own
//   SELECT quals are added inside the exists (recursively; a cycle is PostgreSQL's "infinite
//   recursion detected in policy for relation", 42P17).
// The principal's claims appear in the rendered SQL as markers (ClaimMarker) that the
// statement builder replaces with bound parameters.
//
// Thread-safety: a compiled Policies object is immutable.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "plinth/expr.h"
#include "plinth/schema.h"
#include "plinth/status.h"

namespace plinth::data::internal {

// A value of the principal that a policy reads.
struct Claim {
  enum class Kind : unsigned char { kTenant, kUser, kRole, kHasRole, kHasPermission };
  Kind kind = Kind::kTenant;
  std::string a;  // role name; permission resource
  std::string b;  // permission action
  bool operator<(const Claim& o) const {
    if (kind != o.kind) return kind < o.kind;
    if (a != o.a) return a < o.a;
    return b < o.b;
  }
  bool operator==(const Claim& o) const { return kind == o.kind && a == o.a && b == o.b; }
};

// Claims 0, 1, 2 are always the tenant, the user and the role.
inline constexpr int kTenantClaim = 0;
inline constexpr int kUserClaim = 1;
inline constexpr int kRoleClaim = 2;

// In rendered predicates a claim is "\x01<index>\x02".
inline constexpr char kClaimOpen = '\x01';
inline constexpr char kClaimClose = '\x02';
std::string ClaimMarker(int index);

// One with-check option: fails the statement with 42501 and `message` when `sql` is false or
// NULL for the new row.
struct Check {
  std::string sql;
  std::string message;
};

// The compiled policies of one table. Empty `filter` strings mean "no condition" only when
// `enabled` is false (row security off: every row is visible and writable).
struct TablePolicies {
  bool enabled = false;
  // A policy of this table (or of a table its exists reach) cannot be compiled, e.g. infinite
  // recursion: every statement on the table fails with it, as on PostgreSQL.
  Status error;
  std::string select_quals;  // existing rows a SELECT sees
  std::string update_quals;  // existing rows an UPDATE changes (UPDATE and SELECT quals)
  std::string delete_quals;  // existing rows a DELETE removes (DELETE and SELECT quals)
  std::vector<Check> insert_checks;    // new row of an INSERT (INSERT then SELECT policies)
  std::vector<Check> update_checks;    // new row of an UPDATE (UPDATE then SELECT policies)
  std::vector<Check> conflict_checks;  // existing row on the ON CONFLICT DO UPDATE path
  // SqliteCheckCase of each list, rendered once.
  std::string insert_case, update_case, conflict_case;
};

class Policies {
 public:
  // Compiles every table of `s` (the SQLite dialect). Fails only on a bug (a stored policy that
  // does not parse); per-table problems PostgreSQL reports at run time are in
  // TablePolicies::error.
  static Result<Policies> Compile(const schema::Schema& s);

  const TablePolicies& For(const std::string& table) const;
  const std::vector<Claim>& claims() const { return claims_; }

 private:
  std::map<std::string, TablePolicies> tables_;
  std::vector<Claim> claims_;
  friend class PolicyCompiler;
};

// "CASE WHEN NOT coalesce((c1), 0) THEN plinth_raise('42501', 'm1') … ELSE 1 END"; "1" when
// there are no checks.
std::string SqliteCheckCase(const std::vector<Check>& checks);

}  // namespace plinth::data::internal
