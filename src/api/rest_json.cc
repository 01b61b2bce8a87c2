// JSON rendering of rows and list pages, written as text directly (the hot path of every GET),
// the next-page link and Content-Range (rest.h).
#include <algorithm>

#include "plinth/rest.h"

namespace plinth::rest {

using schema::Column;
using schema::TypeKind;

namespace {

constexpr char kHexDigits[] = "0123456789abcdef";
constexpr char kHexUpper[] = "0123456789ABCDEF";
constexpr std::string_view kReplacementChar = "\xEF\xBF\xBD";  // U+FFFD
// Nesting beyond this in a stored json value is rendered as a string (the copy below is
// iterative, this only bounds its small stack).
constexpr size_t kMaxStoredJsonDepth = 1024;

// Length of a valid UTF-8 sequence starting at s[i] (lead byte >= 0x80), 0 when invalid.
size_t Utf8SequenceLength(std::string_view s, size_t i) {
  unsigned char c = static_cast<unsigned char>(s[i]);
  size_t len = 0;
  uint32_t cp = 0;
  if ((c & 0xE0) == 0xC0) {
    len = 2;
    cp = c & 0x1F;
  } else if ((c & 0xF0) == 0xE0) {
    len = 3;
    cp = c & 0x0F;
  } else if ((c & 0xF8) == 0xF0) {
    len = 4;
    cp = c & 0x07;
  } else {
    return 0;
  }
  if (i + len > s.size()) return 0;
  for (size_t k = 1; k < len; ++k) {
    unsigned char cc = static_cast<unsigned char>(s[i + k]);
    if ((cc & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (cc & 0x3F);
  }
  static constexpr uint32_t kMinForLength[] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < kMinForLength[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return len;
}

bool IsJsonSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsHex(char c) { return IsDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

// Copies a JSON string literal starting at text[pos] == '"' after validating it (escapes,
// no raw control characters, valid UTF-8). Advances pos past the closing quote.
bool CopyJsonString(std::string_view text, size_t& pos, std::string& out) {
  size_t start = pos++;
  while (pos < text.size()) {
    unsigned char c = static_cast<unsigned char>(text[pos]);
    if (c == '"') {
      ++pos;
      out.append(text.substr(start, pos - start));
      return true;
    }
    if (c < 0x20) return false;
    if (c == '\\') {
      if (pos + 1 >= text.size()) return false;
      char e = text[pos + 1];
      if (e == 'u') {
        if (pos + 5 >= text.size()) return false;
        for (size_t k = 2; k <= 5; ++k) {
          if (!IsHex(text[pos + k])) return false;
        }
        pos += 6;
        continue;
      }
      if (std::string_view("\"\\/bfnrt").find(e) == std::string_view::npos) return false;
      pos += 2;
      continue;
    }
    if (c >= 0x80) {
      size_t len = Utf8SequenceLength(text, pos);
      if (len == 0) return false;
      pos += len;
      continue;
    }
    ++pos;
  }
  return false;
}

bool CopyJsonNumber(std::string_view text, size_t& pos, std::string& out) {
  size_t start = pos;
  if (pos < text.size() && text[pos] == '-') ++pos;
  if (pos < text.size() && text[pos] == '0') {
    ++pos;
  } else if (pos < text.size() && IsDigit(text[pos])) {
    while (pos < text.size() && IsDigit(text[pos])) ++pos;
  } else {
    return false;
  }
  if (pos < text.size() && text[pos] == '.') {
    ++pos;
    if (pos >= text.size() || !IsDigit(text[pos])) return false;
    while (pos < text.size() && IsDigit(text[pos])) ++pos;
  }
  if (pos < text.size() && (text[pos] == 'e' || text[pos] == 'E')) {
    ++pos;
    if (pos < text.size() && (text[pos] == '+' || text[pos] == '-')) ++pos;
    if (pos >= text.size() || !IsDigit(text[pos])) return false;
    while (pos < text.size() && IsDigit(text[pos])) ++pos;
  }
  out.append(text.substr(start, pos - start));
  return true;
}

// Appends the stored JSON `text` without insignificant whitespace after validating it
// (RFC 8259), iteratively. On failure `out` is left as it was and false is returned.
bool AppendStoredJson(std::string& out, std::string_view text) {
  const size_t mark = out.size();
  std::string stack;  // '{' or '[' per open container
  size_t pos = 0;
  auto skip = [&] {
    while (pos < text.size() && IsJsonSpace(text[pos])) ++pos;
  };
  auto fail = [&] {
    out.resize(mark);
    return false;
  };
  // States: expecting a value, or just after one.
  bool expect_value = true;
  for (;;) {
    skip();
    if (expect_value) {
      if (pos >= text.size()) return fail();
      char c = text[pos];
      if (c == '{' || c == '[') {
        if (stack.size() >= kMaxStoredJsonDepth) return fail();
        out += c;
        ++pos;
        skip();
        char close = c == '{' ? '}' : ']';
        if (pos < text.size() && text[pos] == close) {
          out += close;
          ++pos;
          expect_value = false;
          continue;
        }
        stack.push_back(c);
        if (c == '{') {
          if (pos >= text.size() || text[pos] != '"' || !CopyJsonString(text, pos, out)) return fail();
          skip();
          if (pos >= text.size() || text[pos] != ':') return fail();
          out += ':';
          ++pos;
        }
        continue;  // a value follows
      }
      if (c == '"') {
        if (!CopyJsonString(text, pos, out)) return fail();
      } else if (c == '-' || IsDigit(c)) {
        if (!CopyJsonNumber(text, pos, out)) return fail();
      } else {
        bool matched = false;
        for (std::string_view word : {"true", "false", "null"}) {
          if (text.substr(pos, word.size()) == word) {
            out.append(word);
            pos += word.size();
            matched = true;
            break;
          }
        }
        if (!matched) return fail();
      }
      expect_value = false;
      continue;
    }
    // After a value.
    if (stack.empty()) return pos == text.size() ? true : fail();
    if (pos >= text.size()) return fail();
    char c = text[pos];
    char top = stack.back();
    if (c == ',') {
      out += ',';
      ++pos;
      if (top == '{') {
        skip();
        if (pos >= text.size() || text[pos] != '"' || !CopyJsonString(text, pos, out)) return fail();
        skip();
        if (pos >= text.size() || text[pos] != ':') return fail();
        out += ':';
        ++pos;
      }
      expect_value = true;
      continue;
    }
    if ((top == '{' && c == '}') || (top == '[' && c == ']')) {
      out += c;
      ++pos;
      stack.pop_back();
      continue;
    }
    return fail();
  }
}

bool IsIntegerText(std::string_view s) {
  size_t i = s.size() > 0 && s[0] == '-' ? 1 : 0;
  if (i == s.size()) return false;
  for (; i < s.size(); ++i) {
    if (!IsDigit(s[i])) return false;
  }
  return true;
}

void AppendValue(std::string& out, const Column& c, const data::Value& v) {
  if (!v) {
    out += "null";
    return;
  }
  const std::string& text = *v;
  switch (c.type.kind) {
    case TypeKind::kInteger:
    case TypeKind::kBigint:
      if (IsIntegerText(text)) {
        out += text;
      } else {
        AppendJsonString(out, text);
      }
      return;
    case TypeKind::kBoolean:
      if (text == "true" || text == "t" || text == "1") {
        out += "true";
      } else if (text == "false" || text == "f" || text == "0") {
        out += "false";
      } else {
        AppendJsonString(out, text);
      }
      return;
    case TypeKind::kJson:
      if (!AppendStoredJson(out, text)) AppendJsonString(out, text);
      return;
    case TypeKind::kBytes:
      out += '"';
      out += Base64Encode(text);
      out += '"';
      return;
    case TypeKind::kUuid:
    case TypeKind::kText:
    case TypeKind::kDecimal:
    case TypeKind::kTimestamp:
    case TypeKind::kDate:
    case TypeKind::kEnum:
      AppendJsonString(out, text);
      return;
  }
  AppendJsonString(out, text);
}

// The columns of a RowSet that are rendered, with their `"name":` prefixes.
struct RenderPlan {
  std::vector<size_t> index;
  std::vector<std::string> key;
};

RenderPlan PlanFor(const data::RowSet& rows) {
  RenderPlan plan;
  for (size_t i = 0; i < rows.columns.size(); ++i) {
    const Column* c = rows.columns[i];
    if (c == nullptr || !ColumnReturned(*c)) continue;
    plan.index.push_back(i);
    std::string key;
    AppendJsonString(key, c->name);
    key += ':';
    plan.key.push_back(std::move(key));
  }
  return plan;
}

void AppendRow(std::string& out, const data::RowSet& rows, const RenderPlan& plan, size_t row) {
  const std::vector<data::Value>& values = rows.rows[row];
  out += '{';
  for (size_t k = 0; k < plan.index.size(); ++k) {
    if (k > 0) out += ',';
    out += plan.key[k];
    size_t i = plan.index[k];
    if (i < values.size()) {
      AppendValue(out, *rows.columns[i], values[i]);
    } else {
      out += "null";
    }
  }
  out += '}';
}

bool Unreserved(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || IsDigit(c) || c == '-' || c == '.' || c == '_' ||
         c == '~' || c == ',' || c == '(' || c == ')' || c == '*' || c == ':';
}

void AppendPercentEncoded(std::string& out, std::string_view s) {
  for (char ch : s) {
    unsigned char c = static_cast<unsigned char>(ch);
    if (Unreserved(ch)) {
      out += ch;
    } else {
      out += '%';
      out += kHexUpper[c >> 4];
      out += kHexUpper[c & 15];
    }
  }
}

}  // namespace

void AppendJsonString(std::string& out, std::string_view text) {
  out += '"';
  size_t run = 0;  // start of the pending run of bytes copied as they are
  size_t i = 0;
  const size_t n = text.size();
  while (i < n) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c != '"' && c != '\\' && c < 0x80) {
      ++i;
      continue;
    }
    if (c >= 0x80) {
      size_t len = Utf8SequenceLength(text, i);
      if (len == 3 && c == 0xE2 && static_cast<unsigned char>(text[i + 1]) == 0x80 &&
          (static_cast<unsigned char>(text[i + 2]) == 0xA8 || static_cast<unsigned char>(text[i + 2]) == 0xA9)) {
        // U+2028 / U+2029: valid JSON, but line terminators in JavaScript source.
        out.append(text.substr(run, i - run));
        out += static_cast<unsigned char>(text[i + 2]) == 0xA8 ? "\\u2028" : "\\u2029";
        i += 3;
        run = i;
        continue;
      }
      if (len > 0) {
        i += len;
        continue;
      }
      out.append(text.substr(run, i - run));
      out += kReplacementChar;
      ++i;
      run = i;
      continue;
    }
    out.append(text.substr(run, i - run));
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default:
        out += "\\u00";
        out += kHexDigits[c >> 4];
        out += kHexDigits[c & 15];
        break;
    }
    ++i;
    run = i;
  }
  out.append(text.substr(run));
  out += '"';
}

void AppendRowJson(std::string& out, const data::RowSet& rows, size_t row) {
  AppendRow(out, rows, PlanFor(rows), row);
}

std::string RowJson(const data::RowSet& rows, size_t row) {
  std::string out;
  AppendRowJson(out, rows, row);
  return out;
}

std::string ListJson(const data::ListResult& result, std::string_view next_link) {
  const data::RowSet& rows = result.rows;
  RenderPlan plan = PlanFor(rows);
  std::string out;
  constexpr size_t kGuessPerValue = 24;
  out.reserve(64 + rows.rows.size() * (plan.index.size() * kGuessPerValue + 2));
  out += "{\"items\":[";
  for (size_t r = 0; r < rows.rows.size(); ++r) {
    if (r > 0) out += ',';
    AppendRow(out, rows, plan, r);
  }
  out += "],\"next_cursor\":";
  if (result.next_cursor.empty()) {
    out += "null";
  } else {
    AppendJsonString(out, result.next_cursor);
  }
  out += ",\"next\":";
  if (next_link.empty()) {
    out += "null";
  } else {
    AppendJsonString(out, next_link);
  }
  if (result.total) {
    out += ",\"total\":";
    out += std::to_string(*result.total);
  }
  out += '}';
  return out;
}

std::string NextLink(std::string_view path, const QueryParams& params, std::string_view cursor) {
  if (cursor.empty()) return {};
  std::string out(path);
  char sep = '?';
  for (const auto& [k, v] : params) {
    if (k == "offset" || k == "after") continue;
    out += sep;
    sep = '&';
    AppendPercentEncoded(out, k);
    out += '=';
    AppendPercentEncoded(out, v);
  }
  out += sep;
  out += "after=";
  AppendPercentEncoded(out, cursor);
  return out;
}

std::string ContentRange(int64_t offset, size_t row_count, std::optional<int64_t> total) {
  std::string out;
  if (row_count == 0) {
    out = "*";
  } else {
    out = std::to_string(offset) + "-" + std::to_string(offset + static_cast<int64_t>(row_count) - 1);
  }
  out += '/';
  out += total ? std::to_string(*total) : "*";
  return out;
}

}  // namespace plinth::rest
