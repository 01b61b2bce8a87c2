// A realistic multi-tenant schema (tenants, users, documents with policies, an audit log),
// loaded end to end: the expanded model is asserted object by object.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "schema/test_util.h"

namespace plinth::schema {
namespace {

using ::testing::ElementsAre;
using testing::ColumnNames;
using testing::ConstraintNames;
using testing::MustLoad;
using testing::PolicyNames;

constexpr std::string_view kDocumentsApp = R"toml(
[app]
name = "documents"
tenants = "tenants"

[enum.role]
values = ["member", "admin"]

[enum.subscription_tier]
values = ["free", "pro", "enterprise"]

[table.tenants]
columns.id                = { type = "uuid", primary_key = true, default = "uuid" }
columns.name              = { type = "text(200)", not_null = true }
columns.domain            = { type = "text", unique = true }
columns.subscription_tier = { type = "subscription_tier", not_null = true, default = "free" }
timestamps = true

[table.users]
tenant_scoped = true
columns.id            = { type = "uuid", primary_key = true, default = "uuid" }
columns.email         = { type = "text", not_null = true, unique = true, check = "email = lower(email)" }
columns.role          = { type = "role", not_null = true, default = "member" }
columns.password_hash = { type = "text", access = "hidden" }
timestamps = true

[[table.users.policies]]
name = "users_select_own"
for = "select"
using = "id = auth.user_id() or auth.has_role('admin')"

[table.documents]
tenant_scoped = true
comment = "Documents of a tenant"
columns.id       = { type = "uuid", primary_key = true, default = "uuid" }
columns.user_id  = { type = "uuid", references = "users", on_delete = "set null" }
columns.title    = { type = "text", not_null = true, check = "length(title) <= 500" }
columns.metadata = { type = "json", not_null = true, default = '{ "tags": [] }' }
timestamps = true
indexes.recent   = { columns = ["created_at desc"] }
indexes.by_title = { columns = ["title"], tenant_prefix = false }

[[table.documents.policies]]
name  = "owner_writes"
for   = ["update", "delete"]
using = "user_id = auth.user_id() or auth.has_role('admin')"

[[table.documents.policies]]
name  = "members_read"
for   = "select"
using = "true"

[table.audit_logs]
tenant_scoped = true
append_only = true
columns.id      = { type = "bigint", primary_key = true }
columns.user_id = { type = "uuid", references = "users", on_delete = "restrict" }
columns.action  = { type = "text", not_null = true }
columns.at      = { type = "timestamp", not_null = true, default = "now" }
)toml";

class DocumentsAppTest : public ::testing::Test {
 protected:
  void SetUp() override { schema_ = MustLoad(kDocumentsApp); }
  const Table& T(std::string_view name) {
    const Table* t = schema_.FindTable(name);
    EXPECT_NE(t, nullptr) << name;
    static const Table kEmpty;
    return t != nullptr ? *t : kEmpty;
  }
  Schema schema_;
};

TEST_F(DocumentsAppTest, AppAndEnumsAndTableOrder) {
  EXPECT_EQ(schema_.app.name, "documents");
  EXPECT_EQ(schema_.app.tenants_table, "tenants");
  EXPECT_EQ(schema_.app.tenant_column, "tenant_id");
  ASSERT_EQ(schema_.enums.size(), 2u);
  EXPECT_EQ(schema_.enums[0].name, "role");
  EXPECT_EQ(schema_.enums[1].values, (std::vector<std::string>{"free", "pro", "enterprise"}));
  std::vector<std::string> tables;
  for (const Table& t : schema_.tables) tables.push_back(t.name);
  EXPECT_THAT(tables, ElementsAre("tenants", "users", "documents", "audit_logs"));
  EXPECT_EQ(schema_.file, "schema.toml");
}

TEST_F(DocumentsAppTest, TenantTableIsPlainWithTimestamps) {
  const Table& t = T("tenants");
  EXPECT_THAT(ColumnNames(t), ElementsAre("id", "name", "domain", "subscription_tier", "created_at", "updated_at"));
  EXPECT_FALSE(t.options.tenant_scoped);
  EXPECT_TRUE(t.options.timestamps);
  EXPECT_FALSE(t.options.row_security);
  EXPECT_TRUE(t.policies.empty());
  EXPECT_THAT(ConstraintNames(t), ElementsAre("tenants_pkey", "tenants_domain_key"));
  EXPECT_EQ(t.PrimaryKey()->columns, (std::vector<std::string>{"id"}));
  EXPECT_EQ(t.FindColumn("name")->type.ToString(), "text(200)");
  EXPECT_TRUE(t.FindColumn("id")->not_null) << "primary key columns are not null";
  EXPECT_EQ(t.FindColumn("id")->default_value.kind, DefaultKind::kNewUuid);
  EXPECT_EQ(t.FindColumn("subscription_tier")->default_value, (Default{DefaultKind::kLiteral, "free"}));
}

TEST_F(DocumentsAppTest, UsersAreTenantScoped) {
  const Table& t = T("users");
  EXPECT_THAT(ColumnNames(t),
              ElementsAre("id", "tenant_id", "email", "role", "password_hash", "created_at", "updated_at"));
  const Column& tenant = *t.FindColumn("tenant_id");
  EXPECT_EQ(tenant.type.kind, TypeKind::kUuid);
  EXPECT_TRUE(tenant.not_null);
  EXPECT_EQ(tenant.default_value.kind, DefaultKind::kNone);
  EXPECT_EQ(t.FindColumn("password_hash")->access, Access::kHidden);

  EXPECT_THAT(ConstraintNames(t),
              ElementsAre("users_pkey", "users_email_key", "users_email_check", "users_tenant_id_fkey"));
  EXPECT_EQ(t.PrimaryKey()->columns, (std::vector<std::string>{"tenant_id", "id"}));
  EXPECT_EQ(t.FindConstraint("users_email_key")->columns, (std::vector<std::string>{"tenant_id", "email"}));
  EXPECT_EQ(t.FindConstraint("users_email_check")->expression, "email = lower(email)");
  const Constraint& fk = *t.FindConstraint("users_tenant_id_fkey");
  EXPECT_EQ(fk.kind, ConstraintKind::kForeignKey);
  EXPECT_EQ(fk.columns, (std::vector<std::string>{"tenant_id"}));
  EXPECT_EQ(fk.ref_table, "tenants");
  EXPECT_EQ(fk.ref_columns, (std::vector<std::string>{"id"}));
  EXPECT_EQ(fk.on_delete, FkAction::kCascade);
  EXPECT_EQ(fk.on_update, FkAction::kNoAction);

  EXPECT_TRUE(t.options.row_security);
  EXPECT_THAT(PolicyNames(t), ElementsAre("tenant_isolation", "users_select_own"));
  const Policy& iso = t.policies[0];
  EXPECT_TRUE(iso.restrictive);
  EXPECT_EQ(iso.command, PolicyCommand::kAll);
  EXPECT_EQ(iso.using_expr, "tenant_id = auth.tenant_id()");
  EXPECT_EQ(iso.check_expr, "tenant_id = auth.tenant_id()");
  const Policy& own = t.policies[1];
  EXPECT_FALSE(own.restrictive);
  EXPECT_EQ(own.command, PolicyCommand::kSelect);
  EXPECT_EQ(own.using_expr, "id = auth.user_id() or auth.has_role('admin')");
  EXPECT_EQ(own.check_expr, "");
}

TEST_F(DocumentsAppTest, DocumentsHaveCompositeKeysIndexesAndPolicies) {
  const Table& t = T("documents");
  EXPECT_EQ(t.comment, "Documents of a tenant");
  EXPECT_THAT(ColumnNames(t),
              ElementsAre("id", "tenant_id", "user_id", "title", "metadata", "created_at", "updated_at"));
  EXPECT_EQ(t.FindColumn("metadata")->default_value, (Default{DefaultKind::kLiteral, R"({"tags":[]})"}));

  EXPECT_THAT(ConstraintNames(t), ElementsAre("documents_pkey", "documents_title_check", "documents_tenant_id_fkey",
                                              "documents_user_id_fkey"));
  const Constraint& fk = *t.FindConstraint("documents_user_id_fkey");
  EXPECT_EQ(fk.columns, (std::vector<std::string>{"tenant_id", "user_id"}));
  EXPECT_EQ(fk.ref_table, "users");
  EXPECT_EQ(fk.ref_columns, (std::vector<std::string>{"tenant_id", "id"}));
  EXPECT_EQ(fk.on_delete, FkAction::kSetNull);
  EXPECT_EQ(fk.set_columns, (std::vector<std::string>{"user_id"})) << "the tenant column is never nulled";
  EXPECT_EQ(t.FindConstraint("documents_title_check")->expression, "length(title) <= 500");

  ASSERT_EQ(t.indexes.size(), 2u);
  EXPECT_EQ(t.indexes[0].name, "documents_recent_idx");
  EXPECT_EQ(t.indexes[0].columns, (std::vector<IndexColumn>{{"tenant_id", false}, {"created_at", true}}));
  EXPECT_FALSE(t.indexes[0].unique);
  EXPECT_EQ(t.indexes[1].name, "documents_by_title_idx");
  EXPECT_EQ(t.indexes[1].columns, (std::vector<IndexColumn>{{"title", false}}));

  EXPECT_THAT(PolicyNames(t),
              ElementsAre("tenant_isolation", "owner_writes_update", "owner_writes_delete", "members_read"));
  EXPECT_EQ(t.policies[1].command, PolicyCommand::kUpdate);
  EXPECT_EQ(t.policies[2].command, PolicyCommand::kDelete);
  EXPECT_EQ(t.policies[1].using_expr, "user_id = auth.user_id() or auth.has_role('admin')");
  EXPECT_EQ(t.policies[2].using_expr, t.policies[1].using_expr);
  EXPECT_EQ(t.policies[3].using_expr, "true");
}

TEST_F(DocumentsAppTest, AppendOnlyAuditLog) {
  const Table& t = T("audit_logs");
  EXPECT_TRUE(t.options.append_only);
  EXPECT_FALSE(t.options.timestamps);
  EXPECT_THAT(ColumnNames(t), ElementsAre("id", "tenant_id", "user_id", "action", "at"));
  const Constraint& fk = *t.FindConstraint("audit_logs_user_id_fkey");
  EXPECT_EQ(fk.on_delete, FkAction::kRestrict);
  EXPECT_TRUE(fk.set_columns.empty());
  EXPECT_EQ(t.FindColumn("at")->default_value.kind, DefaultKind::kNow);
}

TEST_F(DocumentsAppTest, SupportObjects) {
  EXPECT_EQ(schema_.support, (std::set<std::string>{std::string(kSupportTimestamps), std::string(kSupportAppendOnly),
                                                    std::string(kSupportAuth), std::string(kSupportAudit)}));
  EXPECT_EQ(schema_.support, RequiredSupport(schema_));
}

TEST_F(DocumentsAppTest, LoadingTwiceGivesTheSameModel) {
  Schema again = MustLoad(kDocumentsApp);
  ASSERT_EQ(again.tables.size(), schema_.tables.size());
  for (size_t i = 0; i < again.tables.size(); ++i) {
    const Table& a = again.tables[i];
    const Table& b = schema_.tables[i];
    ASSERT_EQ(a.columns.size(), b.columns.size());
    for (size_t c = 0; c < a.columns.size(); ++c) EXPECT_TRUE(a.columns[c].SameAs(b.columns[c]));
    ASSERT_EQ(a.constraints.size(), b.constraints.size());
    for (size_t c = 0; c < a.constraints.size(); ++c) EXPECT_TRUE(a.constraints[c].SameAs(b.constraints[c]));
    ASSERT_EQ(a.policies.size(), b.policies.size());
    for (size_t c = 0; c < a.policies.size(); ++c) EXPECT_TRUE(a.policies[c].SameAs(b.policies[c]));
  }
}

}  // namespace
}  // namespace plinth::schema
