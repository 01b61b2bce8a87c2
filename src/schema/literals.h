// schema/literals.h — canonical text of default values, one function per column type
// (internal to the schema layer).
//
// The canonical forms are the ones `schema::Default::value` documents: two spellings of the same
// value give the same text, so the migration differ compares defaults as strings. Each function
// returns the canonical text or an error whose message says what is wrong with the literal (the
// caller adds where it is and which column it belongs to).
//
// Thread-safety: all functions are reentrant.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "plinth/status.h"

namespace plinth::schema::literals {

// Number of Unicode code points in UTF-8 text (what PostgreSQL's varchar(n) counts).
size_t Utf8Length(std::string_view text);

// An integer in plain decimal notation for a column of `bits` (32 or 64) bits.
Result<std::string> CanonicalInteger(int64_t value, int bits);

// A decimal written in plain notation ("-12.5", "+3", "0.125"; no exponent, no underscores)
// that fits numeric(precision, scale): returned with exactly `scale` digits after the point and
// no leading zeros ("12.50"). More fractional digits than `scale` (other than trailing zeros)
// or more integer digits than precision - scale are errors.
Result<std::string> CanonicalDecimal(std::string_view text, int precision, int scale);

// A uuid in the 8-4-4-4-12 hex form, returned lower-case.
Result<std::string> CanonicalUuid(std::string_view text);

// Calendar and clock fields of a timestamp with its UTC offset, as parsed from a file.
struct TimestampParts {
  int year = 0, month = 0, day = 0;
  int hour = 0, minute = 0, second = 0;
  int microsecond = 0;
  int offset_minutes = 0;  // east of UTC
};

// Validates the fields and returns the instant in UTC as "YYYY-MM-DDTHH:MM:SS.ffffffZ".
Result<std::string> CanonicalTimestamp(const TimestampParts& parts);
// Parses RFC 3339 ("2026-11-21T10:00:00Z", "2026-11-21 11:00:00.5+01:00"; 'T', 't' or a space
// between date and time; at most 6 fractional digits; the offset is required) and returns the
// canonical UTC form above.
Result<std::string> CanonicalTimestamp(std::string_view text);

// Validates a calendar date and returns "YYYY-MM-DD".
Result<std::string> CanonicalDate(int year, int month, int day);
// Parses "YYYY-MM-DD" and returns it after validating the calendar date.
Result<std::string> CanonicalDate(std::string_view text);

// Validates JSON text (RFC 8259) and returns it without whitespace outside strings; strings and
// numbers are kept as written, object keys in written order.
Result<std::string> CompactJson(std::string_view text);

// Hex digits (an even number, either case, optionally after PostgreSQL's "\x" prefix),
// returned as lower-case hex without prefix.
Result<std::string> CanonicalBytes(std::string_view text);

}  // namespace plinth::schema::literals
