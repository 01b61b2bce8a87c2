#include <gtest/gtest.h>

#include <chrono>

#include "db/pg_fixture.h"
#include "plinth/db.h"

namespace plinth::db {
namespace {

using plinth::testing::TestDatabase;

class Postgres : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(db_.ok());
    conn_ = db_.Connect();
    ASSERT_TRUE(conn_);
    ASSERT_TRUE(conn_->Exec(R"(
      CREATE TABLE parents (id int PRIMARY KEY, email text CONSTRAINT parents_email_key UNIQUE);
      CREATE TABLE children (id int PRIMARY KEY,
                             parent_id int CONSTRAINT children_parent_id_fkey REFERENCES parents(id),
                             age int CONSTRAINT children_age_check CHECK (age >= 0));
      INSERT INTO parents VALUES (1, 'a@example.com');
    )").ok());
  }
  TestDatabase db_;
  std::unique_ptr<Connection> conn_;
};

TEST_F(Postgres, ConnectionSettings) {
  EXPECT_EQ(conn_->backend(), Backend::kPostgres);
  EXPECT_GT(conn_->ServerPid(), 0);
  auto r = conn_->Query(
      "SELECT current_setting('application_name'), current_setting('standard_conforming_strings'), "
      "current_setting('client_encoding')");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->rows[0][0], "plinth");
  EXPECT_EQ(r->rows[0][1], "on");
  EXPECT_EQ(r->rows[0][2], "UTF8");
}

TEST_F(Postgres, TheUrlsApplicationNameWins) {
  auto url = ParseUrl(db_.url() + "?application_name=deployer");
  ASSERT_TRUE(url.ok());
  auto conn = Connect(*url);
  ASSERT_TRUE(conn.ok()) << conn.status().ToString();
  auto r = (*conn)->Query("SELECT current_setting('application_name')");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->rows[0][0], "deployer");
}

TEST_F(Postgres, UniqueViolationIsAlreadyExistsWithTheConstraintName) {
  auto r = conn_->Query("INSERT INTO parents VALUES ($1, $2)", {"2", "a@example.com"});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kAlreadyExists);
  EXPECT_EQ(r.status().sqlstate(), "23505");
  EXPECT_EQ(r.status().object(), "parents_email_key");
  EXPECT_NE(r.status().message().find("already exists"), std::string::npos);
}

TEST_F(Postgres, ForeignKeyViolationIsAConstraintViolation) {
  Status st = conn_->Exec("INSERT INTO children (id, parent_id) VALUES (1, 99)");
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.code(), Code::kConstraintViolation);
  EXPECT_EQ(st.sqlstate(), "23503");
  EXPECT_EQ(st.object(), "children_parent_id_fkey");
}

TEST_F(Postgres, CheckViolation) {
  Status st = conn_->Exec("INSERT INTO children (id, age) VALUES (1, -1)");
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.code(), Code::kConstraintViolation);
  EXPECT_EQ(st.object(), "children_age_check");
}

TEST_F(Postgres, SyntaxErrorCarriesThePosition) {
  Status st = conn_->Exec("SELECT 1 FROM FROM");
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.code(), Code::kInvalidArgument);
  EXPECT_EQ(st.sqlstate(), "42601");
  EXPECT_NE(st.message().find("at character"), std::string::npos) << st.message();
}

TEST_F(Postgres, ParamsAreBoundNotSpliced) {
  const std::string hostile = "x'); DROP TABLE parents; --";
  auto ins = conn_->Query("INSERT INTO parents (id, email) VALUES ($1, $2)", {"7", hostile});
  ASSERT_TRUE(ins.ok()) << ins.status().ToString();
  auto r = conn_->Query("SELECT email, $1::text IS NULL AS n FROM parents WHERE id = $2", {std::nullopt, "7"});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->rows.size(), 1u);
  EXPECT_EQ(r->rows[0][0], hostile);
  EXPECT_EQ(r->rows[0][1], "t");
  EXPECT_EQ(r->columns[1], "n");
}

TEST_F(Postgres, ParameterCountMismatchIsInvalidArgumentNotAnOutage) {
  auto r = conn_->Query("SELECT $1::int + $2::int", {"1"});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
  auto ok = conn_->Query("SELECT 1");
  EXPECT_TRUE(ok.ok()) << "connection still usable";
}

TEST_F(Postgres, TransactionStateAndLiteralQuoting) {
  EXPECT_FALSE(conn_->InTransaction());
  ASSERT_TRUE(conn_->Exec("BEGIN").ok());
  EXPECT_TRUE(conn_->InTransaction());
  EXPECT_FALSE(conn_->Exec("SELECT nope").ok());
  EXPECT_TRUE(conn_->InTransaction()) << "a failed transaction is still open until ROLLBACK";
  ASSERT_TRUE(conn_->Exec("ROLLBACK").ok());
  EXPECT_FALSE(conn_->InTransaction());
  const std::string tricky = "it's a \\ back'slash";
  auto r = conn_->Query("SELECT " + QuoteLiteral(tricky) + " = $1", {tricky});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->rows[0][0], "t");
}

TEST_F(Postgres, TerminatedBackendIsUnavailable) {
  auto killer = db_.Connect();
  ASSERT_TRUE(killer);
  auto r = killer->Query("SELECT pg_terminate_backend($1)", {std::to_string(conn_->ServerPid())});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  Status st = conn_->Exec("SELECT 1");
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.code(), Code::kUnavailable) << st.ToString();
}

TEST(PostgresConnect, RefusedIsUnavailableAndFast) {
  // Port 1 on loopback: nothing listens there.
  auto url = ParseUrl("postgresql://postgres:secret@127.0.0.1:1/postgres");
  ASSERT_TRUE(url.ok());
  auto start = std::chrono::steady_clock::now();
  auto conn = Connect(*url);
  auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(conn.ok());
  EXPECT_EQ(conn.status().code(), Code::kUnavailable);
  EXPECT_NE(conn.status().message().find("connection refused"), std::string::npos) << conn.status().message();
  EXPECT_EQ(conn.status().message().find("secret"), std::string::npos) << "password must be redacted";
  EXPECT_LT(elapsed, std::chrono::seconds(2));
}

TEST(PostgresConnect, UnresolvableHostSaysDns) {
  auto url = ParseUrl("postgresql://postgres@no-such-host.invalid/postgres");
  ASSERT_TRUE(url.ok());
  auto conn = Connect(*url);
  ASSERT_FALSE(conn.ok());
  EXPECT_EQ(conn.status().code(), Code::kUnavailable);
  EXPECT_NE(conn.status().message().find("DNS"), std::string::npos) << conn.status().message();
}

TEST(PostgresConnect, MissingDatabaseIsNotFound) {
  std::string admin = plinth::testing::AdminPgUrl();
  ASSERT_FALSE(admin.empty());
  auto url = ParseUrl(plinth::testing::PgUrlWithDatabase(admin, "plinth_no_such_database"));
  ASSERT_TRUE(url.ok());
  auto conn = Connect(*url);
  ASSERT_FALSE(conn.ok());
  EXPECT_EQ(conn.status().code(), Code::kNotFound) << conn.status().ToString();
}

TEST(PostgresConnect, UnknownRoleIsUnauthenticated) {
  std::string admin = plinth::testing::AdminPgUrl();
  ASSERT_FALSE(admin.empty());
  // Replace the user of postgresql://USER@host with one that does not exist.
  size_t at = admin.find('@');
  ASSERT_NE(at, std::string::npos);
  std::string url_text = "postgresql://plinth_no_such_role" + admin.substr(at);
  auto url = ParseUrl(url_text);
  ASSERT_TRUE(url.ok());
  auto conn = Connect(*url);
  ASSERT_FALSE(conn.ok());
  EXPECT_EQ(conn.status().code(), Code::kUnauthenticated) << conn.status().ToString();
}

}  // namespace
}  // namespace plinth::db
