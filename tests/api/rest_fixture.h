// A schema with a column of every type and every kind of access, shared by the api tests and
// the fuzz targets (fuzz/*_fuzz.cc include it through tests/).
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

#include "plinth/schema.h"

namespace plinth::rest::testing {

inline constexpr std::string_view kShopSchema = R"toml(
[app]
name = "shop"
tenants = "tenants"

[enum.item_status]
values = ["draft", "active", "archived"]

[table.tenants]
api = "read_only"
columns.id   = { type = "uuid", primary_key = true, default = "uuid" }
columns.name = { type = "text(100)", not_null = true }

[table.items]
tenant_scoped = true
timestamps = true
comment = "Things for sale."
columns.id      = { type = "uuid", primary_key = true, default = "uuid" }
columns.title   = { type = "text(10)", not_null = true }
columns.body    = { type = "text" }
columns.qty     = { type = "integer", not_null = true, default = 0 }
columns.big     = { type = "bigint" }
columns.done    = { type = "boolean", not_null = true, default = false }
columns.price   = { type = "decimal(8,2)" }
columns.due_at  = { type = "timestamp" }
columns.day     = { type = "date" }
columns.meta    = { type = "json" }
columns.blob    = { type = "bytes" }
columns.status  = { type = "item_status", not_null = true }
columns.code    = { type = "text(20)", access = "read_only" }
columns.secret  = { type = "text", access = "write_only" }
columns.pw_hash = { type = "text", access = "hidden" }
columns.config  = { type = "json", encrypted = true }

[table.links]
columns.a = { type = "uuid", not_null = true }
columns.b = { type = "uuid", not_null = true }
columns.after = { type = "text" }
primary_key = ["a", "b"]

[table.events]
append_only = true
columns.id   = { type = "bigint", primary_key = true }
columns.what = { type = "text", not_null = true }

[table.internal_notes]
api = "hidden"
columns.id   = { type = "uuid", primary_key = true, default = "uuid" }
columns.note = { type = "text" }
)toml";

// Loads kShopSchema; throws when it does not load (a bug in the fixture).
inline schema::Schema LoadShop() {
  Diagnostics diags;
  Result<schema::Schema> s = schema::LoadSchemaText(kShopSchema, "shop.toml", diags);
  if (!s.ok()) throw std::runtime_error("shop schema: " + s.status().ToString() + "\n" + diags.ToString());
  return std::move(s).value();
}

}  // namespace plinth::rest::testing
