// schema/phases.h — the two phases of loading a schema (internal to the schema layer):
// reading the TOML document into declarations, and expanding them into the model.
//
// Thread-safety: reentrant; each call works on its own values.
#pragma once

#include <string>

#include <toml++/toml.h>

#include "plinth/diagnostic.h"
#include "plinth/schema.h"
#include "schema/decl.h"
#include "schema/toml_source.h"

namespace plinth::schema {

// Reads the declarations of a parsed document. Problems of shape (unknown keys, wrong value
// types, bad names, unknown column types, defaults that do not fit) are recorded in `diags`;
// what could be read is returned either way, so the expander can report further problems.
decl::Schema ReadDeclarations(const toml::table& root, const SourceText& source, const std::string& file,
                              Diagnostics& diags);

// Expands the declarations into the model (tenant columns and keys, timestamps, the tenant
// policy, generated names) and validates what involves several objects: references, keys,
// tenant rules, name collisions and expressions. Problems are recorded in `diags`.
Schema Expand(const decl::Schema& declared, const std::string& file, Diagnostics& diags);

}  // namespace plinth::schema
