// schema/names.h — identifier rules and "did you mean" suggestions (internal to the schema
// layer).
//
// Thread-safety: all functions are reentrant.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace plinth::schema::names {

// PostgreSQL's identifier limit (NAMEDATALEN - 1), in bytes.
inline constexpr size_t kMaxIdentifierBytes = 63;

// Edit distance where a swap of two adjacent characters counts as one edit.
size_t EditDistance(std::string_view a, std::string_view b);

// The candidate closest to `word` when it is close enough to be a typo of it; empty otherwise.
std::string ClosestMatch(std::string_view word, const std::vector<std::string>& candidates);

// "did you mean 'x'?" when a candidate is close, else "expected one of: a, b, c".
std::string SuggestionHint(std::string_view word, const std::vector<std::string>& candidates);

struct NameProblem {
  std::string message;  // what is wrong, naming `what` ("table name 'Users' …")
  std::string hint;     // what to do
};

// Checks an identifier: [a-z_][a-z0-9_]*, at most 63 bytes, and (when `check_reserved`) not a
// name that IsReservedName refuses. `what` names the role, e.g. "table name".
std::optional<NameProblem> CheckIdentifier(std::string_view name, std::string_view what, bool check_reserved);

}  // namespace plinth::schema::names
