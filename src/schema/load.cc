// LoadSchemaFile / LoadSchemaText: TOML parsing, then the reader and expander phases.
#include <cerrno>
#include <cstring>

#include "common/strings.h"
#include "plinth/schema.h"
#include "schema/phases.h"

namespace plinth::schema {

namespace {

Status Failed(size_t n, const std::string& file) {
  return Status(Code::kInvalidArgument,
                file + ": " + std::to_string(n) + (n == 1 ? " error" : " errors") + " in the schema");
}

}  // namespace

Result<Schema> LoadSchemaText(std::string_view text, const std::string& file_name, Diagnostics& diags) {
  const size_t errors_before = diags.error_count();
  toml::table root;
  try {
    root = toml::parse(text, std::string_view(file_name));
  } catch (const toml::parse_error& e) {
    const auto& begin = e.source().begin;
    std::string description(e.description());
    std::string hint = "fix the TOML syntax (see https://toml.io)";
    if (description.find("redefin") != std::string::npos) {
      hint = "a table, column or key may be defined only once: remove or rename the second definition";
    }
    diags.Error(file_name, {static_cast<int>(begin.line), static_cast<int>(begin.column)},
                "TOML syntax error: " + description, hint);
    return Failed(1, file_name);
  }
  SourceText source(text);
  decl::Schema declared = ReadDeclarations(root, source, file_name, diags);
  Schema schema = Expand(declared, file_name, diags);
  if (diags.error_count() > errors_before) return Failed(diags.error_count() - errors_before, file_name);
  return schema;
}

Result<Schema> LoadSchemaFile(const std::string& path, Diagnostics& diags) {
  std::string text;
  if (!ReadFile(path, text)) {
    const std::string why = std::strerror(errno);
    diags.Error(path, {}, "cannot read the schema file: " + why, "check the path (plinth looks for schema.toml in the app directory)");
    return Status(Code::kIoError, "cannot read " + path + ": " + why);
  }
  return LoadSchemaText(text, path, diags);
}

}  // namespace plinth::schema
