// libFuzzer target: bytes → expr::Parse + expr::Check (policy context) against the items table
// of tests/api/rest_fixture.h. An expression that checks is printed canonically, and the
// canonical text must parse and check again to the same canonical text (expr.h's promise), and
// render for both dialects.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "api/rest_fixture.h"
#include "plinth/expr.h"

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
  const plinth::schema::Schema& s = Shop();
  const plinth::schema::Table& items = *s.FindTable("items");
  std::string_view text(reinterpret_cast<const char*>(data), size);
  plinth::Diagnostics diags;
  plinth::expr::ParseOptions opts;
  opts.file = "fuzz.toml";
  opts.origin = {1, 1};
  plinth::Result<plinth::expr::Node> node = plinth::expr::Parse(text, opts, diags);
  if (!node.ok()) {
    Require(diags.has_errors());
    return 0;
  }
  if (!plinth::expr::Check(*node, s, items, plinth::expr::Context::kPolicy, "fuzz.toml", diags)) {
    Require(diags.has_errors());
    return 0;
  }
  std::string canonical = plinth::expr::Canonical(*node);
  plinth::Result<plinth::expr::Node> again =
      plinth::expr::ParseStored(canonical, s, items, plinth::expr::Context::kPolicy);
  Require(again.ok());
  Require(plinth::expr::Canonical(*again) == canonical);
  plinth::expr::RenderOptions pg;
  pg.dialect = plinth::expr::Dialect::kPostgres;
  plinth::expr::RenderOptions lite;
  lite.dialect = plinth::expr::Dialect::kSqlite;
  lite.table_alias = "t";
  Require(!plinth::expr::Render(*node, pg).empty());
  Require(!plinth::expr::Render(*node, lite).empty());
  return 0;
}
