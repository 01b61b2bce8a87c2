// plinth/rest.h — the pure, database-free parts of the REST API: what a table exposes, the
// PostgREST-style list query language, request body validation, JSON rendering of rows, the
// `Prefer` header, problem+json bodies, the OpenAPI 3.1 document and the `/docs` page. The HTTP
// handlers (src/api) call these before and after the data runtime (data.h); docs/api.md is the
// user-facing description of the conventions implemented here.
//
// Contract:
// - Exposure follows the schema: a table with `api = "hidden"` has no resource, `read_only` has
//   GET only, an `append_only` table accepts POST but no PATCH/DELETE. A column's `access` decides
//   whether it is returned (read_write, read_only), accepted in a body (read_write, write_only),
//   filtered/ordered/selected (returned and not encrypted), or invisible (hidden: reported as an
//   unknown column, never named in errors or in the OpenAPI document). The tenant column of a
//   tenant-scoped table and the managed `created_at`/`updated_at` columns are returned but never
//   accepted in a body: the tenant comes from the principal, the timestamps from the database.
// - Parsing never stops at the first problem: every error is reported, each as a FieldError
//   naming the query parameter or body field, for an RFC 9457 problem with an `errors` array.
//   Values are checked against the column's type and returned in data.h's canonical text forms.
//   Every input is bounded (QueryLimits, BodyLimits): query length, nesting depth, values in
//   `in`, number of conditions, body nesting; no recursion deeper than those limits.
// - Rendering writes JSON text directly (no DOM): strings are escaped per RFC 8259 (control
//   characters as \uXXXX, U+2028/U+2029 escaped too), invalid UTF-8 becomes U+FFFD, values
//   follow the column's type (uuid/decimal/timestamp/date/enum as strings, integer and bigint as
//   numbers, json embedded as JSON, bytes as base64). Hidden and write-only columns are never
//   rendered, even when a RowSet carries them.
//
// Thread-safety: every function is reentrant and touches only its arguments; the schema is read,
// never modified.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "plinth/data.h"
#include "plinth/schema.h"
#include "plinth/status.h"

namespace plinth::rest {

// Where the table resources live: /api/v1/{table}, /api/v1/{table}/{id}.
inline constexpr std::string_view kApiPrefix = "/api/v1";
inline constexpr std::string_view kJsonContentType = "application/json";
inline constexpr std::string_view kProblemContentType = "application/problem+json";

// ---------------------------------------------------------------------------------------------
// Exposure

bool TableExposed(const schema::Table& t);         // api != hidden
bool TableAcceptsInsert(const schema::Table& t);   // api == read_write
bool TableAcceptsUpdate(const schema::Table& t);   // read_write and not append_only (PATCH)
bool TableAcceptsDelete(const schema::Table& t);   // read_write and not append_only
// The column that names one row in /api/v1/{table}/{id}: the primary key's only column other
// than the tenant column. nullptr when the key has several (role_permissions(role_id,
// permission_id)): such a table has list and POST routes but no item routes.
const schema::Column* ItemKeyColumn(const schema::Schema& s, const schema::Table& t);

bool IsTenantColumn(const schema::Schema& s, const schema::Table& t, const schema::Column& c);
// created_at / updated_at of a table with `timestamps = true`.
bool IsManagedTimestamp(const schema::Table& t, const schema::Column& c);
bool ColumnReturned(const schema::Column& c);    // read_write or read_only
bool ColumnFilterable(const schema::Column& c);  // returned and not encrypted (filter and order)
// Accepted in a POST/PATCH body: read_write or write_only, not the tenant column, not a managed
// timestamp.
bool ColumnAccepted(const schema::Schema& s, const schema::Table& t, const schema::Column& c);
// Must be present in an insert body: accepted, not null, no default.
bool ColumnRequiredOnInsert(const schema::Schema& s, const schema::Table& t, const schema::Column& c);

// ---------------------------------------------------------------------------------------------
// Errors

// One problem with one input: `field` is the query parameter ("title", "order", "or") or the
// body field ("title"); empty for the request as a whole (a body that is not JSON).
struct FieldError {
  std::string field;
  std::string message;
  bool operator==(const FieldError& o) const = default;
};
using FieldErrors = std::vector<FieldError>;

// HTTP status of the errors of each stage: a query that does not parse or does not fit the
// table → 400; a body that is not a JSON object → 400; a JSON object whose fields do not fit the
// table → 422 (Unprocessable Content).
inline constexpr int kQueryErrorStatus = 400;
inline constexpr int kMalformedBodyStatus = 400;
inline constexpr int kInvalidBodyStatus = 422;

// An RFC 9457 problem. Rendered as {"type", "title", "status", "detail"[, "instance"]
// [, "errors": [{"field", "message"}…]]}; `type` defaults to "about:blank".
struct Problem {
  int status = 400;
  std::string title;   // short, per status ("Bad Request"); StatusTitle(status) when empty
  std::string detail;  // what happened, for a person
  std::string type;    // URI; empty = "about:blank"
  std::string instance;
  FieldErrors errors;
};
std::string ProblemJson(const Problem& p);
// The reason phrase of an HTTP status ("Unprocessable Content" for 422), "Error" when unknown.
std::string_view StatusTitle(int status);

// ---------------------------------------------------------------------------------------------
// List queries (PostgREST conventions; docs/api.md)
//
//   col=op.value              eq neq gt gte lt lte like ilike in is; `not.` before any operator
//   like/ilike: `*` stands for `%`        in.(a,b,"c,d")  ("…" quotes , ( ) with \" and \\)
//   is.null is.not_null is.true is.false is.unknown
//   or=(a.eq.1,b.gt.2)  and=(…)  not.or=(…)  not.and=(…), nested: or=(a.eq.1,and(b.gt.2,c.lt.3))
//   order=col.desc.nullslast,col2       limit=20  offset=40  select=a,b  after=<cursor>
// Several filters are AND-ed. Operators per type: text all but is.true/false; uuid, numbers,
// timestamp, date: comparisons, in, is.null; boolean: eq, neq, in, is; enum: eq, neq, in, is.null;
// json and bytes: is.null only. Encrypted, hidden and write-only columns are not filterable.

using QueryParams = std::vector<std::pair<std::string, std::string>>;  // decoded, in order

struct QueryLimits {
  int64_t default_limit = 100;
  int64_t max_limit = 1000;        // = data::RuntimeOptions::max_list_limit
  int64_t max_offset = 100000;     // deeper pages: keyset (after=)
  size_t max_query_length = 8192;  // bytes of all decoded keys and values
  int max_depth = 8;               // nesting of or/and groups (a top-level or=(…) is depth 1)
  size_t max_in_values = 1000;     // values of one `in`
  size_t max_conditions = 100;     // comparisons in the whole query
  size_t max_order_terms = 16;
  size_t max_cursor_length = 2048;
};
// The depth QueryLimits::max_depth is clamped to, whatever is configured.
inline constexpr int kMaxFilterDepth = 32;

// Parameter names that are never columns: select, order, limit, offset, after, or, and,
// not.or, not.and. (A column with one of these names can still be filtered inside and=(…).)
bool IsReservedParameter(std::string_view name);

struct ParsedListQuery {
  data::ListQuery query;  // limit = QueryLimits::default_limit unless given
  FieldErrors errors;
  bool ok() const { return errors.empty(); }
};
// For GET /api/v1/{table}. Filter values come out canonical (data.h); the filter tree is kAll
// when there is no filter, the single condition when there is one, else a kAnd of them.
ParsedListQuery ParseListQuery(const schema::Schema& s, const schema::Table& t, const QueryParams& params,
                               const QueryLimits& limits);

struct ParsedItemQuery {
  std::vector<std::string> select;  // empty = every returned column
  FieldErrors errors;
  bool ok() const { return errors.empty(); }
};
// For GET/PATCH/DELETE /api/v1/{table}/{id} and POST: only `select` is allowed.
ParsedItemQuery ParseItemQuery(const schema::Schema& s, const schema::Table& t, const QueryParams& params,
                               const QueryLimits& limits);

// The {id} path segment checked against ItemKeyColumn (e.g. a uuid), in canonical form; the
// error's field is the key column's name.
Result<std::string> ParseItemId(const schema::Schema& s, const schema::Table& t, std::string_view id);

// ---------------------------------------------------------------------------------------------
// Bodies

enum class WriteKind : unsigned char {
  kInsert,  // POST: required fields must be present
  kUpsert,  // POST with Prefer: resolution=merge-duplicates: as kInsert
  kUpdate,  // PATCH: every field optional, at least one, the key cannot change
};

struct BodyLimits {
  int max_depth = 64;       // nesting of the whole document (the body object is depth 1)
  size_t max_fields = 500;  // members of the body object
};

struct ParsedBody {
  data::Fields fields;  // canonical values (data.h), in body order
  FieldErrors errors;
  bool malformed = false;  // not JSON / not an object / too deep: one error, status 400
  bool ok() const { return errors.empty(); }
  int status() const { return malformed ? kMalformedBodyStatus : kInvalidBodyStatus; }
};
// Validates a JSON body against the table: unknown fields, fields that cannot be written
// (read-only, the tenant column, managed timestamps, the key on update), wrong JSON types, values
// out of range (integer range, text length in characters, decimal precision and scale, enum
// membership, uuid, RFC 3339 timestamps with an offset, dates, base64 bytes), null for not-null
// columns, missing required fields. JSON `null` is SQL NULL (also for json columns). Decimals
// are accepted as strings or numbers (plain notation). The parser is nlohmann-json's SAX
// interface with a depth limit, so deep documents are refused, never recursed into.
ParsedBody ParseBody(const schema::Schema& s, const schema::Table& t, std::string_view json, WriteKind kind,
                     const BodyLimits& limits);

// ---------------------------------------------------------------------------------------------
// JSON rendering (the hot path of every GET)

// Appends `text` as a JSON string literal.
void AppendJsonString(std::string& out, std::string_view text);
// Appends one row as a JSON object of the returned columns of `rows`, in RowSet order.
void AppendRowJson(std::string& out, const data::RowSet& rows, size_t row);
std::string RowJson(const data::RowSet& rows, size_t row);
// The list response: {"items": [rows…], "next_cursor": "…" | null, "next": "<link>" | null
// [, "total": N when the query asked for count=exact]}. `next_link` is the URL of the next page
// (NextLink) or empty on the last page.
std::string ListJson(const data::ListResult& result, std::string_view next_link);
// The URL of the next page: `path` with `params` minus offset/after, plus after=<cursor>,
// percent-encoded. Empty when `cursor` is empty.
std::string NextLink(std::string_view path, const QueryParams& params, std::string_view cursor);
// Content-Range of a list page (PostgREST): "0-19/1000", "0-19/*" without a total,
// "*/1000" (or "*/*") for an empty page.
std::string ContentRange(int64_t offset, size_t row_count, std::optional<int64_t> total);
// Standard base64 with padding (RFC 4648 §4), the form bytes columns take in JSON.
std::string Base64Encode(std::string_view bytes);
// Accepts the standard and the URL-safe alphabets, with or without padding; no whitespace.
std::optional<std::string> Base64Decode(std::string_view text);

// ---------------------------------------------------------------------------------------------
// Prefer (RFC 7240; PostgREST's preferences)

struct Preferences {
  enum class Return : unsigned char { kRepresentation, kMinimal };
  Return return_mode = Return::kRepresentation;  // POST/PATCH answer with the row unless minimal
  bool count_exact = false;                      // count=exact: total in Content-Range and "total"
  bool merge_duplicates = false;                 // resolution=merge-duplicates: POST is an upsert
  // The preferences understood, canonical, for the Preference-Applied response header.
  std::vector<std::string> applied;
  std::string PreferenceApplied() const;  // "return=minimal, count=exact"; "" when none
};
// Parses the Prefer header (several header lines may be joined with ','). Unknown preferences
// and values are ignored (RFC 7240 §2); parameters after ';' are ignored.
Preferences ParsePrefer(std::string_view header);

// ---------------------------------------------------------------------------------------------
// OpenAPI and /docs

struct OpenApiOptions {
  std::string title;            // default: "<app name> API"
  std::string version = "1.0.0";
  std::string server_url = "/";
  QueryLimits limits;           // limit bounds documented for list parameters
  BodyLimits body_limits;
};
// The OpenAPI 3.1 document (JSON text) of the schema's exposed tables, the auth, health, metrics
// and documentation endpoints, with request examples built from the schema.
std::string OpenApiDocument(const schema::Schema& s, const OpenApiOptions& options);
// A self-contained HTML reference (no external resources; works offline) rendered from an
// OpenAPI document. kInvalidArgument when `openapi_json` is not a JSON object.
Result<std::string> DocsPage(std::string_view openapi_json);

}  // namespace plinth::rest
