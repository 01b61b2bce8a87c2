// The PostgreSQL paths around the policies that plinth installs (../shared/reference/security.md
// §8): T8 a BEFORE trigger that rewrites tenant_id cannot move a row out of the tenant, because
// WITH CHECK judges the final row; T9 every query shape — CTE, derived table, sublink, SQL and
// plpgsql functions, a security_invoker view, RETURNING, COPY — filters as the base table does;
// T13 a leaky function in WHERE only ever sees the rows the policies let through. All of it as
// the runtime role on a migrated database, the principal set the way the runtime sets it.
#include <gtest/gtest.h>

#include <set>

#include "data/pg_env.h"

namespace plinth::testing {
namespace {

constexpr char kRlsPathsSchema[] = R"toml(
[app]
name = "rlspaths"
tenants = "tenants"

[table.tenants]
columns.id   = { type = "uuid", primary_key = true, default = "uuid" }
columns.name = { type = "text(100)", not_null = true }

[[table.tenants.policies]]
name = "tenant_reads_itself"
for = "select"
using = "id = auth.tenant_id()"

[table.notes]
tenant_scoped = true
columns.id    = { type = "uuid", primary_key = true, default = "uuid" }
columns.title = { type = "text(200)", not_null = true }

[[table.notes.policies]]
name = "members"
for = "all"
using = "tenant_id = auth.tenant_id()"
check = "tenant_id = auth.tenant_id()"
)toml";

constexpr char kTenantA[] = "0000000a-0000-4000-8000-00000000000a";
constexpr char kTenantB[] = "0000000b-0000-4000-8000-00000000000b";
constexpr char kNoteB1[] = "0000000b-0000-4000-8000-0000000000b1";
constexpr int kNotesOfA = 3;
constexpr int kNotesOfB = 2;

// The migrated database with tenants A (3 notes) and B (2 notes), written as the superuser.
class RlsPaths {
 public:
  RlsPaths() : env_(kRlsPathsSchema, PgEnvOptions{}) {
    if (!env_.ok()) return;
    su_ = env_.database().Connect();
    if (!su_) return;
    const std::string a = kTenantA, b = kTenantB;
    for (const std::string& sql :
         {"INSERT INTO tenants (id, name) VALUES ('" + a + "', 'A'), ('" + b + "', 'B')",
          "INSERT INTO notes (tenant_id, title) VALUES ('" + a + "', 'a1'), ('" + a + "', 'a2'), ('" + a + "', 'a3')",
          "INSERT INTO notes (id, tenant_id, title) VALUES ('" + std::string(kNoteB1) + "', '" + b + "', 'b1')",
          "INSERT INTO notes (tenant_id, title) VALUES ('" + b + "', 'b2')"}) {
      Status st = su_->Exec(sql);
      if (!st.ok()) {
        ADD_FAILURE() << sql << ": " << st.ToString();
        return;
      }
    }
    auto url = db::ParseUrl(env_.UrlAs(env_.runtime_role()));
    if (!url.ok()) return;
    auto conn = db::Connect(*url);
    if (!conn.ok()) {
      ADD_FAILURE() << conn.status().ToString();
      return;
    }
    runtime_ = std::move(conn).value();
    ok_ = true;
  }

  bool ok() const { return ok_; }
  db::Connection& su() { return *su_; }
  db::Connection& runtime() { return *runtime_; }
  const std::string& runtime_role() const { return env_.runtime_role(); }

  // A transaction as tenant A, with the principal's settings as the runtime's batches set them.
  void BeginAsTenantA() {
    ASSERT_TRUE(runtime_->Exec("BEGIN").ok());
    auto r = runtime_->Query(
        "SELECT set_config('plinth.tenant_id', $1, true), set_config('plinth.user_id', '', true), "
        "set_config('plinth.role', 'member', true), set_config('plinth.roles', 'member', true), "
        "set_config('plinth.permissions', '', true)",
        {std::string(kTenantA)});
    ASSERT_TRUE(r.ok()) << r.status().ToString();
  }

  // The one value of a one-row, one-column query as the runtime role.
  std::string One(const std::string& sql) {
    auto r = runtime_->Query(sql);
    EXPECT_TRUE(r.ok()) << sql << ": " << r.status().ToString();
    if (!r.ok() || r->rows.size() != 1 || r->rows[0].empty()) return "?";
    return r->rows[0][0].value_or("NULL");
  }

  // Notes per tenant, counted by the superuser.
  std::string CountAs(const std::string& tenant) {
    auto r = su_->Query("SELECT count(*) FROM notes WHERE tenant_id = $1", {tenant});
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? r->rows[0][0].value_or("") : "?";
  }

 private:
  PgEnv env_;
  std::unique_ptr<db::Connection> su_;
  std::unique_ptr<db::Connection> runtime_;
  bool ok_ = false;
};

// T8: a trigger that moves every written row to tenant B runs before the policies judge the row,
// so the insert and the update are refused, and nothing of either is stored.
TEST(PgRlsPaths, T8BeforeTriggerRewritingTheTenantIsStillChecked) {
  RlsPaths f;
  ASSERT_TRUE(f.ok());
  ASSERT_TRUE(f.su()
                  .Exec("CREATE FUNCTION public.move_to_b() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                        "NEW.tenant_id := '" + std::string(kTenantB) + "'; RETURN NEW; END $$")
                  .ok());
  ASSERT_TRUE(f.su().Exec("CREATE TRIGGER move_to_b BEFORE INSERT OR UPDATE ON notes FOR EACH ROW "
                          "EXECUTE FUNCTION public.move_to_b()")
                  .ok());
  f.BeginAsTenantA();
  Status ins = f.runtime().Exec("INSERT INTO notes (tenant_id, title) VALUES ('" + std::string(kTenantA) + "', 'moved')");
  EXPECT_FALSE(ins.ok());
  EXPECT_NE(ins.message().find("row-level security"), std::string::npos) << ins.ToString();
  ASSERT_TRUE(f.runtime().Exec("ROLLBACK").ok());

  f.BeginAsTenantA();
  Status upd = f.runtime().Exec("UPDATE notes SET title = 'moved' WHERE title = 'a1'");
  EXPECT_FALSE(upd.ok());
  EXPECT_NE(upd.message().find("row-level security"), std::string::npos) << upd.ToString();
  ASSERT_TRUE(f.runtime().Exec("ROLLBACK").ok());

  EXPECT_EQ(f.CountAs(kTenantA), std::to_string(kNotesOfA));
  EXPECT_EQ(f.CountAs(kTenantB), std::to_string(kNotesOfB));
}

// T9: the same filtering through every shape a query can take.
TEST(PgRlsPaths, T9EveryQueryShapeFiltersLikeTheBaseTable) {
  RlsPaths f;
  ASSERT_TRUE(f.ok());
  const std::string role = db::QuoteIdent(f.runtime_role());
  for (const std::string& sql :
       {std::string("CREATE FUNCTION public.count_notes_sql() RETURNS bigint LANGUAGE sql STABLE AS "
                    "'SELECT count(*) FROM notes'"),
        std::string("CREATE FUNCTION public.count_notes_dynamic() RETURNS bigint LANGUAGE plpgsql AS $$ "
                    "DECLARE n bigint; BEGIN EXECUTE 'SELECT count(*) FROM notes' INTO n; RETURN n; END $$"),
        std::string("CREATE VIEW public.notes_invoker WITH (security_invoker = true) AS SELECT * FROM notes"),
        "GRANT SELECT ON public.notes_invoker TO " + role}) {
    Status st = f.su().Exec(sql);
    ASSERT_TRUE(st.ok()) << sql << ": " << st.ToString();
  }
  const std::string a = std::to_string(kNotesOfA);
  f.BeginAsTenantA();
  EXPECT_EQ(f.One("SELECT count(*) FROM notes"), a) << "the base table";
  EXPECT_EQ(f.One("WITH x AS MATERIALIZED (SELECT * FROM notes) SELECT count(*) FROM x"), a) << "CTE";
  EXPECT_EQ(f.One("SELECT count(*) FROM (SELECT id FROM notes OFFSET 0) d"), a) << "derived table";
  EXPECT_EQ(f.One("SELECT (SELECT count(*) FROM notes WHERE tenant_id = '" + std::string(kTenantB) + "')"), "0")
      << "scalar sublink naming the other tenant";
  EXPECT_EQ(f.One("SELECT EXISTS (SELECT 1 FROM notes WHERE id = '" + std::string(kNoteB1) + "')"), "f")
      << "EXISTS on the other tenant's row";
  EXPECT_EQ(f.One("SELECT count(*) FROM tenants t JOIN notes n ON n.tenant_id = t.id"), a) << "join";
  EXPECT_EQ(f.One("SELECT public.count_notes_sql()"), a) << "SQL function (invoker)";
  EXPECT_EQ(f.One("SELECT public.count_notes_dynamic()"), a) << "plpgsql dynamic SQL";
  EXPECT_EQ(f.One("SELECT count(*) FROM public.notes_invoker"), a) << "security_invoker view";
  EXPECT_EQ(f.One("WITH u AS (UPDATE notes SET title = title RETURNING id) SELECT count(*) FROM u"), a)
      << "UPDATE … RETURNING reaches only the tenant's rows";
  EXPECT_EQ(f.One("WITH d AS (DELETE FROM notes WHERE id = '" + std::string(kNoteB1) + "' RETURNING id) "
                  "SELECT count(*) FROM d"),
            "0")
      << "DELETE … RETURNING of the other tenant's row";
  ASSERT_TRUE(f.runtime().Exec("COMMIT").ok());

  // COPY FROM cannot apply WITH CHECK row by row, so PostgreSQL refuses it under row security.
  f.BeginAsTenantA();
  Status copy = f.runtime().Exec("COPY notes (tenant_id, title) FROM STDIN");
  EXPECT_FALSE(copy.ok());
  EXPECT_NE(copy.message().find("row-level security"), std::string::npos) << copy.ToString();
  ASSERT_TRUE(f.runtime().Exec("ROLLBACK").ok());

  // After the transaction the context is gone: no tenant, no rows.
  EXPECT_EQ(f.One("SELECT count(*) FROM notes"), "0");
  EXPECT_EQ(f.CountAs(kTenantB), std::to_string(kNotesOfB)) << "the other tenant's row is still there";
}

// T13: a function that is not LEAKPROOF, placed in WHERE (and made as cheap as possible, so the
// planner would like to run it first), only ever receives the visible rows: policy quals are a
// security barrier. The function records what it saw where the runtime role cannot read.
TEST(PgRlsPaths, T13LeakyFunctionSeesOnlyVisibleRows) {
  RlsPaths f;
  ASSERT_TRUE(f.ok());
  const std::string role = db::QuoteIdent(f.runtime_role());
  for (const std::string& sql :
       {std::string("CREATE TABLE public.leak_log (title text)"),
        std::string("CREATE FUNCTION public.f_leak(t text) RETURNS boolean LANGUAGE plpgsql COST 0.0000001 "
                    "SECURITY DEFINER SET search_path = public AS $$ BEGIN INSERT INTO public.leak_log VALUES (t); "
                    "RAISE NOTICE 'f_leak => %', t; RETURN true; END $$"),
        "GRANT EXECUTE ON FUNCTION public.f_leak(text) TO " + role}) {
    Status st = f.su().Exec(sql);
    ASSERT_TRUE(st.ok()) << sql << ": " << st.ToString();
  }
  f.BeginAsTenantA();
  auto r = f.runtime().Query("SELECT title FROM notes WHERE public.f_leak(title) ORDER BY title");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->rows.size(), static_cast<size_t>(kNotesOfA));
  auto by_id = f.runtime().Query("SELECT title FROM notes WHERE public.f_leak(title) AND id = '" +
                                 std::string(kNoteB1) + "'");
  ASSERT_TRUE(by_id.ok()) << by_id.status().ToString();
  EXPECT_TRUE(by_id->rows.empty());
  ASSERT_TRUE(f.runtime().Exec("COMMIT").ok());

  auto seen = f.su().Query("SELECT DISTINCT title FROM public.leak_log ORDER BY title");
  ASSERT_TRUE(seen.ok()) << seen.status().ToString();
  std::set<std::string> titles;
  for (const auto& row : seen->rows) titles.insert(row[0].value_or(""));
  EXPECT_EQ(titles, (std::set<std::string>{"a1", "a2", "a3"})) << "the leaky function saw another tenant's row";
  EXPECT_FALSE(f.runtime().Query("SELECT count(*) FROM public.leak_log").ok())
      << "the runtime role cannot read what the function recorded";
}

}  // namespace
}  // namespace plinth::testing
