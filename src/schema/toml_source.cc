// Positions in the text of a TOML file.
#include "schema/toml_source.h"

#include <algorithm>
#include <cstdint>

namespace plinth::schema {

namespace {

bool IsContinuationByte(char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; }

// Length in bytes of the UTF-8 sequence that starts at text[i] (1 for malformed bytes).
size_t SequenceLength(std::string_view text, size_t i) {
  size_t n = 1;
  while (i + n < text.size() && IsContinuationByte(text[i + n])) ++n;
  return n;
}

void AppendUtf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// Walks raw text code point by code point, keeping the file position.
class Cursor {
 public:
  Cursor(std::string_view text, size_t offset, SourcePos pos) : text_(text), off_(offset), pos_(pos) {}

  bool done() const { return off_ >= text_.size(); }
  char peek(size_t ahead = 0) const { return off_ + ahead < text_.size() ? text_[off_ + ahead] : '\0'; }
  bool starts_with(std::string_view s) const { return text_.substr(off_, s.size()) == s; }
  SourcePos pos() const { return pos_; }
  size_t offset() const { return off_; }

  // Moves past one code point (a "\r\n" pair counts as one newline).
  void advance() {
    if (done()) return;
    if (text_[off_] == '\n' || (text_[off_] == '\r' && peek(1) == '\n')) {
      off_ += text_[off_] == '\r' ? 2 : 1;
      ++pos_.line;
      pos_.column = 1;
      return;
    }
    off_ += SequenceLength(text_, off_);
    ++pos_.column;
  }
  std::string_view current_sequence() const { return text_.substr(off_, SequenceLength(text_, off_)); }
  bool at_newline() const { return peek() == '\n' || (peek() == '\r' && peek(1) == '\n'); }

 private:
  std::string_view text_;
  size_t off_;
  SourcePos pos_;
};

bool IsTomlWhitespace(char c) { return c == ' ' || c == '\t'; }

}  // namespace

SourceText::SourceText(std::string_view text) : text_(text) {
  line_starts_.push_back(0);
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\n') line_starts_.push_back(i + 1);
  }
}

size_t SourceText::Offset(SourcePos pos) const {
  if (pos.line < 1 || pos.column < 1 || static_cast<size_t>(pos.line) > line_starts_.size()) {
    return std::string_view::npos;
  }
  size_t off = line_starts_[static_cast<size_t>(pos.line) - 1];
  for (int col = 1; col < pos.column; ++col) {
    if (off >= text_.size() || text_[off] == '\n') return std::string_view::npos;
    off += SequenceLength(text_, off);
  }
  return off;
}

std::string_view SourceText::Slice(SourcePos begin, SourcePos end) const {
  size_t b = Offset(begin), e = Offset(end);
  if (b == std::string_view::npos || e == std::string_view::npos || e < b) return {};
  return text_.substr(b, e - b);
}

StringPositions StringPositions::Build(const SourceText& source, SourcePos token_begin, std::string_view value) {
  StringPositions out;
  out.origin_ = {token_begin.line, token_begin.column + 1};
  size_t offset = source.Offset(token_begin);
  if (offset == std::string_view::npos) return out;

  Cursor cur(source.text(), offset, token_begin);
  const bool literal = cur.peek() == '\'';
  const char quote = cur.peek();
  if (quote != '"' && quote != '\'') return out;
  const bool multi_line = cur.starts_with(std::string(3, quote));
  for (int i = 0; i < (multi_line ? 3 : 1); ++i) cur.advance();
  if (multi_line && cur.at_newline()) cur.advance();  // TOML trims a newline right after """
  out.origin_ = cur.pos();

  std::string decoded;
  std::vector<SourcePos> positions;
  auto emit = [&](std::string_view bytes, SourcePos at) {
    decoded += bytes;
    positions.push_back(at);
  };
  const std::string closing(multi_line ? 3 : 1, quote);
  for (;;) {
    if (cur.done()) return out;
    if (cur.starts_with(closing)) {
      if (!multi_line) break;
      // Up to two quotes may sit right before the closing delimiter ("""a"""" is `a"`).
      size_t run = 0;
      while (cur.peek(run) == quote) ++run;
      for (size_t extra = 0; extra + 3 < run && extra < 2; ++extra) {
        emit(std::string_view(&closing[0], 1), cur.pos());
        cur.advance();
      }
      break;
    }
    if (!multi_line && cur.at_newline()) return out;
    if (literal || cur.peek() != '\\') {
      if (cur.at_newline()) {
        emit("\n", cur.pos());
      } else {
        emit(cur.current_sequence(), cur.pos());
      }
      cur.advance();
      continue;
    }
    // An escape in a basic string.
    SourcePos at = cur.pos();
    cur.advance();
    char e = cur.peek();
    if (multi_line && (IsTomlWhitespace(e) || cur.at_newline())) {
      // Line-ending backslash: drops the newline and all whitespace up to the next character.
      while (!cur.done() && (IsTomlWhitespace(cur.peek()) || cur.at_newline())) cur.advance();
      continue;
    }
    static constexpr std::string_view kSimple = "btnfr\"\\";
    static constexpr std::string_view kDecoded = "\b\t\n\f\r\"\\";
    if (size_t k = kSimple.find(e); k != std::string_view::npos && e != '\0') {
      emit(kDecoded.substr(k, 1), at);
      cur.advance();
      continue;
    }
    if (e == 'u' || e == 'U') {
      const int digits = e == 'u' ? 4 : 8;
      cur.advance();
      uint32_t cp = 0;
      for (int i = 0; i < digits; ++i) {
        char h = cur.peek();
        int v = h >= '0' && h <= '9' ? h - '0' : h >= 'a' && h <= 'f' ? h - 'a' + 10 : h >= 'A' && h <= 'F' ? h - 'A' + 10 : -1;
        if (v < 0) return out;
        cp = cp * 16 + static_cast<uint32_t>(v);
        cur.advance();
      }
      std::string bytes;
      AppendUtf8(bytes, cp);
      emit(bytes, at);
      continue;
    }
    return out;  // not an escape TOML knows; toml++ would have refused the file
  }
  if (decoded != value) return out;

  positions.push_back(cur.pos());  // the closing quote
  out.char_pos_ = std::move(positions);
  out.value_lines_.push_back(0);
  size_t index = 0;
  for (size_t i = 0; i < value.size(); i += SequenceLength(value, i), ++index) {
    if (value[i] == '\n') out.value_lines_.push_back(index + 1);
  }
  out.exact_ = true;
  return out;
}

SourcePos StringPositions::ToFile(SourcePos in_value) const {
  if (in_value.line < 1 || in_value.column < 1) return origin_;
  if (!exact_) {
    if (in_value.line == 1) return {origin_.line, origin_.column + in_value.column - 1};
    return {origin_.line + in_value.line - 1, in_value.column};
  }
  size_t line = static_cast<size_t>(in_value.line) - 1;
  if (line >= value_lines_.size()) return char_pos_.back();
  size_t index = value_lines_[line] + static_cast<size_t>(in_value.column) - 1;
  // Past the end of a line: its newline; past the end of the value: the closing quote.
  size_t limit = line + 1 < value_lines_.size() ? value_lines_[line + 1] - 1 : char_pos_.size() - 1;
  return char_pos_[std::min(index, limit)];
}

}  // namespace plinth::schema
