// SQLite: plans rendered by RenderPlan, executed on a real database the way the runner does.
#include <gtest/gtest.h>

#include <regex>
#include <set>

#include "sql/plan_util.h"

namespace plinth::sql {
namespace {

using migrate::Op;
using migrate::OpKind;
using testing::ColumnOf;
using testing::MakeOp;
using testing::Migrator;
using testing::MustLoad;
using testing::TableOf;

constexpr std::string_view kBase = R"toml(
[app]
name = "t"
tenants = "tenants"

[enum.status]
values = ["draft", "published", "archived"]

[table.tenants]
columns.id   = { type = "uuid", primary_key = true, default = "uuid" }
columns.name = { type = "text(200)", not_null = true }
timestamps = true

[table.users]
tenant_scoped = true
columns.id    = { type = "uuid", primary_key = true, default = "uuid" }
columns.email = { type = "text(320)", not_null = true }
unique = [["email"]]

[table.documents]
tenant_scoped = true
columns.id      = { type = "uuid", primary_key = true, default = "uuid" }
columns.user_id = { type = "uuid", references = "users", on_delete = "set null" }
columns.title   = { type = "text", not_null = true, check = "length(title) <= 500" }
columns.status  = { type = "status", not_null = true, default = "draft" }
columns.pages   = { type = "integer" }
timestamps = true
indexes.recent    = { columns = ["created_at desc"] }
indexes.published = { columns = ["title"], where = "status = 'published'" }

[[table.documents.policies]]
name  = "owner_deletes"
for   = "delete"
using = "user_id = auth.user_id() or auth.has_role('admin')"

[table.audit_logs]
tenant_scoped = true
append_only = true
columns.id     = { type = "uuid", primary_key = true, default = "uuid" }
columns.action = { type = "text(100)", not_null = true }
)toml";

constexpr std::string_view kTenant = "11111111-1111-4111-8111-111111111111";
constexpr std::string_view kUser = "22222222-2222-4222-8222-222222222222";

class SqlitePlanTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = Migrator::Sqlite();
    ASSERT_NE(db_, nullptr);
  }

  // Base schema with one tenant, one user and one document.
  void SetUpBase() {
    Status st = db_->MigrateTo(MustLoad(kBase));
    ASSERT_TRUE(st.ok()) << st.ToString();
    db_->Exec("INSERT INTO tenants (id, name) VALUES ('" + std::string(kTenant) + "', 'acme')");
    db_->Exec("INSERT INTO users (tenant_id, id, email) VALUES ('" + std::string(kTenant) + "', '" +
              std::string(kUser) + "', 'a@acme.test')");
    db_->Exec("INSERT INTO documents (tenant_id, user_id, title) VALUES ('" + std::string(kTenant) + "', '" +
              std::string(kUser) + "', 'first')");
  }

  void ExpectNoDrift() {
    std::vector<Difference> drift = db_->Drift();
    EXPECT_TRUE(drift.empty()) << testing::DriftText(drift);
  }

  std::unique_ptr<Migrator> db_;
};

TEST_F(SqlitePlanTest, ExampleAppsMigrateFromEmptyWithoutDrift) {
  for (const std::string app : {"documents", "escrow", "settings", "curatore"}) {
    SCOPED_TRACE(app);
    auto db = Migrator::Sqlite();
    ASSERT_NE(db, nullptr);
    Status st = db->MigrateTo(testing::LoadExample(app));
    ASSERT_TRUE(st.ok()) << st.ToString();
    std::vector<Difference> drift = db->Drift();
    EXPECT_TRUE(drift.empty()) << testing::DriftText(drift);
  }
}

TEST_F(SqlitePlanTest, BaseSchemaHasNoDriftAndEnforcesTypes) {
  SetUpBase();
  ExpectNoDrift();
  // Type checks: text(200), enum values, integer range and kind.
  EXPECT_FALSE(db_->TryExec("INSERT INTO tenants (name) VALUES ('" + std::string(201, 'x') + "')").ok());
  const std::string doc = "INSERT INTO documents (tenant_id, title, status, pages) VALUES ('" + std::string(kTenant) + "', 't', ";
  EXPECT_FALSE(db_->TryExec(doc + "'deleted', 1)").ok());
  EXPECT_FALSE(db_->TryExec(doc + "'draft', 1.5)").ok());
  EXPECT_FALSE(db_->TryExec(doc + "'draft', 3000000000)").ok());
  EXPECT_TRUE(db_->TryExec(doc + "'draft', '12')").ok());  // affinity stores the integer 12
  EXPECT_EQ(db_->Text("SELECT typeof(pages) FROM documents WHERE pages IS NOT NULL"), "integer");
}

TEST_F(SqlitePlanTest, UuidDefaultsAreRandomVersion4) {
  SetUpBase();
  for (int i = 0; i < 200; ++i) db_->Exec("INSERT INTO tenants (name) VALUES ('t" + std::to_string(i) + "')");
  std::vector<std::string> ids = db_->Column("SELECT id FROM tenants");
  ASSERT_EQ(ids.size(), 201u);
  const std::regex v4("^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$");
  std::set<std::string> variants;
  for (const auto& id : ids) {
    EXPECT_TRUE(std::regex_match(id, v4)) << id;
    variants.insert(id.substr(19, 1));
  }
  EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()).size(), ids.size());
  EXPECT_EQ(variants.size(), 4u) << "all four RFC 4122 variant digits occur";
}

TEST_F(SqlitePlanTest, TimestampsDefaultAndTriggerKeepUpdatedAtCurrent) {
  SetUpBase();
  const std::regex rfc3339("^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}\\.\\d{6}Z$");
  EXPECT_TRUE(std::regex_match(db_->Text("SELECT created_at FROM tenants"), rfc3339));
  db_->Exec("UPDATE tenants SET updated_at = '2000-01-01T00:00:00.000000Z'");
  EXPECT_EQ(db_->Text("SELECT updated_at FROM tenants"), "2000-01-01T00:00:00.000000Z")
      << "a statement that sets updated_at keeps its value";
  db_->Exec("UPDATE tenants SET name = 'acme 2'");
  std::string bumped = db_->Text("SELECT updated_at FROM tenants");
  EXPECT_TRUE(std::regex_match(bumped, rfc3339)) << bumped;
  EXPECT_GT(bumped, "2020-01-01") << "an update that does not set updated_at bumps it";
}

TEST_F(SqlitePlanTest, AppendOnlyRefusesUpdateAndDelete) {
  SetUpBase();
  db_->Exec("INSERT INTO audit_logs (tenant_id, action) VALUES ('" + std::string(kTenant) + "', 'login')");
  Status update = db_->TryExec("UPDATE audit_logs SET action = 'logout'");
  EXPECT_FALSE(update.ok());
  EXPECT_NE(update.message().find("table audit_logs is append-only"), std::string::npos) << update.ToString();
  Status del = db_->TryExec("DELETE FROM audit_logs");
  EXPECT_FALSE(del.ok());
  EXPECT_EQ(db_->Text("SELECT action FROM audit_logs"), "login");
}

TEST_F(SqlitePlanTest, CompositeSetNullTriggerNullsOnlyTheReference) {
  SetUpBase();
  const std::string fk = "documents_user_id_fkey";
  EXPECT_EQ(db_->Count("SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND name = '" + fk + "_on_delete'"), 1);
  db_->Exec("DELETE FROM users");
  EXPECT_EQ(db_->Count("SELECT count(*) FROM documents"), 1) << "the document stays";
  EXPECT_EQ(db_->Text("SELECT user_id FROM documents"), "NULL");
  EXPECT_EQ(db_->Text("SELECT tenant_id FROM documents"), kTenant) << "the tenant column is never nulled";
  // The key is still enforced: a document cannot point at a missing user.
  EXPECT_FALSE(db_->TryExec("UPDATE documents SET user_id = '" + std::string(kUser) + "'").ok());
  // Deleting the tenant cascades through the plain foreign keys.
  db_->Exec("DELETE FROM tenants");
  EXPECT_EQ(db_->Count("SELECT count(*) FROM documents"), 0);
}

}  // namespace
}  // namespace plinth::sql
