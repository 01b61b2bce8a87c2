// Canonical default literals per column type.
#include "schema/literals.h"

#include <cctype>
#include <cstdio>
#include <limits>

namespace plinth::schema::literals {

namespace {

Status Invalid(std::string message) { return Status(Code::kInvalidArgument, std::move(message)); }

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsHex(char c) { return std::isxdigit(static_cast<unsigned char>(c)) != 0; }

// Reads exactly `n` digits at text[pos...] into `out`.
bool ReadDigits(std::string_view text, size_t pos, size_t n, int& out) {
  if (pos + n > text.size()) return false;
  out = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (!IsDigit(text[i])) return false;
    out = out * 10 + (text[i] - '0');
  }
  return true;
}

constexpr int kMinYear = 1;
constexpr int kMaxYear = 9999;
constexpr int kMaxOffsetMinutes = 18 * 60;  // RFC 3339 / ISO 8601 practical bound
constexpr int kMicrosecondDigits = 6;
constexpr int kMaxJsonDepth = 512;

bool IsLeapYear(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int DaysInMonth(int y, int m) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && IsLeapYear(y) ? 29 : kDays[m - 1];
}

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
int64_t DaysFromCivil(int64_t y, int m, int d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

void CivilFromDays(int64_t z, int64_t& y, int& m, int& d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const int64_t doe = z - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  d = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  m = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  y = yoe + era * 400 + (m <= 2);
}

Status ValidateDate(int year, int month, int day) {
  if (year < kMinYear || year > kMaxYear) return Invalid("year " + std::to_string(year) + " is out of range 1..9999");
  if (month < 1 || month > 12) return Invalid("month " + std::to_string(month) + " does not exist");
  if (day < 1 || day > DaysInMonth(year, month)) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "%04d-%02d", year, month);
    return Invalid(std::string(buf) + " has no day " + std::to_string(day));
  }
  return Status::Ok();
}

std::string FormatDate(int64_t year, int month, int day) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04lld-%02d-%02d", static_cast<long long>(year), month, day);
  return buf;
}

// Recursive-descent JSON validator that copies the input without insignificant whitespace.
class JsonCompactor {
 public:
  explicit JsonCompactor(std::string_view text) : text_(text) {}

  Result<std::string> Run() {
    SkipSpace();
    if (!Value(0)) return Invalid(error_);
    SkipSpace();
    if (pos_ != text_.size()) return Invalid(At("unexpected text after the JSON value"));
    return out_;
  }

 private:
  std::string At(const std::string& what) const {
    return "invalid JSON at character " + std::to_string(pos_ + 1) + ": " + what;
  }
  bool Fail(const std::string& what) {
    if (error_.empty()) error_ = At(what);
    return false;
  }
  void SkipSpace() {
    while (pos_ < text_.size() &&
           (text_[pos_] == ' ' || text_[pos_] == '\t' || text_[pos_] == '\n' || text_[pos_] == '\r')) {
      ++pos_;
    }
  }
  bool Peek(char c) const { return pos_ < text_.size() && text_[pos_] == c; }

  bool Value(int depth) {
    if (depth > kMaxJsonDepth) return Fail("nested deeper than " + std::to_string(kMaxJsonDepth) + " levels");
    if (pos_ >= text_.size()) return Fail("expected a value, found the end");
    char c = text_[pos_];
    if (c == '{') return Object(depth);
    if (c == '[') return Array(depth);
    if (c == '"') return String();
    if (c == '-' || IsDigit(c)) return Number();
    for (std::string_view word : {"true", "false", "null"}) {
      if (text_.substr(pos_, word.size()) == word) {
        out_ += word;
        pos_ += word.size();
        return true;
      }
    }
    return Fail("expected a value (object, array, string, number, true, false or null)");
  }

  bool Object(int depth) {
    out_ += '{';
    ++pos_;
    SkipSpace();
    if (Peek('}')) {
      out_ += '}';
      ++pos_;
      return true;
    }
    for (;;) {
      SkipSpace();
      if (!Peek('"')) return Fail("expected a string key");
      if (!String()) return false;
      SkipSpace();
      if (!Peek(':')) return Fail("expected ':' after the key");
      out_ += ':';
      ++pos_;
      SkipSpace();
      if (!Value(depth + 1)) return false;
      SkipSpace();
      if (Peek(',')) {
        out_ += ',';
        ++pos_;
        continue;
      }
      if (Peek('}')) {
        out_ += '}';
        ++pos_;
        return true;
      }
      return Fail("expected ',' or '}'");
    }
  }

  bool Array(int depth) {
    out_ += '[';
    ++pos_;
    SkipSpace();
    if (Peek(']')) {
      out_ += ']';
      ++pos_;
      return true;
    }
    for (;;) {
      SkipSpace();
      if (!Value(depth + 1)) return false;
      SkipSpace();
      if (Peek(',')) {
        out_ += ',';
        ++pos_;
        continue;
      }
      if (Peek(']')) {
        out_ += ']';
        ++pos_;
        return true;
      }
      return Fail("expected ',' or ']'");
    }
  }

  bool String() {
    size_t start = pos_++;
    while (pos_ < text_.size()) {
      unsigned char c = static_cast<unsigned char>(text_[pos_]);
      if (c == '"') {
        ++pos_;
        out_ += text_.substr(start, pos_ - start);
        return true;
      }
      if (c < 0x20) return Fail("control character in a string (escape it)");
      if (c == '\\') {
        ++pos_;
        if (pos_ >= text_.size()) break;
        char e = text_[pos_];
        if (e == 'u') {
          for (int i = 1; i <= 4; ++i) {
            if (pos_ + i >= text_.size() || !IsHex(text_[pos_ + i])) return Fail("\\u needs 4 hex digits");
          }
          pos_ += 5;
          continue;
        }
        if (std::string_view("\"\\/bfnrt").find(e) == std::string_view::npos) {
          return Fail(std::string("unknown escape \\") + e);
        }
      }
      ++pos_;
    }
    return Fail("unterminated string");
  }

  bool Number() {
    size_t start = pos_;
    if (Peek('-')) ++pos_;
    if (Peek('0')) {
      ++pos_;
    } else if (pos_ < text_.size() && IsDigit(text_[pos_])) {
      while (pos_ < text_.size() && IsDigit(text_[pos_])) ++pos_;
    } else {
      return Fail("expected a digit");
    }
    if (Peek('.')) {
      ++pos_;
      if (pos_ >= text_.size() || !IsDigit(text_[pos_])) return Fail("expected a digit after '.'");
      while (pos_ < text_.size() && IsDigit(text_[pos_])) ++pos_;
    }
    if (Peek('e') || Peek('E')) {
      ++pos_;
      if (Peek('+') || Peek('-')) ++pos_;
      if (pos_ >= text_.size() || !IsDigit(text_[pos_])) return Fail("expected a digit in the exponent");
      while (pos_ < text_.size() && IsDigit(text_[pos_])) ++pos_;
    }
    out_ += text_.substr(start, pos_ - start);
    return true;
  }

  std::string_view text_;
  size_t pos_ = 0;
  std::string out_;
  std::string error_;
};

}  // namespace

size_t Utf8Length(std::string_view text) {
  size_t n = 0;
  for (char c : text) {
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++n;
  }
  return n;
}

Result<std::string> CanonicalInteger(int64_t value, int bits) {
  if (bits == 32 && (value < std::numeric_limits<int32_t>::min() || value > std::numeric_limits<int32_t>::max())) {
    return Invalid(std::to_string(value) + " is out of range for integer (-2147483648..2147483647)");
  }
  return std::to_string(value);
}

Result<std::string> CanonicalDecimal(std::string_view text, int precision, int scale) {
  size_t i = 0;
  bool negative = false;
  if (i < text.size() && (text[i] == '+' || text[i] == '-')) negative = text[i++] == '-';
  std::string int_digits, frac_digits;
  while (i < text.size() && IsDigit(text[i])) int_digits += text[i++];
  bool has_point = i < text.size() && text[i] == '.';
  if (has_point) {
    ++i;
    while (i < text.size() && IsDigit(text[i])) frac_digits += text[i++];
  }
  if (i != text.size() || (int_digits.empty() && frac_digits.empty())) {
    return Invalid("'" + std::string(text) + "' is not a decimal number in plain notation (e.g. 12.50)");
  }
  size_t lead = int_digits.find_first_not_of('0');
  int_digits = lead == std::string::npos ? "" : int_digits.substr(lead);
  while (!frac_digits.empty() && frac_digits.back() == '0') frac_digits.pop_back();
  const std::string type = "decimal(" + std::to_string(precision) + "," + std::to_string(scale) + ")";
  if (static_cast<int>(frac_digits.size()) > scale) {
    return Invalid(std::string(text) + " has " + std::to_string(frac_digits.size()) +
                   " digits after the point; " + type + " keeps " + std::to_string(scale));
  }
  if (static_cast<int>(int_digits.size()) > precision - scale) {
    return Invalid(std::string(text) + " has " + std::to_string(int_digits.size()) +
                   " digits before the point; " + type + " allows " + std::to_string(precision - scale));
  }
  frac_digits.resize(static_cast<size_t>(scale), '0');
  bool zero = int_digits.empty() && frac_digits.find_first_not_of('0') == std::string::npos;
  std::string out = negative && !zero ? "-" : "";
  out += int_digits.empty() ? "0" : int_digits;
  if (scale > 0) out += "." + frac_digits;
  return out;
}

Result<std::string> CanonicalUuid(std::string_view text) {
  static constexpr size_t kUuidLength = 36;
  bool ok = text.size() == kUuidLength;
  for (size_t i = 0; ok && i < text.size(); ++i) {
    bool dash_here = i == 8 || i == 13 || i == 18 || i == 23;
    ok = dash_here ? text[i] == '-' : IsHex(text[i]);
  }
  if (!ok) {
    return Invalid("'" + std::string(text) + "' is not a uuid (expected 8-4-4-4-12 hex digits, e.g. "
                   "0b6f3c2e-9a41-4d0e-8f5c-2a7d3e1b9c44)");
  }
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

Result<std::string> CanonicalTimestamp(const TimestampParts& p) {
  PLINTH_RETURN_IF_ERROR(ValidateDate(p.year, p.month, p.day));
  if (p.hour < 0 || p.hour > 23 || p.minute < 0 || p.minute > 59 || p.second < 0 || p.second > 59) {
    return Invalid("the time of day is out of range (00:00:00 to 23:59:59)");
  }
  if (p.microsecond < 0 || p.microsecond > 999999) return Invalid("the fraction of a second is out of range");
  if (p.offset_minutes < -kMaxOffsetMinutes || p.offset_minutes > kMaxOffsetMinutes) {
    return Invalid("the UTC offset is out of range (at most 18 hours)");
  }
  constexpr int64_t kSecondsPerDay = 86400;
  int64_t seconds = DaysFromCivil(p.year, p.month, p.day) * kSecondsPerDay + p.hour * 3600 + p.minute * 60 +
                    p.second - static_cast<int64_t>(p.offset_minutes) * 60;
  int64_t days = seconds >= 0 ? seconds / kSecondsPerDay : (seconds - kSecondsPerDay + 1) / kSecondsPerDay;
  int64_t in_day = seconds - days * kSecondsPerDay;
  int64_t year = 0;
  int month = 0, day = 0;
  CivilFromDays(days, year, month, day);
  if (year < kMinYear || year > kMaxYear) return Invalid("the instant in UTC is outside the years 1..9999");
  char buf[48];
  std::snprintf(buf, sizeof buf, "T%02d:%02d:%02d.%06dZ", static_cast<int>(in_day / 3600),
                static_cast<int>(in_day / 60 % 60), static_cast<int>(in_day % 60), p.microsecond);
  return FormatDate(year, month, day) + buf;
}

Result<std::string> CanonicalTimestamp(std::string_view text) {
  auto bad = [&](const std::string& why) {
    return Invalid("'" + std::string(text) + "' is not an RFC 3339 timestamp (" + why +
                   "); write e.g. 2026-11-21T10:00:00Z or 2026-11-21T11:00:00.5+01:00");
  };
  TimestampParts p;
  if (!ReadDigits(text, 0, 4, p.year) || text.size() < 10 || text[4] != '-' || !ReadDigits(text, 5, 2, p.month) ||
      text[7] != '-' || !ReadDigits(text, 8, 2, p.day)) {
    return bad("expected YYYY-MM-DD first");
  }
  if (text.size() == 10) return bad("the time of day is missing");
  if (text[10] != 'T' && text[10] != 't' && text[10] != ' ') return bad("expected 'T' after the date");
  if (!ReadDigits(text, 11, 2, p.hour) || text.size() < 19 || text[13] != ':' || !ReadDigits(text, 14, 2, p.minute) ||
      text[16] != ':' || !ReadDigits(text, 17, 2, p.second)) {
    return bad("expected HH:MM:SS after the date");
  }
  size_t i = 19;
  if (i < text.size() && text[i] == '.') {
    ++i;
    size_t start = i;
    while (i < text.size() && IsDigit(text[i])) ++i;
    size_t digits = i - start;
    if (digits == 0) return bad("expected digits after '.'");
    if (digits > kMicrosecondDigits) return bad("at most 6 fractional digits: timestamps keep microseconds");
    std::string frac(text.substr(start, digits));
    frac.resize(kMicrosecondDigits, '0');
    p.microsecond = std::stoi(frac);
  }
  if (i == text.size()) return bad("the UTC offset is missing: end with Z or an offset like +02:00");
  if (text[i] == 'Z' || text[i] == 'z') {
    ++i;
  } else if (text[i] == '+' || text[i] == '-') {
    int sign = text[i] == '-' ? -1 : 1;
    int oh = 0, om = 0;
    if (!ReadDigits(text, i + 1, 2, oh) || i + 3 >= text.size() || text[i + 3] != ':' ||
        !ReadDigits(text, i + 4, 2, om)) {
      return bad("expected an offset like +02:00");
    }
    if (oh > 23 || om > 59) return bad("the offset is out of range");
    p.offset_minutes = sign * (oh * 60 + om);
    i += 6;
  } else {
    return bad("expected Z or an offset like +02:00 after the time");
  }
  if (i != text.size()) return bad("unexpected text after the offset");
  Result<std::string> out = CanonicalTimestamp(p);
  if (!out.ok()) return bad(out.status().message());
  return out;
}

Result<std::string> CanonicalDate(int year, int month, int day) {
  PLINTH_RETURN_IF_ERROR(ValidateDate(year, month, day));
  return FormatDate(year, month, day);
}

Result<std::string> CanonicalDate(std::string_view text) {
  int y = 0, m = 0, d = 0;
  if (text.size() != 10 || !ReadDigits(text, 0, 4, y) || text[4] != '-' || !ReadDigits(text, 5, 2, m) ||
      text[7] != '-' || !ReadDigits(text, 8, 2, d)) {
    return Invalid("'" + std::string(text) + "' is not a date: write YYYY-MM-DD, e.g. 2026-11-21");
  }
  Result<std::string> out = CanonicalDate(y, m, d);
  if (!out.ok()) return Invalid("'" + std::string(text) + "' is not a valid date: " + out.status().message());
  return out;
}

Result<std::string> CompactJson(std::string_view text) { return JsonCompactor(text).Run(); }

Result<std::string> CanonicalBytes(std::string_view text) {
  std::string_view hex = text;
  if (hex.size() >= 2 && hex[0] == '\\' && (hex[1] == 'x' || hex[1] == 'X')) hex.remove_prefix(2);
  bool ok = hex.size() % 2 == 0;
  for (size_t i = 0; ok && i < hex.size(); ++i) ok = IsHex(hex[i]);
  if (!ok) {
    return Invalid("'" + std::string(text) + "' is not hex bytes: write an even number of hex digits, "
                   "e.g. \"deadbeef\" (optionally after \\\\x)");
  }
  std::string out(hex);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace plinth::schema::literals
