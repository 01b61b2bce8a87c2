// migrate_core/op_json.h — operations as JSON, both ways (internal to the migrate_core layer).
//
// The layout of every operation is documented in docs/migrations.md. Writing leaves out fields
// at their default value (false, empty, "no action"); reading is strict: each problem (unknown
// or missing field, wrong JSON type, unknown name, malformed type) is reported with the line of
// the value it concerns, and reading goes on to report every problem at once.
//
// Thread-safety: reentrant.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "plinth/diagnostic.h"
#include "plinth/migrate.h"

namespace plinth::migrate::internal {

using Json = nlohmann::ordered_json;

// The operation as a JSON object; `with_note` = false leaves the note out (canonical form).
Json OpToJson(const Op& op, bool with_note);

// Positions of JSON values by path ("" = the document, "/up/3/column/type"), from a scan of
// the text (nlohmann does not keep positions).
class JsonPositions {
 public:
  // Scans `text` (already known to be valid JSON). Duplicate object keys are collected.
  explicit JsonPositions(std::string_view text);
  // Position of the value at `path`, or of the nearest enclosing value that has one.
  SourcePos Find(std::string path) const;
  // Paths of keys written more than once in the same object, with the position of the repeat.
  const std::vector<std::pair<std::string, SourcePos>>& duplicates() const { return duplicates_; }

 private:
  std::map<std::string, SourcePos> positions_;
  std::vector<std::pair<std::string, SourcePos>> duplicates_;
};

// Where a reader reports problems.
struct ReadContext {
  const std::string& file;
  const JsonPositions& positions;
  Diagnostics& diags;
};

// Reads the operation at `path` ("/up/3"); `label` names it in messages ("up[3]"). Returns
// nullopt when a problem was reported.
std::optional<Op> OpFromJson(const Json& j, const std::string& path, const std::string& label, ReadContext& ctx);

}  // namespace plinth::migrate::internal
