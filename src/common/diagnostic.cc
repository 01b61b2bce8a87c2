#include "plinth/diagnostic.h"

#include <algorithm>

namespace plinth {

std::string Diagnostic::ToString() const {
  std::string s = file.empty() ? std::string("<input>") : file;
  if (pos.line > 0) {
    s += ":" + std::to_string(pos.line);
    if (pos.column > 0) s += ":" + std::to_string(pos.column);
  }
  s += severity == Severity::kError ? ": error: " : ": warning: ";
  s += message;
  if (!hint.empty()) s += "\n  hint: " + hint;
  return s;
}

void Diagnostics::Error(std::string file, SourcePos pos, std::string message, std::string hint) {
  items_.push_back({Severity::kError, std::move(file), pos, std::move(message), std::move(hint)});
}

void Diagnostics::Warning(std::string file, SourcePos pos, std::string message, std::string hint) {
  items_.push_back({Severity::kWarning, std::move(file), pos, std::move(message), std::move(hint)});
}

void Diagnostics::Append(const Diagnostics& other) {
  items_.insert(items_.end(), other.items_.begin(), other.items_.end());
}

bool Diagnostics::has_errors() const { return error_count() > 0; }

size_t Diagnostics::error_count() const {
  return static_cast<size_t>(std::count_if(items_.begin(), items_.end(), [](const Diagnostic& d) {
    return d.severity == Severity::kError;
  }));
}

std::string Diagnostics::ToString() const {
  std::vector<const Diagnostic*> sorted;
  sorted.reserve(items_.size());
  for (const auto& d : items_) sorted.push_back(&d);
  std::stable_sort(sorted.begin(), sorted.end(), [](const Diagnostic* a, const Diagnostic* b) {
    if (a->file != b->file) return a->file < b->file;
    if (a->pos.line != b->pos.line) return a->pos.line < b->pos.line;
    return a->pos.column < b->pos.column;
  });
  std::string out;
  for (const auto* d : sorted) {
    out += d->ToString();
    out += '\n';
  }
  return out;
}

}  // namespace plinth
