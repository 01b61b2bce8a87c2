// expr/values.h — the text formats string literals must have to stand for a uuid, a timestamp,
// a date or an enum value, and their normal forms (internal).
//
// Thread-safety: reentrant.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace plinth::expr {

// 8-4-4-4-12 hex digits (either case).
bool IsUuidText(std::string_view s);
// Lower-case form of a uuid literal (the form SQLite stores).
std::string NormalizeUuid(std::string_view s);

// 'YYYY-MM-DD', a real calendar date in years 0001..9999.
bool IsDateText(std::string_view s);

// RFC 3339 (`2024-01-31T12:00:00Z`, `2024-01-31 12:00:00.5+02:00`; at most 6 fractional
// digits) or a date (midnight UTC). Returns the instant as stored: UTC, 6 fractional digits,
// 'Z' (`2024-01-31T10:00:00.500000Z`); nullopt when `s` is not such a timestamp.
std::optional<std::string> NormalizeTimestamp(std::string_view s);

// The candidate closest to `name` by edit distance, when close enough to be a likely typo.
std::optional<std::string> ClosestMatch(std::string_view name, const std::vector<std::string>& candidates);

}  // namespace plinth::expr
