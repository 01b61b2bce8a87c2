// plinth/diagnostic.h — errors and warnings that point into a file.
//
// A Diagnostic names the file, the 1-based line and column, what is wrong and (hint) what to
// do about it. Loaders collect every diagnostic they find instead of stopping at the first.
//
// Thread-safety: plain values.
#pragma once

#include <string>
#include <vector>

namespace plinth {

struct SourcePos {
  int line = 0;    // 1-based; 0 = unknown
  int column = 0;  // 1-based; 0 = unknown
};

enum class Severity : unsigned char { kError, kWarning };

struct Diagnostic {
  Severity severity = Severity::kError;
  std::string file;
  SourcePos pos;
  std::string message;  // what is wrong
  std::string hint;     // what to do (may be empty)

  // "file:line:column: error: message\n  hint: …"
  std::string ToString() const;
};

// An ordered collection of diagnostics.
class Diagnostics {
 public:
  void Error(std::string file, SourcePos pos, std::string message, std::string hint = {});
  void Warning(std::string file, SourcePos pos, std::string message, std::string hint = {});
  void Add(Diagnostic d) { items_.push_back(std::move(d)); }
  void Append(const Diagnostics& other);

  bool has_errors() const;
  size_t error_count() const;
  const std::vector<Diagnostic>& items() const { return items_; }
  bool empty() const { return items_.empty(); }

  // All diagnostics sorted by (file, line, column), one per line (hints indented below).
  std::string ToString() const;

 private:
  std::vector<Diagnostic> items_;
};

}  // namespace plinth
