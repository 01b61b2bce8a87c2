#include "expr/values.h"

#include <algorithm>
#include <cctype>
#include <cstdio>

namespace plinth::expr {
namespace {

bool IsHex(char c) { return std::isxdigit(static_cast<unsigned char>(c)) != 0; }
bool IsAsciiDigit(char c) { return c >= '0' && c <= '9'; }

// Reads exactly `n` digits at s[i…]; false when they are not all digits.
bool Digits(std::string_view s, size_t i, size_t n, int& out) {
  if (i + n > s.size()) return false;
  out = 0;
  for (size_t k = 0; k < n; ++k) {
    if (!IsAsciiDigit(s[i + k])) return false;
    out = out * 10 + (s[i + k] - '0');
  }
  return true;
}

bool IsLeapYear(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int DaysInMonth(int y, int m) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && IsLeapYear(y) ? 29 : kDays[m - 1];
}

constexpr int kMinYear = 1, kMaxYear = 9999;

// Parses YYYY-MM-DD at the start of `s`.
bool ParseDate(std::string_view s, int& y, int& m, int& d) {
  if (s.size() < 10 || s[4] != '-' || s[7] != '-') return false;
  if (!Digits(s, 0, 4, y) || !Digits(s, 5, 2, m) || !Digits(s, 8, 2, d)) return false;
  return y >= kMinYear && y <= kMaxYear && m >= 1 && m <= 12 && d >= 1 && d <= DaysInMonth(y, m);
}

// Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm), and back.
long long DaysFromCivil(int y, int m, int d) {
  y -= m <= 2;
  const long long era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<long long>(doe) - 719468;
}

void CivilFromDays(long long z, int& y, int& m, int& d) {
  z += 719468;
  const long long era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  d = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  m = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  y = static_cast<int>(yoe + era * 400 + (m <= 2));
}

}  // namespace

bool IsUuidText(std::string_view s) {
  static constexpr size_t kLength = 36;
  if (s.size() != kLength) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? s[i] != '-' : !IsHex(s[i])) return false;
  }
  return true;
}

std::string NormalizeUuid(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool IsDateText(std::string_view s) {
  int y, m, d;
  return s.size() == 10 && ParseDate(s, y, m, d);
}

std::optional<std::string> NormalizeTimestamp(std::string_view s) {
  int y, mo, d;
  if (!ParseDate(s, y, mo, d)) return std::nullopt;
  int h = 0, mi = 0, sec = 0, micros = 0, offset_minutes = 0;
  if (s.size() > 10) {
    size_t i = 10;
    if (s[i] != 'T' && s[i] != 't' && s[i] != ' ') return std::nullopt;
    ++i;
    if (!Digits(s, i, 2, h) || i + 2 >= s.size() || s[i + 2] != ':' || !Digits(s, i + 3, 2, mi) ||
        i + 5 >= s.size() || s[i + 5] != ':' || !Digits(s, i + 6, 2, sec)) {
      return std::nullopt;
    }
    i += 8;
    if (h > 23 || mi > 59 || sec > 59) return std::nullopt;
    if (i < s.size() && s[i] == '.') {
      ++i;
      constexpr int kMicroDigits = 6;
      int n = 0;
      while (i < s.size() && IsAsciiDigit(s[i])) {
        if (++n > kMicroDigits) return std::nullopt;
        micros = micros * 10 + (s[i] - '0');
        ++i;
      }
      if (n == 0) return std::nullopt;
      for (; n < kMicroDigits; ++n) micros *= 10;
    }
    if (i >= s.size()) return std::nullopt;  // RFC 3339 requires the offset
    if (s[i] == 'Z' || s[i] == 'z') {
      ++i;
    } else if (s[i] == '+' || s[i] == '-') {
      int oh, om;
      if (!Digits(s, i + 1, 2, oh) || i + 3 >= s.size() || s[i + 3] != ':' || !Digits(s, i + 4, 2, om) ||
          oh > 23 || om > 59) {
        return std::nullopt;
      }
      offset_minutes = (oh * 60 + om) * (s[i] == '-' ? -1 : 1);
      i += 6;
    } else {
      return std::nullopt;
    }
    if (i != s.size()) return std::nullopt;
  }
  // To UTC: local time minus the offset.
  constexpr long long kMinutesPerDay = 24 * 60;
  long long minutes = DaysFromCivil(y, mo, d) * kMinutesPerDay + h * 60 + mi - offset_minutes;
  long long days = minutes >= 0 ? minutes / kMinutesPerDay : -((-minutes + kMinutesPerDay - 1) / kMinutesPerDay);
  long long minute_of_day = minutes - days * kMinutesPerDay;
  CivilFromDays(days, y, mo, d);
  if (y < kMinYear || y > kMaxYear) return std::nullopt;
  char buf[40];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", y, mo, d,
                static_cast<int>(minute_of_day / 60), static_cast<int>(minute_of_day % 60), sec, micros);
  return std::string(buf);
}

std::optional<std::string> ClosestMatch(std::string_view name, const std::vector<std::string>& candidates) {
  auto distance = [](std::string_view a, std::string_view b) {
    std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
    for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
    for (size_t i = 1; i <= a.size(); ++i) {
      cur[0] = i;
      for (size_t j = 1; j <= b.size(); ++j) {
        size_t sub = prev[j - 1] + (std::tolower(static_cast<unsigned char>(a[i - 1])) ==
                                            std::tolower(static_cast<unsigned char>(b[j - 1]))
                                        ? 0
                                        : 1);
        cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, sub});
      }
      std::swap(prev, cur);
    }
    return prev[b.size()];
  };
  // A typo is at most two edits, and fewer than half of the name.
  constexpr size_t kMaxEdits = 2;
  std::optional<std::string> best;
  size_t best_distance = kMaxEdits + 1;
  for (const std::string& c : candidates) {
    size_t dist = distance(name, c);
    if (dist < best_distance && dist * 2 < std::max(name.size(), c.size())) {
      best = c;
      best_distance = dist;
    }
  }
  return best;
}

}  // namespace plinth::expr
