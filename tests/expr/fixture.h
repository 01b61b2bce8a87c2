// tests/expr/fixture.h — a small hand-built schema (users, projects, milestones) and helpers to
// parse, check and inspect expressions against it.
#pragma once

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <string_view>

#include "plinth/expr.h"

namespace plinth::expr::testing {

inline schema::Column Col(std::string name, schema::TypeKind kind, std::string enum_name = {}) {
  schema::Column c;
  c.name = std::move(name);
  c.type.kind = kind;
  c.type.enum_name = std::move(enum_name);
  if (kind == schema::TypeKind::kDecimal) {
    c.type.precision = 12;
    c.type.scale = 2;
  }
  return c;
}

// users, projects and milestones with a column of every type.
inline schema::Schema MakeSchema() {
  using schema::TypeKind;
  schema::Schema s;
  s.app.name = "test";
  s.enums.push_back({"project_status", {"draft", "active", "archived"}, {}, {}, {}});
  s.enums.push_back({"user_role", {"member", "admin"}, {}, {}, {}});

  schema::Table users;
  users.name = "users";
  users.columns = {Col("id", TypeKind::kUuid),
                   Col("tenant_id", TypeKind::kUuid),
                   Col("email", TypeKind::kText),
                   Col("name", TypeKind::kText),
                   Col("age", TypeKind::kInteger),
                   Col("login_count", TypeKind::kBigint),
                   Col("balance", TypeKind::kDecimal),
                   Col("is_active", TypeKind::kBoolean),
                   Col("created_at", TypeKind::kTimestamp),
                   Col("birthday", TypeKind::kDate),
                   Col("settings", TypeKind::kJson),
                   Col("avatar", TypeKind::kBytes),
                   Col("role", TypeKind::kEnum, "user_role"),
                   Col("ssn", TypeKind::kText)};
  users.columns[2].type.max_length = 200;
  users.columns.back().encrypted = true;

  schema::Table projects;
  projects.name = "projects";
  projects.columns = {Col("id", TypeKind::kUuid),
                      Col("tenant_id", TypeKind::kUuid),
                      Col("owner_id", TypeKind::kUuid),
                      Col("user_id", TypeKind::kUuid),
                      Col("title", TypeKind::kText),
                      Col("code", TypeKind::kText),
                      Col("status", TypeKind::kEnum, "project_status"),
                      Col("previous_status", TypeKind::kEnum, "project_status"),
                      Col("budget", TypeKind::kDecimal),
                      Col("priority", TypeKind::kInteger),
                      Col("archived", TypeKind::kBoolean),
                      Col("created_at", TypeKind::kTimestamp),
                      Col("due_date", TypeKind::kDate),
                      Col("metadata", TypeKind::kJson),
                      Col("Mixed Case", TypeKind::kText)};
  projects.columns[5].type.max_length = 20;

  schema::Table milestones;
  milestones.name = "milestones";
  milestones.columns = {Col("id", TypeKind::kUuid),       Col("tenant_id", TypeKind::kUuid),
                        Col("project_id", TypeKind::kUuid), Col("user_id", TypeKind::kUuid),
                        Col("title", TypeKind::kText),      Col("done", TypeKind::kBoolean),
                        Col("position", TypeKind::kInteger), Col("due_at", TypeKind::kTimestamp)};

  s.tables = {users, projects, milestones};
  return s;
}

// The outcome of parsing and checking one expression.
struct Outcome {
  std::optional<Node> node;  // set when it parsed
  bool checked = false;      // Check found no error
  Diagnostics diags;

  bool ok() const { return node && checked; }
};

class ExprTest : public ::testing::Test {
 protected:
  const schema::Table& TableNamed(std::string_view name) const {
    const schema::Table* t = schema_.FindTable(name);
    EXPECT_NE(t, nullptr) << name;
    return *t;
  }

  // Parses `text` (first character at 1:1 of "schema.toml") and checks it on `table` in `ctx`.
  Outcome Run(std::string_view text, std::string_view table = "projects", Context ctx = Context::kPolicy,
              SourcePos origin = {1, 1}) const {
    Outcome out;
    ParseOptions opts{"schema.toml", origin};
    auto parsed = Parse(text, opts, out.diags);
    if (!parsed.ok()) return out;
    out.node = std::move(parsed).value();
    out.checked = Check(*out.node, schema_, TableNamed(table), ctx, "schema.toml", out.diags);
    return out;
  }

  // A tree that must parse and check; fails the test (and returns an empty literal) otherwise.
  Node Checked(std::string_view text, std::string_view table = "projects", Context ctx = Context::kPolicy) const {
    Outcome out = Run(text, table, ctx);
    EXPECT_TRUE(out.ok()) << text << "\n" << out.diags.ToString();
    return out.node ? *out.node : Node{};
  }

  // Parse only.
  Node Parsed(std::string_view text) const {
    Diagnostics diags;
    auto parsed = Parse(text, ParseOptions{"schema.toml", {1, 1}}, diags);
    EXPECT_TRUE(parsed.ok()) << text << "\n" << diags.ToString();
    return parsed.ok() ? *parsed : Node{};
  }

  schema::Schema schema_ = MakeSchema();
};

// Passes when `diags` holds an error at line:column whose message contains `message` (and, when
// given, whose hint contains `hint`).
inline ::testing::AssertionResult HasError(const Diagnostics& diags, int line, int column, std::string_view message,
                                           std::string_view hint = {}) {
  for (const Diagnostic& d : diags.items()) {
    if (d.severity == Severity::kError && d.pos.line == line && d.pos.column == column &&
        d.message.find(message) != std::string::npos && d.hint.find(hint) != std::string::npos) {
      return ::testing::AssertionSuccess();
    }
  }
  return ::testing::AssertionFailure() << "no error at " << line << ":" << column << " containing '" << message
                                       << "'" << (hint.empty() ? "" : " with hint '" + std::string(hint) + "'")
                                       << "; got:\n"
                                       << diags.ToString();
}

// Structural equality of two trees (what the parser produces; positions and types ignored).
inline bool SameTree(const Node& a, const Node& b) {
  if (a.kind != b.kind || a.text != b.text || a.qualifier != b.qualifier || a.children.size() != b.children.size()) {
    return false;
  }
  switch (a.kind) {
    case NodeKind::kLiteral:
      if (a.lit != b.lit) return false;
      break;
    case NodeKind::kUnary:
      if (a.uop != b.uop) return false;
      break;
    case NodeKind::kBinary:
      if (a.bop != b.bop) return false;
      break;
    case NodeKind::kLike:
      if (a.case_insensitive != b.case_insensitive || a.negated != b.negated) return false;
      break;
    case NodeKind::kIsNull:
    case NodeKind::kIn:
    case NodeKind::kBetween:
    case NodeKind::kExists:
      if (a.negated != b.negated) return false;
      break;
    default:
      break;
  }
  for (size_t i = 0; i < a.children.size(); ++i) {
    if (!SameTree(a.children[i], b.children[i])) return false;
  }
  return true;
}

}  // namespace plinth::expr::testing
