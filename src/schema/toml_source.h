// schema/toml_source.h — positions in the text of a TOML file (internal to the schema layer).
//
// toml++ gives every key and value a source region (1-based line and column, columns counted
// in Unicode code points). This unit recovers what toml++ does not keep: the raw text of a value
// (the exact spelling of a float) and, for string values, where each character of the decoded
// value was written, so that a position inside an expression string (counted in characters of
// the value, as expr::ParseOptions describes) maps back to the file even across escapes,
// multi-line strings and line-ending backslashes.
//
// Thread-safety: plain values; SourceText borrows the text it is built on, which must outlive it.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "plinth/diagnostic.h"

namespace plinth::schema {

// The text of a file with its line starts.
class SourceText {
 public:
  explicit SourceText(std::string_view text);

  // Byte offset of a position (column in code points); npos when it is outside the text.
  size_t Offset(SourcePos pos) const;
  // The raw text from `begin` (inclusive) to `end` (exclusive); empty when either is outside.
  std::string_view Slice(SourcePos begin, SourcePos end) const;
  std::string_view text() const { return text_; }

 private:
  std::string_view text_;
  std::vector<size_t> line_starts_;
};

// Where each character of a TOML string value was written.
class StringPositions {
 public:
  StringPositions() = default;

  // Decodes the TOML string token that starts at `token_begin` (its opening quote). When the
  // decoded text differs from `value` (which toml++ produced), falls back to counting from the
  // first character of the content, which is exact for strings without escapes.
  static StringPositions Build(const SourceText& source, SourcePos token_begin, std::string_view value);

  // Position of the first character of the content (after the opening quote; for a multi-line
  // string whose opening quotes end the line, the start of the next line).
  SourcePos origin() const { return origin_; }

  // Maps a position counted inside the value (line 1 column 1 = its first character; a newline
  // in the value starts a new line; columns in code points) to the file. Positions past the end
  // of the value map to the closing quote.
  SourcePos ToFile(SourcePos in_value) const;

 private:
  SourcePos origin_;
  bool exact_ = false;
  std::vector<SourcePos> char_pos_;    // per code point of the value, then one for the end
  std::vector<size_t> value_lines_;    // index in char_pos_ of the first code point of each line
};

}  // namespace plinth::schema
