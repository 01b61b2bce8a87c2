// Exposure rules, problem+json, base64 and the message helpers shared by the REST units.
#include <limits>

#include "api/rest_internal.h"
#include "expr/values.h"
#include "plinth/rest.h"

namespace plinth::rest {

using schema::Access;
using schema::Column;
using schema::Table;

bool TableExposed(const Table& t) { return t.api != Access::kHidden; }
bool TableAcceptsInsert(const Table& t) { return t.api == Access::kReadWrite; }
bool TableAcceptsUpdate(const Table& t) { return t.api == Access::kReadWrite && !t.options.append_only; }
bool TableAcceptsDelete(const Table& t) { return t.api == Access::kReadWrite && !t.options.append_only; }

bool IsTenantColumn(const schema::Schema& s, const Table& t, const Column& c) {
  return t.options.tenant_scoped && c.name == s.app.tenant_column;
}

bool IsManagedTimestamp(const Table& t, const Column& c) {
  return t.options.timestamps && (c.name == "created_at" || c.name == "updated_at");
}

const Column* ItemKeyColumn(const schema::Schema& s, const Table& t) {
  const schema::Constraint* pk = t.PrimaryKey();
  if (pk == nullptr) return nullptr;
  const Column* key = nullptr;
  for (const std::string& name : pk->columns) {
    const Column* c = t.FindColumn(name);
    if (c == nullptr) return nullptr;
    if (IsTenantColumn(s, t, *c)) continue;
    if (key != nullptr) return nullptr;  // composite key
    key = c;
  }
  return key;
}

bool ColumnReturned(const Column& c) { return c.access == Access::kReadWrite || c.access == Access::kReadOnly; }
bool ColumnFilterable(const Column& c) { return ColumnReturned(c) && !c.encrypted; }

bool ColumnAccepted(const schema::Schema& s, const Table& t, const Column& c) {
  if (c.access != Access::kReadWrite && c.access != Access::kWriteOnly) return false;
  return !IsTenantColumn(s, t, c) && !IsManagedTimestamp(t, c);
}

bool ColumnRequiredOnInsert(const schema::Schema& s, const Table& t, const Column& c) {
  return ColumnAccepted(s, t, c) && c.not_null && c.default_value.kind == schema::DefaultKind::kNone;
}

std::string_view StatusTitle(int status) {
  switch (status) {
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 406: return "Not Acceptable";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 411: return "Length Required";
    case 412: return "Precondition Failed";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    case 422: return "Unprocessable Content";
    case 428: return "Precondition Required";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return "Error";
  }
}

std::string ProblemJson(const Problem& p) {
  std::string out;
  out.reserve(128 + p.detail.size() + p.errors.size() * 64);
  out += "{\"type\":";
  AppendJsonString(out, p.type.empty() ? std::string_view("about:blank") : std::string_view(p.type));
  out += ",\"title\":";
  AppendJsonString(out, p.title.empty() ? StatusTitle(p.status) : std::string_view(p.title));
  out += ",\"status\":";
  out += std::to_string(p.status);
  if (!p.detail.empty()) {
    out += ",\"detail\":";
    AppendJsonString(out, p.detail);
  }
  if (!p.instance.empty()) {
    out += ",\"instance\":";
    AppendJsonString(out, p.instance);
  }
  if (!p.errors.empty()) {
    out += ",\"errors\":[";
    for (size_t i = 0; i < p.errors.size(); ++i) {
      if (i > 0) out += ',';
      out += "{\"field\":";
      AppendJsonString(out, p.errors[i].field);
      out += ",\"message\":";
      AppendJsonString(out, p.errors[i].message);
      out += '}';
    }
    out += ']';
  }
  out += '}';
  return out;
}

namespace {
constexpr char kBase64Alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int Base64Digit(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+' || c == '-') return 62;
  if (c == '/' || c == '_') return 63;
  return -1;
}
}  // namespace

std::string Base64Encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    uint32_t v = static_cast<uint32_t>(static_cast<unsigned char>(bytes[i])) << 16 |
                 static_cast<uint32_t>(static_cast<unsigned char>(bytes[i + 1])) << 8 |
                 static_cast<uint32_t>(static_cast<unsigned char>(bytes[i + 2]));
    out += kBase64Alphabet[v >> 18 & 63];
    out += kBase64Alphabet[v >> 12 & 63];
    out += kBase64Alphabet[v >> 6 & 63];
    out += kBase64Alphabet[v & 63];
  }
  size_t rest = bytes.size() - i;
  if (rest > 0) {
    uint32_t v = static_cast<uint32_t>(static_cast<unsigned char>(bytes[i])) << 16;
    if (rest == 2) v |= static_cast<uint32_t>(static_cast<unsigned char>(bytes[i + 1])) << 8;
    out += kBase64Alphabet[v >> 18 & 63];
    out += kBase64Alphabet[v >> 12 & 63];
    out += rest == 2 ? kBase64Alphabet[v >> 6 & 63] : '=';
    out += '=';
  }
  return out;
}

std::optional<std::string> Base64Decode(std::string_view text) {
  size_t pad = 0;
  while (!text.empty() && text.back() == '=' && pad < 2) {
    text.remove_suffix(1);
    ++pad;
  }
  if (pad > 0 && (text.size() + pad) % 4 != 0) return std::nullopt;  // padding must complete a quantum
  if (text.size() % 4 == 1) return std::nullopt;                      // 6 bits cannot end a byte
  std::string out;
  out.reserve(text.size() * 3 / 4);
  uint32_t acc = 0;
  int bits = 0;
  for (char c : text) {
    int d = Base64Digit(c);
    if (d < 0) return std::nullopt;
    acc = (acc << 6) | static_cast<uint32_t>(d);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xFF);
    }
  }
  // The leftover bits of a final partial quantum must be zero (canonical encoding).
  if (bits > 0 && (acc & ((1u << bits) - 1)) != 0) return std::nullopt;
  return out;
}

namespace internal {

std::string Shown(std::string_view value) {
  std::string out = "'";
  size_t shown = 0;
  for (size_t i = 0; i < value.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(value[i]);
    if ((c & 0xC0) != 0x80) {
      if (shown == kShownLength) {
        out += "…";
        break;
      }
      ++shown;
    }
    if (c < 0x20 || c == 0x7F) {
      static constexpr char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  out += "'";
  return out;
}

std::string TypeLabel(const Column& c) {
  if (c.type.kind == schema::TypeKind::kEnum) return "enum " + c.type.enum_name;
  return c.type.ToString();
}

std::vector<std::string> ReturnedColumnNames(const Table& t) {
  std::vector<std::string> out;
  for (const Column& c : t.columns) {
    if (ColumnReturned(c)) out.push_back(c.name);
  }
  return out;
}

std::string UnknownColumnMessage(const Table& t, std::string_view name, const std::vector<std::string>& candidates) {
  std::string msg = "unknown column " + Shown(name) + " in " + t.name;
  constexpr size_t kMaxSuggestLength = 64;
  if (name.size() <= kMaxSuggestLength) {
    if (std::optional<std::string> near = expr::ClosestMatch(name, candidates)) {
      msg += " (did you mean '" + *near + "'?)";
    }
  }
  return msg;
}

IntParse ParseInteger(std::string_view text, int64_t min, int64_t max, int64_t& out) {
  size_t i = 0;
  bool negative = false;
  if (i < text.size() && text[i] == '-') {
    negative = true;
    ++i;
  }
  if (i == text.size()) return IntParse::kNotInteger;
  // Accumulate as a negative number so INT64_MIN fits.
  int64_t v = 0;
  bool overflow = false;
  for (; i < text.size(); ++i) {
    char c = text[i];
    if (c < '0' || c > '9') return IntParse::kNotInteger;
    int d = c - '0';
    if (!overflow) {
      if (v < (std::numeric_limits<int64_t>::min() + d) / 10) {
        overflow = true;
      } else {
        v = v * 10 - d;
      }
    }
  }
  if (overflow) return IntParse::kOutOfRange;
  if (!negative) {
    if (v == std::numeric_limits<int64_t>::min()) return IntParse::kOutOfRange;
    v = -v;
  }
  if (v < min || v > max) return IntParse::kOutOfRange;
  out = v;
  return IntParse::kOk;
}

int64_t IntegerMin(schema::TypeKind k) {
  return k == schema::TypeKind::kInteger ? std::numeric_limits<int32_t>::min() : std::numeric_limits<int64_t>::min();
}
int64_t IntegerMax(schema::TypeKind k) {
  return k == schema::TypeKind::kInteger ? std::numeric_limits<int32_t>::max() : std::numeric_limits<int64_t>::max();
}

std::optional<std::string> NormalizePlainDecimal(std::string_view text) {
  size_t i = 0;
  bool negative = false;
  if (i < text.size() && text[i] == '-') {
    negative = true;
    ++i;
  }
  size_t int_start = i;
  while (i < text.size() && text[i] >= '0' && text[i] <= '9') ++i;
  std::string_view int_part = text.substr(int_start, i - int_start);
  std::string_view frac_part;
  if (i < text.size() && text[i] == '.') {
    size_t frac_start = ++i;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') ++i;
    frac_part = text.substr(frac_start, i - frac_start);
  }
  if (i != text.size() || (int_part.empty() && frac_part.empty())) return std::nullopt;
  size_t lead = int_part.find_first_not_of('0');
  int_part = lead == std::string_view::npos ? std::string_view() : int_part.substr(lead);
  while (!frac_part.empty() && frac_part.back() == '0') frac_part.remove_suffix(1);
  std::string out;
  if (negative && (!int_part.empty() || !frac_part.empty())) out += '-';
  out += int_part.empty() ? std::string_view("0") : int_part;
  if (!frac_part.empty()) {
    out += '.';
    out += frac_part;
  }
  return out;
}

const std::vector<std::string>* EnumValues(const schema::Schema& s, const Column& c) {
  if (c.type.kind != schema::TypeKind::kEnum) return nullptr;
  const schema::Enum* e = s.FindEnum(c.type.enum_name);
  return e == nullptr ? nullptr : &e->values;
}

std::string ListNames(const std::vector<std::string>& names, size_t max_shown) {
  std::string out;
  for (size_t i = 0; i < names.size(); ++i) {
    if (i == max_shown) {
      out += ", …";
      break;
    }
    if (i > 0) out += ", ";
    out += names[i];
  }
  return out;
}

bool ValidUtf8(std::string_view text) {
  size_t i = 0;
  const size_t n = text.size();
  while (i < n) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
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
      return false;
    }
    if (i + len > n) return false;
    for (size_t k = 1; k < len; ++k) {
      unsigned char cc = static_cast<unsigned char>(text[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    static constexpr uint32_t kMinForLength[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMinForLength[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += len;
  }
  return true;
}

}  // namespace internal
}  // namespace plinth::rest
