// libFuzzer target: bytes → the body validator (rest::ParseBody) against the fixed schema of
// tests/api/rest_fixture.h; the first byte picks insert, upsert or update. Checks, beyond "no
// crash": a body that validates yields only accepted columns, its json values are valid JSON,
// and rendering the fields as a row gives valid JSON (nlohmann-json as the oracle).
#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "api/rest_fixture.h"
#include "plinth/rest.h"

namespace {

const plinth::schema::Schema& Shop() {
  static const plinth::schema::Schema s = plinth::rest::testing::LoadShop();
  return s;
}

void Require(bool ok) {
  if (!ok) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const plinth::schema::Schema& s = Shop();
  const plinth::schema::Table& items = *s.FindTable("items");
  static constexpr plinth::rest::WriteKind kKinds[] = {plinth::rest::WriteKind::kInsert, plinth::rest::WriteKind::kUpsert,
                                                       plinth::rest::WriteKind::kUpdate};
  plinth::rest::WriteKind kind = kKinds[data[0] % 3];
  std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  plinth::rest::BodyLimits limits;
  limits.max_depth = 32;
  plinth::rest::ParsedBody b = plinth::rest::ParseBody(s, items, text, kind, limits);
  if (!b.ok()) {
    Require(!b.errors.empty());
    Require(b.fields.empty());
    return 0;
  }
  plinth::data::RowSet rows;
  rows.table = &items;
  rows.rows.emplace_back();
  for (const auto& [name, value] : b.fields) {
    const plinth::schema::Column* c = items.FindColumn(name);
    Require(c != nullptr && plinth::rest::ColumnAccepted(s, items, *c));
    if (value && c->type.kind == plinth::schema::TypeKind::kJson) {
      Require(!nlohmann::json::parse(*value, nullptr, false).is_discarded());
    }
    rows.columns.push_back(c);
    rows.rows[0].push_back(value);
  }
  std::string rendered = plinth::rest::RowJson(rows, 0);
  Require(nlohmann::json::parse(rendered, nullptr, false).is_object());
  // Any bytes as a JSON string literal parse back as a string.
  std::string literal;
  plinth::rest::AppendJsonString(literal, text);
  Require(nlohmann::json::parse(literal, nullptr, false).is_string());
  return 0;
}
