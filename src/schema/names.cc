// Identifier rules and "did you mean" suggestions.
#include "schema/names.h"

#include <algorithm>
#include <cctype>

#include "common/strings.h"
#include "plinth/schema.h"

namespace plinth::schema::names {

size_t EditDistance(std::string_view a, std::string_view b) {
  // Optimal string alignment distance over three rolling rows.
  std::vector<size_t> two_back(b.size() + 1), prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        cur[j] = std::min(cur[j], two_back[j - 2] + 1);
      }
    }
    two_back.swap(prev);
    prev.swap(cur);
  }
  return prev[b.size()];
}

std::string ClosestMatch(std::string_view word, const std::vector<std::string>& candidates) {
  // A typo changes a few characters; allow one edit per three characters, at most three.
  constexpr size_t kMaxEdits = 3;
  constexpr size_t kCharsPerEdit = 3;
  std::string lowered = ToLower(word);
  size_t limit = std::min(kMaxEdits, std::max<size_t>(1, word.size() / kCharsPerEdit));
  std::string best;
  size_t best_distance = limit + 1;
  for (const std::string& c : candidates) {
    size_t d = EditDistance(lowered, c);
    if (d < best_distance) {
      best_distance = d;
      best = c;
    }
  }
  return best;
}

std::string SuggestionHint(std::string_view word, const std::vector<std::string>& candidates) {
  std::string close = ClosestMatch(word, candidates);
  if (!close.empty()) return "did you mean '" + close + "'?";
  if (candidates.empty()) return {};
  return "expected one of: " + Join(candidates, ", ");
}

std::optional<NameProblem> CheckIdentifier(std::string_view name, std::string_view what, bool check_reserved) {
  const std::string quoted = "'" + std::string(name) + "'";
  if (name.empty()) return NameProblem{std::string(what) + " is empty", "write a name such as 'customers'"};
  bool syntax_ok = !std::isdigit(static_cast<unsigned char>(name[0]));
  for (char c : name) {
    syntax_ok = syntax_ok && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_');
  }
  if (!syntax_ok) {
    std::string fixed = ToLower(name);
    for (char& c : fixed) {
      if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) c = '_';
    }
    if (!fixed.empty() && std::isdigit(static_cast<unsigned char>(fixed[0]))) fixed = "_" + fixed;
    // The suggestion must itself be usable ('Order' → 'orders', not the keyword 'order').
    if (check_reserved && IsReservedName(fixed) && !StartsWith(fixed, "plinth_") && !StartsWith(fixed, "sqlite_") &&
        !StartsWith(fixed, "pg_")) {
      fixed += "s";
    }
    return NameProblem{std::string(what) + " " + quoted +
                           " is not a valid identifier: use lower-case letters, digits and '_', not starting with a digit",
                       "rename it, e.g. '" + fixed + "'"};
  }
  if (name.size() > kMaxIdentifierBytes) {
    return NameProblem{std::string(what) + " " + quoted + " is " + std::to_string(name.size()) +
                           " bytes long; identifiers have at most 63",
                       "choose a shorter name"};
  }
  if (check_reserved && IsReservedName(name)) {
    for (std::string_view prefix : {"plinth_", "sqlite_", "pg_"}) {
      if (StartsWith(name, prefix)) {
        return NameProblem{std::string(what) + " " + quoted + " starts with '" + std::string(prefix) +
                               "', which is reserved for " +
                               (prefix == "plinth_" ? "plinth's own objects" : "the database's own objects"),
                           "choose a name without that prefix"};
      }
    }
    return NameProblem{std::string(what) + " " + quoted + " is reserved (an SQL keyword or a name plinth or the "
                           "database uses itself)",
                       "choose another name, e.g. '" + std::string(name) + "s' or a more specific word"};
  }
  return std::nullopt;
}

}  // namespace plinth::schema::names
