// plinth/data.h — the data runtime: reads and writes for a principal, on either database, with
// the schema's row policies enforced, the tenant carried in every query, field encryption, and
// an audit row in the same transaction as every write.
//
// Enforcement (docs/policies.md):
// - PostgreSQL: native RLS. Every batch starts with the principal's claims set as
//   transaction-local settings (plinth.tenant_id, plinth.user_id, plinth.role, plinth.roles,
//   plinth.permissions) — by `SELECT set_config(…, true)` in the batch's implicit transaction
//   (ContextStrategy::kSetConfig, default) or by `BEGIN; SET LOCAL …; …; COMMIT` in the same
//   flush (kSetLocal, for Citus). The policies created by the migrations read them through
//   auth.tenant_id() … The runtime connects as a role that owns nothing, is not superuser and
//   has no BYPASSRLS; Open refuses a connection that can bypass RLS unless told otherwise.
// - SQLite: the same policy expressions (schema::Policy, checked expr::Node trees) compiled to
//   SQL predicates that every statement of this runtime carries: USING in the WHERE of reads,
//   updates and deletes; CHECK evaluated on the new row of inserts and updates (an update may
//   not move a row out of the policy) and failing the statement through plinth_raise('42501',
//   …). Permissive policies of a command are OR-ed, restrictive ones AND-ed, no permissive
//   policy = no rows (PostgreSQL's semantics). The principal's claims are bound as parameters.
// - Both: queries on tenant-scoped tables also carry `tenant_id = $tenant` themselves (defence
//   in depth; the leading column of every key). A principal without a tenant sees no row of a
//   tenant-scoped table and cannot write one (kPermissionDenied), never all rows.
// One conformance suite (tests/data/) runs the same cases on both databases and requires
// identical answers.
//
// Round trips: Get, List, Insert, Update, Delete and Transact of independent writes each run as
// one db::Batch — on PostgreSQL one round trip holding the claims, the statement(s) and the
// audit insert. A row the principal may not see is kNotFound, the same as a missing one.
//
// Values: text in a canonical form per logical type (schema.h, Default::value): uuid lower-case
// 8-4-4-4-12; integer/bigint decimal; boolean "true"/"false"; decimal plain notation; timestamp
// RFC 3339 UTC with microseconds and 'Z' (2026-12-01T20:00:00.000000Z); date YYYY-MM-DD; json
// compact text; bytes raw bytes; enum the value's name. Inputs are validated and canonicalised
// against the column before any database work (kInvalidArgument naming the field); outputs of
// both databases come back in this same form.
//
// Errors (Status codes): kNotFound, kInvalidArgument (field named in Status::object),
// kAlreadyExists / kConstraintViolation (constraint named in Status::object), kPolicyViolation,
// kPermissionDenied (no tenant context, table not writable), kUnavailable, kDeadlineExceeded,
// kCommitUnknown, kRetryable (retry budget spent).
//
// Thread-safety: a Runtime is immutable after Open and safe to use from any thread and any
// number of coroutines at once.
#pragma once

#include <boost/asio/awaitable.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "plinth/database.h"
#include "plinth/schema.h"
#include "plinth/status.h"

namespace plinth::data {

namespace asio = boost::asio;

// Who a request runs as. Filled by the auth layer from an API key or an access token.
struct Principal {
  enum class Kind : unsigned char { kAnonymous, kUser, kApiKey, kSystem };
  Kind kind = Kind::kAnonymous;
  std::string tenant_id;                  // canonical uuid; empty = no tenant context
  std::string user_id;                    // canonical uuid; empty = none
  std::string role;                       // auth.role()
  std::vector<std::string> roles;         // auth.has_role('…')
  std::vector<std::string> permissions;   // "resource:action", auth.has_permission(r, a)
  std::string credential_id;              // API key id or session id (audit: "via")
};

// Where a request comes from, for audit rows and deadlines.
struct RequestInfo {
  std::string request_id;
  std::string ip;
  std::string user_agent;
  db::Clock::time_point deadline = db::Clock::time_point::max();
};

using Value = std::optional<std::string>;  // canonical text; nullopt = NULL

// Rows of one table: `columns` are the selected columns in order, each row holds one value per
// column.
struct RowSet {
  const schema::Table* table = nullptr;
  std::vector<const schema::Column*> columns;
  std::vector<std::vector<Value>> rows;
};

enum class FilterOp : unsigned char {
  kEq, kNe, kGt, kGe, kLt, kLe,
  kLike, kILike,   // SQL LIKE patterns ('%', '_'); ilike case-insensitive on both databases
  kIn,             // values = the list
  kIsNull, kIsNotNull, kIsTrue, kIsFalse,
};

// A filter tree. Leaves compare a column with text values (validated against the column's
// type); inner nodes combine children.
struct Filter {
  enum class Kind : unsigned char { kAll, kCondition, kAnd, kOr, kNot };
  Kind kind = Kind::kAll;  // kAll = no condition
  std::string column;
  FilterOp op = FilterOp::kEq;
  std::vector<std::string> values;
  std::vector<Filter> children;
};

struct OrderBy {
  std::string column;
  bool descending = false;
  std::optional<bool> nulls_first;  // default: the database's (PostgreSQL: nulls last for asc)
};

struct ListQuery {
  Filter where;
  std::vector<OrderBy> order;        // a unique tiebreak (the primary key) is always appended
  int64_t limit = 100;               // 1..max_list_limit
  int64_t offset = 0;
  std::string after;                 // keyset cursor from ListResult::next_cursor ("" = start)
  std::vector<std::string> select;   // columns; empty = every column the API may return
  bool count_exact = false;          // also count every matching row (same policies)
};

struct ListResult {
  RowSet rows;
  std::optional<int64_t> total;      // when count_exact
  std::string next_cursor;           // keyset cursor for the next page ("" = last page)
};

using Fields = std::vector<std::pair<std::string, Value>>;  // column → value, in body order

// One write of a transaction.
struct Write {
  enum class Kind : unsigned char { kInsert, kUpsert, kUpdate, kDelete };
  Kind kind = Kind::kInsert;
  std::string table;
  std::string id;  // kUpdate, kDelete: the row's id (primary key column "id")
  Fields fields;   // kInsert, kUpsert, kUpdate
};

// Encryption of `encrypted = true` columns (implemented over the crypto layer's keyring).
// `aad` binds table, column and row key so a ciphertext moved elsewhere does not decrypt.
class FieldCipher {
 public:
  virtual ~FieldCipher() = default;
  virtual Result<std::string> Encrypt(std::string_view plaintext, std::string_view aad) const = 0;
  virtual Result<std::string> Decrypt(std::string_view blob, std::string_view aad) const = 0;
};

enum class ContextStrategy : unsigned char { kSetConfig, kSetLocal };

struct RuntimeOptions {
  ContextStrategy context = ContextStrategy::kSetConfig;
  const FieldCipher* cipher = nullptr;  // required when the schema has encrypted columns
  int64_t max_list_limit = 1000;
  // PostgreSQL: refuse to run when the connected role is superuser, has BYPASSRLS, is a member
  // of a role that is or has either, or owns (directly or through membership) a table in
  // `public` (the policies would not bind it). Tests of the mutants switch this off.
  bool require_unprivileged_role = true;
  // PostgreSQL: refuse to run when a table the schema gives row security lacks ENABLE or FORCE
  // ROW LEVEL SECURITY in the database, or the audit table is missing.
  bool require_forced_row_security = true;
  // PostgreSQL: the pool the platform admin's bypass runs on — connected as a role with
  // BYPASSRLS that is not superuser and owns nothing (RoleOptions::admin_role). Used by
  // AdminList / AdminTransact only; without it they fail with kFailedPrecondition. No other
  // call can reach it, and the runtime role itself has no way to bypass a policy. SQLite needs
  // none (the runtime simply does not apply the predicates on that path).
  std::unique_ptr<db::Database> admin_database;
};

struct Health {
  db::Ping ping;
  db::PoolStats pool;
  std::string backend;            // "sqlite" / "postgresql"
  std::string migration_version;  // highest applied version, "" = none
  bool migrations_at_head = false;
};

class Runtime {
 public:
  // Validates the options against the schema (cipher present when needed) and, on PostgreSQL,
  // the connected role (see RuntimeOptions). `head_version` is the last migration of the app,
  // for Health.
  static asio::awaitable<Result<std::unique_ptr<Runtime>>> Open(schema::Schema schema,
                                                                std::unique_ptr<db::Database> db,
                                                                RuntimeOptions options,
                                                                std::string head_version);
  virtual ~Runtime() = default;

  virtual const schema::Schema& schema() const = 0;
  virtual db::Database& database() = 0;

  virtual asio::awaitable<Result<RowSet>> Get(const Principal& p, const RequestInfo& r,
                                              std::string_view table, std::string_view id,
                                              std::vector<std::string> select = {}) = 0;
  virtual asio::awaitable<Result<ListResult>> List(const Principal& p, const RequestInfo& r,
                                                   std::string_view table, ListQuery query) = 0;
  // Returns the inserted row (all API-visible columns). The id is generated by plinth when
  // absent (uuid v4), so encrypted columns can bind it as associated data.
  virtual asio::awaitable<Result<RowSet>> Insert(const Principal& p, const RequestInfo& r,
                                                 std::string_view table, Fields fields) = 0;
  // Insert, or update the row with the same primary key — only if the principal may update
  // it: another tenant's key is never overwritten (it is a different key: tenant_id leads it).
  virtual asio::awaitable<Result<RowSet>> Upsert(const Principal& p, const RequestInfo& r,
                                                 std::string_view table, Fields fields) = 0;
  virtual asio::awaitable<Result<RowSet>> Update(const Principal& p, const RequestInfo& r,
                                                 std::string_view table, std::string_view id,
                                                 Fields fields) = 0;
  virtual asio::awaitable<Status> Delete(const Principal& p, const RequestInfo& r,
                                         std::string_view table, std::string_view id) = 0;
  // Several writes as one transaction, each with its audit row; all or nothing.
  virtual asio::awaitable<Result<std::vector<RowSet>>> Transact(const Principal& p,
                                                                const RequestInfo& r,
                                                                std::vector<Write> writes) = 0;

  // The platform admin's bypass of the tenant policies: `writes` (or, when empty, a List of
  // `table` with `query`) run without the tenant restriction, and an audit row naming the
  // admin principal and `reason` is written in the same transaction. `reason` is required.
  virtual asio::awaitable<Result<ListResult>> AdminList(const Principal& admin, const RequestInfo& r,
                                                        std::string_view reason,
                                                        std::string_view table, ListQuery query) = 0;
  virtual asio::awaitable<Result<std::vector<RowSet>>> AdminTransact(const Principal& admin,
                                                                     const RequestInfo& r,
                                                                     std::string_view reason,
                                                                     std::vector<Write> writes) = 0;

  virtual asio::awaitable<Health> CheckHealth(db::Clock::time_point deadline) = 0;
};

// ---- Roles (PostgreSQL) -------------------------------------------------------------------
//
// The roles a plinth deployment runs with (docs/policies.md, "Roles and grants"):
// - the owner (migration) role: owns the tables, the `auth` and `plinth` schemas and their
//   functions; runs `plinth migrate`. Every policy table has FORCE ROW LEVEL SECURITY, so even
//   the owner is bound by the policies.
// - the runtime role: what the server connects as. LOGIN NOSUPERUSER NOBYPASSRLS NOINHERIT,
//   owns nothing; SELECT/INSERT/UPDATE/DELETE on the app's tables (never TRUNCATE, REFERENCES
//   or TRIGGER), SELECT and INSERT only on plinth_audit, SELECT only on plinth_migrations,
//   USAGE on the schemas and sequences, EXECUTE on the support functions — now and, through
//   ALTER DEFAULT PRIVILEGES FOR ROLE <owner>, for everything later migrations create.
// - optionally the admin role: like the runtime role but with BYPASSRLS, for the audited
//   platform-admin bypass (RuntimeOptions::admin_database).
// The statements are idempotent (roles created when missing, attributes re-asserted) and run as
// a superuser (BYPASSRLS can only be granted by one). `plinth roles` prints or applies them.
struct RoleOptions {
  std::string database;      // GRANT CONNECT (and CREATE for the owner) on it
  std::string owner_role;
  std::string runtime_role;
  std::string admin_role;    // "" = no admin bypass role
  // "" = leave the password as it is (e.g. certificate or peer authentication).
  std::string owner_password;
  std::string runtime_password;
  std::string admin_password;
};

// kInvalidArgument when a name is empty, longer than 63 bytes, or two roles share a name.
Result<std::vector<std::string>> RoleStatements(const RoleOptions& options);

}  // namespace plinth::data
