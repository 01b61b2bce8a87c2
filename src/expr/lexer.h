// expr/lexer.h — tokens of the expression language, with absolute file positions (internal).
//
// Thread-safety: reentrant.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "plinth/diagnostic.h"

namespace plinth::expr {

enum class TokenKind : unsigned char {
  kEnd,          // end of the expression
  kIdent,        // bare identifier or keyword; `text` is lower-cased
  kQuotedIdent,  // "identifier"; `text` is the unescaped name, never a keyword
  kString,       // 'string'; `text` is the unescaped value
  kNumber,       // integer or decimal as written ('E' lower-cased); `is_decimal` tells which
  kSymbol,       // = <> != < <= > >= + - * / % || ( ) , .
};

struct Token {
  TokenKind kind = TokenKind::kEnd;
  std::string text;
  std::string raw;  // the source spelling, for messages
  bool is_decimal = false;
  SourcePos pos;
};

// Splits `text` into tokens, the last one kEnd. `origin` is the position of text[0]; a line break
// starts the next line at column 1, and columns count characters (UTF-8 code points). Every
// malformed token is reported in `diags` (with `file`); returns false when any was.
bool Lex(std::string_view text, SourcePos origin, const std::string& file, Diagnostics& diags,
         std::vector<Token>& tokens);

}  // namespace plinth::expr
