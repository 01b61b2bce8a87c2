// The Prefer request header (RFC 7240) with PostgREST's preferences (rest.h).
#include "common/strings.h"
#include "plinth/rest.h"

namespace plinth::rest {

std::string Preferences::PreferenceApplied() const { return Join(applied, ", "); }

Preferences ParsePrefer(std::string_view header) {
  Preferences p;
  auto apply = [&](const std::string& canonical) {
    for (const std::string& a : p.applied) {
      if (a.substr(0, a.find('=')) == canonical.substr(0, canonical.find('='))) return false;  // first one wins
    }
    p.applied.push_back(canonical);
    return true;
  };
  for (const std::string& raw : Split(header, ',')) {
    std::string item = Trim(raw);
    // "return=minimal; foo=bar": parameters after ';' are ignored.
    if (size_t semi = item.find(';'); semi != std::string::npos) item = Trim(item.substr(0, semi));
    if (item.empty()) continue;
    std::string name = item, value;
    if (size_t eq = item.find('='); eq != std::string::npos) {
      name = Trim(item.substr(0, eq));
      value = Trim(item.substr(eq + 1));
      if (value.size() >= 2 && value.front() == '"' && value.back() == '"') value = value.substr(1, value.size() - 2);
    }
    name = ToLower(name);
    value = ToLower(value);
    if (name == "return" && (value == "minimal" || value == "representation")) {
      if (apply("return=" + value)) {
        p.return_mode = value == "minimal" ? Preferences::Return::kMinimal : Preferences::Return::kRepresentation;
      }
    } else if (name == "count" && value == "exact") {
      if (apply("count=exact")) p.count_exact = true;
    } else if (name == "resolution" && value == "merge-duplicates") {
      if (apply("resolution=merge-duplicates")) p.merge_duplicates = true;
    }
  }
  return p;
}

}  // namespace plinth::rest
