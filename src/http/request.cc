// Requests, the query string, percent-decoding (include/plinth/http.h).
#include <cstring>

#include "http/internal.h"

namespace plinth::http {

// ---- small string helpers -------------------------------------------------------------------

namespace {
inline char AsciiLower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}
}  // namespace

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (AsciiLower(a[i]) != AsciiLower(b[i])) return false;
  }
  return true;
}

bool IsTokenChar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  switch (c) {
    case '!': case '#': case '$': case '%': case '&': case '\'': case '*': case '+': case '-':
    case '.': case '^': case '_': case '`': case '|': case '~':
      return true;
    default:
      return false;
  }
}

bool IsValidUtf8(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const auto* end = p + s.size();
  while (p < end) {
    // Fast path: eight ASCII bytes at a time.
    if (end - p >= 8) {
      uint64_t w;
      std::memcpy(&w, p, 8);
      if ((w & 0x8080808080808080ULL) == 0) {
        p += 8;
        continue;
      }
    }
    unsigned char c = *p;
    if (c < 0x80) {
      ++p;
      continue;
    }
    size_t n;
    uint32_t cp;
    if ((c & 0xE0) == 0xC0) {
      n = 1;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      n = 2;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      n = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (static_cast<size_t>(end - p) <= n) return false;
    for (size_t i = 1; i <= n; ++i) {
      if ((p[i] & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (p[i] & 0x3F);
    }
    // Overlong forms, surrogates, beyond U+10FFFF.
    if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
        cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
      return false;
    }
    p += n + 1;
  }
  return true;
}

Status PercentDecode(std::string_view in, bool plus_as_space, std::string& out) {
  out.clear();
  if (in.find('%') == std::string_view::npos &&
      (!plus_as_space || in.find('+') == std::string_view::npos)) {
    out.assign(in);
  } else {
    out.reserve(in.size());
    for (size_t i = 0; i < in.size(); ++i) {
      char c = in[i];
      if (c == '%') {
        int hi = i + 2 < in.size() ? HexValue(in[i + 1]) : -1;
        int lo = i + 2 < in.size() ? HexValue(in[i + 2]) : -1;
        if (hi < 0 || lo < 0) {
          return Status(Code::kInvalidArgument,
                        "malformed percent-escape (expected %XX with two hex digits)");
        }
        char decoded = static_cast<char>(hi * 16 + lo);
        if (decoded == '\0') return Status(Code::kInvalidArgument, "escaped NUL byte (%00)");
        out += decoded;
        i += 2;
      } else if (c == '+' && plus_as_space) {
        out += ' ';
      } else {
        out += c;
      }
    }
  }
  if (out.find('\0') != std::string::npos) {
    return Status(Code::kInvalidArgument, "NUL byte");
  }
  if (!IsValidUtf8(out)) return Status(Code::kInvalidArgument, "not valid UTF-8 once decoded");
  return Status::Ok();
}

// ---- Query ---------------------------------------------------------------------------------

void Query::Clear() {
  raw_ = {};
  size_ = 0;
}

Status Query::Parse(std::string_view raw) {
  Clear();
  raw_ = raw;
  size_t pos = 0;
  while (pos <= raw.size()) {
    size_t amp = raw.find('&', pos);
    if (amp == std::string_view::npos) amp = raw.size();
    std::string_view pair = raw.substr(pos, amp - pos);
    pos = amp + 1;
    if (pair.empty()) {
      if (amp == raw.size()) break;
      continue;
    }
    if (size_ == params_.size()) params_.emplace_back();
    QueryParam& p = params_[size_];
    size_t eq = pair.find('=');
    p.has_value = eq != std::string_view::npos;
    p.raw_key = pair.substr(0, eq);
    p.raw_value = p.has_value ? pair.substr(eq + 1) : std::string_view();
    if (Status s = PercentDecode(p.raw_key, true, p.key); !s.ok()) {
      Clear();
      return Status(Code::kInvalidArgument,
                    "query parameter name \"" + std::string(pair.substr(0, std::min<size_t>(eq, 64))) +
                        "\": " + s.message(),
                    {}, "query");
    }
    if (Status s = PercentDecode(p.raw_value, true, p.value); !s.ok()) {
      std::string key = p.key.substr(0, 64);
      Clear();
      return Status(Code::kInvalidArgument, "query parameter \"" + key + "\": " + s.message(), {},
                    key);
    }
    ++size_;
    if (amp == raw.size()) break;
  }
  return Status::Ok();
}

std::optional<std::string_view> Query::Get(std::string_view key) const {
  for (size_t i = 0; i < size_; ++i) {
    if (params_[i].key == key) return std::string_view(params_[i].value);
  }
  return std::nullopt;
}

std::vector<std::string_view> Query::GetAll(std::string_view key) const {
  std::vector<std::string_view> out;
  for (size_t i = 0; i < size_; ++i) {
    if (params_[i].key == key) out.emplace_back(params_[i].value);
  }
  return out;
}

// ---- PathParams ------------------------------------------------------------------------------

std::string_view PathParams::Get(std::string_view name) const {
  for (size_t i = 0; i < size_; ++i) {
    if (params_[i].name == name) return params_[i].value;
  }
  return {};
}

PathParam& PathParams::Append(std::string_view name) {
  if (size_ == params_.size()) params_.emplace_back();
  PathParam& p = params_[size_++];
  p.name = name;
  p.value.clear();
  return p;
}

// ---- Request -------------------------------------------------------------------------------

Request::Request() = default;
Request::~Request() = default;

std::string_view Request::path() const {
  std::string_view t = target_;
  size_t q = t.find('?');
  return q == std::string_view::npos ? t : t.substr(0, q);
}

std::optional<std::string_view> Request::header(std::string_view name) const {
  for (const HeaderRef& h : headers_) {
    std::string_view n(header_bytes_.data() + h.name_off, h.name_len);
    if (EqualsIgnoreCase(n, name)) {
      return std::string_view(header_bytes_.data() + h.value_off, h.value_len);
    }
  }
  return std::nullopt;
}

std::pair<std::string_view, std::string_view> Request::header_at(size_t i) const {
  const HeaderRef& h = headers_.at(i);
  return {std::string_view(header_bytes_.data() + h.name_off, h.name_len),
          std::string_view(header_bytes_.data() + h.value_off, h.value_len)};
}

namespace detail {

void RequestAccess::Reset(Request& r) {
  r.method_ = Verb::unknown;
  r.method_string_.clear();
  r.target_.clear();
  r.version_ = 11;
  r.header_bytes_.clear();
  r.headers_.clear();
  r.body_.clear();
  r.query_.Clear();
  r.params_.Clear();
  r.route_ = kRouteNone;
  r.request_id_.clear();
  r.received_at_ = {};
  r.deadline_ = {};
  r.keep_alive_ = true;
  r.principal_.clear();
}

void RequestAccess::SetStartLine(Request& r, Verb method, std::string_view method_string,
                                 std::string_view target, int version) {
  r.method_ = method;
  r.method_string_.assign(method_string);
  r.target_.assign(target);
  r.version_ = version;
}

void RequestAccess::AddHeader(Request& r, std::string_view name, std::string_view value) {
  Request::HeaderRef h;
  h.name_off = static_cast<uint32_t>(r.header_bytes_.size());
  h.name_len = static_cast<uint32_t>(name.size());
  r.header_bytes_.append(name);
  h.value_off = static_cast<uint32_t>(r.header_bytes_.size());
  h.value_len = static_cast<uint32_t>(value.size());
  r.header_bytes_.append(value);
  r.headers_.push_back(h);
}

}  // namespace detail

}  // namespace plinth::http
