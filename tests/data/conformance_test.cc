// The isolation conformance suite on SQLite (tests/data/conformance.h), and the policy mutants
// that must turn it red: the runtime compiles the policies from the schema, so a mutated
// schema is a mutated enforcement.
#include <gtest/gtest.h>

#include "data/conformance.h"

namespace plinth::testing {
namespace {

std::string CaseName(const ::testing::TestParamInfo<Case>& info) { return info.param.name; }

class SqliteConformance : public ::testing::TestWithParam<Case> {};

TEST_P(SqliteConformance, Holds) {
  SqliteEnv env(ReadSchemaFile("isolation.toml"), EnvOptions{});
  ASSERT_TRUE(env.ok());
  Checker c = RunCase(env, GetParam());
  EXPECT_TRUE(c.violations.empty()) << Lines(c.violations) << "\ntranscript:\n" << Lines(c.transcript);
}

INSTANTIATE_TEST_SUITE_P(Isolation, SqliteConformance, ::testing::ValuesIn(IsolationCases()), CaseName);

// Violations of the whole suite with the runtime compiling a mutated schema.
size_t SuiteViolations(const std::function<void(schema::Schema&)>& mutate) {
  size_t total = 0;
  for (const Case& cs : IsolationCases()) {
    EnvOptions o;
    o.mutate_runtime_schema = mutate;
    SqliteEnv env(ReadSchemaFile("isolation.toml"), o);
    if (!env.ok()) return 0;
    total += RunCase(env, cs).violations.size();
  }
  return total;
}

void ForPolicies(schema::Schema& s, const std::function<void(schema::Policy&)>& f, bool tenant_policy_only = false) {
  for (auto& t : s.tables) {
    for (auto& p : t.policies) {
      if (!tenant_policy_only || p.name == "tenant_isolation") f(p);
    }
  }
}

TEST(SqlitePolicyMutants, TheUnmutatedSuiteIsGreen) { EXPECT_EQ(SuiteViolations([](schema::Schema&) {}), 0u); }

TEST(SqlitePolicyMutants, DroppingTheChecksTurnsItRed) {
  EXPECT_GT(SuiteViolations([](schema::Schema& s) {
              ForPolicies(s, [](schema::Policy& p) {
                if (!p.check_expr.empty()) p.check_expr = "true";
              });
            }),
            0u);
}

TEST(SqlitePolicyMutants, UsingTrueTurnsItRed) {
  EXPECT_GT(SuiteViolations([](schema::Schema& s) {
              ForPolicies(s, [](schema::Policy& p) {
                if (!p.using_expr.empty()) p.using_expr = "true";
              });
            }),
            0u);
}

TEST(SqlitePolicyMutants, DroppingRowSecurityTurnsItRed) {
  EXPECT_GT(SuiteViolations([](schema::Schema& s) {
              for (auto& t : s.tables) t.options.row_security = false;
            }),
            0u);
}

// Defence in depth: weakening only the tenant policy does not open tenants to each other,
// because writes are checked against the SELECT policies too (they return the row) and every
// statement carries tenant_id = $tenant itself.
TEST(SqlitePolicyMutants, AWeakenedTenantPolicyAloneStillKeepsTenantsApart) {
  EXPECT_EQ(SuiteViolations([](schema::Schema& s) {
              ForPolicies(s, [](schema::Policy& p) { p.check_expr = "true"; }, /*tenant_policy_only=*/true);
            }),
            0u);
}

TEST(SqlitePolicyMutants, APermissiveTrueOnlyPolicyKeepsTenantsApart) {
  // A sloppy permissive policy cannot cross the restrictive tenant policy.
  EnvOptions o;
  o.mutate_runtime_schema = [](schema::Schema& s) {
    schema::Policy p;
    p.name = "everyone";
    p.command = schema::PolicyCommand::kAll;
    p.using_expr = "true";
    s.FindTable("documents")->policies.push_back(p);
  };
  SqliteEnv env(ReadSchemaFile("isolation.toml"), o);
  ASSERT_TRUE(env.ok());
  Checker c;
  SeedWorld(env, c);
  EXPECT_EQ(Ids(ListRows(env, PB1(), "documents", ById())), Join({World::B1, World::B2}));
  EXPECT_EQ(ShowStatus(GetRow(env, PB1(), "documents", World::A1).status()), "not_found");
}

}  // namespace
}  // namespace plinth::testing
