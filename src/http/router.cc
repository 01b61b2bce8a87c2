// Method + path template routing (include/plinth/http.h).
#include <algorithm>
#include <array>

#include "http/internal.h"

namespace plinth::http {

namespace {

// Paths with more segments than this never match (no template is that deep).
constexpr size_t kMaxSegments = 64;

bool IsLiteralChar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  switch (c) {
    case '-': case '.': case '_': case '~': case ':': case '@': case '!': case '$': case '&':
    case '\'': case '(': case ')': case '*': case '+': case ',': case ';': case '=':
      return true;
    default:
      return false;
  }
}

bool IsParamName(std::string_view s) {
  if (s.empty()) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
    if (!(alpha || (i > 0 && c >= '0' && c <= '9'))) return false;
  }
  return true;
}

int Hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Whether the raw segment, percent-decoded, equals the literal (no allocation).
bool SegmentEquals(std::string_view raw, std::string_view literal) {
  size_t j = 0;
  for (size_t i = 0; i < raw.size(); ++i, ++j) {
    char c = raw[i];
    if (c == '%') {
      if (i + 2 >= raw.size()) return false;
      int hi = Hex(raw[i + 1]), lo = Hex(raw[i + 2]);
      if (hi < 0 || lo < 0) return false;
      c = static_cast<char>(hi * 16 + lo);
      i += 2;
    }
    if (j >= literal.size() || literal[j] != c) return false;
  }
  return j == literal.size();
}

// Splits "/a/b/c" into {"a","b","c"}; "/" into {}; false when there are too many segments.
bool SplitPath(std::string_view path, std::array<std::string_view, kMaxSegments>& out,
               size_t& n) {
  n = 0;
  if (path.size() <= 1) return true;  // "/"
  size_t pos = 1;
  while (true) {
    size_t slash = path.find('/', pos);
    if (n == kMaxSegments) return false;
    if (slash == std::string_view::npos) {
      out[n++] = path.substr(pos);
      return true;
    }
    out[n++] = path.substr(pos, slash - pos);
    pos = slash + 1;
  }
}

// The order methods are listed in Allow.
constexpr std::array<Verb, 7> kAllowOrder = {Verb::get, Verb::head, Verb::post, Verb::put,
                                             Verb::patch, Verb::delete_, Verb::options};

}  // namespace

struct Router::Node {
  std::vector<std::pair<std::string, std::unique_ptr<Node>>> literals;
  std::unique_ptr<Node> param;
  std::vector<std::pair<Verb, const Route*>> methods;

  const Route* For(Verb v) const {
    for (const auto& [m, r] : methods) {
      if (m == v) return r;
    }
    return nullptr;
  }
};

Router::Router() : root_(std::make_unique<Node>()) {}
Router::~Router() = default;
Router::Router(Router&&) noexcept = default;
Router& Router::operator=(Router&&) noexcept = default;

size_t Router::size() const { return routes_.size(); }
const Router::Route& Router::route(size_t index) const { return *routes_.at(index); }

Status Router::Add(Verb method, std::string_view pattern, Handler handler) {
  auto bad = [&](std::string_view why) {
    return Status(Code::kInvalidArgument,
                  "route template \"" + std::string(pattern) + "\": " + std::string(why));
  };
  if (method == Verb::unknown) return bad("unknown method");
  if (!handler) return bad("no handler");
  if (pattern.empty() || pattern.front() != '/') return bad("must start with '/'");
  if (pattern.size() > 1 && pattern.back() == '/') return bad("must not end with '/'");
  std::array<std::string_view, kMaxSegments> segs;
  size_t n = 0;
  if (!SplitPath(pattern, segs, n)) return bad("too many segments");

  auto route = std::make_unique<Route>();
  route->method = method;
  route->pattern = std::string(pattern);
  route->handler = std::move(handler);
  route->index = routes_.size();

  Node* node = root_.get();
  for (size_t i = 0; i < n; ++i) {
    std::string_view seg = segs[i];
    if (seg.empty()) return bad("empty segment");
    if (seg.front() == '{') {
      if (seg.back() != '}') return bad("a parameter is written {name}");
      std::string_view name = seg.substr(1, seg.size() - 2);
      if (!IsParamName(name)) return bad("parameter names are [A-Za-z_][A-Za-z0-9_]*");
      for (const auto& [idx, existing] : route->params) {
        if (existing == name) return bad("parameter {" + std::string(name) + "} appears twice");
      }
      route->params.emplace_back(i, std::string(name));
      if (!node->param) node->param = std::make_unique<Node>();
      node = node->param.get();
    } else {
      for (char c : seg) {
        if (!IsLiteralChar(c)) {
          return bad("literal segments may hold letters, digits and -._~:@!$&'()*+,;= only");
        }
      }
      Node* next = nullptr;
      for (auto& [lit, child] : node->literals) {
        if (lit == seg) next = child.get();
      }
      if (next == nullptr) {
        node->literals.emplace_back(std::string(seg), std::make_unique<Node>());
        next = node->literals.back().second.get();
      }
      node = next;
    }
  }
  if (const Route* existing = node->For(method)) {
    return Status(Code::kAlreadyExists, std::string(MethodLabel(method)) + " " +
                                            std::string(pattern) + " conflicts with " +
                                            existing->pattern);
  }
  node->methods.emplace_back(method, route.get());
  routes_.push_back(std::move(route));
  return Status::Ok();
}

Result<Router::Match> Router::Find(Verb method, std::string_view raw_path,
                                   PathParams& params) const {
  params.Clear();
  Match m;
  std::array<std::string_view, kMaxSegments> segs;
  size_t n = 0;
  if (raw_path.empty() || raw_path.front() != '/' || !SplitPath(raw_path, segs, n)) return m;

  // Depth-first, literals before the parameter, backtracking; the first node that has routes
  // at the end of the path decides.
  struct Frame {
    const Node* node;
    size_t depth;
  };
  std::array<Frame, kMaxSegments * 2 + 2> stack;
  size_t top = 0;
  stack[top++] = Frame{root_.get(), 0};
  const Node* found = nullptr;
  while (top > 0) {
    Frame f = stack[--top];
    if (f.depth == n) {
      if (!f.node->methods.empty()) {
        found = f.node;
        break;
      }
      continue;
    }
    std::string_view seg = segs[f.depth];
    // Push the parameter first so that the literal is tried first.
    if (f.node->param && !seg.empty()) stack[top++] = Frame{f.node->param.get(), f.depth + 1};
    for (const auto& [lit, child] : f.node->literals) {
      if (SegmentEquals(seg, lit)) {
        stack[top++] = Frame{child.get(), f.depth + 1};
        break;
      }
    }
  }
  if (found == nullptr) return m;

  const Route* route = found->For(method);
  if (route == nullptr && method == Verb::head) route = found->For(Verb::get);
  if (route == nullptr) {
    m.outcome = Outcome::kMethodNotAllowed;
    m.pattern = found->methods.front().second->pattern;
    for (Verb v : kAllowOrder) {
      bool has = found->For(v) != nullptr || (v == Verb::head && found->For(Verb::get)) ||
                 v == Verb::options;
      if (!has) continue;
      if (!m.allow.empty()) m.allow += ", ";
      m.allow += MethodLabel(v);
    }
    for (const auto& [v, r] : found->methods) {
      if (MethodLabelIndex(v) == MethodLabelIndex(Verb::unknown)) {
        m.allow += ", ";
        m.allow += boost::beast::http::to_string(v);
      }
    }
    return m;
  }
  m.outcome = Outcome::kFound;
  m.route = route;
  m.pattern = route->pattern;
  for (const auto& [idx, name] : route->params) {
    PathParam& p = params.Append(name);
    if (Status s = PercentDecode(segs[idx], false, p.value); !s.ok()) {
      params.Clear();
      return Status(Code::kInvalidArgument, "path parameter \"" + name + "\": " + s.message(),
                    {}, name);
    }
  }
  return m;
}

}  // namespace plinth::http
