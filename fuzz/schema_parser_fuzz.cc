// libFuzzer target: bytes → schema::LoadSchemaText (the TOML reader, expansion, validation and
// every expression of the file). A schema that loads also goes through the OpenAPI generator
// and the /docs renderer, whose output must be a JSON object and a page.
#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "plinth/rest.h"
#include "plinth/schema.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  plinth::Diagnostics diags;
  plinth::Result<plinth::schema::Schema> s = plinth::schema::LoadSchemaText(text, "fuzz.toml", diags);
  if (!s.ok()) {
    if (!diags.has_errors()) __builtin_trap();  // a refused schema says why
    return 0;
  }
  std::string doc = plinth::rest::OpenApiDocument(*s, {});
  if (!nlohmann::json::parse(doc, nullptr, false).is_object()) __builtin_trap();
  if (!plinth::rest::DocsPage(doc).ok()) __builtin_trap();
  return 0;
}
