#include "expr/lexer.h"

#include <cctype>

#include "expr/syntax.h"

namespace plinth::expr {
namespace {

bool IsIdentStart(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; }
bool IsIdentChar(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }
bool IsDigit(char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; }
bool IsUtf8Continuation(char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; }

class Lexer {
 public:
  Lexer(std::string_view text, SourcePos origin, const std::string& file, Diagnostics& diags)
      : text_(text), file_(file), diags_(diags) {
    // An unknown origin still gives positions relative to the expression itself.
    pos_.line = origin.line > 0 ? origin.line : 1;
    pos_.column = origin.column > 0 ? origin.column : 1;
  }

  bool Run(std::vector<Token>& out) {
    while (true) {
      SkipSpace();
      if (i_ >= text_.size()) break;
      Token t;
      t.pos = pos_;
      size_t start = i_;
      if (!Next(t)) {
        ok_ = false;
        continue;
      }
      t.raw = std::string(text_.substr(start, i_ - start));
      out.push_back(std::move(t));
    }
    Token end;
    end.kind = TokenKind::kEnd;
    end.pos = pos_;
    out.push_back(std::move(end));
    return ok_;
  }

 private:
  char Peek(size_t ahead = 0) const { return i_ + ahead < text_.size() ? text_[i_ + ahead] : '\0'; }

  // Consumes one byte, keeping line and column (in characters) current.
  void Advance() {
    char c = text_[i_++];
    if (c == '\n') {
      ++pos_.line;
      pos_.column = 1;
    } else if (c == '\r' && Peek() == '\n') {
      // "\r\n" is one line break: the '\n' advances the line.
    } else if (!IsUtf8Continuation(c)) {
      ++pos_.column;
    }
  }

  void SkipSpace() {
    while (i_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[i_]))) Advance();
  }

  void Error(SourcePos at, std::string message, std::string hint = {}) {
    diags_.Error(file_, at, std::move(message), std::move(hint));
  }

  // The whole UTF-8 character at the current position, for messages.
  std::string CurrentChar() const {
    size_t end = i_ + 1;
    while (end < text_.size() && IsUtf8Continuation(text_[end])) ++end;
    return std::string(text_.substr(i_, end - i_));
  }

  bool Next(Token& t) {
    char c = Peek();
    if (IsIdentStart(c)) {
      t.kind = TokenKind::kIdent;
      while (i_ < text_.size() && IsIdentChar(Peek())) {
        t.text.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(Peek()))));
        Advance();
      }
      return true;
    }
    if (IsDigit(c) || (c == '.' && IsDigit(Peek(1)))) return Number(t);
    if (c == '\'') return Quoted(t, '\'', TokenKind::kString);
    if (c == '"') return Quoted(t, '"', TokenKind::kQuotedIdent);
    return Symbol(t);
  }

  bool Number(Token& t) {
    t.kind = TokenKind::kNumber;
    SourcePos start = pos_;
    size_t begin = i_;
    while (IsDigit(Peek())) Take(t);
    if (Peek() == '.') {
      t.is_decimal = true;
      Take(t);
      while (IsDigit(Peek())) Take(t);
    }
    bool malformed = false;
    if (Peek() == 'e' || Peek() == 'E') {
      t.is_decimal = true;
      t.text.push_back('e');
      Advance();
      if (Peek() == '+' || Peek() == '-') Take(t);
      if (!IsDigit(Peek())) malformed = true;
      while (IsDigit(Peek())) Take(t);
    }
    if (IsIdentChar(Peek()) || Peek() == '.') malformed = true;
    if (malformed) {
      while (IsIdentChar(Peek()) || Peek() == '.') Advance();
      Error(start, "malformed number '" + std::string(text_.substr(begin, i_ - begin)) + "'",
            "write integers as 42, decimals as 12.50 or 1.5e3");
      return false;
    }
    return true;
  }

  void Take(Token& t) {
    t.text.push_back(Peek());
    Advance();
  }

  // A 'string' or "identifier": the quote character doubled stands for itself.
  bool Quoted(Token& t, char quote, TokenKind kind) {
    t.kind = kind;
    SourcePos start = pos_;
    const char* what = kind == TokenKind::kString ? "string literal" : "quoted identifier";
    Advance();
    bool has_nul = false;
    while (true) {
      if (i_ >= text_.size()) {
        Error(start, std::string("unterminated ") + what,
              std::string("close it with ") + quote + " (write " + quote + quote +
                  " for a quote inside it)");
        return false;
      }
      char c = Peek();
      if (c == quote) {
        Advance();
        if (Peek() != quote) break;
        t.text.push_back(quote);
        Advance();
        continue;
      }
      if (c == '\0') has_nul = true;
      Take(t);
    }
    if (has_nul) {
      Error(start, std::string(what) + " contains a NUL character", "remove it: the databases cannot store it");
      return false;
    }
    if (!IsValidUtf8(t.text)) {
      Error(start, std::string(what) + " is not valid UTF-8", "save the schema file as UTF-8");
      return false;
    }
    if (kind == TokenKind::kQuotedIdent && t.text.empty()) {
      Error(start, "empty quoted identifier \"\"",
            "write a column name; string literals use single quotes: ''");
      return false;
    }
    return true;
  }

  bool Symbol(Token& t) {
    t.kind = TokenKind::kSymbol;
    SourcePos start = pos_;
    char c = Peek();
    char n = Peek(1);
    auto two = [&](const char* s) {
      t.text = s;
      Advance();
      Advance();
      return true;
    };
    auto one = [&]() {
      t.text = std::string(1, c);
      Advance();
      return true;
    };
    switch (c) {
      case '<':
        if (n == '=' || n == '>') return two(n == '=' ? "<=" : "<>");
        return one();
      case '>':
        if (n == '=') return two(">=");
        return one();
      case '!':
        if (n == '=') return two("!=");
        break;
      case '|':
        if (n == '|') return two("||");
        break;
      case '=':
        if (n == '=') {
          Advance();
          Advance();
          Error(start, "'==' is not an operator", "use '=' to compare");
          return false;
        }
        return one();
      case '+': case '-': case '*': case '/': case '%': case '(': case ')': case ',': case '.':
        if (c == '-' && n == '-') {
          Advance();
          Advance();
          Error(start, "comments ('--') are not allowed in an expression",
                "put comments in the schema file (# …) outside the string");
          return false;
        }
        return one();
      default:
        break;
    }
    std::string ch = CurrentChar();
    std::string hint;
    if (c == '!') hint = "use 'not' to negate and '<>' for 'not equal'";
    else if (c == '&') hint = "use 'and'";
    else if (c == '|') hint = "use 'or' (or '||' to concatenate text)";
    else if (c == ';') hint = "an expression is a single condition: join conditions with 'and' or 'or'";
    else if (c == ':') hint = "casts are not supported: a string literal takes the type of what it is compared with";
    else if (c == '`') hint = "quote identifiers with double quotes and strings with single quotes";
    else if (c == '?' || c == '$') hint = "parameters are not supported: write the value as a literal";
    Error(start, "unexpected character '" + ch + "'", hint);
    for (size_t k = 0; k < ch.size(); ++k) Advance();
    return false;
  }

  std::string_view text_;
  const std::string& file_;
  Diagnostics& diags_;
  size_t i_ = 0;
  SourcePos pos_;
  bool ok_ = true;
};

}  // namespace

bool Lex(std::string_view text, SourcePos origin, const std::string& file, Diagnostics& diags,
         std::vector<Token>& tokens) {
  tokens.clear();
  return Lexer(text, origin, file, diags).Run(tokens);
}

}  // namespace plinth::expr
