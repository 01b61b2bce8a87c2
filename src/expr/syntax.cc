#include "expr/syntax.h"

#include <algorithm>
#include <array>

namespace plinth::expr {

bool IsKeyword(std::string_view lower_word) {
  static constexpr std::array<std::string_view, 16> kKeywords = {
      "and", "as", "between", "exists", "false", "from", "ilike", "in",
      "is", "like", "not", "null", "or", "select", "true", "where"};
  return std::find(kKeywords.begin(), kKeywords.end(), lower_word) != kKeywords.end();
}

bool IsBareIdentifier(std::string_view name) {
  if (name.empty()) return false;
  auto lower_or_underscore = [](char c) { return (c >= 'a' && c <= 'z') || c == '_'; };
  if (!lower_or_underscore(name[0])) return false;
  for (char c : name) {
    if (!lower_or_underscore(c) && !(c >= '0' && c <= '9')) return false;
  }
  return !IsKeyword(name);
}

namespace {
std::string Enclose(std::string_view s, char quote) {
  std::string out;
  out.reserve(s.size() + 2);
  out.push_back(quote);
  for (char c : s) {
    if (c == quote) out.push_back(quote);
    out.push_back(c);
  }
  out.push_back(quote);
  return out;
}
}  // namespace

std::string CanonicalIdent(std::string_view name) {
  return IsBareIdentifier(name) ? std::string(name) : Enclose(name, '"');
}

std::string SqlIdent(std::string_view name) { return Enclose(name, '"'); }

std::string QuoteString(std::string_view value) { return Enclose(value, '\''); }

std::string_view BinaryOpText(BinaryOp op) {
  switch (op) {
    case BinaryOp::kOr: return "or";
    case BinaryOp::kAnd: return "and";
    case BinaryOp::kEq: return "=";
    case BinaryOp::kNe: return "<>";
    case BinaryOp::kLt: return "<";
    case BinaryOp::kLe: return "<=";
    case BinaryOp::kGt: return ">";
    case BinaryOp::kGe: return ">=";
    case BinaryOp::kAdd: return "+";
    case BinaryOp::kSub: return "-";
    case BinaryOp::kMul: return "*";
    case BinaryOp::kDiv: return "/";
    case BinaryOp::kMod: return "%";
    case BinaryOp::kConcat: return "||";
  }
  return "?";
}

bool IsComparison(BinaryOp op) {
  switch (op) {
    case BinaryOp::kEq: case BinaryOp::kNe: case BinaryOp::kLt: case BinaryOp::kLe:
    case BinaryOp::kGt: case BinaryOp::kGe:
      return true;
    default:
      return false;
  }
}

bool IsOrdering(BinaryOp op) {
  return op == BinaryOp::kLt || op == BinaryOp::kLe || op == BinaryOp::kGt || op == BinaryOp::kGe;
}

bool IsArithmetic(BinaryOp op) {
  return op == BinaryOp::kAdd || op == BinaryOp::kSub || op == BinaryOp::kMul ||
         op == BinaryOp::kDiv || op == BinaryOp::kMod;
}

bool IsValidUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    auto b = static_cast<unsigned char>(s[i]);
    size_t len = 0;
    unsigned min = 0;
    unsigned cp = 0;
    if (b < 0x80) {
      ++i;
      continue;
    } else if ((b & 0xE0) == 0xC0) {
      len = 2, min = 0x80, cp = b & 0x1F;
    } else if ((b & 0xF0) == 0xE0) {
      len = 3, min = 0x800, cp = b & 0x0F;
    } else if ((b & 0xF8) == 0xF0) {
      len = 4, min = 0x10000, cp = b & 0x07;
    } else {
      return false;
    }
    if (i + len > s.size()) return false;
    for (size_t k = 1; k < len; ++k) {
      auto c = static_cast<unsigned char>(s[i + k]);
      if ((c & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (c & 0x3F);
    }
    constexpr unsigned kMaxCodePoint = 0x10FFFF;
    constexpr unsigned kSurrogateFirst = 0xD800, kSurrogateLast = 0xDFFF;
    if (cp < min || cp > kMaxCodePoint || (cp >= kSurrogateFirst && cp <= kSurrogateLast)) return false;
    i += len;
  }
  return true;
}

SourcePos StartPos(const Node& node) {
  const Node* n = &node;
  while (true) {
    switch (n->kind) {
      case NodeKind::kBinary:
      case NodeKind::kIsNull:
      case NodeKind::kIn:
      case NodeKind::kLike:
      case NodeKind::kBetween:
        if (n->children.empty()) return n->pos;
        n = &n->children[0];
        continue;
      default:
        return n->pos;
    }
  }
}

}  // namespace plinth::expr

namespace plinth::expr {

Status ErrorsSince(const Diagnostics& diags, size_t first, std::string_view what) {
  const auto& items = diags.items();
  const Diagnostic* first_error = nullptr;
  size_t errors = 0;
  for (size_t i = first; i < items.size(); ++i) {
    if (items[i].severity != Severity::kError) continue;
    if (!first_error) first_error = &items[i];
    ++errors;
  }
  std::string message(what);
  if (first_error) {
    const Diagnostic& d = *first_error;
    message += ": ";
    if (!d.file.empty()) message += d.file + ":";
    message += std::to_string(d.pos.line) + ":" + std::to_string(d.pos.column) + ": " + d.message;
    if (!d.hint.empty()) message += " (" + d.hint + ")";
    if (errors > 1) message += " (and " + std::to_string(errors - 1) + " more error" + (errors > 2 ? "s" : "") + ")";
  }
  return Status(Code::kInvalidArgument, message);
}

}  // namespace plinth::expr

namespace plinth::expr {

Level LevelOf(const Node& node) {
  switch (node.kind) {
    case NodeKind::kLiteral:
    case NodeKind::kColumn:
    case NodeKind::kCall:
    case NodeKind::kExists:
      return Level::kPrimary;
    case NodeKind::kUnary:
      return node.uop == UnaryOp::kNot ? Level::kNot : Level::kUnaryMinus;
    case NodeKind::kIsNull:
    case NodeKind::kIn:
    case NodeKind::kLike:
    case NodeKind::kBetween:
      return Level::kPredicate;
    case NodeKind::kBinary:
      switch (node.bop) {
        case BinaryOp::kOr: return Level::kOr;
        case BinaryOp::kAnd: return Level::kAnd;
        case BinaryOp::kAdd:
        case BinaryOp::kSub:
        case BinaryOp::kConcat: return Level::kAdditive;
        case BinaryOp::kMul:
        case BinaryOp::kDiv:
        case BinaryOp::kMod: return Level::kMultiplicative;
        default: return Level::kPredicate;
      }
  }
  return Level::kPrimary;
}

}  // namespace plinth::expr
