// api/rest_internal.h — helpers shared by the pure REST units (internal to the api layer).
//
// Thread-safety: all functions are reentrant.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "plinth/schema.h"
#include "plinth/status.h"

namespace plinth::rest::internal {

// A value as shown inside an error message: single-quoted, at most kShownLength characters of
// it (then "…"), control characters as \xNN, so a huge or binary input never floods a message.
inline constexpr size_t kShownLength = 40;
std::string Shown(std::string_view value);

// How a column's type is named in messages: "integer", "text(200)", "decimal(18,2)",
// "enum subscription_tier".
std::string TypeLabel(const schema::Column& c);

// "unknown column 'titel' in documents (did you mean 'title'?)" — candidates are the names the
// caller may use (hidden columns are never suggested).
std::string UnknownColumnMessage(const schema::Table& t, std::string_view name,
                                 const std::vector<std::string>& candidates);

std::vector<std::string> ReturnedColumnNames(const schema::Table& t);

// Strict decimal integer: optional '-', digits, within [min, max].
enum class IntParse : unsigned char { kOk, kNotInteger, kOutOfRange };
IntParse ParseInteger(std::string_view text, int64_t min, int64_t max, int64_t& out);

// Range of an integer column type (32 or 64 bits).
int64_t IntegerMin(schema::TypeKind k);
int64_t IntegerMax(schema::TypeKind k);

// Plain decimal notation (optional '-', digits, optional '.' digits), normalised: no leading
// zeros, no trailing fractional zeros, "0" for zero. nullopt when not plain notation.
std::optional<std::string> NormalizePlainDecimal(std::string_view text);

// The enum's values, or nullptr when the column is not an enum of the schema.
const std::vector<std::string>* EnumValues(const schema::Schema& s, const schema::Column& c);

// "a, b, c" (at most `max_shown` names, then ", …").
std::string ListNames(const std::vector<std::string>& names, size_t max_shown = 12);

// True when `text` is valid UTF-8 (no overlong forms, no surrogates, at most U+10FFFF).
bool ValidUtf8(std::string_view text);

}  // namespace plinth::rest::internal
