// Helpers shared by the schema tests.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

#include "plinth/schema.h"

namespace plinth::schema::testing {

// Loads `text`; fails the test (with every diagnostic) when it does not load.
inline Schema MustLoad(std::string_view text, Diagnostics* out_diags = nullptr) {
  Diagnostics diags;
  Result<Schema> s = LoadSchemaText(text, "schema.toml", diags);
  EXPECT_TRUE(s.ok()) << s.status().ToString() << "\n" << diags.ToString();
  EXPECT_EQ(diags.error_count(), 0u) << diags.ToString();
  if (out_diags != nullptr) *out_diags = diags;
  return s.ok() ? std::move(s).value() : Schema{};
}

// Loads `text`, which must fail; returns the diagnostics.
inline Diagnostics MustFail(std::string_view text) {
  Diagnostics diags;
  Result<Schema> s = LoadSchemaText(text, "schema.toml", diags);
  EXPECT_FALSE(s.ok()) << "expected the schema to be refused";
  EXPECT_TRUE(diags.has_errors());
  return diags;
}

inline std::vector<std::string> ColumnNames(const Table& t) {
  std::vector<std::string> out;
  for (const Column& c : t.columns) out.push_back(c.name);
  return out;
}

inline std::vector<std::string> ConstraintNames(const Table& t) {
  std::vector<std::string> out;
  for (const Constraint& c : t.constraints) out.push_back(c.name);
  return out;
}

inline std::vector<std::string> PolicyNames(const Table& t) {
  std::vector<std::string> out;
  for (const Policy& p : t.policies) out.push_back(p.name);
  return out;
}

// "line:column: message" of every error, for readable assertions.
inline std::vector<std::string> Errors(const Diagnostics& diags) {
  std::vector<std::string> out;
  for (const Diagnostic& d : diags.items()) {
    if (d.severity == Severity::kError) {
      out.push_back(std::to_string(d.pos.line) + ":" + std::to_string(d.pos.column) + ": " + d.message);
    }
  }
  return out;
}

}  // namespace plinth::schema::testing
