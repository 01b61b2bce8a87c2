// data/values.h — the canonical text form of each logical column type (include/plinth/data.h,
// "Values"): input validation and canonicalisation, the text bound for each database, and the
// normalisation of what each database returns (internal to the data layer).
//
// Thread-safety: all functions are reentrant.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "plinth/expr.h"
#include "plinth/schema.h"
#include "plinth/status.h"

namespace plinth::data::internal {

using expr::Dialect;

// Validates `text` against the column's logical type and returns its canonical form. Errors are
// kInvalidArgument with Status::object = the column name and a message naming it.
Result<std::string> CanonicalInput(const schema::Schema& s, const schema::Column& c, std::string_view text);

// The text to bind for a canonical value of the column's *stored* form. `stored_bytes` is true
// for bytes columns and encrypted columns (whose canonical stored value is the ciphertext):
// PostgreSQL takes bytea as "\x<hex>", SQLite the raw bytes (cast to BLOB by the statement);
// booleans are 1/0 on SQLite.
std::string BindText(Dialect d, const schema::Column& c, bool stored_bytes, const std::string& canonical);

// A database's output text for the column (as stored: ciphertext for encrypted columns) in the
// canonical form. PostgreSQL: booleans t/f, timestamptz with any offset, bytea hex, jsonb with
// spaces; SQLite: booleans 0/1, decimals as REAL text, blobs raw.
Result<std::string> CanonicalOutput(Dialect d, const schema::Column& c, bool stored_bytes, std::string_view text);

// JSON in PostgreSQL jsonb's normal form without whitespace: object keys ordered by length then
// bytes with the last duplicate winning, numbers as PostgreSQL numeric prints them (1e2 → 100,
// 1.50 → 1.50), strings with only the escapes jsonb writes (\" \\ \b \f \n \r \t, \u00xx for
// other control characters). \u0000 and invalid UTF-8 are refused, as jsonb refuses them.
Result<std::string> CanonicalJson(std::string_view text);

// Removes whitespace outside JSON strings (PostgreSQL jsonb output → the compact form).
std::string CompactJsonText(std::string_view text);

// True when `text` is valid UTF-8 without NUL characters (what PostgreSQL text accepts).
bool IsValidText(std::string_view text);

// A random version-4 uuid, canonical.
std::string NewUuid();

// Canonical uuid or error (for principal fields).
Result<std::string> CanonicalUuidText(std::string_view text);

// Base64url without padding, and its inverse (nullopt on bad input).
std::string Base64UrlEncode(std::string_view bytes);
std::optional<std::string> Base64UrlDecode(std::string_view text);

// Numeric version order ("0999" < "1000").
bool VersionLess(std::string_view a, std::string_view b);

}  // namespace plinth::data::internal
