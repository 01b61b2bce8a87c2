// Canonical values: what a client may send for each logical type, what each database is given,
// and how each database's output is brought back to one form.
#include "data/values.h"

#include <openssl/rand.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <map>
#include <memory>
#include <vector>

#include "common/strings.h"
#include "data/statements.h"
#include "schema/literals.h"

namespace plinth::data::internal {
namespace {

using schema::TypeKind;

constexpr std::string_view kHexDigits = "0123456789abcdef";

Status Invalid(const schema::Column& c, const std::string& why) {
  return Status(Code::kInvalidArgument, "field " + c.name + ": " + why, "", c.name);
}

bool IsDigit(char ch) { return ch >= '0' && ch <= '9'; }

// Strict decimal integer text (optional sign, digits, nothing else) → int64.
std::optional<int64_t> ParseInt64(std::string_view text) {
  if (text.empty()) return std::nullopt;
  std::string_view digits = text;
  if (digits.front() == '+') digits.remove_prefix(1);
  if (digits.empty() || (digits.size() != text.size() && digits.front() == '-')) return std::nullopt;
  int64_t value = 0;
  const char* end = digits.data() + digits.size();
  auto [ptr, ec] = std::from_chars(digits.data(), end, value);
  if (ec != std::errc() || ptr != end) return std::nullopt;
  return value;
}

std::string HexOf(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char ch : bytes) {
    out.push_back(kHexDigits[ch >> 4]);
    out.push_back(kHexDigits[ch & 0xf]);
  }
  return out;
}

int HexValue(char ch) {
  if (ch >= '0' && ch <= '9') return ch - '0';
  if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
  if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
  return -1;
}

std::optional<std::string> UnHex(std::string_view hex) {
  if (hex.size() % 2 != 0) return std::nullopt;
  std::string out;
  out.reserve(hex.size() / 2);
  for (size_t i = 0; i < hex.size(); i += 2) {
    int hi = HexValue(hex[i]);
    int lo = HexValue(hex[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out.push_back(static_cast<char>(hi << 4 | lo));
  }
  return out;
}

// ---- JSON (jsonb's normal form) ------------------------------------------------------------

class JsonCanon {
 public:
  explicit JsonCanon(std::string_view in) : in_(in) {}

  Result<std::string> Run() {
    SkipSpace();
    auto v = Value(0);
    if (!v.ok()) return v.status();
    SkipSpace();
    if (pos_ != in_.size()) return Error("unexpected text after the JSON value");
    return std::move(v).value();
  }

 private:
  static constexpr int kMaxDepth = 256;

  Status Error(const std::string& why) const {
    return Status(Code::kInvalidArgument, "invalid JSON at offset " + std::to_string(pos_) + ": " + why);
  }

  void SkipSpace() {
    while (pos_ < in_.size() && (in_[pos_] == ' ' || in_[pos_] == '\t' || in_[pos_] == '\n' || in_[pos_] == '\r')) {
      ++pos_;
    }
  }

  bool Literal(std::string_view word) {
    if (in_.substr(pos_, word.size()) != word) return false;
    pos_ += word.size();
    return true;
  }

  Result<std::string> Value(int depth) {
    if (depth > kMaxDepth) return Error("nested too deeply");
    if (pos_ >= in_.size()) return Error("a value is missing");
    char ch = in_[pos_];
    if (ch == '{') return Object(depth);
    if (ch == '[') return Array(depth);
    if (ch == '"') {
      PLINTH_ASSIGN_OR_RETURN(std::string s, String());
      return JsonQuote(s);
    }
    if (ch == '-' || IsDigit(ch)) return Number();
    if (Literal("true")) return std::string("true");
    if (Literal("false")) return std::string("false");
    if (Literal("null")) return std::string("null");
    return Error("expected a value");
  }

  Result<std::string> Object(int depth) {
    ++pos_;  // {
    // jsonb: keys ordered by length, then bytes; a repeated key keeps its last value.
    auto less = [](const std::string& a, const std::string& b) {
      return a.size() != b.size() ? a.size() < b.size() : a < b;
    };
    std::map<std::string, std::string, decltype(less)> members(less);
    SkipSpace();
    if (pos_ < in_.size() && in_[pos_] == '}') {
      ++pos_;
      return std::string("{}");
    }
    while (true) {
      SkipSpace();
      if (pos_ >= in_.size() || in_[pos_] != '"') return Error("expected a string key");
      PLINTH_ASSIGN_OR_RETURN(std::string key, String());
      SkipSpace();
      if (pos_ >= in_.size() || in_[pos_] != ':') return Error("expected ':'");
      ++pos_;
      SkipSpace();
      PLINTH_ASSIGN_OR_RETURN(std::string value, Value(depth + 1));
      members[key] = std::move(value);
      SkipSpace();
      if (pos_ < in_.size() && in_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (pos_ < in_.size() && in_[pos_] == '}') {
        ++pos_;
        break;
      }
      return Error("expected ',' or '}'");
    }
    std::string out = "{";
    bool first = true;
    for (const auto& [k, v] : members) {
      if (!first) out += ",";
      first = false;
      out += JsonQuote(k) + ":" + v;
    }
    return out + "}";
  }

  Result<std::string> Array(int depth) {
    ++pos_;  // [
    std::string out = "[";
    SkipSpace();
    if (pos_ < in_.size() && in_[pos_] == ']') {
      ++pos_;
      return std::string("[]");
    }
    bool first = true;
    while (true) {
      SkipSpace();
      PLINTH_ASSIGN_OR_RETURN(std::string value, Value(depth + 1));
      if (!first) out += ",";
      first = false;
      out += value;
      SkipSpace();
      if (pos_ < in_.size() && in_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (pos_ < in_.size() && in_[pos_] == ']') {
        ++pos_;
        break;
      }
      return Error("expected ',' or ']'");
    }
    return out + "]";
  }

  // PostgreSQL numeric's text of a JSON number: the value with max(0, fraction digits -
  // exponent) digits after the point.
  Result<std::string> Number() {
    size_t start = pos_;
    bool negative = false;
    if (in_[pos_] == '-') {
      negative = true;
      ++pos_;
    }
    std::string int_digits, frac_digits;
    if (pos_ < in_.size() && in_[pos_] == '0') {
      int_digits = "0";
      ++pos_;
    } else {
      while (pos_ < in_.size() && IsDigit(in_[pos_])) int_digits += in_[pos_++];
    }
    if (int_digits.empty()) return Error("expected digits");
    if (pos_ < in_.size() && in_[pos_] == '.') {
      ++pos_;
      while (pos_ < in_.size() && IsDigit(in_[pos_])) frac_digits += in_[pos_++];
      if (frac_digits.empty()) return Error("expected digits after '.'");
    }
    int64_t exponent = 0;
    if (pos_ < in_.size() && (in_[pos_] == 'e' || in_[pos_] == 'E')) {
      ++pos_;
      bool exp_negative = false;
      if (pos_ < in_.size() && (in_[pos_] == '+' || in_[pos_] == '-')) exp_negative = in_[pos_++] == '-';
      std::string exp_digits;
      while (pos_ < in_.size() && IsDigit(in_[pos_])) exp_digits += in_[pos_++];
      if (exp_digits.empty()) return Error("expected digits in the exponent");
      constexpr size_t kMaxExponentDigits = 5;  // PostgreSQL numeric: |exponent| < 2^31, far below
      if (exp_digits.size() > kMaxExponentDigits) return Error("number out of range");
      exponent = std::stoll(exp_digits) * (exp_negative ? -1 : 1);
    }
    (void)start;
    const int64_t scale = std::max<int64_t>(0, static_cast<int64_t>(frac_digits.size()) - exponent);
    std::string digits = int_digits + frac_digits;
    int64_t point = static_cast<int64_t>(int_digits.size()) + exponent;  // digits before the point
    std::string whole, frac;
    if (point <= 0) {
      whole = "0";
      frac = std::string(static_cast<size_t>(-point), '0') + digits;
    } else if (point >= static_cast<int64_t>(digits.size())) {
      whole = digits + std::string(static_cast<size_t>(point) - digits.size(), '0');
    } else {
      whole = digits.substr(0, static_cast<size_t>(point));
      frac = digits.substr(static_cast<size_t>(point));
    }
    // Digits beyond `scale` are zeros by construction.
    frac.resize(static_cast<size_t>(scale), '0');
    size_t lead = whole.find_first_not_of('0');
    whole = lead == std::string::npos ? "0" : whole.substr(lead);
    bool zero = whole == "0" && frac.find_first_not_of('0') == std::string::npos;
    std::string out = negative && !zero ? "-" : "";
    out += whole;
    if (!frac.empty()) out += "." + frac;
    return out;
  }

  Result<std::string> String() {
    ++pos_;  // "
    std::string out;
    while (true) {
      if (pos_ >= in_.size()) return Error("unterminated string");
      unsigned char ch = static_cast<unsigned char>(in_[pos_]);
      if (ch == '"') {
        ++pos_;
        break;
      }
      if (ch < 0x20) return Error("control character in a string");
      if (ch != '\\') {
        out.push_back(static_cast<char>(ch));
        ++pos_;
        continue;
      }
      ++pos_;
      if (pos_ >= in_.size()) return Error("unterminated escape");
      char e = in_[pos_++];
      switch (e) {
        case '"': out.push_back('"'); break;
        case '\\': out.push_back('\\'); break;
        case '/': out.push_back('/'); break;
        case 'b': out.push_back('\b'); break;
        case 'f': out.push_back('\f'); break;
        case 'n': out.push_back('\n'); break;
        case 'r': out.push_back('\r'); break;
        case 't': out.push_back('\t'); break;
        case 'u': {
          PLINTH_ASSIGN_OR_RETURN(uint32_t cp, Hex4());
          if (cp >= 0xD800 && cp <= 0xDBFF) {
            if (in_.substr(pos_, 2) != "\\u") return Error("unpaired surrogate");
            pos_ += 2;
            PLINTH_ASSIGN_OR_RETURN(uint32_t lo, Hex4());
            if (lo < 0xDC00 || lo > 0xDFFF) return Error("invalid surrogate pair");
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
            return Error("unpaired surrogate");
          }
          if (cp == 0) return Error("\\u0000 cannot be stored (PostgreSQL text has no NUL)");
          AppendUtf8(out, cp);
          break;
        }
        default: return Error("invalid escape");
      }
    }
    if (!IsValidText(out)) return Error("string is not valid UTF-8");
    return out;
  }

  Result<uint32_t> Hex4() {
    if (pos_ + 4 > in_.size()) return Error("short \\u escape");
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) {
      int h = HexValue(in_[pos_++]);
      if (h < 0) return Error("bad \\u escape");
      v = v << 4 | static_cast<uint32_t>(h);
    }
    return v;
  }

  static void AppendUtf8(std::string& out, uint32_t cp) {
    if (cp < 0x80) {
      out.push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
      out.push_back(static_cast<char>(0xC0 | cp >> 6));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
      out.push_back(static_cast<char>(0xE0 | cp >> 12));
      out.push_back(static_cast<char>(0x80 | (cp >> 6 & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
      out.push_back(static_cast<char>(0xF0 | cp >> 18));
      out.push_back(static_cast<char>(0x80 | (cp >> 12 & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (cp >> 6 & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
  }

  std::string_view in_;
  size_t pos_ = 0;
};

// "2026-12-01 20:00:00.5+00", "…+05:30", "…-03:30:12" (PostgreSQL ISO output of timestamptz).
Result<std::string> PgTimestamp(std::string_view t) {
  // The common case, on every row a runtime reads: the session's TimeZone is UTC and the text
  // is "YYYY-MM-DD HH:MM:SS[.f…]+00", which is the canonical form with its separators and
  // fraction rewritten — no date arithmetic, no formatting.
  constexpr std::string_view kUtc = "+00";
  constexpr size_t kSecondsEnd = 19, kMicrosecondDigits = 6;
  if (t.size() >= kSecondsEnd + kUtc.size() && t.substr(t.size() - kUtc.size()) == kUtc && t[4] == '-' &&
      t[7] == '-' && t[10] == ' ' && t[13] == ':' && t[16] == ':') {
    const size_t end = t.size() - kUtc.size();
    bool plain = true;
    static constexpr size_t kDigitsAt[] = {0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18};
    for (size_t i : kDigitsAt) plain = plain && IsDigit(t[i]);
    size_t frac = 0;
    if (end > kSecondsEnd) {
      plain = plain && t[kSecondsEnd] == '.' && end - kSecondsEnd - 1 >= 1 && end - kSecondsEnd - 1 <= kMicrosecondDigits;
      for (size_t i = kSecondsEnd + 1; plain && i < end; ++i) plain = IsDigit(t[i]);
      frac = end - kSecondsEnd - 1;
    }
    if (plain) {
      std::string out;
      out.reserve(kSecondsEnd + 1 + kMicrosecondDigits + 1);
      out.append(t.substr(0, 10)).push_back('T');
      out.append(t.substr(11, 8)).push_back('.');
      out.append(t.substr(kSecondsEnd + 1, frac)).append(kMicrosecondDigits - frac, '0').push_back('Z');
      return out;
    }
  }
  auto bad = [&] { return Status(Code::kInternal, "unexpected timestamp from PostgreSQL: " + std::string(t)); };
  auto num = [&](size_t at, size_t n, int& out) {
    if (at + n > t.size()) return false;
    out = 0;
    for (size_t i = 0; i < n; ++i) {
      if (!IsDigit(t[at + i])) return false;
      out = out * 10 + (t[at + i] - '0');
    }
    return true;
  };
  schema::literals::TimestampParts p;
  if (!num(0, 4, p.year) || t.size() < 19 || t[4] != '-' || !num(5, 2, p.month) || t[7] != '-' ||
      !num(8, 2, p.day) || (t[10] != ' ' && t[10] != 'T') || !num(11, 2, p.hour) || t[13] != ':' ||
      !num(14, 2, p.minute) || t[16] != ':' || !num(17, 2, p.second)) {
    return bad();
  }
  size_t i = 19;
  if (i < t.size() && t[i] == '.') {
    ++i;
    std::string frac;
    while (i < t.size() && IsDigit(t[i])) frac += t[i++];
    frac.resize(6, '0');
    p.microsecond = std::stoi(frac);
  }
  if (i < t.size() && (t[i] == '+' || t[i] == '-')) {
    int sign = t[i] == '-' ? -1 : 1;
    int oh = 0, om = 0, os = 0;
    if (!num(i + 1, 2, oh)) return bad();
    i += 3;
    if (i < t.size() && t[i] == ':') {
      if (!num(i + 1, 2, om)) return bad();
      i += 3;
      if (i < t.size() && t[i] == ':') {
        if (!num(i + 1, 2, os)) return bad();
        i += 3;
      }
    }
    (void)os;  // second-level offsets exist only for local mean time before 1900
    p.offset_minutes = sign * (oh * 60 + om);
  } else if (i < t.size() && t[i] == 'Z') {
    ++i;
  }
  if (i != t.size()) return bad();
  auto r = schema::literals::CanonicalTimestamp(p);
  if (!r.ok()) return bad();
  return r;
}

// SQLite stores decimals as INTEGER or REAL (NUMERIC affinity); rendered with `scale` digits.
Result<std::string> SqliteDecimal(const schema::Column& c, std::string_view text) {
  auto exact = schema::literals::CanonicalDecimal(text, std::max(c.type.precision, 1000), c.type.scale);
  if (exact.ok()) return exact;
  std::string s(text);
  char* end = nullptr;
  errno = 0;
  double v = std::strtod(s.c_str(), &end);
  if (end == s.c_str() || *end != '\0' || !std::isfinite(v)) {
    return Status(Code::kInternal, "unexpected decimal in column " + c.name + ": " + s);
  }
  char buf[512];
  int n = std::snprintf(buf, sizeof buf, "%.*f", c.type.scale, v);
  if (n <= 0 || static_cast<size_t>(n) >= sizeof buf) {
    return Status(Code::kInternal, "decimal out of range in column " + c.name);
  }
  std::string out(buf, static_cast<size_t>(n));
  if (out.find_first_not_of("-0.") == std::string::npos && !out.empty() && out[0] == '-') out.erase(0, 1);
  return out;
}

}  // namespace

bool IsValidText(std::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    unsigned char ch = static_cast<unsigned char>(text[i]);
    if (ch == 0) return false;
    if (ch < 0x80) {
      ++i;
      continue;
    }
    int extra = 0;
    uint32_t cp = 0;
    if ((ch & 0xE0) == 0xC0) {
      extra = 1;
      cp = ch & 0x1F;
    } else if ((ch & 0xF0) == 0xE0) {
      extra = 2;
      cp = ch & 0x0F;
    } else if ((ch & 0xF8) == 0xF0) {
      extra = 3;
      cp = ch & 0x07;
    } else {
      return false;
    }
    if (i + static_cast<size_t>(extra) >= text.size()) return false;
    for (int k = 1; k <= extra; ++k) {
      unsigned char cc = static_cast<unsigned char>(text[i + static_cast<size_t>(k)]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = cp << 6 | (cc & 0x3F);
    }
    // Overlong forms, surrogates and code points past U+10FFFF are not UTF-8.
    static constexpr uint32_t kMin[] = {0, 0x80, 0x800, 0x10000};
    if (cp < kMin[extra] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += static_cast<size_t>(extra) + 1;
  }
  return true;
}

Result<std::string> CanonicalJson(std::string_view text) { return JsonCanon(text).Run(); }

std::string CompactJsonText(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char ch = text[i];
    if (in_string) {
      out.push_back(ch);
      if (ch == '\\' && i + 1 < text.size()) {
        out.push_back(text[++i]);
      } else if (ch == '"') {
        in_string = false;
      }
      continue;
    }
    if (ch == ' ' || ch == '\n' || ch == '\t' || ch == '\r') continue;
    if (ch == '"') in_string = true;
    out.push_back(ch);
  }
  return out;
}

Result<std::string> CanonicalInput(const schema::Schema& s, const schema::Column& c, std::string_view text) {
  auto wrap = [&](Result<std::string> r) -> Result<std::string> {
    if (r.ok()) return r;
    return Invalid(c, r.status().message());
  };
  switch (c.type.kind) {
    case TypeKind::kUuid: return wrap(schema::literals::CanonicalUuid(text));
    case TypeKind::kText: {
      if (!IsValidText(text)) return Invalid(c, "text must be valid UTF-8 without NUL characters");
      if (c.type.max_length > 0) {
        size_t n = schema::literals::Utf8Length(text);
        if (n > static_cast<size_t>(c.type.max_length)) {
          return Invalid(c, "at most " + std::to_string(c.type.max_length) + " characters allowed, got " +
                                std::to_string(n));
        }
      }
      return std::string(text);
    }
    case TypeKind::kInteger:
    case TypeKind::kBigint: {
      std::optional<int64_t> v = ParseInt64(text);
      if (!v) return Invalid(c, "'" + std::string(text) + "' is not an integer");
      if (c.type.kind == TypeKind::kInteger &&
          (*v < std::numeric_limits<int32_t>::min() || *v > std::numeric_limits<int32_t>::max())) {
        return Invalid(c, std::string(text) + " is out of range for a 32-bit integer");
      }
      return std::to_string(*v);
    }
    case TypeKind::kBoolean: {
      std::string lower = ToLower(text);
      if (lower == "true" || lower == "t" || lower == "1") return std::string("true");
      if (lower == "false" || lower == "f" || lower == "0") return std::string("false");
      return Invalid(c, "'" + std::string(text) + "' is not a boolean (true or false)");
    }
    case TypeKind::kDecimal:
      return wrap(schema::literals::CanonicalDecimal(text, c.type.precision, c.type.scale));
    case TypeKind::kTimestamp: return wrap(schema::literals::CanonicalTimestamp(text));
    case TypeKind::kDate: return wrap(schema::literals::CanonicalDate(text));
    case TypeKind::kJson: return wrap(CanonicalJson(text));
    case TypeKind::kBytes: return std::string(text);
    case TypeKind::kEnum: {
      const schema::Enum* e = s.FindEnum(c.type.enum_name);
      if (e == nullptr) return Status(Code::kInternal, "enum " + c.type.enum_name + " is not in the schema");
      if (std::find(e->values.begin(), e->values.end(), text) == e->values.end()) {
        return Invalid(c, "'" + std::string(text) + "' is not a value of " + e->name + " (" + Join(e->values, ", ") +
                              ")");
      }
      return std::string(text);
    }
  }
  return Invalid(c, "unsupported type");
}

std::string BindText(Dialect d, const schema::Column& c, bool stored_bytes, const std::string& canonical) {
  if (stored_bytes) return d == Dialect::kPostgres ? "\\x" + HexOf(canonical) : canonical;
  if (c.type.kind == TypeKind::kBoolean && d == Dialect::kSqlite) return canonical == "true" ? "1" : "0";
  return canonical;
}

Result<std::string> CanonicalOutput(Dialect d, const schema::Column& c, bool stored_bytes, std::string_view text) {
  const bool pg = d == Dialect::kPostgres;
  if (stored_bytes) {
    if (!pg) return std::string(text);
    if (text.size() < 2 || text[0] != '\\' || text[1] != 'x') {
      return Status(Code::kInternal, "unexpected bytea output in column " + c.name);
    }
    auto raw = UnHex(text.substr(2));
    if (!raw) return Status(Code::kInternal, "unexpected bytea output in column " + c.name);
    return std::move(*raw);
  }
  switch (c.type.kind) {
    case TypeKind::kBoolean:
      if (text == "t" || text == "1" || text == "true") return std::string("true");
      if (text == "f" || text == "0" || text == "false") return std::string("false");
      return Status(Code::kInternal, "unexpected boolean in column " + c.name + ": " + std::string(text));
    case TypeKind::kTimestamp:
      if (pg) return PgTimestamp(text);
      return std::string(text);
    case TypeKind::kDecimal:
      if (pg) return std::string(text);
      return SqliteDecimal(c, text);
    case TypeKind::kJson:
      if (pg) return CompactJsonText(text);
      return std::string(text);
    default: return std::string(text);
  }
}

// RAND_bytes costs microseconds per call (OpenSSL 3's DRBG locking), more than the rest of an
// insert's preparation: ids are cut from a per-thread block of its output instead. The block
// belongs to the process that drew it — a forked child draws its own, so parent and child
// never hand out the same ids.
std::string NewUuid() {
  constexpr size_t kUuidBytes = 16, kBlockUuids = 256;
  struct Block {
    unsigned char bytes[kUuidBytes * kBlockUuids];
    size_t used = kBlockUuids;
    pid_t owner = 0;
  };
  thread_local Block block;
  const pid_t pid = ::getpid();
  if (block.used == kBlockUuids || block.owner != pid) {
    if (RAND_bytes(block.bytes, sizeof block.bytes) != 1) {
      // The process cannot produce random numbers: nothing sensible can go on.
      std::abort();
    }
    block.used = 0;
    block.owner = pid;
  }
  unsigned char* b = block.bytes + kUuidBytes * block.used++;
  b[6] = static_cast<unsigned char>((b[6] & 0x0F) | 0x40);
  b[8] = static_cast<unsigned char>((b[8] & 0x3F) | 0x80);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(36);
  for (size_t i = 0; i < kUuidBytes; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out.push_back('-');
    out.push_back(kHex[b[i] >> 4]);
    out.push_back(kHex[b[i] & 0x0F]);
  }
  std::memset(b, 0, kUuidBytes);  // drawn ids do not linger in the block
  return out;
}

Result<std::string> CanonicalUuidText(std::string_view text) { return schema::literals::CanonicalUuid(text); }

std::string Base64UrlEncode(std::string_view bytes) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  size_t i = 0;
  while (i + 3 <= bytes.size()) {
    uint32_t v = static_cast<uint32_t>(static_cast<unsigned char>(bytes[i])) << 16 |
                 static_cast<uint32_t>(static_cast<unsigned char>(bytes[i + 1])) << 8 |
                 static_cast<unsigned char>(bytes[i + 2]);
    out.push_back(kAlphabet[v >> 18 & 63]);
    out.push_back(kAlphabet[v >> 12 & 63]);
    out.push_back(kAlphabet[v >> 6 & 63]);
    out.push_back(kAlphabet[v & 63]);
    i += 3;
  }
  size_t rest = bytes.size() - i;
  if (rest == 1) {
    uint32_t v = static_cast<uint32_t>(static_cast<unsigned char>(bytes[i])) << 16;
    out.push_back(kAlphabet[v >> 18 & 63]);
    out.push_back(kAlphabet[v >> 12 & 63]);
  } else if (rest == 2) {
    uint32_t v = static_cast<uint32_t>(static_cast<unsigned char>(bytes[i])) << 16 |
                 static_cast<uint32_t>(static_cast<unsigned char>(bytes[i + 1])) << 8;
    out.push_back(kAlphabet[v >> 18 & 63]);
    out.push_back(kAlphabet[v >> 12 & 63]);
    out.push_back(kAlphabet[v >> 6 & 63]);
  }
  return out;
}

std::optional<std::string> Base64UrlDecode(std::string_view text) {
  auto value = [](char ch) -> int {
    if (ch >= 'A' && ch <= 'Z') return ch - 'A';
    if (ch >= 'a' && ch <= 'z') return ch - 'a' + 26;
    if (ch >= '0' && ch <= '9') return ch - '0' + 52;
    if (ch == '-') return 62;
    if (ch == '_') return 63;
    return -1;
  };
  if (text.size() % 4 == 1) return std::nullopt;
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (char ch : text) {
    int v = value(ch);
    if (v < 0) return std::nullopt;
    acc = acc << 6 | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>(acc >> bits & 0xFF));
    }
  }
  // Leftover bits must be zero (one canonical encoding per byte string).
  if ((acc & ((1u << bits) - 1)) != 0) return std::nullopt;
  return out;
}

bool VersionLess(std::string_view a, std::string_view b) {
  auto strip = [](std::string_view v) {
    size_t lead = v.find_first_not_of('0');
    return lead == std::string_view::npos ? std::string_view() : v.substr(lead);
  };
  std::string_view x = strip(a), y = strip(b);
  if (x.size() != y.size()) return x.size() < y.size();
  if (x != y) return x < y;
  return a < b;
}

}  // namespace plinth::data::internal
